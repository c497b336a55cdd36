// Which GuardrailPolicies cover a Deployment, and how overlapping ones combine:
// field by field to the most restrictive value, so adding a policy can only
// tighten what automation may do, never loosen it.
import { guardrailPolicySpec, type GuardrailPolicySpec, type LadderStep, type MetricCheck } from "../api/v1alpha1/guardrail-policy.ts";
import { ACTION_TYPES, type ActionType } from "../api/v1alpha1/remediation-action.ts";
import { labelSelectorErrors, labelSelectorMatches } from "./labels.ts";
import { isPathPrefix } from "./patch-paths.ts";
import { anomalyRule, type AnomalyRule, mostRestrictive, rcaRule, type RcaRule, type RuleAction, type SignalRules } from "./rules.ts";
import { compareStrings } from "./target.ts";

export interface PolicyObject {
  metadata: { namespace: string; name: string };
  spec: GuardrailPolicySpec;
}

export interface TargetRef {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
}

type ApprovalTier = "None" | "Required";

/**
 * The limits that hold for one target. Shaped like the policy spec, except that
 * the patch allow lists stay one per policy (a path must be allowed by every one
 * of them) and the signal rules are a ready-to-use `signals` field.
 */
export interface EffectivePolicy {
  paused: boolean;
  replicas: { min: number; max: number; maxStep: number };
  cooldownSeconds: { scale: number; restart: number; patch: number; deletePod: number };
  rateLimits: { maxActionsPerHour: number; maxScaleIncreasePer15Minutes: number };
  patch: { allowedPathSets: string[][]; deniedPaths: string[] };
  approval: { scale: ApprovalTier; restart: ApprovalTier; patch: ApprovalTier; deletePod: ApprovalTier; revert: ApprovalTier; timeoutSeconds: number };
  /** Thresholds and rules for the signal reconciler (decideForAnomaly / decideForRca). */
  signals: SignalRules;
  /** Revert when any covering policy says Revert: undoing a failed change restores a state the target had. */
  onFailure: { scale: "Revert" | "Keep"; patch: "Revert" | "Keep" };
  /** The longest window: an action is called effective only once every policy's window has passed. */
  effectiveness: { windowSeconds: number };
  escalation: {
    /** On when any covering policy has it on: it stops repeating what did not work, and ends with a human. */
    enabled: boolean;
    /** Per kind, the shortest ladder (it reaches a human soonest). */
    ladders: { anomaly: LadderStep[]; rca: LadderStep[] };
    maxConsecutiveFailures: number;
    /** Unset when any covering policy leaves it unset: only a human resumes. */
    blockExpirySeconds?: number;
  };
  /** Per action type on a GitOps-managed Deployment: Block when any covering policy says Block. */
  gitops: { scale: GitOpsMode; restart: GitOpsMode; patch: GitOpsMode; deletePod: GitOpsMode };
  /** Block when any covering policy says Block; the protected managers of every policy together (sorted). */
  fieldConflicts: { mode: "Block" | "Force"; protectedManagers: string[] };
  /** Block when any covering policy says Block (a raised floor is a change no policy may be made to accept); the shortest hold. */
  autoscaler: { mode: "Block" | "AdjustAutoscaler"; adjustSeconds: number };
  /** Always explicit, in ACTION_TYPES order; unset in every policy means all four. */
  allowedActions: ActionType[];
  /** `namespace/name` of each covering policy, sorted; empty means the built-in defaults. */
  sources: string[];
}

/** The built-in limits when no policy covers a target: the schema's own defaults. */
export const DEFAULT_POLICY_SPEC: GuardrailPolicySpec = guardrailPolicySpec.parse({});

export function policyCovers(policy: PolicyObject, target: TargetRef, operatorNamespace: string): boolean {
  const namespaces = policy.spec.targets?.namespaces ?? [];
  // Only the operator's own namespace may reach into others: a tenant could
  // otherwise pause, throttle or re-rule another tenant's Deployments.
  const covered = policy.metadata.namespace === operatorNamespace && namespaces.length > 0 ? namespaces : [policy.metadata.namespace];
  if (!covered.includes(target.namespace)) return false;
  // No selector: every Deployment of the covered namespaces (the policy API's
  // choice; a nil metav1.LabelSelector would select nothing). An invalid one
  // covers too: a policy can only restrict, so covering too much is the safe
  // side; validatePolicy reports it.
  const selector = policy.spec.targets?.selector;
  if (selector === undefined) return true;
  const matched = labelSelectorMatches(selector, target.labels ?? {});
  return matched === "invalid" || matched;
}

