// Deployments that an autoscaler scales: which HorizontalPodAutoscalers and KEDA
// ScaledObjects target a Deployment, and what a scale of such a Deployment does
// under the policy's autoscaler mode. An autoscaler owns spec.replicas: a scale
// written over it is undone within one sync (or the two writers fight), so it is
// either refused (Block, naming the autoscaler) or turned into a raised floor
// (AdjustAutoscaler: the autoscaler keeps at least the requested replicas, for a
// bounded time). Pure.
import { BlockReason } from "../api/v1alpha1/reasons.ts";
import type { FieldChange } from "./change.ts";

export type AutoscalerKind = "HorizontalPodAutoscaler" | "ScaledObject";

/** One autoscaler of a Deployment, as the decision needs it. */
export interface Autoscaler {
  kind: AutoscalerKind;
  namespace: string;
  name: string;
  /** The floor as set (HPA spec.minReplicas, ScaledObject spec.minReplicaCount); undefined when unset. */
  min?: number;
  /** The ceiling (HPA spec.maxReplicas, ScaledObject spec.maxReplicaCount). */
  max: number;
  resourceVersion?: string;
}

export const AUTOSCALER_API: Record<AutoscalerKind, { apiVersion: string; floorPath: string; defaultMin: number; defaultMax: number }> = {
  HorizontalPodAutoscaler: { apiVersion: "autoscaling/v2", floorPath: "/spec/minReplicas", defaultMin: 1, defaultMax: 1 },
  // KEDA's defaults: a ScaledObject without minReplicaCount scales to zero, without maxReplicaCount to 100.
  ScaledObject: { apiVersion: "keda.sh/v1alpha1", floorPath: "/spec/minReplicaCount", defaultMin: 0, defaultMax: 100 },
};

/** The floor in force: the field's value, or the autoscaler's default when unset. */
export const floorOf = (a: Autoscaler): number => a.min ?? AUTOSCALER_API[a.kind].defaultMin;

export const describeAutoscaler = (a: Autoscaler): string => `${a.kind} ${a.name} (min ${floorOf(a)}, max ${a.max})`;

/** The label KEDA puts on the HPA it generates for a ScaledObject. */
export const KEDA_SCALED_OBJECT_LABEL = "scaledobject.keda.sh/name";

interface Meta {
  namespace?: string;
  name?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion?: string; kind?: string; name?: string; controller?: boolean }>;
}
interface ScaleTargetRef { apiVersion?: string; kind?: string; name?: string }

/** An autoscaling/v2 HorizontalPodAutoscaler, as far as it is read here. */
export interface HpaObject {
  metadata?: Meta;
  spec?: { scaleTargetRef?: ScaleTargetRef; minReplicas?: number; maxReplicas?: number };
}

/** A keda.sh/v1alpha1 ScaledObject, as far as it is read here. */
export interface ScaledObjectObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: { scaleTargetRef?: ScaleTargetRef; minReplicaCount?: number; maxReplicaCount?: number };
}

/**
 * The Deployment (`namespace/name`) a scaleTargetRef names, or undefined when it
 * names something else. An HPA's kind is required; a ScaledObject's defaults to
 * Deployment. The apiVersion is apps/v1, or empty (KEDA allows leaving it out).
 */
export function deploymentKey(namespace: string | undefined, ref: ScaleTargetRef | undefined, defaultKind?: string): string | undefined {
  if (!ref?.name || namespace === undefined) return undefined;
  const kind = ref.kind || defaultKind;
  if (kind !== "Deployment") return undefined;
  if (ref.apiVersion && ref.apiVersion !== "apps/v1") return undefined;
  return `${namespace}/${ref.name}`;
}

/** The ScaledObject an HPA was generated for (KEDA's label or controller reference), or undefined for an HPA of its own. */
export function scaledObjectOf(hpa: HpaObject): string | undefined {
  const label = hpa.metadata?.labels?.[KEDA_SCALED_OBJECT_LABEL];
  if (label) return label;
  const owner = hpa.metadata?.ownerReferences?.find((o) => o.kind === "ScaledObject" && (o.apiVersion ?? "").startsWith("keda.sh/"));
  return owner?.name;
}

export const hpaTargetKey = (hpa: HpaObject): string | undefined => deploymentKey(hpa.metadata?.namespace, hpa.spec?.scaleTargetRef);
export const scaledObjectTargetKey = (so: ScaledObjectObject): string | undefined => deploymentKey(so.metadata?.namespace, so.spec?.scaleTargetRef, "Deployment");

export function fromHpa(hpa: HpaObject): Autoscaler {
  return {
    kind: "HorizontalPodAutoscaler",
    namespace: hpa.metadata?.namespace ?? "",
    name: hpa.metadata?.name ?? "",
    ...(typeof hpa.spec?.minReplicas === "number" ? { min: hpa.spec.minReplicas } : {}),
    max: hpa.spec?.maxReplicas ?? AUTOSCALER_API.HorizontalPodAutoscaler.defaultMax,
    ...(hpa.metadata?.resourceVersion ? { resourceVersion: hpa.metadata.resourceVersion } : {}),
  };
}

export function fromScaledObject(so: ScaledObjectObject): Autoscaler {
  return {
    kind: "ScaledObject",
    namespace: so.metadata?.namespace ?? "",
    name: so.metadata?.name ?? "",
    ...(typeof so.spec?.minReplicaCount === "number" ? { min: so.spec.minReplicaCount } : {}),
    max: so.spec?.maxReplicaCount ?? AUTOSCALER_API.ScaledObject.defaultMax,
    ...(so.metadata?.resourceVersion ? { resourceVersion: so.metadata.resourceVersion } : {}),
  };
}

