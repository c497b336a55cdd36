import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_PATCH_ALLOWED_PATHS, DEFAULT_PATCH_DENIED_PATHS, guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import { DEFAULT_POLICY_SPEC, effectivePolicy, type PolicyObject, policyCovers, validatePolicy } from "./policy.ts";
import { anomalyRule, rcaRule, RULE_ACTION_RANK } from "./rules.ts";
import { ANOMALY_TYPES, policyObjectsArb, policySpecArb, RCA_CAUSES } from "./testing/arbitraries.ts";

const OP_NS = "smartops-system";

/** A policy as the API server stores it: defaulted by the schema. */
const policy = (namespace: string, name: string, spec: Record<string, unknown> = {}): PolicyObject => ({
  metadata: { namespace, name },
  spec: guardrailPolicySpec.parse(spec),
});

describe("policyCovers", () => {
  const t = (namespace: string, labels?: Record<string, string>) => ({ namespace, name: "erp", ...(labels ? { labels } : {}) });

  it("covers its own namespace only, by default", () => {
    expect(policyCovers(policy("team-a", "p"), t("team-a"), OP_NS)).toBe(true);
    expect(policyCovers(policy("team-a", "p"), t("team-b"), OP_NS)).toBe(false);
    expect(policyCovers(policy(OP_NS, "p"), t("team-a"), OP_NS)).toBe(false);
  });

  it("honours targets.namespaces only in the operator's namespace", () => {
    const global = policy(OP_NS, "p", { targets: { namespaces: ["team-a", "team-b"] } });
    expect(policyCovers(global, t("team-a"), OP_NS)).toBe(true);
    expect(policyCovers(global, t("team-c"), OP_NS)).toBe(false);
    expect(policyCovers(global, t(OP_NS), OP_NS)).toBe(false);
    const tenant = policy("team-a", "p", { targets: { namespaces: ["team-b"] } });
    expect(policyCovers(tenant, t("team-b"), OP_NS)).toBe(false);
    expect(policyCovers(tenant, t("team-a"), OP_NS)).toBe(true);
    expect(policyCovers(policy(OP_NS, "p", { targets: { namespaces: [] } }), t(OP_NS), OP_NS)).toBe(true);
  });

  it("matches labels with LabelSelector semantics", () => {
    const sel = (selector: Record<string, unknown>) => policy("ns", "p", { targets: { selector } });
    const labels = { app: "erp", tier: "web" };
    const covers = (selector: Record<string, unknown>) => policyCovers(sel(selector), t("ns", labels), OP_NS);
    expect(covers({})).toBe(true);
    expect(policyCovers(sel({}), t("ns"), OP_NS)).toBe(true);
    expect(covers({ matchLabels: { app: "erp" } })).toBe(true);
    expect(covers({ matchLabels: { app: "erp", tier: "db" } })).toBe(false);
    expect(policyCovers(sel({ matchLabels: { app: "erp" } }), t("ns"), OP_NS)).toBe(false);
    expect(covers({ matchExpressions: [{ key: "tier", operator: "In", values: ["web", "api"] }] })).toBe(true);
    expect(covers({ matchExpressions: [{ key: "tier", operator: "In", values: ["db"] }] })).toBe(false);
    expect(covers({ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] })).toBe(false);
    expect(covers({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["db"] }] })).toBe(true);
    expect(covers({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] })).toBe(false);
    expect(covers({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] })).toBe(true);
    expect(covers({ matchExpressions: [{ key: "tier", operator: "Exists" }] })).toBe(true);
    expect(covers({ matchExpressions: [{ key: "zone", operator: "Exists" }] })).toBe(false);
    expect(covers({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] })).toBe(true);
    expect(covers({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] })).toBe(false);
    expect(covers({ matchLabels: { app: "erp" }, matchExpressions: [{ key: "tier", operator: "In", values: ["db"] }] })).toBe(false);
  });

  it("a malformed requirement covers rather than lets a target slip out", () => {
    expect(policyCovers(policy("ns", "p", { targets: { selector: { matchExpressions: [{ key: "tier", operator: "In" }] } } }), t("ns", {}), OP_NS)).toBe(true);
    expect(policyCovers(policy("ns", "p", { targets: { selector: { matchLabels: { app: "x" }, matchExpressions: [{ key: "tier", operator: "Exists", values: ["a"] }] } } }), t("ns", {}), OP_NS)).toBe(true);
  });

  it("no selector covers every Deployment of the covered namespaces (unlike a nil metav1.LabelSelector)", () => {
    expect(policyCovers(policy("ns", "p", { targets: { namespaces: [] } }), t("ns", { any: "thing" }), OP_NS)).toBe(true);
  });
});

