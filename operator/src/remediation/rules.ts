// Signal → decision: the default action per anomaly type and RCA cause
// (DEFAULT_ANOMALY_ACTIONS, DEFAULT_RCA_ACTIONS), the policy's overrides, the
// admission thresholds (minScore, minConfidence) and the unverified-signal rule
// (a signal missing what verifies it — anomalyMissing, rcaMissing — acts only as
// a dry run, or not at all).
import type { AnomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import type { RankedCause, RcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import type { MetricCheck } from "../api/v1alpha1/guardrail-policy.ts";
import { Reason, type ReasonName } from "../api/v1alpha1/reasons.ts";

export type RuleAction = "scale-up" | "restart" | "delete-pod" | "none";

export interface AnomalyRule {
  type: string;
  action: RuleAction;
  /** Metric checks that judge the effectiveness of this rule's actions. */
  checks?: MetricCheck[];
}

export interface RcaRule {
  cause: string;
  action: RuleAction;
  checks?: MetricCheck[];
}

/** The metric checks of the rule a signal class resolves to (an anomaly type or an RCA top cause). */
export function ruleChecks(rules: Pick<SignalRules, "anomaly" | "rca">, key: { anomalyType?: string; cause?: string }): MetricCheck[] {
  if (key.anomalyType !== undefined) {
    const rows = rules.anomaly ?? [];
    const own = rows.filter((r) => r.type === key.anomalyType);
    const known = (KNOWN_ANOMALY_TYPES as readonly string[]).includes(key.anomalyType);
    return (own.length > 0 || known ? own : rows.filter((r) => r.type === "other")).flatMap((r) => r.checks ?? []);
  }
  if (key.cause !== undefined) return (rules.rca ?? []).filter((r) => r.cause === key.cause).flatMap((r) => r.checks ?? []);
  return [];
}

export interface SignalRules {
  minScore: number;
  minConfidence: number;
  unverified: "DryRun" | "Ignore";
  scaleStep: number;
  anomaly?: AnomalyRule[];
  rca?: RcaRule[];
}

export type SignalDecision =
  | {
      kind: "action";
      actionType: "scale" | "restart" | "delete-pod";
      scaleStep?: number;
      dryRun: boolean;
      verified: boolean;
      rule: "default" | "policy";
      summary: string;
    }
  | { kind: "ignore"; reason: ReasonName; message: string; verified: boolean };

export const KNOWN_ANOMALY_TYPES = ["resource", "latency", "error", "jitter", "other"] as const;

export const DEFAULT_ANOMALY_ACTIONS: Readonly<Record<string, RuleAction>> = {
  resource: "scale-up",
  latency: "restart",
  error: "restart",
  jitter: "restart",
  other: "restart",
};

export const DEFAULT_RCA_ACTIONS: Readonly<Record<string, RuleAction>> = {
  memory_leak: "restart",
  cpu_saturation: "scale-up",
  high_error_rate: "restart",
  config_issue: "restart",
};

export const DEFAULT_RULE_ACTION: RuleAction = "restart";

/** Lower is more restrictive: overlapping policies keep the lowest. */
export const RULE_ACTION_RANK: Readonly<Record<RuleAction, number>> = { none: 0, restart: 1, "delete-pod": 2, "scale-up": 3 };

export function mostRestrictive(actions: readonly RuleAction[]): RuleAction | undefined {
  let best: RuleAction | undefined;
  for (const a of actions) if (best === undefined || RULE_ACTION_RANK[a] < RULE_ACTION_RANK[best]) best = a;
  return best;
}

export interface ResolvedRule {
  action: RuleAction;
  rule: "default" | "policy";
}

function own(table: Readonly<Record<string, RuleAction>>, key: string): RuleAction | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The action for an anomaly type: the policy's row for the type, else (for a type
 * not in KNOWN_ANOMALY_TYPES, which the API treats as `other`) the policy's `other`
 * row, else the built-in default. Duplicate rows resolve to the most restrictive.
 */
export function anomalyRule(type: string, overrides: readonly AnomalyRule[] | undefined): ResolvedRule {
  const listed = mostRestrictive((overrides ?? []).filter((r) => r.type === type).map((r) => r.action));
  if (listed) return { action: listed, rule: "policy" };
  const known = (KNOWN_ANOMALY_TYPES as readonly string[]).includes(type);
  if (!known) {
    const other = mostRestrictive((overrides ?? []).filter((r) => r.type === "other").map((r) => r.action));
    if (other) return { action: other, rule: "policy" };
  }
  return { action: own(DEFAULT_ANOMALY_ACTIONS, type) ?? DEFAULT_RULE_ACTION, rule: "default" };
}

/** The action for an RCA cause (undefined: no ranked cause); the policy's row wins over the built-in default. */
export function rcaRule(cause: string | undefined, overrides: readonly RcaRule[] | undefined): ResolvedRule {
  if (cause !== undefined) {
    const listed = mostRestrictive((overrides ?? []).filter((r) => r.cause === cause).map((r) => r.action));
    if (listed) return { action: listed, rule: "policy" };
  }
  return { action: (cause === undefined ? undefined : own(DEFAULT_RCA_ACTIONS, cause)) ?? DEFAULT_RULE_ACTION, rule: "default" };
}

/** Highest probability; ties go to the earliest, as the agent ranked them. */
export function topCause(spec: RcaSignalSpec): RankedCause | undefined {
  let top: RankedCause | undefined;
  for (const c of spec.rankedCauses ?? []) if (top === undefined || c.probability > top.probability) top = c;
  return top;
}

export function rcaService(spec: RcaSignalSpec): string | undefined {
  return spec.service ?? topCause(spec)?.svc;
}

/** What an anomaly lacks to be verified; its required score already plays the part of a confidence. */
export function anomalyMissing(spec: AnomalySignalSpec): string[] {
  return spec.modelVersion === undefined ? ["modelVersion"] : [];
}

export function rcaMissing(spec: RcaSignalSpec): string[] {
  return [
    ...(spec.modelVersion === undefined ? ["modelVersion"] : []),
    ...(spec.confidence === undefined ? ["confidence"] : []),
    ...((spec.rankedCauses?.length ?? 0) === 0 ? ["rankedCauses"] : []),
  ];
}

// Thresholds are compared and reported unrounded; two decimals are for summaries only.
const fixed2 = (x: number) => x.toFixed(2);

export function decideForAnomaly(spec: AnomalySignalSpec, rules: SignalRules): SignalDecision {
  const missing = anomalyMissing(spec);
  const verified = missing.length === 0;
  const what = `${spec.type} anomaly ${spec.windowId}`;
  if (!spec.isAnomaly) {
    return ignore(Reason.NotAnomalous, `${what} reports isAnomaly=false`, verified);
  }
  if (spec.score < rules.minScore) {
    return ignore(Reason.BelowScoreThreshold, `${what} scores ${spec.score}, below minScore ${rules.minScore}`, verified);
  }
  const low = confidenceCheck(what, spec.confidence, rules, verified);
  if (low) return low;
  const resolved = anomalyRule(spec.type, rules.anomaly);
  return decide(`${what} (score ${fixed2(spec.score)})`, resolved, rules, missing);
}

export function decideForRca(spec: RcaSignalSpec, rules: SignalRules): SignalDecision {
  const missing = rcaMissing(spec);
  const verified = missing.length === 0;
  const top = topCause(spec);
  const service = rcaService(spec);
  const what = `rca ${spec.windowId}`;
  const low = confidenceCheck(what, spec.confidence, rules, verified);
  if (low) return low;
  const resolved = rcaRule(top?.cause, rules.rca);
  const cause = top
    ? `${top.cause} on ${top.svc} (probability ${fixed2(top.probability)})`
    : `no ranked cause${service ? ` for ${service}` : ""}`;
  return decide(`${what}: ${cause}`, resolved, rules, missing);
}

function confidenceCheck(what: string, confidence: number | undefined, rules: SignalRules, verified: boolean): SignalDecision | undefined {
  if (confidence === undefined || confidence >= rules.minConfidence) return undefined;
  return ignore(Reason.BelowConfidenceThreshold, `${what} has confidence ${confidence}, below minConfidence ${rules.minConfidence}`, verified);
}

function decide(what: string, resolved: ResolvedRule, rules: SignalRules, missing: readonly string[]): SignalDecision {
  const verified = missing.length === 0;
  if (resolved.action === "none") {
    return ignore(Reason.RuleSaysNoAction, `${what}: the ${resolved.rule === "policy" ? "policy" : "default"} rule says no action`, verified);
  }
  if (!verified && rules.unverified === "Ignore") {
    return ignore(Reason.UnverifiedSignalIgnored, `${what}: unverified (no ${missing.join(", ")}) and the policy ignores unverified signals`, verified);
  }
  const step = resolved.action === "scale-up" ? rules.scaleStep : undefined;
  const summary = `${what} → ${resolved.action}${step !== undefined ? ` by ${step}` : ""}${resolved.rule === "policy" ? " (policy rule)" : ""}`;
  return {
    kind: "action",
    actionType: resolved.action === "scale-up" ? "scale" : resolved.action,
    ...(step !== undefined ? { scaleStep: step } : {}),
    dryRun: !verified,
    verified,
    rule: resolved.rule,
    summary,
  };
}

function ignore(reason: ReasonName, message: string, verified: boolean): SignalDecision {
  return { kind: "ignore", reason, message, verified };
}
