// fast-check generators for the remediation properties: policies within the
// schema's ranges (the tests check that they parse), kept small enough that
// limits are actually hit.
import fc from "fast-check";
import { DEFAULT_PATCH_ALLOWED_PATHS, DEFAULT_PATCH_DENIED_PATHS, type GuardrailPolicySpec } from "../../api/v1alpha1/guardrail-policy.ts";
import { ACTION_TYPES } from "../../api/v1alpha1/remediation-action.ts";
import type { PolicyObject } from "../policy.ts";
import type { RuleAction } from "../rules.ts";

export const RULE_ACTIONS: readonly RuleAction[] = ["scale-up", "restart", "delete-pod", "none"];
export const ANOMALY_TYPES = ["resource", "latency", "error", "jitter", "other", "mystery"] as const;
export const RCA_CAUSES = ["memory_leak", "cpu_saturation", "high_error_rate", "config_issue", "gremlins"] as const;

const EXTRA_PATHS = ["spec.template.spec", "spec.template.spec.containers[].env", "spec.minReadySeconds", "spec.template.spec.containers"];

const tier = fc.constantFrom("None" as const, "Required" as const);
const revertOrKeep = fc.constantFrom("Revert" as const, "Keep" as const);
export const LADDER_STEPS = ["restart", "scale-up", "delete-pod", "notify"] as const;
export const ladderArb = fc.array(fc.constantFrom(...LADDER_STEPS), { minLength: 1, maxLength: 5 });
const seconds = fc.integer({ min: 0, max: 1200 });
const gitOpsMode = fc.constantFrom("Block" as const, "Allow" as const);
/** Field managers: some protected by default, some not. */
export const FIELD_MANAGERS = ["kubectl", "kubectl-client-side-apply", "ci-deployer", "argocd-controller", "kustomize-controller", "helm", "team-tuner"] as const;

export const replicasArb = fc
  .tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 6 }))
  .map(([a, b, maxStep]) => ({ min: Math.min(a, b), max: Math.max(1, a, b), maxStep }));

export function policySpecArb(opts: { pausedPercent?: number } = {}): fc.Arbitrary<GuardrailPolicySpec> {
  const pausedPercent = opts.pausedPercent ?? 15;
  return fc.record({
    mode: fc.constant("Enforce" as const),
    paused: fc.oneof({ arbitrary: fc.constant(true), weight: pausedPercent }, { arbitrary: fc.constant(false), weight: 100 - pausedPercent }),
    targets: fc.constant({}),
    replicas: replicasArb,
    cooldownSeconds: fc.record({ scale: seconds, restart: seconds, patch: seconds, deletePod: seconds }),
    rateLimits: fc.record({ maxActionsPerHour: fc.integer({ min: 0, max: 8 }), maxScaleIncreasePer15Minutes: fc.integer({ min: 0, max: 8 }) }),
    patch: fc.record({
      allowedPaths: fc.subarray([...DEFAULT_PATCH_ALLOWED_PATHS, ...EXTRA_PATHS]),
      deniedPaths: fc.subarray([...DEFAULT_PATCH_DENIED_PATHS, ...EXTRA_PATHS]),
    }),
    approval: fc.record({
      scale: tier,
      restart: tier,
      patch: tier,
      deletePod: tier,
      revert: tier,
      timeoutSeconds: fc.integer({ min: 10, max: 604800 }),
    }),
    signals: fc.record({
      minScore: fc.double({ min: 0, max: 1, noNaN: true }),
      minConfidence: fc.double({ min: 0, max: 1, noNaN: true }),
      unverified: fc.constantFrom("DryRun" as const, "Ignore" as const),
      scaleStep: fc.integer({ min: 1, max: 10 }),
    }),
    rules: fc.option(
      fc.record({
        anomaly: fc.uniqueArray(fc.record({ type: fc.constantFrom(...ANOMALY_TYPES), action: fc.constantFrom(...RULE_ACTIONS) }), { selector: (r) => r.type }),
        rca: fc.uniqueArray(fc.record({ cause: fc.constantFrom(...RCA_CAUSES), action: fc.constantFrom(...RULE_ACTIONS) }), { selector: (r) => r.cause }),
      }),
      { nil: undefined },
    ),
    onFailure: fc.record({ scale: revertOrKeep, patch: revertOrKeep }),
    effectiveness: fc.record({ windowSeconds: fc.integer({ min: 10, max: 3600 }) }),
    escalation: fc.record({
      enabled: fc.boolean(),
      ladders: fc.record({ anomaly: ladderArb, rca: ladderArb }),
      maxConsecutiveFailures: fc.integer({ min: 1, max: 6 }),
      blockExpirySeconds: fc.option(fc.integer({ min: 60, max: 86400 }), { nil: undefined }),
    }, { requiredKeys: ["enabled", "ladders", "maxConsecutiveFailures"] }),
    autoscaler: fc.record({ mode: fc.constantFrom("Block" as const, "AdjustAutoscaler" as const), adjustSeconds: fc.integer({ min: 10, max: 86400 }) }),
    allowedActions: fc.option(fc.subarray([...ACTION_TYPES]), { nil: undefined, freq: 2 }),
    gitops: fc.record({ scale: gitOpsMode, restart: gitOpsMode, patch: gitOpsMode, deletePod: gitOpsMode }),
    fieldConflicts: fc.record({ mode: fc.constantFrom("Block" as const, "Force" as const), protectedManagers: fc.subarray([...FIELD_MANAGERS]) }),
  }, { requiredKeys: ["mode", "paused", "targets", "replicas", "cooldownSeconds", "rateLimits", "patch", "approval", "signals", "onFailure", "effectiveness", "escalation", "gitops", "fieldConflicts", "autoscaler"] });
}

export function policyObjectsArb(maxLength = 4): fc.Arbitrary<PolicyObject[]> {
  return fc
    .array(policySpecArb(), { minLength: 1, maxLength })
    .map((specs) => specs.map((spec, i) => ({ metadata: { namespace: "team-a", name: `p${i}` }, spec })));
}
