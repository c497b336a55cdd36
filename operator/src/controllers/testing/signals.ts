// Builders for signals and for actions as the closed loop leaves them (done,
// judged), in the style of builders.ts: defaults plus option functions, through
// the schemas, so a built object is what the API server would store.
import { anomalySignalSpec } from "../../api/v1alpha1/anomaly-signal.ts";
import type { Signal } from "../../api/v1alpha1/objects.ts";
import { rcaSignalSpec } from "../../api/v1alpha1/rca-signal.ts";
import type { Recommendation, RemediationActionStatus } from "../../api/v1alpha1/remediation-action.ts";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { iso, NAMESPACE, type Opt, rfc3339, T0, TARGET, withIntent, withPhase, withStatus } from "./builders.ts";

const signalMeta = (name: string, atMs: number) => ({ name, namespace: NAMESPACE, uid: `${name}-uid`, resourceVersion: "1", generation: 1, creationTimestamp: iso(atMs) });

/** An anomalous latency window for service web, created at `atMs`. */
export function anomalySignal(name: string, atMs = T0, spec: Record<string, unknown> = {}, target: string | undefined = TARGET): Signal {
  return {
    apiVersion: "smartops.io/v1alpha1", kind: "AnomalySignal", metadata: signalMeta(name, atMs),
    spec: anomalySignalSpec.parse({ windowId: name, service: TARGET, isAnomaly: true, score: 0.9, type: "latency", modelVersion: "m1", ...spec }),
    ...(target ? { status: { phase: "ActionCreated", target } } : {}),
  } as Signal;
}

/** A diagnosis of `cause` on service web, created at `atMs`. */
export function rcaSignal(name: string, atMs = T0, cause = "memory_leak", spec: Record<string, unknown> = {}): Signal {
  return {
    apiVersion: "smartops.io/v1alpha1", kind: "RcaSignal", metadata: signalMeta(name, atMs),
    spec: rcaSignalSpec.parse({ windowId: name, rankedCauses: [{ svc: TARGET, cause, probability: 0.8 }], confidence: 0.9, modelVersion: "m1", ...spec }),
    status: { phase: "ActionCreated", target: TARGET },
  } as Signal;
}

export const withRecommendation = (rec: Recommendation): Opt<RemediationAction> => (a) => { a.spec.recommendation = rec; };

/** Executed at `executedMs` and finished Succeeded (or `phase`) at `completedMs`. */
export const finished = (completedMs: number, phase: "Succeeded" | "Failed" = "Succeeded", executedMs = completedMs - 10_000): Opt<RemediationAction> => (a) => {
  withPhase(phase, phase === "Succeeded" ? "RolloutComplete" : "RolloutTimedOut")(a);
  withIntent({ recordedAt: rfc3339(executedMs) })(a);
  withStatus({ startedAt: rfc3339(executedMs), completedAt: rfc3339(completedMs) })(a);
};

/** Its effectiveness already decided. */
export const judged = (state: NonNullable<RemediationActionStatus["effectiveness"]>["state"], completedMs: number, windowSeconds = 300): Opt<RemediationAction> =>
  withStatus({ effectiveness: { state, windowSeconds, windowEndsAt: rfc3339(completedMs + windowSeconds * 1000) } });
