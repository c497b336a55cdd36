import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import { ACTION_TYPES, type ActionType, type SpecActionType } from "../api/v1alpha1/remediation-action.ts";
import type { FieldChange } from "./change.ts";
import { type ActionRecord, evaluateGuardrails, type GuardrailInput, HOUR_MS, policyKey, SCALE_WINDOW_MS } from "./guardrails.ts";
import { effectivePolicy, type EffectivePolicy } from "./policy.ts";
import { policySpecArb } from "./testing/arbitraries.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const S = 1000;

const policyOf = (spec: Record<string, unknown> = {}): EffectivePolicy =>
  effectivePolicy([{ metadata: { namespace: "smartops-dev", name: "default" }, spec: guardrailPolicySpec.parse(spec) }]);

const input = (over: Partial<Omit<GuardrailInput, "action">> & { action?: Partial<GuardrailInput["action"]> } = {}): GuardrailInput => ({
  action: { name: "a1", namespace: "smartops-dev", type: "restart", ...over.action },
  target: over.target ?? { exists: true, replicas: 2 },
  history: over.history ?? [],
  policy: over.policy ?? policyOf(),
  now: over.now ?? NOW,
});

const rec = (type: SpecActionType, agoSeconds: number, from?: number, to?: number): ActionRecord => ({
  name: `old-${type}-${agoSeconds}`,
  type,
  executedAt: NOW - agoSeconds * S,
  ...(from !== undefined ? { fromReplicas: from, toReplicas: to } : {}),
});

const change = (path: string, before: unknown, after: unknown): FieldChange => ({ path, pointer: "/x", ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) });
const annotation: FieldChange[] = [change('spec.template.metadata.annotations["smartops/test-patch"]', undefined, "hello")];

