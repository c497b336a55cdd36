// Test objects for controller unit tests, built cert-manager style: a builder
// with defaults and option functions, e.g.
//
//   action("scale-web", withScale({ by: 1 }), withPhase("Executing"), withIntent({ replicas: 3 }))
//   deployment("web", withReplicas(2), progressing())
//   pod(replicaSet(d), crashLooping())
//   policy("default", approvalFor("restart"), cooldown("scale", 0))
//
// Defaults: namespace team-a, target Deployment web, a scale to 3 replicas,
// everything stamped at T0. Our kinds go through their zod schemas, so a built
// RemediationAction or GuardrailPolicy is what the API server would store
// (defaults applied) and an invalid one throws here rather than in the test.
// Pods are wired to their ReplicaSet and ReplicaSets to their Deployment by
// controller ownerReferences with the owners' uids (remediation/ownership.ts).
import { BY_SCALE_TARGET, hpaIndex, scaledObjectIndex } from "../autoscalers.ts";
import type { KubernetesObject, V1Deployment, V1DeploymentCondition, V1DeploymentStatus, V1ObjectMeta, V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import { guardrailPolicySpec } from "../../api/v1alpha1/guardrail-policy.ts";
import { ANNOTATIONS, type GuardrailPolicy, LABELS, type RemediationAction } from "../../api/v1alpha1/objects.ts";
import {
  type Intent, remediationActionSpec, type SpecActionType, remediationActionStatus, type RemediationActionStatus,
} from "../../api/v1alpha1/remediation-action.ts";
import { validate } from "../../api/v1alpha1/validation.ts";
import type { PatchKind } from "../../remediation/patch-document.ts";
import type { Resource } from "../../k8s/resources.ts";
import type { FakeKubeApi } from "../../k8s/testing/fake-api.ts";
import type { Cache } from "../cache.ts";
import { BY_CONTROLLER, BY_TARGET, controllerIndex, type Indexed, targetIndex } from "../indexes.ts";

/** The builders' clock: every object is created at T0 unless an option says otherwise. */
export const T0 = Date.parse("2026-01-01T00:00:00Z");
export const NAMESPACE = "team-a";
export const TARGET = "web";

/** An option: changes the object being built. */
export type Opt<T> = (obj: T) => void;

interface HasMeta {
  metadata?: V1ObjectMeta;
}

/** RFC 3339 as the API server sends it (the typed client's Date fields arrive as strings from raw JSON). */
export const iso = (ms: number) => new Date(ms).toISOString() as unknown as Date;
/** RFC 3339, as our kinds' timestamp fields hold it. */
export const rfc3339 = (ms: number) => new Date(ms).toISOString();

// Options run in three rounds, whatever order they are given in: plain options,
// then the ones that derive the status from the spec (available() reads the
// replicas withReplicas set), then the ones that override single status fields.
const ROUND = Symbol("round");
type Ranked<T> = Opt<T> & { [ROUND]?: number };
const round = <T>(n: number, fn: Opt<T>): Opt<T> => Object.assign(fn, { [ROUND]: n });

function apply<T>(obj: T, opts: readonly Opt<T>[]): T {
  for (const r of [0, 1, 2]) for (const o of opts as Ranked<T>[]) if ((o[ROUND] ?? 0) === r) o(obj);
  return obj;
}

const meta = (o: HasMeta): V1ObjectMeta => (o.metadata ??= {});

// ---- options for any object ----

export const withName = (name: string): Opt<HasMeta> => (o) => { meta(o).name = name; };
export const inNamespace = (namespace: string): Opt<HasMeta> => (o) => { meta(o).namespace = namespace; };
export const withUid = (uid: string): Opt<HasMeta> => (o) => { meta(o).uid = uid; };
export const withResourceVersion = (rv: string): Opt<HasMeta> => (o) => { meta(o).resourceVersion = rv; };
export const withGeneration = (generation: number): Opt<HasMeta> => (o) => { meta(o).generation = generation; };
export const createdAt = (ms: number): Opt<HasMeta> => (o) => { meta(o).creationTimestamp = iso(ms); };
export const withLabels = (labels: Record<string, string>): Opt<HasMeta> => (o) => { meta(o).labels = { ...meta(o).labels, ...labels }; };
export const withAnnotations = (annotations: Record<string, string>): Opt<HasMeta> => (o) => { meta(o).annotations = { ...meta(o).annotations, ...annotations }; };
/** Marked for deletion at `ms` (a terminating pod). */
export const terminating = (ms = T0): Opt<HasMeta> => (o) => { meta(o).deletionTimestamp = iso(ms); };

// ---- RemediationAction ----

/** A RemediationAction as stored: spec and status through their schemas (defaults applied). */
export function action(name = "scale-web", ...opts: Opt<RemediationAction>[]): RemediationAction {
  const a = {
    apiVersion: "smartops.io/v1alpha1",
    kind: "RemediationAction",
    metadata: { name, namespace: NAMESPACE, uid: `${name}-uid`, resourceVersion: "1", generation: 1, creationTimestamp: iso(T0) },
    spec: { type: "scale", target: { kind: "Deployment", name: TARGET }, scale: { replicas: 3 } },
  } as unknown as RemediationAction;
  apply(a, opts);
  a.spec = parsed("RemediationAction spec", remediationActionSpec, a.spec, "spec");
  if (a.status !== undefined) a.status = parsed("RemediationAction status", remediationActionStatus, a.status, "status");
  return a;
}

const DEFAULT_PATCH = '{"spec":{"template":{"metadata":{"annotations":{"example.com/patched":"true"}}}}}';

/** Sets the type with default parameters: scale to 3, a merge patch of a template annotation, delete-pod of the unhealthy pods. */
export const withType = (type: SpecActionType): Opt<RemediationAction> => (a) => {
  const s = a.spec as Record<string, unknown>;
  delete s.scale;
  delete s.patch;
  delete s.deletePod;
  delete s.revertOf;
  a.spec.type = type;
  if (type === "scale") s.scale = { replicas: 3 };
  if (type === "patch") s.patch = { merge: DEFAULT_PATCH };
  if (type === "delete-pod") s.deletePod = {};
};

export const withTarget = (name: string, namespace?: string): Opt<RemediationAction> => (a) => {
  a.spec.target = { kind: "Deployment", name, ...(namespace !== undefined ? { namespace } : {}) };
};

/** A scale: absolute ({replicas}) or relative ({by}, optionally with decidedAtReplicas). */
export const withScale = (scale: { replicas: number } | { by: number; decidedAtReplicas?: number }): Opt<RemediationAction> => (a) => {
  withType("scale")(a);
  a.spec.scale = { ...scale } as RemediationAction["spec"]["scale"];
};

/** A patch action; `patch` is the stored JSON text, or a document that is stringified. */
export const withPatch = (patch: string | object, kind: PatchKind = "merge"): Opt<RemediationAction> => (a) => {
  withType("patch")(a);
  a.spec.patch = { [kind]: typeof patch === "string" ? patch : JSON.stringify(patch) };
};

export const withDeletePod = (deletePod: { podName?: string; notReadyThresholdSeconds?: number } = {}): Opt<RemediationAction> => (a) => {
  withType("delete-pod")(a);
  (a.spec as Record<string, unknown>).deletePod = { ...deletePod };
};

/** A revert of the action named `original` (same namespace and target). */
export const withRevertOf = (original: string): Opt<RemediationAction> => (a) => {
  withType("revert")(a);
  a.spec.revertOf = original;
};

/** The action changed the Deployment: its Executed condition is True. */
export const executedAt = (ms = T0): Opt<RemediationAction> => round(2, (a) => {
  const st = status(a);
  st.conditions = [...(st.conditions ?? []).filter((c) => c.type !== "Executed"), { type: "Executed", status: "True", reason: "Executed", message: "applied", lastTransitionTime: rfc3339(ms) }];
});

export const dryRun = (on = true): Opt<RemediationAction> => (a) => { a.spec.dryRun = on; };
export const withVerify = (on: boolean): Opt<RemediationAction> => (a) => { a.spec.verify = on; };
export const withVerifyTimeout = (seconds: number): Opt<RemediationAction> => (a) => { a.spec.verifyTimeoutSeconds = seconds; };
export const withReason = (reason: string): Opt<RemediationAction> => (a) => { a.spec.reason = reason; };
export const withSource = (source: RemediationAction["spec"]["source"]): Opt<RemediationAction> => (a) => { a.spec.source = source; };

/** As the signal controller creates it: source closed-loop, signalRef and the target and signal labels. */
export const fromSignal = (kind: "AnomalySignal" | "RcaSignal", name: string, uid = `${name}-uid`): Opt<RemediationAction> => (a) => {
  a.spec.source = "closed-loop";
  a.spec.signalRef = { kind, name, uid };
  withLabels({ [LABELS.target]: a.spec.target.name, [LABELS.signal]: name })(a);
};

/** A human's decision, decided at `decidedAtMs` (T0 by default). */
export const withApproval = (decision: "Approved" | "Rejected", by: string, decidedAtMs = T0): Opt<RemediationAction> => (a) => {
  a.spec.approval = { decision, approvedBy: by, decidedAt: rfc3339(decidedAtMs) };
};

const status = (a: RemediationAction): RemediationActionStatus => (a.status ??= {});

export const withPhase = (phase: NonNullable<RemediationActionStatus["phase"]>, reason?: string): Opt<RemediationAction> => (a) => {
  status(a).phase = phase;
  if (reason !== undefined) status(a).reason = reason;
};

/** The recorded intent, merged over any intent already set; recordedAt T0 unless given. */
export const withIntent = (intent: Intent): Opt<RemediationAction> => (a) => {
  status(a).intent = { recordedAt: rfc3339(T0), ...status(a).intent, ...intent };
};

/** Status fields merged over what the other options set (conditions, verification, startedAt …). */
export const withStatus = (partial: RemediationActionStatus): Opt<RemediationAction> => round(2, (a) => {
  a.status = { ...a.status, ...partial };
});

// ---- Deployment, ReplicaSet, Pod ----

/**
 * A Deployment with 2 replicas, labels and selector app=<name>, one container,
 * and a settled rollout (available()) unless a status option says otherwise.
 */
export function deployment(name = TARGET, ...opts: Opt<V1Deployment>[]): V1Deployment {
  const d: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NAMESPACE, uid: `${name}-uid`, resourceVersion: "1", generation: 1, creationTimestamp: iso(T0), labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      progressDeadlineSeconds: 600,
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "registry.example/app:1.0" }] },
      },
    },
  };
  const defaulted = (opts as Ranked<V1Deployment>[]).some((o) => o[ROUND] === 1) ? opts : [available(), ...opts];
  return apply(d, defaulted);
}

