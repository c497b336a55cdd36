// The four kinds of smartops.io/v1alpha1: their schemas, names and the columns
// `kubectl get` shows. The CRD generator and the controllers both read this.
import type { z } from "zod";
import { anomalySignalSpec, signalStatus } from "./anomaly-signal.ts";
import { guardrailPolicySpec, guardrailPolicyStatus } from "./guardrail-policy.ts";
import { GROUP, VERSION } from "./meta.ts";
import { rcaSignalSpec } from "./rca-signal.ts";
import { remediationActionSpec, remediationActionStatus } from "./remediation-action.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since creation." };

const signalColumns = (extra: PrinterColumn[]): PrinterColumn[] => [
  { name: "Service", type: "string", jsonPath: ".spec.service", description: "Service the signal is about." },
  ...extra,
  { name: "Phase", type: "string", jsonPath: ".status.phase", description: "What became of the signal." },
  { name: "Action", type: "string", jsonPath: ".status.actionRef.name", description: "RemediationAction created for it." },
  age,
];

export const anomalySignalKind: KindDefinition = {
  kind: "AnomalySignal",
  plural: "anomalysignals",
  singular: "anomalysignal",
  shortNames: ["anomaly", "as"],
  description: "One anomaly window reported by a detection agent. Turned into at most one RemediationAction.",
  spec: anomalySignalSpec,
  status: signalStatus,
  printerColumns: signalColumns([
    { name: "Type", type: "string", jsonPath: ".spec.type", description: "Anomaly type." },
    { name: "Score", type: "number", jsonPath: ".spec.score", description: "Anomaly score." },
    { name: "Anomaly", type: "boolean", jsonPath: ".spec.isAnomaly", description: "Whether the window is anomalous.", priority: 1 },
  ]),
};

export const rcaSignalKind: KindDefinition = {
  kind: "RcaSignal",
  plural: "rcasignals",
  singular: "rcasignal",
  shortNames: ["rca"],
  description: "One root-cause diagnosis from an RCA agent. Turned into at most one RemediationAction.",
  spec: rcaSignalSpec,
  status: signalStatus,
  printerColumns: signalColumns([
    { name: "Cause", type: "string", jsonPath: ".spec.rankedCauses[0].cause", description: "First ranked cause." },
    { name: "Confidence", type: "number", jsonPath: ".spec.confidence", description: "Confidence of the diagnosis." },
  ]),
};

export const remediationActionKind: KindDefinition = {
  kind: "RemediationAction",
  plural: "remediationactions",
  singular: "remediationaction",
  shortNames: ["ra", "remediation"],
  description: "One remediation action on one Deployment, and its audit record: the recommendation it carries out (spec.signalRef, spec.recommendation), the policy values that judged it (status.judgedBy), the approval (spec.approval), pre- and post-state (status.preState, status.verification.observed), verification, effectiveness (status.effectiveness, baseline -> outcome) and the revert that would undo it (status.preState, status.autoRevert, status.revertedBy); see docs/guardrails.md, The audit record.",
  spec: remediationActionSpec,
  status: remediationActionStatus,
  printerColumns: [
    { name: "Type", type: "string", jsonPath: ".spec.type", description: "Action type." },
    { name: "Target", type: "string", jsonPath: ".spec.target.name", description: "Target Deployment." },
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase." },
    { name: "Reason", type: "string", jsonPath: ".status.reason", description: "Reason for the phase." },
    { name: "Effective", type: "string", jsonPath: ".status.conditions[?(@.type==\"Effective\")].status", description: "Whether the action fixed the problem (True/False; Unknown while its window runs)." },
    { name: "Source", type: "string", jsonPath: ".spec.source", description: "Who asked for the action." },
    { name: "DryRun", type: "boolean", jsonPath: ".spec.dryRun", description: "Server-side dry run only.", priority: 1 },
    { name: "Message", type: "string", jsonPath: ".status.message", description: "Explanation of the phase.", priority: 1 },
    age,
  ],
};

export const guardrailPolicyKind: KindDefinition = {
  kind: "GuardrailPolicy",
  plural: "guardrailpolicies",
  singular: "guardrailpolicy",
  shortNames: ["gp", "guardrail"],
  description: "Limits for automated remediation on the Deployments it covers: replica caps, cooldowns, rate limits, patch safelist, approval tiers, signal rules and a pause switch.",
  spec: guardrailPolicySpec,
  status: guardrailPolicyStatus,
  printerColumns: [
    { name: "Mode", type: "string", jsonPath: ".spec.mode", description: "Enforce, or Shadow (records what it would decide, decides nothing)." },
    { name: "Paused", type: "boolean", jsonPath: ".spec.paused", description: "Kill switch." },
    { name: "MaxReplicas", type: "integer", jsonPath: ".spec.replicas.max", description: "Replica cap." },
    { name: "Targets", type: "integer", jsonPath: ".status.selectedTargets", description: "Deployments covered." },
    { name: "Ready", type: "string", jsonPath: ".status.conditions[?(@.type==\"Ready\")].status", description: "Whether the policy is valid." },
    age,
  ],
};

export const KINDS: readonly KindDefinition[] = [anomalySignalKind, rcaSignalKind, remediationActionKind, guardrailPolicyKind];

export { GROUP, VERSION };
