import { describe, expect, it } from "vitest";
import { explain, renderExplanation, undoOf } from "./explain.ts";
import type { Action } from "./views.ts";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace(/\.000Z$/, "Z");

const scale: Action = {
  metadata: { name: "scale-web-1", namespace: "shop", creationTimestamp: at(0) as unknown as Date },
  spec: {
    type: "scale", target: { kind: "Deployment", name: "web" }, scale: { by: 1, decidedAtReplicas: 2 }, dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "closed-loop",
    signalRef: { kind: "AnomalySignal", name: "w-7" },
    recommendation: { service: "web", anomalyType: "resource", score: 0.92, modelVersion: "v1", rule: "resource anomaly -> scale-up (default rule)" },
    approval: { decision: "Approved", approvedBy: "alice", reason: "peak", decidedAt: at(30) },
  },
  status: {
    phase: "Succeeded", reason: "RolloutComplete", message: "3/3 ready",
    judgedBy: { policies: ["shop/default"], cooldownSeconds: 300, replicas: { min: 1, max: 8, maxStep: 2 }, maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 3, approvalTier: "Required", onFailure: "Revert", effectivenessWindowSeconds: 300 },
    intent: { fromReplicas: 2, replicas: 3, recordedAt: at(31) },
    preState: { reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "3" }] },
    verification: { status: "SUCCESS", attempts: 1, message: "rollout complete", observed: { desiredReplicas: 3, readyReplicas: 3, updatedReplicas: 3 } },
    effectiveness: { state: "Pending", windowSeconds: 300, windowEndsAt: at(400) },
    conditions: [{ type: "Effective", status: "Unknown", reason: "EffectivenessPending", message: "", lastTransitionTime: at(100) }],
  },
};

describe("explain", () => {
  it("says the signal and rule, the policies and the values that judged it, approval, intent, pre-state, verification, effectiveness and the undo", () => {
    const text = renderExplanation(explain(scale), T0 + 200_000);
    expect(text).toBe([
      "Action:           shop/scale-web-1: scale 2→3, source closed-loop, created 3m20s ago (2026-03-01T10:00:00Z)",
      "Target:           Deployment shop/web",
      "Signal:           AnomalySignal w-7 — resource anomaly, score 0.92; service web (model v1)",
      "Rule:             resource anomaly -> scale-up (default rule)",
      "Policies:         shop/default",
      "Guardrail values: cooldown 300s, replicas 1..8 (step ≤ 2), ≤ 6/h, ≤ +3 replicas/15m, approval Required, on failure Revert, effectiveness window 300s",
      "Decision:         Approved by alice",
      "Approval:         Approved by alice at 2026-03-01T10:00:30Z: peak",
      "Outcome:          Succeeded (RolloutComplete): 3/3 ready",
      "Intent:           replicas 2 → 3; recorded 2026-03-01T10:00:31Z",
      "Pre-state:        reversible; /spec/replicas: 2 → 3",
      "Verification:     SUCCESS after 1 attempt: rollout complete; observed 3/3 ready, 3 updated",
      "Effectiveness:    Pending — EffectivenessPending; window ends in 3m20s (2026-03-01T10:06:40Z)",
      "Undo:             a revert restores /spec/replicas back to 2, only while they still hold the values this action set",
      "Undo with:        kubectl smartops revert scale-web-1 -n shop",
      "",
    ].join("\n"));
  });

  it("-o json carries the same parts as fields", () => {
    const e = explain(scale);
    expect(e).toMatchObject({ policies: ["shop/default"], decision: "Approved by alice", outcome: { phase: "Succeeded" }, undo: { possible: true, command: "kubectl smartops revert scale-web-1 -n shop" } });
  });

  it("what would undo it: nothing for blocked, dry-run, restart and revert actions; who already did", () => {
    const st = scale.status!;
    expect(undoOf({ ...scale, status: { phase: "Blocked", reason: "CooldownActive" } })).toEqual({ possible: false, how: "nothing to undo: it has changed nothing (Blocked)" });
    expect(undoOf({ ...scale, spec: { ...scale.spec, dryRun: true } }).how).toBe("a dry run changed nothing");
    expect(undoOf({ ...scale, status: { ...st, preState: { reversible: false, reason: "a restart re-triggers a rollout" } } }).how).toBe("cannot be undone: a restart re-triggers a rollout");
    expect(undoOf({ ...scale, status: { ...st, revertedBy: "r-1" } }).how).toBe("already undone by r-1");
    expect(undoOf({ ...scale, status: { ...st, autoRevert: { action: "r-2", createdAt: at(5) } } }).how).toContain("the operator is undoing it: r-2");
    expect(undoOf({ ...scale, spec: { ...scale.spec, type: "revert", revertOf: "x", scale: undefined } }).possible).toBe(false);
  });
});