export const withReplicas = (replicas: number): Opt<V1Deployment> => (d) => { d.spec!.replicas = replicas; };

/** managedFields as the API server records them: one entry per field manager, fieldsV1 the fields it owns. */
export const managedBy = (...entries: Array<{ manager: string; operation?: "Apply" | "Update"; time?: number; fields: object; subresource?: string }>): Opt<V1Deployment> => (d) => {
  d.metadata!.managedFields = entries.map((e) => ({
    manager: e.manager, operation: e.operation ?? "Update", apiVersion: "apps/v1", time: iso(e.time ?? T0), fieldsType: "FieldsV1", fieldsV1: e.fields,
    ...(e.subresource ? { subresource: e.subresource } : {}),
  }));
};

/** The crash-safety stamp: the uid of the last action that mutated the Deployment. */
export const stampedBy = (actionUid: string): Opt<V1Deployment> => withAnnotations({ [ANNOTATIONS.lastAction]: actionUid });

const condition = (type: string, status: string, reason: string, message: string): V1DeploymentCondition =>
  ({ type, status, reason, message, lastUpdateTime: iso(T0), lastTransitionTime: iso(T0) });

function rolloutState(d: V1Deployment, counts: Omit<V1DeploymentStatus, "conditions" | "observedGeneration">, progressing: V1DeploymentCondition): void {
  const desired = d.spec?.replicas ?? 1;
  d.status = {
    observedGeneration: d.metadata?.generation ?? 1,
    ...counts,
    conditions: [condition("Available", (counts.availableReplicas ?? 0) >= desired ? "True" : "False", "MinimumReplicasAvailable", "Deployment has minimum availability."), progressing],
  };
}