const sourceOf = (p: PolicyObject) => `${p.metadata.namespace}/${p.metadata.name}`;
const min = (xs: readonly number[]) => Math.min(...xs);
const max = (xs: readonly number[]) => Math.max(...xs);
const sortedUnique = (xs: Iterable<string>) => [...new Set(xs)].sort(compareStrings);

export function effectivePolicy(covering: readonly PolicyObject[]): EffectivePolicy {
  const sources = sortedUnique(covering.map(sourceOf));
  const specs = covering.length > 0 ? covering.map((p) => p.spec) : [DEFAULT_POLICY_SPEC];
  const pick = <T>(f: (s: GuardrailPolicySpec) => T) => specs.map(f);
  const anyRequired = (f: (s: GuardrailPolicySpec) => ApprovalTier): ApprovalTier => (pick(f).includes("Required") ? "Required" : "None");

  const replicas = {
    min: max(pick((s) => s.replicas.min)),
    max: min(pick((s) => s.replicas.max)),
    maxStep: min(pick((s) => s.replicas.maxStep)),
  };
  const allowedActions = ACTION_TYPES.filter((t) => specs.every((s) => !s.allowedActions?.length || s.allowedActions.includes(t)));

  return {
    paused: pick((s) => s.paused).includes(true),
    replicas,
    cooldownSeconds: {
      scale: max(pick((s) => s.cooldownSeconds.scale)),
      restart: max(pick((s) => s.cooldownSeconds.restart)),
      patch: max(pick((s) => s.cooldownSeconds.patch)),
      deletePod: max(pick((s) => s.cooldownSeconds.deletePod)),
    },
    rateLimits: {
      maxActionsPerHour: min(pick((s) => s.rateLimits.maxActionsPerHour)),
      maxScaleIncreasePer15Minutes: min(pick((s) => s.rateLimits.maxScaleIncreasePer15Minutes)),
    },
    patch: {
      allowedPathSets: uniqueSets(pick((s) => sortedUnique(s.patch.allowedPaths))),
      deniedPaths: sortedUnique(pick((s) => s.patch.deniedPaths).flat()),
    },
    approval: {
      scale: anyRequired((s) => s.approval.scale),
      restart: anyRequired((s) => s.approval.restart),
      patch: anyRequired((s) => s.approval.patch),
      deletePod: anyRequired((s) => s.approval.deletePod),
      revert: anyRequired((s) => s.approval.revert),
      timeoutSeconds: min(pick((s) => s.approval.timeoutSeconds)),
    },
    signals: {
      minScore: max(pick((s) => s.signals.minScore)),
      minConfidence: max(pick((s) => s.signals.minConfidence)),
      unverified: pick((s) => s.signals.unverified).includes("Ignore") ? "Ignore" : "DryRun",
      scaleStep: min(pick((s) => s.signals.scaleStep)),
      ...combinedRules(specs),
    },
    onFailure: {
      scale: pick((s) => s.onFailure.scale).includes("Revert") ? "Revert" : "Keep",
      patch: pick((s) => s.onFailure.patch).includes("Revert") ? "Revert" : "Keep",
    },
    effectiveness: { windowSeconds: max(pick((s) => s.effectiveness.windowSeconds)) },
    escalation: {
      enabled: pick((s) => s.escalation.enabled).includes(true),
      ladders: { anomaly: shortest(pick((s) => s.escalation.ladders.anomaly)), rca: shortest(pick((s) => s.escalation.ladders.rca)) },
      maxConsecutiveFailures: min(pick((s) => s.escalation.maxConsecutiveFailures)),
      ...blockExpiry(pick((s) => s.escalation.blockExpirySeconds)),
    },
    gitops: {
      scale: blockWins(pick((s) => s.gitops.scale)),
      restart: blockWins(pick((s) => s.gitops.restart)),
      patch: blockWins(pick((s) => s.gitops.patch)),
      deletePod: blockWins(pick((s) => s.gitops.deletePod)),
    },
    fieldConflicts: {
      mode: pick((s) => s.fieldConflicts.mode).includes("Block") ? "Block" : "Force",
      protectedManagers: sortedUnique(pick((s) => s.fieldConflicts.protectedManagers).flat()),
    },
    autoscaler: {
      mode: pick((s) => s.autoscaler.mode).includes("Block") ? "Block" : "AdjustAutoscaler",
      adjustSeconds: min(pick((s) => s.autoscaler.adjustSeconds)),
    },
    allowedActions,
    sources,
  };
}

type GitOpsMode = "Block" | "Allow";
const blockWins = (modes: GitOpsMode[]): GitOpsMode => (modes.includes("Block") ? "Block" : "Allow");

/** The shortest ladder; among equals the first in sorted order, so the policies' order never matters. */
function shortest(ladders: LadderStep[][]): LadderStep[] {
  return [...ladders].sort((a, b) => a.length - b.length || compareLists(a, b))[0]!;
}