describe("DEFAULT_POLICY_SPEC", () => {
  it("is the schema's defaults: the seed numbers", () => {
    expect(DEFAULT_POLICY_SPEC).toMatchObject({
      paused: false,
      replicas: { min: 1, max: 8, maxStep: 2 },
      cooldownSeconds: { scale: 300, restart: 300, patch: 300, deletePod: 300 },
      rateLimits: { maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 3 },
      patch: { allowedPaths: [...DEFAULT_PATCH_ALLOWED_PATHS], deniedPaths: [...DEFAULT_PATCH_DENIED_PATHS] },
      approval: { scale: "None", restart: "None", patch: "None", deletePod: "None", revert: "None", timeoutSeconds: 1800 },
      signals: { minScore: 0, minConfidence: 0, unverified: "DryRun", scaleStep: 1 },
    });
  });
});

describe("effectivePolicy", () => {
  it("without a covering policy: the defaults, with no sources", () => {
    const e = effectivePolicy([]);
    expect(e.sources).toEqual([]);
    expect(e).toMatchObject({ paused: false, replicas: { min: 1, max: 8, maxStep: 2 }, rateLimits: { maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 3 } });
    expect(e.patch.allowedPathSets).toEqual([[...DEFAULT_PATCH_ALLOWED_PATHS].sort()]);
    expect(e.patch.deniedPaths).toEqual([...DEFAULT_PATCH_DENIED_PATHS].sort());
    expect(e.allowedActions).toEqual(["scale", "restart", "patch", "delete-pod"]);
    expect(e.signals).toEqual({ minScore: 0, minConfidence: 0, unverified: "DryRun", scaleStep: 1 });
  });

  it("one policy passes through", () => {
    const e = effectivePolicy([policy("ns", "p", { replicas: { min: 2, max: 5, maxStep: 1 }, rules: { anomaly: [{ type: "latency", action: "none" }] } })]);
    expect(e.sources).toEqual(["ns/p"]);
    expect(e.replicas).toEqual({ min: 2, max: 5, maxStep: 1 });
    expect(e.signals.anomaly).toEqual([{ type: "latency", action: "none" }]);
  });

  const a = policy("team-a", "a", {
    paused: false,
    replicas: { min: 1, max: 10, maxStep: 3 },
    cooldownSeconds: { scale: 60, restart: 600, patch: 0, deletePod: 100 },
    rateLimits: { maxActionsPerHour: 10, maxScaleIncreasePer15Minutes: 2 },
    patch: { allowedPaths: ["spec.replicas", "spec.template.metadata.labels"], deniedPaths: ["spec.template.spec.volumes"] },
    approval: { scale: "Required", restart: "None", patch: "None", deletePod: "None", revert: "None", timeoutSeconds: 600 },
    signals: { minScore: 0.5, minConfidence: 0.2, unverified: "DryRun", scaleStep: 3 },
    rules: { anomaly: [{ type: "latency", action: "scale-up" }, { type: "error", action: "none" }], rca: [{ cause: "memory_leak", action: "delete-pod" }] },
    allowedActions: ["scale", "restart", "patch"],
  });
  const b = policy(OP_NS, "b", {
    paused: true,
    replicas: { min: 3, max: 6, maxStep: 5 },
    cooldownSeconds: { scale: 300, restart: 120, patch: 30, deletePod: 0 },
    rateLimits: { maxActionsPerHour: 4, maxScaleIncreasePer15Minutes: 5 },
    patch: { allowedPaths: ["spec.replicas"], deniedPaths: ["spec.template.spec.tolerations"] },
    approval: { scale: "None", restart: "Required", patch: "None", deletePod: "None", revert: "None", timeoutSeconds: 3600 },
    signals: { minScore: 0.1, minConfidence: 0.7, unverified: "Ignore", scaleStep: 1 },
    rules: { anomaly: [{ type: "resource", action: "restart" }], rca: [{ cause: "memory_leak", action: "restart" }] },
    allowedActions: ["restart", "patch", "delete-pod"],
  });
  const e = effectivePolicy([a, b]);

  it("combines every field to the most restrictive value", () => {
    expect(e.sources).toEqual(["smartops-system/b", "team-a/a"]);
    expect(e.paused).toBe(true);
    expect(e.replicas).toEqual({ min: 3, max: 6, maxStep: 3 });
    expect(e.cooldownSeconds).toEqual({ scale: 300, restart: 600, patch: 30, deletePod: 100 });
    expect(e.rateLimits).toEqual({ maxActionsPerHour: 4, maxScaleIncreasePer15Minutes: 2 });
    expect(e.patch).toEqual({
      allowedPathSets: [["spec.replicas"], ["spec.replicas", "spec.template.metadata.labels"]],
      deniedPaths: ["spec.template.spec.tolerations", "spec.template.spec.volumes"],
    });
    expect(e.approval).toEqual({ scale: "Required", restart: "Required", patch: "None", deletePod: "None", revert: "None", timeoutSeconds: 600 });
    expect(e.signals).toMatchObject({ minScore: 0.5, minConfidence: 0.7, unverified: "Ignore", scaleStep: 1 });
    expect(e.allowedActions).toEqual(["restart", "patch"]);
  });

  it("combines rules by rank none < restart < delete-pod < scale-up, counting a policy's default where it lists nothing", () => {
    expect(e.signals.anomaly).toEqual([
      { type: "error", action: "none" },
      // a says scale-up, b keeps the default restart
      { type: "latency", action: "restart" },
      // b says restart, a keeps the default scale-up
      { type: "resource", action: "restart" },
    ]);
    expect(e.signals.rca).toEqual([{ cause: "memory_leak", action: "restart" }]);
  });

  it("autoscaler: Block wins over AdjustAutoscaler, the shortest hold wins; the default is Block for 1800 s", () => {
    const adjust = (adjustSeconds: number) => ({ autoscaler: { mode: "AdjustAutoscaler", adjustSeconds } });
    expect(effectivePolicy([]).autoscaler).toEqual({ mode: "Block", adjustSeconds: 1800 });
    expect(effectivePolicy([policy("ns", "x", adjust(600)), policy("ns", "y", adjust(60))]).autoscaler).toEqual({ mode: "AdjustAutoscaler", adjustSeconds: 60 });
    expect(effectivePolicy([policy("ns", "x", adjust(600)), policy("ns", "y", {})]).autoscaler).toEqual({ mode: "Block", adjustSeconds: 600 });
  });

  it("keeps min > max (every scale is then blocked by the caps)", () => {
    const c = effectivePolicy([policy("ns", "low", { replicas: { min: 1, max: 3, maxStep: 2 } }), policy("ns", "high", { replicas: { min: 5, max: 8, maxStep: 2 } })]);
    expect(c.replicas).toMatchObject({ min: 5, max: 3 });
  });

  it("allowedActions with nothing in common leave none; an empty list means all", () => {
    const c = effectivePolicy([policy("ns", "x", { allowedActions: ["scale"] }), policy("ns", "y", { allowedActions: ["restart"] })]);
    expect(c.allowedActions).toEqual([]);
    expect(effectivePolicy([policy("ns", "x", { allowedActions: [] })]).allowedActions).toEqual(["scale", "restart", "patch", "delete-pod"]);
  });
});

