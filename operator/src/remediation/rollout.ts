// When is a rollout done? kubectl's `rollout status` rules, plus a check that no
// pod the action brought into being is crash-looping (CrashLoopBackOff fails it).
import type { V1ContainerStatus, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { Reason, type ReasonName } from "../api/v1alpha1/reasons.ts";
import { compareStrings } from "./target.ts";

export interface RolloutObservation {
  desiredReplicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
}

export interface RolloutStatus {
  state: "complete" | "progressing" | "failed";
  reason: ReasonName;
  message: string;
  observed: RolloutObservation;
}

/**
 * A crash-looping new pod fails the rollout at once, before the replica counts
 * are looked at: such a pod is never available, so waiting on the counts would
 * only ever end in a timeout that hides the real cause.
 */
export function rolloutStatus(d: V1Deployment, newPods: readonly V1Pod[] = []): RolloutStatus {
  const st = d.status ?? {};
  const observed: RolloutObservation = {
    desiredReplicas: d.spec?.replicas ?? 1,
    updatedReplicas: st.updatedReplicas ?? 0,
    readyReplicas: st.readyReplicas ?? 0,
    availableReplicas: st.availableReplicas ?? 0,
  };
  const { desiredReplicas: desired, updatedReplicas: updated, readyReplicas: ready, availableReplicas: available } = observed;
  const result = (state: RolloutStatus["state"], reason: ReasonName, message: string): RolloutStatus => ({ state, reason, message, observed });

  const generation = d.metadata?.generation ?? 0;
  const observedGeneration = st.observedGeneration ?? 0;
  if (generation > observedGeneration) {
    return result("progressing", Reason.RolloutInProgress, `waiting for the Deployment controller to observe generation ${generation} (observed ${observedGeneration})`);
  }
  const progressing = st.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return result("failed", Reason.ProgressDeadlineExceeded, `rollout exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ""}`);
  }
  for (const pod of newPods) {
    const problem = crashProblem(pod);
    if (problem) return result("failed", Reason.CrashLoopDetected, `pod ${pod.metadata?.name ?? "?"}: ${problem}`);
  }
  if (updated < desired) {
    return result("progressing", Reason.RolloutInProgress, `${updated} of ${desired} new replicas have been updated`);
  }
  const replicas = st.replicas ?? 0;
  if (replicas > updated) {
    return result("progressing", Reason.RolloutInProgress, `${replicas - updated} old replicas are pending termination`);
  }
  if (available < updated) {
    return result("progressing", Reason.RolloutInProgress, `${available} of ${updated} updated replicas are available`);
  }
  if (ready < desired) {
    return result("progressing", Reason.RolloutInProgress, `${ready} of ${desired} replicas are ready`);
  }
  return result("complete", Reason.RolloutComplete, `${desired} of ${desired} replicas updated, ready and available`);
}

/**
 * Settled: the rollout is complete (rolloutStatus) and the Deployment runs
 * exactly spec.replicas pods, all updated and available — no surplus left from
 * a scale-down. What the end-to-end tests and the benchmarks wait for before
 * they act or measure; verification itself uses rolloutStatus.
 */
export function deploymentAvailable(d: V1Deployment): boolean {
  return rolloutStatus(d).state === "complete" && (d.status?.replicas ?? 0) === (d.spec?.replicas ?? 1);
}

function containerStatuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

/**
 * The pods an action may have brought into being, whose crashes fail its
 * verification: created since the action started (creationTimestamp has whole
 * seconds, so with a second of slack), not terminating, and never the pod the
 * action itself evicted — that one is still crash-looping on its way out.
 */
export function podsSince(pods: readonly V1Pod[], startedAtMs: number, evictedUid?: string): V1Pod[] {
  return pods.filter((p) => {
    if (p.metadata?.deletionTimestamp || (evictedUid !== undefined && p.metadata?.uid === evictedUid)) return false;
    const created = toMs(p.metadata?.creationTimestamp as Date | string | undefined);
    return created !== undefined && created >= startedAtMs - 1000;
  });
}

/** CrashLoopBackOff or OOMKilled (now or last time), described; undefined when neither. */
export function crashProblem(pod: V1Pod): string | undefined {
  for (const c of containerStatuses(pod)) {
    if (c.state?.waiting?.reason === "CrashLoopBackOff") return `container ${c.name} is in CrashLoopBackOff (${c.restartCount} restarts)`;
    if (c.state?.terminated?.reason === "OOMKilled" || c.lastState?.terminated?.reason === "OOMKilled") return `container ${c.name} was OOMKilled`;
  }
  return undefined;
}

/** Timestamps arrive as Date from the typed client and as strings from raw JSON. */
function toMs(v: Date | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = v instanceof Date ? v.getTime() : Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Since when the pod has not been Ready; undefined when it is Ready or nothing says when. */
function notReadySince(pod: V1Pod): number | undefined {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status === "True") return undefined;
  return toMs(ready?.lastTransitionTime) ?? toMs(pod.status?.startTime);
}

/**
 * Pods worth evicting, worst first: crash-looping or OOMKilled, then not Ready
 * for at least the threshold (longest first), then by name. Terminating pods are
 * skipped; a pod with no time to judge by is left alone rather than guessed at.
 */
export function unhealthyPods(pods: readonly V1Pod[], now: number, notReadyThresholdSeconds: number): V1Pod[] {
  const ranked: { pod: V1Pod; crash: boolean; since: number; name: string }[] = [];
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const name = pod.metadata?.name ?? "";
    const since = notReadySince(pod);
    if (crashProblem(pod) !== undefined) {
      ranked.push({ pod, crash: true, since: since ?? now, name });
    } else if (since !== undefined && now - since >= notReadyThresholdSeconds * 1000) {
      ranked.push({ pod, crash: false, since, name });
    }
  }
  ranked.sort((a, b) => Number(b.crash) - Number(a.crash) || a.since - b.since || compareStrings(a.name, b.name));
  return ranked.map((r) => r.pod);
}