describe("evaluateGuardrails: each reason", () => {
  it("allows a plain restart under the defaults", () => {
    expect(evaluateGuardrails(input({ policy: effectivePolicy([]) }))).toEqual({ verdict: "allow", approvalRequired: false, message: "restart is within the guardrails (built-in defaults)" });
  });

  it("PolicyPaused", () => {
    expect(evaluateGuardrails(input({ policy: policyOf({ paused: true }) }))).toMatchObject({ verdict: "block", reason: "PolicyPaused" });
  });

  it("ActionTypeNotAllowed", () => {
    expect(evaluateGuardrails(input({ policy: policyOf({ allowedActions: ["scale"] }) }))).toMatchObject({ reason: "ActionTypeNotAllowed" });
  });

  it("TargetNamespaceMismatch", () => {
    expect(evaluateGuardrails(input({ action: { targetNamespace: "other" } }))).toMatchObject({ reason: "TargetNamespaceMismatch" });
    expect(evaluateGuardrails(input({ action: { targetNamespace: "smartops-dev" } }))).toMatchObject({ verdict: "allow" });
  });

  it("TargetNotFound", () => {
    expect(evaluateGuardrails(input({ target: { exists: false, replicas: 0 } }))).toMatchObject({ reason: "TargetNotFound" });
  });

  it("MaxReplicasExceeded, with the numbers and the policy in the message", () => {
    const d = evaluateGuardrails(input({ action: { type: "scale", scale: { replicas: 9 } }, target: { exists: true, replicas: 8 } }));
    expect(d).toEqual({ verdict: "block", reason: "MaxReplicasExceeded", message: "scale to 9 exceeds maxReplicas 8 (policy smartops-dev/default)" });
  });

  it("MinReplicasViolated", () => {
    expect(evaluateGuardrails(input({ action: { type: "scale", scale: { replicas: 0 } }, target: { exists: true, replicas: 1 } }))).toMatchObject({ reason: "MinReplicasViolated" });
    expect(evaluateGuardrails(input({ action: { type: "scale" } }))).toMatchObject({ reason: "MinReplicasViolated" });
  });

  it("MaxScaleStepExceeded, both ways", () => {
    expect(evaluateGuardrails(input({ action: { type: "scale", scale: { replicas: 5 } } }))).toMatchObject({ reason: "MaxScaleStepExceeded" });
    expect(evaluateGuardrails(input({ action: { type: "scale", scale: { replicas: 1 } }, target: { exists: true, replicas: 4 } }))).toMatchObject({ reason: "MaxScaleStepExceeded" });
    expect(evaluateGuardrails(input({ action: { type: "scale", scale: { replicas: 4 } } }))).toMatchObject({ verdict: "allow", message: expect.stringContaining("scale 2 → 4") });
  });

  it("combined min > max blocks every scale", () => {
    const p = effectivePolicy([
      { metadata: { namespace: "ns", name: "a" }, spec: guardrailPolicySpec.parse({ replicas: { min: 1, max: 3, maxStep: 2 } }) },
      { metadata: { namespace: "ns", name: "b" }, spec: guardrailPolicySpec.parse({ replicas: { min: 5, max: 8, maxStep: 2 } }) },
    ]);
    for (const replicas of [2, 3, 4, 5]) {
      expect(evaluateGuardrails(input({ policy: p, action: { type: "scale", scale: { replicas } }, target: { exists: true, replicas: 4 } }))).toMatchObject({ verdict: "block" });
    }
  });

  it("InvalidPatch: a patch whose effect is unknown; a patch that changes nothing is unchanged, whatever the policy's limits", () => {
    expect(evaluateGuardrails(input({ action: { type: "patch" } }))).toMatchObject({ reason: "InvalidPatch", message: expect.stringContaining("unknown") });
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: [] } }))).toMatchObject({ verdict: "unchanged", message: expect.stringContaining("nothing to change") });
  });

  it("PatchPathForbidden and PatchPathNotAllowed, judged on what the patch changes", () => {
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: [change("spec.template.spec.containers[].image", "app:1", "evil:1")] } })))
      .toMatchObject({ reason: "PatchPathForbidden" });
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: [change("spec.minReadySeconds", undefined, 5)] } }))).toMatchObject({ reason: "PatchPathNotAllowed" });
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: [change('spec.template.metadata.annotations["smartops/test-patch"]', undefined, "hello")] } })))
      .toMatchObject({ verdict: "allow" });
  });

  it("a patch of spec.replicas meets the replica caps too", () => {
    const to = (replicas: number | undefined) => [{ path: "spec.replicas", pointer: "/spec/replicas", before: 2, ...(replicas !== undefined ? { after: replicas } : {}) }];
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: to(50) } }))).toMatchObject({ reason: "MaxReplicasExceeded", message: expect.stringContaining("patch of spec.replicas to 50") });
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: to(5) } }))).toMatchObject({ reason: "MaxScaleStepExceeded" });
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: to(undefined) } }))).toMatchObject({ reason: "InvalidPatch" });
    expect(evaluateGuardrails(input({ action: { type: "patch", changes: to(3) } }))).toMatchObject({ verdict: "allow", replicas: 3 });
  });

  it("CooldownActive for the same type only, with when it ends", () => {
    expect(evaluateGuardrails(input({ history: [rec("restart", 100)] }))).toMatchObject({ reason: "CooldownActive", message: expect.stringContaining("has 200s left") });
    expect(evaluateGuardrails(input({ history: [rec("restart", 300)] }))).toMatchObject({ verdict: "allow" });
    expect(evaluateGuardrails(input({ history: [rec("scale", 10, 2, 3)] }))).toMatchObject({ verdict: "allow" });
    expect(evaluateGuardrails(input({ action: { type: "delete-pod" }, history: [rec("delete-pod", 10)], policy: policyOf({ cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 60 } }) })))
      .toMatchObject({ reason: "CooldownActive", message: expect.stringContaining("has 50s left") });
    expect(evaluateGuardrails(input({ history: [rec("restart", 0)], policy: policyOf({ cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 } }) })))
      .toMatchObject({ verdict: "allow" });
  });

  it("HourlyActionLimitReached counts the same type in the last hour", () => {
    const p = policyOf({ cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 }, rateLimits: { maxActionsPerHour: 2, maxScaleIncreasePer15Minutes: 3 } });
    expect(evaluateGuardrails(input({ policy: p, history: [rec("restart", 3000), rec("restart", 1000)] }))).toMatchObject({ reason: "HourlyActionLimitReached" });
    expect(evaluateGuardrails(input({ policy: p, history: [rec("restart", 3600), rec("restart", 1000)] }))).toMatchObject({ verdict: "allow" });
    expect(evaluateGuardrails(input({ policy: p, history: [rec("patch", 30), rec("patch", 10), rec("restart", 5)] }))).toMatchObject({ verdict: "allow" });
    const none = policyOf({ rateLimits: { maxActionsPerHour: 0, maxScaleIncreasePer15Minutes: 3 } });
    expect(evaluateGuardrails(input({ policy: none }))).toMatchObject({ reason: "HourlyActionLimitReached" });
  });

  it("ScaleIncreaseLimitReached sums the increases of the last 15 minutes", () => {
    const p = policyOf({ cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 }, rateLimits: { maxActionsPerHour: 100, maxScaleIncreasePer15Minutes: 3 } });
    const history = [rec("scale", 800, 2, 4)];
    expect(evaluateGuardrails(input({ policy: p, history, action: { type: "scale", scale: { replicas: 6 } }, target: { exists: true, replicas: 4 } })))
      .toMatchObject({ reason: "ScaleIncreaseLimitReached" });
    expect(evaluateGuardrails(input({ policy: p, history, action: { type: "scale", scale: { replicas: 5 } }, target: { exists: true, replicas: 4 } }))).toMatchObject({ verdict: "allow" });
    expect(evaluateGuardrails(input({ policy: p, history: [rec("scale", 900, 2, 4)], action: { type: "scale", scale: { replicas: 6 } }, target: { exists: true, replicas: 4 } })))
      .toMatchObject({ verdict: "allow" });
    // decreases neither count nor are limited
    expect(evaluateGuardrails(input({ policy: p, history: [rec("scale", 10, 2, 5)], action: { type: "scale", scale: { replicas: 3 } }, target: { exists: true, replicas: 5 } })))
      .toMatchObject({ verdict: "allow" });
  });

  it("approvalRequired follows the policy's tier for the type", () => {
    const p = policyOf({ approval: { scale: "Required", restart: "None", patch: "None", deletePod: "Required", timeoutSeconds: 600 } });
    expect(evaluateGuardrails(input({ policy: p, action: { type: "scale", scale: { replicas: 3 } } }))).toMatchObject({ verdict: "allow", approvalRequired: true });
    expect(evaluateGuardrails(input({ policy: p, action: { type: "delete-pod" } }))).toMatchObject({ verdict: "allow", approvalRequired: true });
    expect(evaluateGuardrails(input({ policy: p }))).toMatchObject({ verdict: "allow", approvalRequired: false });
  });

  it("checks in the documented order", () => {
    const everything = policyOf({ paused: true, allowedActions: ["restart"] });
    const bad = input({ policy: everything, action: { type: "scale", scale: { replicas: 99 }, targetNamespace: "x" }, target: { exists: false, replicas: 0 }, history: [rec("scale", 1, 0, 9)] });
    expect(evaluateGuardrails(bad)).toMatchObject({ reason: "PolicyPaused" });
    expect(evaluateGuardrails({ ...bad, policy: policyOf({ allowedActions: ["restart"] }) })).toMatchObject({ reason: "ActionTypeNotAllowed" });
    expect(evaluateGuardrails({ ...bad, policy: policyOf() })).toMatchObject({ reason: "TargetNamespaceMismatch" });
    const inNs = { ...bad, policy: policyOf(), action: { ...bad.action, targetNamespace: undefined } };
    expect(evaluateGuardrails(inNs)).toMatchObject({ reason: "TargetNotFound" });
    expect(evaluateGuardrails({ ...inNs, target: { exists: true, replicas: 8 } })).toMatchObject({ reason: "MaxReplicasExceeded" });
    expect(evaluateGuardrails({ ...inNs, target: { exists: true, replicas: 8 }, action: { ...inNs.action, scale: { replicas: 7 } } })).toMatchObject({ reason: "CooldownActive" });
  });
});