describe("effectivePolicy properties", () => {
  it("generated policies are within the schema", () => {
    fc.assert(fc.property(policySpecArb(), (spec) => void guardrailPolicySpec.parse(spec)));
  });

  it("is at least as restrictive as each covering policy", () => {
    fc.assert(
      fc.property(policyObjectsArb(), (policies) => {
        const e = effectivePolicy(policies);
        for (const { spec: p } of policies) {
          expect(e.replicas.min).toBeGreaterThanOrEqual(p.replicas.min);
          expect(e.replicas.max).toBeLessThanOrEqual(p.replicas.max);
          expect(e.replicas.maxStep).toBeLessThanOrEqual(p.replicas.maxStep);
          for (const k of ["scale", "restart", "patch", "deletePod"] as const) {
            expect(e.cooldownSeconds[k]).toBeGreaterThanOrEqual(p.cooldownSeconds[k]);
            if (p.approval[k] === "Required") expect(e.approval[k]).toBe("Required");
            if (p.gitops[k] === "Block") expect(e.gitops[k]).toBe("Block");
          }
          if (p.fieldConflicts.mode === "Block") expect(e.fieldConflicts.mode).toBe("Block");
          expect(e.fieldConflicts.protectedManagers).toEqual(expect.arrayContaining(p.fieldConflicts.protectedManagers));
          expect(e.rateLimits.maxActionsPerHour).toBeLessThanOrEqual(p.rateLimits.maxActionsPerHour);
          expect(e.rateLimits.maxScaleIncreasePer15Minutes).toBeLessThanOrEqual(p.rateLimits.maxScaleIncreasePer15Minutes);
          expect(e.approval.timeoutSeconds).toBeLessThanOrEqual(p.approval.timeoutSeconds);
          expect(e.signals.minScore).toBeGreaterThanOrEqual(p.signals.minScore);
          expect(e.signals.minConfidence).toBeGreaterThanOrEqual(p.signals.minConfidence);
          expect(e.signals.scaleStep).toBeLessThanOrEqual(p.signals.scaleStep);
          if (p.signals.unverified === "Ignore") expect(e.signals.unverified).toBe("Ignore");
          if (p.paused) expect(e.paused).toBe(true);
          if (p.autoscaler.mode === "Block") expect(e.autoscaler.mode).toBe("Block");
          expect(e.autoscaler.adjustSeconds).toBeLessThanOrEqual(p.autoscaler.adjustSeconds);
          expect(e.patch.deniedPaths).toEqual(expect.arrayContaining(p.patch.deniedPaths));
          expect(e.patch.allowedPathSets).toContainEqual([...new Set(p.patch.allowedPaths)].sort());
          if (p.allowedActions?.length) for (const t of e.allowedActions) expect(p.allowedActions).toContain(t);
          for (const type of ANOMALY_TYPES) {
            expect(RULE_ACTION_RANK[anomalyRule(type, e.signals.anomaly).action]).toBeLessThanOrEqual(RULE_ACTION_RANK[anomalyRule(type, p.rules?.anomaly).action]);
          }
          for (const cause of [...RCA_CAUSES, undefined]) {
            expect(RULE_ACTION_RANK[rcaRule(cause, e.signals.rca).action]).toBeLessThanOrEqual(RULE_ACTION_RANK[rcaRule(cause, p.rules?.rca).action]);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("does not depend on the order of the covering policies", () => {
    fc.assert(
      fc.property(
        policyObjectsArb().chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length }))),
        ([policies, shuffled]) => {
          expect(effectivePolicy(shuffled)).toEqual(effectivePolicy(policies));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("validatePolicy", () => {
  it("a default policy is clean", () => {
    expect(validatePolicy(policy("ns", "p"), OP_NS)).toEqual({ errors: [], warnings: [] });
  });

  it("warns when maxStep exceeds max", () => {
    expect(validatePolicy(policy("ns", "p", { replicas: { min: 1, max: 3, maxStep: 5 } }), OP_NS).warnings).toEqual([{ code: "MaxStepExceedsMax", message: expect.stringContaining("maxStep 5") }]);
  });

  it("warns when a path is both allowed and denied (deny wins)", () => {
    const v = validatePolicy(policy("ns", "p", { patch: { allowedPaths: ["spec.replicas", "spec.template.spec.volumes[].name"], deniedPaths: ["spec.replicas", "spec.template.spec.volumes"] } }), OP_NS);
    expect(v.errors).toEqual([]);
    expect(v.warnings).toHaveLength(2);
    for (const w of v.warnings) expect(w).toEqual({ code: "PatchPathDenied", message: expect.stringContaining("deny wins") });
  });

  it("rejects duplicate rule rows", () => {
    const v = validatePolicy(policy("ns", "p", {
      rules: { anomaly: [{ type: "latency", action: "none" }, { type: "latency", action: "restart" }], rca: [{ cause: "x", action: "none" }, { cause: "x", action: "none" }] },
    }), OP_NS);
    expect(v.errors).toEqual([expect.stringContaining("latency"), expect.stringContaining("cause x")]);
  });

  it("rejects malformed selector requirements and invalid label keys and values", () => {
    const v = validatePolicy(policy("ns", "p", {
      targets: {
        selector: {
          matchLabels: { "bad key!": "ok", good: "-bad-value" },
          matchExpressions: [
            { key: "a", operator: "In" },
            { key: "b", operator: "NotIn", values: [] },
            { key: "c", operator: "Exists", values: ["x"] },
            { key: "d", operator: "DoesNotExist", values: ["y"] },
            { key: "Example.COM/x", operator: "In", values: ["ok", "not ok"] },
            { key: "example.com/fine_key.1", operator: "In", values: [""] },
          ],
        },
      },
    }), OP_NS);
    expect(v.errors).toEqual([
      expect.stringContaining("bad key!"),
      expect.stringContaining("-bad-value"),
      expect.stringContaining("[0]: operator In"),
      expect.stringContaining("[1]: operator NotIn"),
      expect.stringContaining("[2]: operator Exists"),
      expect.stringContaining("[3]: operator DoesNotExist"),
      expect.stringContaining("Example.COM/x"),
      expect.stringContaining("not ok"),
    ]);
  });

  it("warns that targets.namespaces is ignored outside the operator's namespace", () => {
    const tenant = validatePolicy(policy("team-a", "p", { targets: { namespaces: ["team-b"] } }), OP_NS);
    expect(tenant).toEqual({ errors: [], warnings: [{ code: "NamespacesIgnored", message: expect.stringContaining("targets.namespaces [team-b] ignored") }] });
    expect(validatePolicy(policy(OP_NS, "p", { targets: { namespaces: ["team-b"] } }), OP_NS)).toEqual({ errors: [], warnings: [] });
  });
});
