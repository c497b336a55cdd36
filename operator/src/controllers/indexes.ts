// The informer indexes the controllers look objects up by (client-go's Indexers),
// instead of scanning a namespace on every event or pass.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { controllerOf } from "../remediation/ownership.ts";

/** Lookup by a declared index: what controllers need of an informer besides get/list. */
export interface Indexed<T> {
  byIndex(name: string, value: string): T[];
}

/** Actions by the Deployment they target: "namespace/deployment". */
export const BY_TARGET = "target";
/** ReplicaSets by their controlling Deployment, pods by their controlling ReplicaSet: "namespace/owner". */
export const BY_CONTROLLER = "controller";

export const targetKey = (a: RemediationAction) => `${a.metadata.namespace}/${a.spec.target.name}`;

export const targetIndex = (a: RemediationAction): string[] => [targetKey(a)];

/** The controller reference's name only; ownership is still checked by uid when the objects are used. */
export function controllerIndex(kind: "ReplicaSet" | "Deployment"): (o: KubernetesObject) => string[] {
  return (o) => {
    const ref = controllerOf(o, kind);
    return ref ? [`${o.metadata?.namespace ?? ""}/${ref.name}`] : [];
  };
}