// --- the property: no allowed sequence ever breaks a cap -----------------------

interface Request {
  dtSeconds: number;
  type: ActionType;
  delta: number;
  viaPatch: boolean;
  relative: boolean;
}

const requestArb: fc.Arbitrary<Request> = fc.record({
  dtSeconds: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 1200 })),
  type: fc.constantFrom(...ACTION_TYPES),
  delta: fc.integer({ min: -4, max: 4 }),
  viaPatch: fc.boolean(),
  relative: fc.boolean(),
});

interface Allowed {
  type: ActionType;
  at: number;
  setsReplicas: boolean;
  from: number;
  to: number;
}

function simulate(policy: EffectivePolicy, start: number, requests: readonly Request[], onBlock: (reason: string) => void = () => {}): Allowed[] {
  let now = NOW;
  let current = start;
  const history: ActionRecord[] = [];
  const allowed: Allowed[] = [];
  requests.forEach((r, i) => {
    now += r.dtSeconds * S;
    const target = Math.max(0, current + r.delta);
    const setsReplicas = r.type === "scale" || (r.type === "patch" && r.viaPatch);
    const changes: FieldChange[] | undefined = r.type !== "patch" ? undefined
      : r.viaPatch ? (target === current ? [] : [{ path: "spec.replicas", pointer: "/spec/replicas", before: current, after: target }]) : annotation;
    const decision = evaluateGuardrails({
      action: { name: `a${i}`, namespace: "ns", type: r.type, ...(r.type === "scale" ? { scale: r.relative && r.delta !== 0 ? { by: r.delta } : { replicas: target } } : {}), ...(changes ? { changes } : {}) },
      target: { exists: true, replicas: current },
      history,
      policy,
      now,
    });
    if (decision.verdict === "unchanged") return;
    if (decision.verdict !== "allow") return onBlock(decision.reason);
    const to = setsReplicas ? decision.replicas! : current;
    if (r.type === "scale" && r.relative && r.delta !== 0) expect(Math.sign(to - current), `by ${r.delta} from ${current}`).toBe(Math.sign(r.delta));
    history.push({ name: `a${i}`, type: r.type, executedAt: now, ...(setsReplicas ? { fromReplicas: current, toReplicas: to } : {}) });
    allowed.push({ type: r.type, at: now, setsReplicas, from: current, to });
    current = to;
  });
  return allowed;
}