/** Settled: every replica updated, ready and available; rolloutStatus says complete. */
export const available = (): Opt<V1Deployment> => round(1, (d) => {
  const n = d.spec?.replicas ?? 1;
  rolloutState(d, { replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n },
    condition("Progressing", "True", "NewReplicaSetAvailable", `ReplicaSet "${d.metadata?.name}" has successfully progressed.`));
});

/** Mid-rollout: the new replicas are up, one old replica is still terminating; rolloutStatus says progressing. */
export const progressing = (): Opt<V1Deployment> => round(1, (d) => {
  const n = d.spec?.replicas ?? 1;
  rolloutState(d, { replicas: n + 1, updatedReplicas: n, readyReplicas: n, availableReplicas: n },
    condition("Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "${d.metadata?.name}" is progressing.`));
});

/** The rollout stalled past progressDeadlineSeconds; rolloutStatus says failed. */
export const progressDeadlineExceeded = (): Opt<V1Deployment> => round(1, (d) => {
  const n = d.spec?.replicas ?? 1;
  rolloutState(d, { replicas: n + 1, updatedReplicas: n, readyReplicas: n - 1 < 0 ? 0 : n - 1, availableReplicas: n - 1 < 0 ? 0 : n - 1 },
    condition("Progressing", "False", "ProgressDeadlineExceeded", `ReplicaSet "${d.metadata?.name}" has timed out progressing.`));
});

/** No status at all (a Deployment the Deployment controller has not seen yet). */
export const noStatus = (): Opt<V1Deployment> => round(1, (d) => { delete d.status; });

/** status.observedGeneration (less than metadata.generation: the controller has not seen the change). */
export const observedGeneration = (generation: number): Opt<V1Deployment> => round(2, (d) => {
  d.status = { ...d.status, observedGeneration: generation };
});

/** Deployment status fields merged over what the other options derived. */
export const withDeploymentStatus = (partial: V1DeploymentStatus): Opt<V1Deployment> => round(2, (d) => {
  d.status = { ...d.status, ...partial };
});

const controllerRef = (kind: "Deployment" | "ReplicaSet", owner: HasMeta) =>
  ({ apiVersion: "apps/v1", kind, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true });

/** The Deployment's current ReplicaSet (<name>-7d9f8b6c5), controlled by it (ownerReference with its uid). */
export function replicaSet(of: V1Deployment, ...opts: Opt<V1ReplicaSet>[]): V1ReplicaSet {
  const hash = "7d9f8b6c5";
  const name = `${of.metadata!.name}-${hash}`;
  const labels = { ...of.spec?.template.metadata?.labels, "pod-template-hash": hash };
  const n = of.spec?.replicas ?? 1;
  const rs: V1ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name, namespace: of.metadata!.namespace, uid: `${name}-uid`, resourceVersion: "1", generation: 1, creationTimestamp: of.metadata?.creationTimestamp ?? iso(T0),
      labels, ownerReferences: [controllerRef("Deployment", of)],
    },
    spec: {
      replicas: n,
      selector: { matchLabels: { ...of.spec?.selector.matchLabels, "pod-template-hash": hash } },
      template: { ...structuredClone(of.spec?.template), metadata: { ...of.spec?.template.metadata, labels } },
    },
    status: { replicas: n, readyReplicas: n, availableReplicas: n, observedGeneration: 1 },
  };
  return apply(rs, opts);
}

