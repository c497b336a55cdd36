import { describe, expect, it } from "vitest";
import { guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import { effectivePolicy, type PolicyObject } from "../remediation/policy.ts";
import { renderTable } from "./format.ts";
import {
  type Action, approvalDeadline, approvalTimeout, history, historyTable, parseSelector, pausePolicy, pausePolicyName, pending, pendingTable, SelectorError,
} from "./views.ts";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function action(name: string, createdSec: number, spec: Partial<Action["spec"]>, status?: Action["status"]): Action {
  return {
    metadata: { name, namespace: "ns", creationTimestamp: at(createdSec) as unknown as Date },
    spec: { type: "restart", target: { kind: "Deployment", name: "web" }, dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "manual", ...spec } as Action["spec"],
    ...(status ? { status } : {}),
  };
}

const policy = (name: string, spec: unknown, namespace = "ns"): PolicyObject => ({ metadata: { name, namespace }, spec: guardrailPolicySpec.parse(spec) });

describe("history", () => {
  const actions = [
    action("b-scale", 60, { type: "scale", scale: { by: 1 }, source: "closed-loop", signalRef: { kind: "AnomalySignal", name: "w-2" } },
      { phase: "Succeeded", reason: "RolloutComplete", intent: { fromReplicas: 2, replicas: 3 }, effectiveness: { state: "Ineffective", windowSeconds: 300, windowEndsAt: at(400) },
        conditions: [{ type: "GuardrailsPassed", status: "True", reason: "GuardrailsPassed", message: "", lastTransitionTime: at(61) }] }),
    action("a-restart", 0, { source: "closed-loop", signalRef: { kind: "RcaSignal", name: "r-1" } }, { phase: "Blocked", reason: "CooldownActive" }),
    action("c-approved", 120, { type: "scale", scale: { replicas: 4 }, approval: { decision: "Approved", approvedBy: "alice" } }, { phase: "Succeeded", reason: "RolloutComplete", revertedBy: "c-approved-revert-x" }),
    action("d-other-target", 130, { target: { kind: "Deployment", name: "db" } }, { phase: "Succeeded" }),
    action("e-revert", 180, { type: "revert", revertOf: "c-approved" }, { phase: "PendingApproval", reason: "ApprovalRequired" }),
    action("f-rejected", 200, { type: "scale", scale: { replicas: 9 }, approval: { decision: "Rejected", approvedBy: "bob", reason: "no" } }, { phase: "Rejected", reason: "RejectedByUser" }),
  ];

  it("one target's actions, oldest first, with signal, change, decision, outcome and effectiveness", () => {
    const rows = history(actions, "web");
    expect(rows.map((r) => [r.name, r.signal, r.change, r.decision, r.outcome, r.effectiveness])).toEqual([
      ["a-restart", "rca/r-1", "restart", "Blocked: CooldownActive", "not executed", "-"],
      ["b-scale", "anomaly/w-2", "scale 2→3", "Allowed", "Succeeded (RolloutComplete)", "Ineffective"],
      ["c-approved", "manual", "scale to 4", "Approved by alice", "Succeeded (RolloutComplete), reverted by c-approved-revert-x", "-"],
      ["e-revert", "manual", "revert of c-approved", "PendingApproval", "not executed", "-"],
      ["f-rejected", "manual", "scale to 9", "Rejected by bob", "not executed", "-"],
    ]);
  });

  it("as a kubectl table with ages (a NAMESPACE column with -A)", () => {
    const t = historyTable(history(actions, "web").slice(0, 2), T0 + 600_000, true);
    expect(renderTable(t.headers, t.rows)).toBe(
      "NAMESPACE   NAME        SIGNAL        CHANGE      DECISION                  OUTCOME                       EFFECTIVE     AGE\n" +
      "ns          a-restart   rca/r-1       restart     Blocked: CooldownActive   not executed                  -             10m\n" +
      "ns          b-scale     anomaly/w-2   scale 2→3   Allowed                   Succeeded (RolloutComplete)   Ineffective   9m\n",
    );
  });
});

describe("pending: time left before approval.timeoutSeconds expires an action", () => {
  const waiting = (name: string, createdSec: number, message = "") => action(name, createdSec, { type: "scale", scale: { replicas: 3 } }, { phase: "PendingApproval", reason: "ApprovalRequired", message });

  it("counts from the action's creation, oldest first, 0 once past, skipping decided and other phases", () => {
    const actions = [
      waiting("newer", 100),
      waiting("older", 0),
      waiting("late", -2000),
      action("decided", 50, { type: "scale", scale: { replicas: 3 }, approval: { decision: "Approved", approvedBy: "a" } }, { phase: "PendingApproval" }),
      action("done", 10, {}, { phase: "Succeeded" }),
    ];
    const rows = pending(actions, () => 1800, T0 + 600_000);
    expect(rows.map((r) => [r.name, r.secondsLeft, r.expiresAt])).toEqual([
      ["late", 0, at(-200)],
      ["older", 1200, at(1800)],
      ["newer", 1300, at(1900)],
    ]);
    const t = pendingTable(rows, T0 + 600_000, false);
    expect(renderTable(t.headers, t.rows)).toBe(
      "NAME    TARGET   CHANGE       SIGNAL   AGE     TIME LEFT\n" +
      "late    web      scale to 3   manual   43m     expiring\n" +
      "older   web      scale to 3   manual   10m     20m\n" +
      "newer   web      scale to 3   manual   8m20s   21m\n",
    );
  });

  it("falls back to the deadline the operator wrote into the message, else unknown", () => {
    const a = waiting("w", 0, `scale needs approval under policy ns/p: set spec.approval before ${at(900)}`);
    expect(approvalDeadline(a, undefined)).toBe(T0 + 900_000);
    expect(approvalDeadline(a, 60)).toBe(T0 + 60_000);
    expect(approvalDeadline(waiting("x", 0), undefined)).toBeUndefined();
    expect(pending([waiting("x", 0)], () => undefined, T0)[0]!.secondsLeft).toBeUndefined();
  });

  it("the timeout is the shortest of the covering policies', the default without one, unknown when a selector needs labels we lack", () => {
    const a = waiting("w", 0);
    expect(approvalTimeout(a, [], {}, "smartops-system")).toBe(1800);
    const ps = [policy("long", { approval: { timeoutSeconds: 3600 } }), policy("short", { approval: { timeoutSeconds: 120 }, targets: { selector: { matchLabels: { tier: "web" } } } })];
    expect(approvalTimeout(a, ps, { tier: "web" }, "smartops-system")).toBe(120);
    expect(approvalTimeout(a, ps, { tier: "db" }, "smartops-system")).toBe(3600);
    expect(approvalTimeout(a, ps, undefined, "smartops-system")).toBeUndefined();
    expect(approvalTimeout(a, [policy("elsewhere", { approval: { timeoutSeconds: 30 } }, "other")], {}, "smartops-system")).toBe(1800);
    expect(approvalTimeout(a, [policy("global", { approval: { timeoutSeconds: 30 }, targets: { namespaces: ["ns"] } }, "smartops-system")], {}, "smartops-system")).toBe(30);
  });
});

describe("parseSelector (kubectl's syntax)", () => {
  it("equality, inequality, set and existence requirements", () => {
    expect(parseSelector("app=web, tier==front,env!=prod,zone in (a, b),team notin (x),canary,!legacy")).toEqual({
      matchLabels: { app: "web", tier: "front" },
      matchExpressions: [
        { key: "env", operator: "NotIn", values: ["prod"] },
        { key: "zone", operator: "In", values: ["a", "b"] },
        { key: "team", operator: "NotIn", values: ["x"] },
        { key: "canary", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist" },
      ],
    });
    expect(parseSelector("example.com/role=api")).toEqual({ matchLabels: { "example.com/role": "api" } });
  });

  it.each(["", "a=b,", "a in ()", "a=b=c", "=x", "a in (b"])("refuses %j", (text) => expect(() => parseSelector(text)).toThrow(SelectorError));
});

describe("the pause policy", () => {
  const by = { namespace: "ns", by: "alice", at: new Date(T0 + 1234), reason: "incident 4711" };

  it("is paused, records who, when and why, and is valid against the schema", () => {
    const p = pausePolicy(by);
    expect(p.metadata).toMatchObject({
      name: "smartops-pause",
      namespace: "ns",
      labels: { "app.kubernetes.io/managed-by": "kubectl-smartops" },
      annotations: { "smartops.io/paused-by": "alice", "smartops.io/paused-at": "2026-03-01T10:00:01Z", "smartops.io/pause-reason": "incident 4711" },
    });
    expect(guardrailPolicySpec.parse(p.spec)).toEqual(p.spec);
    expect(p.spec.paused).toBe(true);
  });

  it("combined with other policies, adds the pause and changes nothing else they say", () => {
    const others = [
      policy("strict", { replicas: { min: 2, max: 5, maxStep: 1 }, cooldownSeconds: { scale: 600, restart: 60, patch: 0, deletePod: 30 }, approval: { scale: "Required", timeoutSeconds: 7200 },
        onFailure: { scale: "Keep", patch: "Keep" }, effectiveness: { windowSeconds: 30 }, rateLimits: { maxActionsPerHour: 2, maxScaleIncreasePer15Minutes: 1 },
        escalation: { maxConsecutiveFailures: 5, blockExpirySeconds: 600 }, signals: { minScore: 0.5, scaleStep: 3 } }),
      policy("loose", { replicas: { min: 0, max: 1000, maxStep: 50 }, escalation: { blockExpirySeconds: 60 } }),
    ];
    for (const set of [[others[0]!], [others[1]!], others]) {
      const before = effectivePolicy(set);
      const after = effectivePolicy([...set, { metadata: { name: "smartops-pause", namespace: "ns" }, spec: pausePolicy(by).spec }]);
      // Its allow list is ["spec"] (everything): one more set a path must be in, which every path already is.
      expect(after.patch.allowedPathSets).toContainEqual(["spec"]);
      const allowed = after.patch.allowedPathSets.filter((s) => JSON.stringify(s) !== '["spec"]');
      expect({ ...after, paused: before.paused, sources: before.sources, patch: { ...after.patch, allowedPathSets: allowed } }).toEqual(before);
      expect(after.paused).toBe(true);
    }
  });

  it("is named for its selector, whatever the order the selector is written in", () => {
    expect(pausePolicyName(undefined)).toBe("smartops-pause");
    const a = pausePolicyName(parseSelector("app=web,tier in (b,a)"));
    expect(a).toMatch(/^smartops-pause-[0-9a-f]{10}$/);
    expect(pausePolicyName(parseSelector("tier in (a,b), app=web"))).toBe(a);
    expect(pausePolicyName(parseSelector("app=db"))).not.toBe(a);
    expect(pausePolicy({ ...by, selector: parseSelector("app=web"), selectorText: "app=web" }).spec.targets).toEqual({ selector: { matchLabels: { app: "web" } } });
  });
});