describe("guardrail properties", () => {
  it("no cap is ever broken by the actions guardrails allow", () => {
    let allowedTotal = 0;
    const blocked = new Map<string, number>();
    fc.assert(
      fc.property(policySpecArb(), fc.integer({ min: 0, max: 14 }), fc.array(requestArb, { minLength: 5, maxLength: 40 }), (spec, start, requests) => {
        const policy = effectivePolicy([{ metadata: { namespace: "ns", name: "p" }, spec }]);
        const allowed = simulate(policy, start, requests, (reason) => blocked.set(reason, (blocked.get(reason) ?? 0) + 1));
        allowedTotal += allowed.length;
        if (policy.paused) expect(allowed).toEqual([]);
        for (const a of allowed) {
          expect(policy.allowedActions).toContain(a.type);
          if (a.setsReplicas) {
            expect(a.to).toBeGreaterThanOrEqual(policy.replicas.min);
            expect(a.to).toBeLessThanOrEqual(policy.replicas.max);
            expect(Math.abs(a.to - a.from)).toBeLessThanOrEqual(policy.replicas.maxStep);
          }
          const sameType = allowed.filter((b) => b.type === a.type);
          const previous = sameType.filter((b) => b.at <= a.at && b !== a).at(-1);
          if (previous) expect(a.at - previous.at).toBeGreaterThanOrEqual(policy.cooldownSeconds[policyKey(a.type)] * S);
          expect(sameType.filter((b) => b.at > a.at - HOUR_MS && b.at <= a.at).length).toBeLessThanOrEqual(policy.rateLimits.maxActionsPerHour);
          const added = allowed.filter((b) => b.at > a.at - SCALE_WINDOW_MS && b.at <= a.at).reduce((sum, b) => sum + Math.max(0, b.to - b.from), 0);
          expect(added).toBeLessThanOrEqual(policy.rateLimits.maxScaleIncreasePer15Minutes);
        }
      }),
      { numRuns: 1000 },
    );
    // The property is only worth something if plenty of actions get through and every limit bites.
    expect(allowedTotal).toBeGreaterThan(2000);
    for (const reason of ["PolicyPaused", "MaxReplicasExceeded", "MinReplicasViolated", "MaxScaleStepExceeded", "CooldownActive", "HourlyActionLimitReached", "ScaleIncreaseLimitReached"]) {
      expect(blocked.get(reason) ?? 0, reason).toBeGreaterThan(20);
    }
  });

  it("a patch that changes nothing is answered unchanged under any policy and history, unless policy stops every action", () => {
    fc.assert(
      fc.property(policySpecArb(), fc.array(fc.tuple(fc.constantFrom<ActionType>("scale", "restart", "patch", "delete-pod"), fc.integer({ min: 0, max: 7200 })), { maxLength: 20 }), (spec, past) => {
        const policy = policyOf(spec);
        const d = evaluateGuardrails(input({ action: { type: "patch", changes: [] }, policy, history: past.map(([t, ago]) => rec(t, ago)) }));
        const stopped = policy.paused || !policy.allowedActions.includes("patch");
        expect(d.verdict).toBe(stopped ? "block" : "unchanged");
      }),
      { numRuns: 1000 },
    );
  });

  it("a scale within every cap, on a quiet target, is allowed", () => {
    fc.assert(
      fc.property(policySpecArb({ pausedPercent: 0 }), fc.integer({ min: 0, max: 14 }), fc.integer({ min: -6, max: 6 }), (spec, current, delta) => {
        const policy = effectivePolicy([{ metadata: { namespace: "ns", name: "p" }, spec }]);
        const to = current + delta;
        const fits = to >= policy.replicas.min && to <= policy.replicas.max && Math.abs(delta) <= policy.replicas.maxStep
          && Math.max(0, delta) <= policy.rateLimits.maxScaleIncreasePer15Minutes && policy.rateLimits.maxActionsPerHour > 0
          && policy.allowedActions.includes("scale");
        const d = evaluateGuardrails({ action: { name: "a", namespace: "ns", type: "scale", scale: { replicas: to } }, target: { exists: true, replicas: current }, history: [], policy, now: NOW });
        expect(d.verdict).toBe(fits ? "allow" : "block");
      }),
      { numRuns: 1000 },
    );
  });
});

