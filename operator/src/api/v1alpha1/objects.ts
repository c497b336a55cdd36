// The four kinds as objects the controllers read and write.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { AnomalySignalSpec, SignalStatus } from "./anomaly-signal.ts";
import type { GuardrailPolicySpec, GuardrailPolicyStatus } from "./guardrail-policy.ts";
import type { RcaSignalSpec } from "./rca-signal.ts";
import type { RemediationActionSpec, RemediationActionStatus } from "./remediation-action.ts";

export interface ObjectMeta extends V1ObjectMeta {
  name: string;
  namespace: string;
}

interface Resource<K extends string, S, St> {
  apiVersion: "smartops.io/v1alpha1";
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  status?: St;
}

export type AnomalySignal = Resource<"AnomalySignal", AnomalySignalSpec, SignalStatus>;
export type RcaSignal = Resource<"RcaSignal", RcaSignalSpec, SignalStatus>;
export type Signal = AnomalySignal | RcaSignal;
export type RemediationAction = Resource<"RemediationAction", RemediationActionSpec, RemediationActionStatus>;
export type GuardrailPolicy = Resource<"GuardrailPolicy", GuardrailPolicySpec, GuardrailPolicyStatus>;
export type SmartopsObject = Signal | RemediationAction | GuardrailPolicy;

export const ANNOTATIONS = {
  /** On a Deployment: uid of the last RemediationAction that mutated it (the crash-safety stamp). */
  lastAction: "smartops.io/last-action",
  /** On a RemediationAction: W3C traceparent of the trace it belongs to. */
  traceparent: "smartops.io/traceparent",
  /** kubectl's rollout restart annotation on the pod template. */
  restartedAt: "kubectl.kubernetes.io/restartedAt",
} as const;

export const LABELS = {
  /** On a RemediationAction: the Deployment it targets (for cheap per-target listing). */
  target: "smartops.io/target",
  /** On a RemediationAction derived from a signal: the signal's name. */
  signal: "smartops.io/signal",
} as const;
