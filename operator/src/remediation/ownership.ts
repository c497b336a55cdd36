// Which pods belong to a Deployment, decided by the chain of controller
// ownerReferences Pod → ReplicaSet → Deployment with matching uids. Labels are
// not evidence of ownership: two Deployments whose selectors overlap match each
// other's pods, and anyone who can create a pod can give it any labels. The
// controller reference is set by the ReplicaSet and Deployment controllers and
// names the owner by uid, so a pod of `web-canary` (or a look-alike pod created by
// hand, or a pod of a deleted-and-recreated `web`) is never a pod of `web`. Pure.

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

export interface OwnedObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    ownerReferences?: readonly OwnerReference[];
  };
}

/**
 * The object's controller reference of the given kind: exactly one ownerReference
 * with controller: true (the API server allows at most one; more, or one of
 * another kind or group, means "not controlled by such an owner").
 */
export function controllerOf(o: OwnedObject, kind: "ReplicaSet" | "Deployment"): OwnerReference | undefined {
  const refs = (o.metadata?.ownerReferences ?? []).filter((r) => r.controller === true);
  if (refs.length !== 1) return undefined;
  const [ref] = refs;
  if (ref!.kind !== kind || ref!.apiVersion?.split("/")[0] !== "apps" || !ref!.uid || !ref!.name) return undefined;
  return ref;
}

function controlledBy(o: OwnedObject, kind: "ReplicaSet" | "Deployment", owner: OwnedObject): boolean {
  const ref = controllerOf(o, kind);
  const m = owner.metadata;
  return ref !== undefined && !!m?.uid && ref.uid === m.uid && ref.name === m.name && o.metadata?.namespace === m.namespace;
}

/** The ReplicaSets the Deployment controls (any revision, old or new). */
export function replicaSetsOf<R extends OwnedObject>(deployment: OwnedObject, replicaSets: readonly R[]): R[] {
  return replicaSets.filter((rs) => controlledBy(rs, "Deployment", deployment));
}

/** The pods the Deployment controls through one of its ReplicaSets. */
export function podsOwnedBy<P extends OwnedObject>(deployment: OwnedObject, replicaSets: readonly OwnedObject[], pods: readonly P[]): P[] {
  const owned = replicaSetsOf(deployment, replicaSets);
  if (owned.length === 0) return [];
  return pods.filter((p) => owned.some((rs) => controlledBy(p, "ReplicaSet", rs)));
}

/**
 * The name of the Deployment that controls the pod, if any, through a ReplicaSet
 * among `replicaSets` (the pod's namespace). Used to requeue only the owner's
 * actions when a pod changes.
 */
export function owningDeploymentName(pod: OwnedObject, replicaSets: readonly OwnedObject[]): string | undefined {
  const rs = replicaSets.find((r) => controlledBy(pod, "ReplicaSet", r));
  return rs ? controllerOf(rs, "Deployment")?.name : undefined;
}