/**
 * The autoscalers of one Deployment, from the HPAs and ScaledObjects that target
 * it. An HPA that KEDA generated for a ScaledObject is that ScaledObject, not a
 * second autoscaler: it is dropped when the ScaledObject is known, and stands for
 * it (kind ScaledObject, the HPA's min and max) when it is not (no ScaledObject
 * informer). Sorted by kind and name, so the message never depends on list order.
 */
export function autoscalersOf(hpas: readonly HpaObject[], scaledObjects: readonly ScaledObjectObject[]): Autoscaler[] {
  const byKey = new Map<string, Autoscaler>();
  for (const so of scaledObjects) {
    const a = fromScaledObject(so);
    byKey.set(`ScaledObject/${a.name}`, a);
  }
  for (const hpa of hpas) {
    const so = scaledObjectOf(hpa);
    if (so !== undefined) {
      if (!byKey.has(`ScaledObject/${so}`)) {
        const h = fromHpa(hpa);
        byKey.set(`ScaledObject/${so}`, { kind: "ScaledObject", namespace: h.namespace, name: so, ...(h.min !== undefined ? { min: h.min } : {}), max: h.max });
      }
      continue;
    }
    const a = fromHpa(hpa);
    byKey.set(`HorizontalPodAutoscaler/${a.name}`, a);
  }
  return [...byKey.values()].sort((x, y) => (x.kind === y.kind ? (x.name < y.name ? -1 : x.name > y.name ? 1 : 0) : x.kind < y.kind ? -1 : 1));
}

export interface AutoscalerPolicy {
  mode: "Block" | "AdjustAutoscaler";
  adjustSeconds: number;
  /** The policy's replicas.max: a raised floor never exceeds it. */
  maxReplicas: number;
}

export interface AutoscalerInput {
  type: "scale" | "patch" | "restart" | "delete-pod" | "revert";
  /** `namespace/name` of the Deployment, for messages. */
  deployment: string;
  /** What a patch changes (a patch is judged only when it changes spec.replicas). */
  changes?: readonly FieldChange[];
  /** The replicas the action sets, as the guardrails computed and allowed them. */
  requested?: number;
  autoscalers: readonly Autoscaler[];
  policy: AutoscalerPolicy;
}

export type AutoscalerDecision =
  /** Not a change of replicas, or no autoscaler: the guardrails' decision stands. */
  | { kind: "none" }
  | { kind: "block"; reason: typeof BlockReason.ManagedByAutoscaler; message: string }
  /** Raise `autoscaler`'s floor from `from` (undefined: unset, `floor` in force) to `to`. */
  | { kind: "adjust"; autoscaler: Autoscaler; from?: number; floor: number; to: number; message: string };

/** Does the action change spec.replicas (a scale, or a patch whose effect touches it)? */
export function changesReplicas(type: AutoscalerInput["type"], changes: readonly FieldChange[] | undefined): boolean {
  if (type === "scale") return true;
  return type === "patch" && (changes ?? []).some((c) => c.pointer === "/spec/replicas");
}

export function decideAutoscaler(input: AutoscalerInput): AutoscalerDecision {
  const { autoscalers, policy, deployment } = input;
  if (!changesReplicas(input.type, input.changes) || autoscalers.length === 0) return { kind: "none" };
  const what = input.type === "scale" ? "a scale" : "a patch of spec.replicas";
  const owners = autoscalers.map(describeAutoscaler).join(", ");
  const block = (why: string): AutoscalerDecision => ({ kind: "block", reason: BlockReason.ManagedByAutoscaler, message: `Deployment ${deployment} is scaled by ${owners}: ${why}` });

  if (policy.mode === "Block") {
    return block(`${what} would be undone by it; the policy's autoscaler.mode is Block (AdjustAutoscaler raises its floor instead)`);
  }
  if (autoscalers.length > 1) return block(`more than one autoscaler targets it, so which floor to raise is ambiguous; nothing was changed`);
  if (input.type === "patch" && (input.changes ?? []).some((c) => c.pointer !== "/spec/replicas")) {
    return block(`the patch changes spec.replicas and other fields; only a change of spec.replicas alone can become a raised floor`);
  }
  const a = autoscalers[0]!;
  const requested = input.requested;
  if (requested === undefined) return block(`${what} with no computed replica count cannot become a floor`);
  const floor = floorOf(a);
  const to = Math.min(requested, policy.maxReplicas, a.max);
  const caps: string[] = [];
  if (requested > a.max) caps.push(`the requested ${requested} is above its max ${a.max}`);
  if (requested > policy.maxReplicas) caps.push(`the requested ${requested} is above the policy's replicas.max ${policy.maxReplicas}`);
  const capped = caps.length > 0 ? ` (${caps.join("; ")}: capped at ${to})` : "";
  if (to <= floor) {
    // The floor is never lowered: below its floor the autoscaler decides from its metrics.
    return block(`${what} to ${requested} replicas${capped} would not raise its floor ${floor}; the operator never lowers an autoscaler's floor, so nothing was changed`);
  }
  return {
    kind: "adjust", autoscaler: a, ...(a.min !== undefined ? { from: a.min } : {}), floor, to,
    message: `Deployment ${deployment} is scaled by ${describeAutoscaler(a)}: raising its floor ${floor} -> ${to} for ${policy.adjustSeconds}s instead of scaling the Deployment${capped}`,
  };
}
