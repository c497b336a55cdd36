// How an action is named in messages, events and spans.
import type { V1Deployment } from "@kubernetes/client-node";
import type { Attributes } from "@opentelemetry/api";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import type { Intent } from "../../api/v1alpha1/remediation-action.ts";
import type { EventTarget } from "../../k8s/events.ts";
import { ATTR } from "../../telemetry/tracing.ts";

export function describeIntent(a: RemediationAction, i: Intent): string {
  const target = `Deployment ${a.metadata.namespace}/${a.spec.target.name}`;
  switch (a.spec.type) {
    case "scale":
      return `scale ${target} ${i.fromReplicas} -> ${i.replicas}${scaleNote(a, i)}`;
    case "restart":
      return `restart ${target} (restartedAt ${i.restartedAt})`;
    case "patch":
      return `patch ${target}`;
    case "delete-pod":
      return `evict pod ${i.podName} (uid ${i.podUID}) of ${target}`;
    case "revert":
      return `revert ${a.spec.revertOf} on ${target}${i.replicas !== undefined ? ` (replicas ${i.fromReplicas} -> ${i.replicas})` : ""}`;
  }
}

/** For a relative scale: its step, and what changed while it waited when the count it was decided at is not what it found. */
export function scaleNote(a: RemediationAction, i: Intent): string {
  const by = a.spec.scale?.by;
  if (by === undefined) return "";
  const decided = a.spec.scale?.decidedAtReplicas;
  const moved = decided !== undefined && decided !== i.fromReplicas
    ? `; decided at ${decided} replicas, the Deployment had ${i.fromReplicas} when the target was computed`
    : "";
  return ` (${by > 0 ? "+" : ""}${by}${moved})`;
}

/** The event action for a type: "delete-pod" → "DeletePod". */
export const verb = (a: RemediationAction) => a.spec.type.split("-").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");

export function ref(a: RemediationAction): EventTarget {
  return { apiVersion: a.apiVersion, kind: a.kind, namespace: a.metadata.namespace, name: a.metadata.name, uid: a.metadata.uid };
}

export function deploymentRef(d: V1Deployment): EventTarget {
  return { apiVersion: "apps/v1", kind: "Deployment", namespace: d.metadata!.namespace!, name: d.metadata!.name!, uid: d.metadata?.uid };
}

export function actionAttributes(a: RemediationAction): Attributes {
  return {
    [ATTR.actionName]: a.metadata.name,
    [ATTR.actionType]: a.spec.type,
    [ATTR.targetNamespace]: a.spec.target.namespace ?? a.metadata.namespace,
    [ATTR.targetName]: a.spec.target.name,
    [ATTR.dryRun]: a.spec.dryRun,
    [ATTR.source]: a.spec.source,
    ...(a.spec.signalRef ? { [ATTR.signalType]: a.spec.signalRef.kind === "AnomalySignal" ? "anomaly" : "rca", [ATTR.signalName]: a.spec.signalRef.name } : {}),
  };
}

export function outcomeAttributes(a: RemediationAction): Attributes {
  const st = a.status;
  return {
    [ATTR.actionPhase]: st?.phase ?? "Pending",
    ...(st?.reason ? { [ATTR.actionReason]: st.reason } : {}),
    ...(st?.verification?.status ? { [ATTR.verificationStatus]: st.verification.status } : {}),
    ...(st?.verification?.attempts ? { [ATTR.verificationAttempts]: st.verification.attempts } : {}),
  };
}

export function createdAt(a: RemediationAction): number {
  return Date.parse(a.metadata.creationTimestamp as unknown as string);
}