function blockExpiry(values: (number | undefined)[]): { blockExpirySeconds?: number } {
  return values.some((v) => v === undefined) ? {} : { blockExpirySeconds: max(values as number[]) };
}

/** Sorted and de-duplicated so that the order of the covering policies never matters. */
function uniqueSets(sets: string[][]): string[][] {
  const unique = [...new Map(sets.map((s) => [JSON.stringify(s), s])).values()];
  return unique.sort(compareLists);
}

function compareLists(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareStrings(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/**
 * For every type or cause some policy lists, the most restrictive of what each
 * policy would do with it, a policy that does not list it contributing its
 * default: so the combination is at least as strict as each policy alone.
 */
function combinedRules(specs: readonly GuardrailPolicySpec[]): Pick<SignalRules, "anomaly" | "rca"> {
  const types = sortedUnique(specs.flatMap((s) => s.rules?.anomaly?.map((r) => r.type) ?? []));
  const causes = sortedUnique(specs.flatMap((s) => s.rules?.rca?.map((r) => r.cause) ?? []));
  const combine = (each: (s: GuardrailPolicySpec) => RuleAction): RuleAction => mostRestrictive(specs.map(each)) ?? "none";
  const checksOf = (rows: { check?: MetricCheck }[]) => rows.flatMap((r) => (r.check ? [r.check] : []));
  const withChecks = (checks: MetricCheck[]) => (checks.length > 0 ? { checks } : {});
  // Every policy's check of a row must pass: adding a policy only adds checks.
  const anomaly: AnomalyRule[] = types.map((type) => ({
    type,
    action: combine((s) => anomalyRule(type, s.rules?.anomaly).action),
    ...withChecks(checksOf(specs.flatMap((s) => s.rules?.anomaly?.filter((r) => r.type === type) ?? []))),
  }));
  const rca: RcaRule[] = causes.map((cause) => ({
    cause,
    action: combine((s) => rcaRule(cause, s.rules?.rca).action),
    ...withChecks(checksOf(specs.flatMap((s) => s.rules?.rca?.filter((r) => r.cause === cause) ?? []))),
  }));
  return { ...(anomaly.length > 0 ? { anomaly } : {}), ...(rca.length > 0 ? { rca } : {}) };
}

/** What a valid policy is warned about; the policy controller picks its Ready reason by code. */
export type PolicyWarningCode = "MaxStepExceedsMax" | "PatchPathDenied" | "NamespacesIgnored";

export interface PolicyWarning {
  code: PolicyWarningCode;
  message: string;
}

export interface PolicyValidation {
  errors: string[];
  warnings: PolicyWarning[];
}

/** What the CRD's schema and CEL rules cannot say. */
export function validatePolicy(policy: PolicyObject, operatorNamespace: string): PolicyValidation {
  const errors: string[] = [];
  const warnings: PolicyWarning[] = [];
  const s = policy.spec;

  if (s.replicas.maxStep > s.replicas.max) {
    warnings.push({ code: "MaxStepExceedsMax", message: `replicas.maxStep ${s.replicas.maxStep} exceeds replicas.max ${s.replicas.max}: no scale can use the whole step` });
  }
  for (const allowed of sortedUnique(s.patch.allowedPaths)) {
    const denied = s.patch.deniedPaths.find((d) => isPathPrefix(d, allowed));
    if (denied !== undefined) {
      warnings.push({
        code: "PatchPathDenied",
        message: denied === allowed
          ? `patch path ${allowed} is both allowed and denied: deny wins`
          : `allowed patch path ${allowed} lies under denied path ${denied}: deny wins`,
      });
    }
  }
  for (const type of duplicates((s.rules?.anomaly ?? []).map((r) => r.type))) errors.push(`rules.anomaly lists type ${type} more than once`);
  for (const cause of duplicates((s.rules?.rca ?? []).map((r) => r.cause))) errors.push(`rules.rca lists cause ${cause} more than once`);

  if (s.targets?.selector) errors.push(...labelSelectorErrors(s.targets.selector, "targets.selector"));

  const namespaces = s.targets?.namespaces ?? [];
  if (namespaces.length > 0 && policy.metadata.namespace !== operatorNamespace) {
    warnings.push({
      code: "NamespacesIgnored",
      message: `targets.namespaces [${namespaces.join(", ")}] ignored: only policies in ${operatorNamespace} may cover other namespaces; this one covers ${policy.metadata.namespace} only`,
    });
  }
  return { errors, warnings };
}

function duplicates(xs: readonly string[]): string[] {
  return sortedUnique(xs.filter((x, i) => xs.indexOf(x) !== i));
}