describe("evaluateGuardrails: a revert", () => {
  const revert = (of: ActionType, replicas?: number) => ({ type: "revert" as const, revert: { of, ...(replicas !== undefined ? { replicas } : {}) } });

  it("is exempt from every cooldown, also right after the action it undoes", () => {
    const history = [rec("scale", 1, 2, 3), rec("patch", 1), rec("revert", 1)];
    expect(evaluateGuardrails(input({ action: revert("scale", 2), history, target: { exists: true, replicas: 3 } }))).toMatchObject({ verdict: "allow", replicas: 2 });
    // The same history holds a new scale back.
    expect(evaluateGuardrails(input({ action: { type: "scale", scale: { replicas: 2 } }, history, target: { exists: true, replicas: 3 } }))).toMatchObject({ reason: "CooldownActive" });
  });

  it("is allowed where the type it undoes is; allowedActions never needs to list it", () => {
    const policy = policyOf({ allowedActions: ["patch"] });
    expect(evaluateGuardrails(input({ action: revert("patch"), policy }))).toMatchObject({ verdict: "allow" });
    expect(evaluateGuardrails(input({ action: revert("scale", 2), policy }))).toMatchObject({ reason: "ActionTypeNotAllowed", message: expect.stringMatching(/a revert of scale/) });
  });

  it("passes the pause switch, the replica caps and its own approval tier", () => {
    expect(evaluateGuardrails(input({ action: revert("scale", 2), policy: policyOf({ paused: true }) }))).toMatchObject({ reason: "PolicyPaused" });
    expect(evaluateGuardrails(input({ action: revert("scale", 1), policy: policyOf({ replicas: { min: 2, max: 8, maxStep: 2 } }), target: { exists: true, replicas: 3 } })))
      .toMatchObject({ reason: "MinReplicasViolated", message: expect.stringMatching(/revert of spec.replicas to 1/) });
    expect(evaluateGuardrails(input({ action: revert("scale", 2), policy: policyOf({ approval: { revert: "Required" } }) }))).toMatchObject({ verdict: "allow", approvalRequired: true });
    expect(evaluateGuardrails(input({ action: revert("scale", 2), policy: policyOf({ approval: { scale: "Required" } }) }))).toMatchObject({ verdict: "allow", approvalRequired: false });
  });

  it("counts toward the hourly limit among reverts", () => {
    const policy = policyOf({ rateLimits: { maxActionsPerHour: 2 } });
    const reverts = [rec("revert", 60), rec("revert", 120)];
    expect(evaluateGuardrails(input({ action: revert("patch"), policy, history: reverts }))).toMatchObject({ reason: "HourlyActionLimitReached" });
    expect(evaluateGuardrails(input({ action: revert("patch"), policy, history: [rec("patch", 60), rec("patch", 120)] }))).toMatchObject({ verdict: "allow" });
  });
});