/** A running, Ready pod (<replicaset>-0) of the ReplicaSet, controlled by it. */
export function pod(of: V1ReplicaSet, ...opts: Opt<V1Pod>[]): V1Pod {
  const name = `${of.metadata!.name}-0`;
  const container = of.spec?.template?.spec?.containers[0];
  const p: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name, namespace: of.metadata!.namespace, uid: `${name}-uid`, resourceVersion: "1", creationTimestamp: iso(T0),
      labels: { ...of.spec?.template?.metadata?.labels }, ownerReferences: [controllerRef("ReplicaSet", of)],
    },
    spec: { containers: [{ name: container?.name ?? "app", image: container?.image ?? "registry.example/app:1.0" }] },
    status: {
      phase: "Running",
      startTime: iso(T0),
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: iso(T0) }],
      containerStatuses: [{ name: container?.name ?? "app", image: container?.image ?? "registry.example/app:1.0", imageID: "", ready: true, restartCount: 0, state: { running: { startedAt: iso(T0) } } }],
    },
  };
  return apply(p, opts);
}

/** `count` pods of the ReplicaSet, named <replicaset>-0 … <replicaset>-(count-1), each with its own uid. */
export function pods(of: V1ReplicaSet, count: number, ...opts: Opt<V1Pod>[]): V1Pod[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${of.metadata!.name}-${i}`;
    return pod(of, withName(name), withUid(`${name}-uid`), ...opts);
  });
}

const notReady = (p: V1Pod, sinceMs: number) => {
  p.status!.conditions = [{ type: "Ready", status: "False", reason: "ContainersNotReady", lastTransitionTime: iso(sinceMs) }];
  for (const c of p.status!.containerStatuses ?? []) c.ready = false;
};

/** The first container in CrashLoopBackOff (5 restarts); the pod not Ready (since T0). */
export const crashLooping = (): Opt<V1Pod> => (p) => {
  notReady(p, T0);
  const c = p.status!.containerStatuses![0]!;
  c.restartCount = 5;
  c.state = { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s restarting failed container" } };
  c.lastState = { terminated: { reason: "Error", exitCode: 1 } };
};

/** The first container was OOMKilled last time (now running again, not Ready). */
export const oomKilled = (): Opt<V1Pod> => (p) => {
  notReady(p, T0);
  const c = p.status!.containerStatuses![0]!;
  c.restartCount = 1;
  c.lastState = { terminated: { reason: "OOMKilled", exitCode: 137 } };
};

/** Not Ready for `seconds` as of `now` (T0 by default): the Ready condition turned False then. */
export const notReadyFor = (seconds: number, now = T0): Opt<V1Pod> => (p) => { notReady(p, now - seconds * 1000); };

// ---- GuardrailPolicy ----

/** A GuardrailPolicy in team-a covering its namespace, spec through the schema (defaults applied). */
export function policy(name = "default", ...opts: Opt<GuardrailPolicy>[]): GuardrailPolicy {
  const p = {
    apiVersion: "smartops.io/v1alpha1",
    kind: "GuardrailPolicy",
    metadata: { name, namespace: NAMESPACE, uid: `${name}-uid`, resourceVersion: "1", generation: 1, creationTimestamp: iso(T0) },
    spec: {},
  } as unknown as GuardrailPolicy;
  apply(p, opts);
  p.spec = parsed("GuardrailPolicy spec", guardrailPolicySpec, p.spec, "spec");
  return p;
}

type RawPolicySpec = Record<string, Record<string, unknown> | unknown>;
const section = (p: GuardrailPolicy, key: string): Record<string, unknown> => {
  const s = p.spec as RawPolicySpec;
  return (s[key] = { ...(s[key] as Record<string, unknown> | undefined) });
};
const policyKey = (t: SpecActionType) => (t === "delete-pod" ? "deletePod" : t);

/** These action types wait for a human (approval tier Required). */
export const approvalFor = (...types: (SpecActionType | readonly SpecActionType[])[]): Opt<GuardrailPolicy> => (p) => {
  for (const t of types.flat()) section(p, "approval")[policyKey(t)] = "Required";
};
export const approvalTimeout = (seconds: number): Opt<GuardrailPolicy> => (p) => { section(p, "approval").timeoutSeconds = seconds; };
export const maxReplicas = (n: number): Opt<GuardrailPolicy> => (p) => { section(p, "replicas").max = n; };
export const minReplicas = (n: number): Opt<GuardrailPolicy> => (p) => { section(p, "replicas").min = n; };
export const maxStep = (n: number): Opt<GuardrailPolicy> => (p) => { section(p, "replicas").maxStep = n; };
export const cooldown = (type: Exclude<SpecActionType, "revert">, seconds: number): Opt<GuardrailPolicy> => (p) => { section(p, "cooldownSeconds")[policyKey(type)] = seconds; };
export const rateLimits = (limits: { maxActionsPerHour?: number; maxScaleIncreasePer15Minutes?: number }): Opt<GuardrailPolicy> => (p) => {
  Object.assign(section(p, "rateLimits"), limits);
};
export const paused = (on = true): Opt<GuardrailPolicy> => (p) => { (p.spec as RawPolicySpec).paused = on; };
export const allowedActions = (...types: Exclude<SpecActionType, "revert">[]): Opt<GuardrailPolicy> => (p) => { (p.spec as RawPolicySpec).allowedActions = types; };
export const patchPaths = (paths: { allowed?: string[]; denied?: string[] }): Opt<GuardrailPolicy> => (p) => {
  if (paths.allowed) section(p, "patch").allowedPaths = paths.allowed;
  if (paths.denied) section(p, "patch").deniedPaths = paths.denied;
};
/** Covers the Deployments matching these labels (targets.selector.matchLabels). */
export const selecting = (matchLabels: Record<string, string>): Opt<GuardrailPolicy> => (p) => { section(p, "targets").selector = { matchLabels }; };
/** Covers these namespaces (honoured only for a policy in the operator's namespace). */
export const coveringNamespaces = (...namespaces: string[]): Opt<GuardrailPolicy> => (p) => { section(p, "targets").namespaces = namespaces; };
/** Any spec fields, shallow-merged (before the schema fills in the defaults). */
export const withPolicySpec = (partial: Record<string, unknown>): Opt<GuardrailPolicy> => (p) => { Object.assign(p.spec, partial); };

// ---- informer caches ----

/** A Cache as an informer would fill it, which a test can change between reconciles. */
/** The controllers' informer indexes (indexes.ts), computed on each lookup. */
function indexValues(name: string, o: HasMeta): string[] {
  if (name === BY_TARGET) return (o as { spec?: { target?: unknown } }).spec?.target ? targetIndex(o as unknown as RemediationAction) : [];
  if (name === BY_SCALE_TARGET) return [...hpaIndex(o as KubernetesObject), ...scaledObjectIndex(o as KubernetesObject)];
  if (name === BY_CONTROLLER) return [...controllerIndex("Deployment")(o as KubernetesObject), ...controllerIndex("ReplicaSet")(o as KubernetesObject)];
  throw new Error(`no index ${name}`);
}

export class FakeCache<T extends HasMeta> implements Cache<T>, Indexed<T> {
  private readonly items = new Map<string, T>();

  constructor(objects: Iterable<T> = []) {
    for (const o of objects) this.set(o);
  }

  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }

  /** In the order first set. */
  list(namespace?: string): T[] {
    return [...this.items.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }

  /** Adds or replaces the object of its namespace/name (an informer add or update). */
  set(...objects: T[]): this {
    for (const o of objects) this.items.set(`${o.metadata?.namespace}/${o.metadata?.name}`, o);
    return this;
  }

  /** Removes an object (an informer delete); true when it was there. */
  delete(namespace: string, name: string): boolean {
    return this.items.delete(`${namespace}/${name}`);
  }

  byIndex(name: string, value: string): T[] {
    return this.list().filter((o) => indexValues(name, o).includes(value));
  }
}

export function cacheOf<T extends HasMeta>(objects: Iterable<T> = []): FakeCache<T> {
  return new FakeCache(objects);
}

/**
 * A Cache that sees exactly what the fake API server stores: an informer that has
 * caught up with every write. Each read returns fresh copies.
 */
export function cacheOfApi<T extends HasMeta>(api: FakeKubeApi, resource: Resource): Cache<T> & Indexed<T> {
  return {
    get: (namespace, name) => api.stored<T>(resource, namespace, name),
    list: (namespace) => api.storedAll<T>(resource, namespace),
    byIndex: (name, value) => api.storedAll<T>(resource).filter((o) => indexValues(name, o).includes(value)),
  };
}

function parsed<T>(what: string, schema: Parameters<typeof validate>[0], value: unknown, prefix: string): T {
  const result = validate(schema, value, prefix);
  if (!result.ok) throw new Error(`builders: invalid ${what}: ${result.issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
  return result.value as T;
}
