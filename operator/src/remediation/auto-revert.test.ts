import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dnsSubdomain } from "../api/v1alpha1/meta.ts";
import { ANNOTATIONS, LABELS, type RemediationAction } from "../api/v1alpha1/objects.ts";
import { remediationActionSpec } from "../api/v1alpha1/remediation-action.ts";
import { AUTO_REVERT_MAX_AGE_MS, AUTO_REVERT_REASONS, decideAutoRevert, mayNeedAutoRevert } from "./auto-revert.ts";
import { undoName } from "./names.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");
const REVERT = { scale: "Revert", patch: "Revert" } as const;
const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

interface Shape {
  name: string;
  uid: string;
  type: RemediationAction["spec"]["type"];
  dryRun: boolean;
  phase: NonNullable<RemediationAction["status"]>["phase"] | undefined;
  reason: string;
  reversible: boolean | undefined;
  autoRevert: boolean;
  revertedBy: boolean;
  ageMs: number;
  traceparent: boolean;
}

function failed(s: Partial<Shape> = {}): RemediationAction {
  const v: Shape = {
    name: "scale-web", uid: "uid-1", type: "scale", dryRun: false, phase: "Failed", reason: "CrashLoopDetected", reversible: true,
    autoRevert: false, revertedBy: false, ageMs: 1000, traceparent: true, ...s,
  };
  return {
    apiVersion: "smartops.io/v1alpha1",
    kind: "RemediationAction",
    metadata: { name: v.name, namespace: "team-a", uid: v.uid, ...(v.traceparent ? { annotations: { [ANNOTATIONS.traceparent]: TRACEPARENT } } : {}) },
    spec: { type: v.type, target: { kind: "Deployment", name: "web" }, dryRun: v.dryRun, verify: true, verifyTimeoutSeconds: 45, source: "closed-loop", ...(v.type === "scale" ? { scale: { replicas: 3 } } : {}) },
    status: {
      ...(v.phase ? { phase: v.phase } : {}),
      reason: v.reason,
      message: "pod web-1 is in CrashLoopBackOff",
      completedAt: new Date(NOW - v.ageMs).toISOString(),
      ...(v.reversible !== undefined ? { preState: { reversible: v.reversible, ...(v.reversible ? {} : { reason: "a restart re-triggers a rollout" }) } } : {}),
      ...(v.autoRevert ? { autoRevert: { action: "undo-x", createdAt: new Date(NOW).toISOString() } } : {}),
      ...(v.revertedBy ? { revertedBy: "undo-y" } : {}),
    },
  };
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  name: fc.oneof(
    fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/),
    fc.integer({ min: 230, max: 253 }).map((n) => `undo-${"a".repeat(n - 5)}`),
    fc.integer({ min: 200, max: 253 }).map((n) => "b".repeat(n)),
  ),
  uid: fc.string(),
  type: fc.constantFrom("scale" as const, "patch" as const, "restart" as const, "delete-pod" as const, "revert" as const),
  dryRun: fc.boolean(),
  phase: fc.constantFrom(undefined, "Pending" as const, "Executing" as const, "Verifying" as const, "Succeeded" as const, "Failed" as const, "Blocked" as const),
  reason: fc.constantFrom(...AUTO_REVERT_REASONS, "ExecutionFailed", "TargetNotFound", "ProcessingFailed", "RolloutComplete"),
  reversible: fc.constantFrom(true, false, undefined),
  autoRevert: fc.boolean(),
  revertedBy: fc.boolean(),
  ageMs: fc.integer({ min: 0, max: 2 * AUTO_REVERT_MAX_AGE_MS }),
  traceparent: fc.boolean(),
});
const onFailureArb = fc.record({ scale: fc.constantFrom("Revert" as const, "Keep" as const), patch: fc.constantFrom("Revert" as const, "Keep" as const) });

const eligible = (s: Shape, onFailure: { scale: string; patch: string }) =>
  (s.type === "scale" || s.type === "patch") && !s.dryRun && s.phase === "Failed" && AUTO_REVERT_REASONS.includes(s.reason) && s.reversible === true &&
  !s.autoRevert && !s.revertedBy && onFailure[s.type] === "Revert" && s.ageMs <= AUTO_REVERT_MAX_AGE_MS;

describe("decideAutoRevert", () => {
  it("undoes a scale that failed verification: a revert of it, same target, from the policy engine, in its trace", () => {
    const d = decideAutoRevert({ action: failed(), onFailure: REVERT, now: NOW });
    expect(d.create).toBe(true);
    if (!d.create) return;
    expect(d.name).toBe(undoName("scale-web", "uid-1"));
    expect(d.revert.metadata).toEqual({ name: d.name, namespace: "team-a", labels: { [LABELS.target]: "web" }, annotations: { [ANNOTATIONS.traceparent]: TRACEPARENT } });
    expect(d.revert.spec).toEqual({
      type: "revert", revertOf: "scale-web", target: { kind: "Deployment", name: "web" }, dryRun: false, verify: true, verifyTimeoutSeconds: 45,
      source: "policy-engine", reason: "automatic undo: verification failed (CrashLoopDetected: pod web-1 is in CrashLoopBackOff)",
    });
    // The API server accepts it as it is.
    expect(remediationActionSpec.safeParse(d.revert.spec).success).toBe(true);
  });

  it.each([
    ["a restart", { type: "restart" as const }, /restart is never undone/],
    ["a delete-pod", { type: "delete-pod" as const }, /delete-pod is never undone/],
    ["a dry run", { dryRun: true }, /dry run/],
    ["a failure before the change (ExecutionFailed)", { reason: "ExecutionFailed" }, /not a failed verification/],
    ["a success", { phase: "Succeeded" as const, reason: "RolloutComplete" }, /not Failed/],
    ["one whose undo was already created", { autoRevert: true }, /already created/],
    ["one already reverted", { revertedBy: true }, /already reverted by undo-y/],
    ["one not reversible", { reversible: false }, /not reversible/],
    ["one with no pre-state", { reversible: undefined }, /no pre-state/],
    ["a failure too old", { ageMs: AUTO_REVERT_MAX_AGE_MS + 1 }, /more than/],
  ])("never undoes %s", (_, shape, why) => {
    const d = decideAutoRevert({ action: failed(shape), onFailure: REVERT, now: NOW });
    expect(d).toEqual({ create: false, why: expect.stringMatching(why) });
  });

  it("keeps the change when onFailure for its type is Keep", () => {
    expect(decideAutoRevert({ action: failed(), onFailure: { scale: "Keep", patch: "Revert" }, now: NOW })).toEqual({ create: false, why: "onFailure for scale is Keep" });
    expect(decideAutoRevert({ action: failed({ type: "patch" }), onFailure: { scale: "Revert", patch: "Keep" }, now: NOW }).create).toBe(false);
    expect(decideAutoRevert({ action: failed({ type: "patch" }), onFailure: { scale: "Keep", patch: "Revert" }, now: NOW }).create).toBe(true);
  });

  it("leaves it alone when a human's revert of it exists; its own (a retried create) is no obstacle", () => {
    const name = undoName("scale-web", "uid-1");
    expect(decideAutoRevert({ action: failed(), onFailure: REVERT, now: NOW, reverts: ["undo-by-alice"] })).toEqual({ create: false, why: "a revert of it exists: undo-by-alice" });
    expect(decideAutoRevert({ action: failed(), onFailure: REVERT, now: NOW, reverts: [name] }).create).toBe(true);
  });

  it("property: an undo exactly for the eligible failures, never for restart, delete-pod, revert, dry run, Keep or a failure outside verification", () => {
    fc.assert(fc.property(shapeArb, onFailureArb, (shape, onFailure) => {
      const d = decideAutoRevert({ action: failed(shape), onFailure, now: NOW });
      expect(d.create).toBe(eligible(shape, onFailure));
      // What the operator looks at when it starts covers every undo it may owe.
      if (d.create) expect(mayNeedAutoRevert(failed(shape), NOW)).toBe(true);
      if (!d.create) return;
      expect(["scale", "patch"]).toContain(shape.type);
      expect(d.revert.spec).toMatchObject({ type: "revert", revertOf: shape.name, target: { name: "web" }, source: "policy-engine", dryRun: false });
      expect(d.revert.spec.reason).toMatch(/^automatic undo: verification failed \((RolloutTimedOut|CrashLoopDetected|ProgressDeadlineExceeded)/);
      expect(d.revert.metadata.annotations?.[ANNOTATIONS.traceparent]).toBe(shape.traceparent ? TRACEPARENT : undefined);
      expect(remediationActionSpec.safeParse(d.revert.spec).success).toBe(true);
    }), { numRuns: 500 });
  });

  it("property: the name is stable, a DNS subdomain of at most 253 characters, and never the action's own", () => {
    fc.assert(fc.property(shapeArb, (shape) => {
      const a = failed({ ...shape, type: "scale", dryRun: false, phase: "Failed", reason: "RolloutTimedOut", reversible: true, autoRevert: false, revertedBy: false, ageMs: 0 });
      const d = decideAutoRevert({ action: a, onFailure: REVERT, now: NOW });
      const again = decideAutoRevert({ action: structuredClone(a), onFailure: REVERT, now: NOW + 60_000 });
      if (!d.create || !again.create) throw new Error("an eligible failure got no undo");
      expect(again.name).toBe(d.name);
      expect(d.revert.metadata.name).toBe(d.name);
      expect(d.name.length).toBeLessThanOrEqual(253);
      expect(dnsSubdomain.safeParse(d.name).success, d.name).toBe(true);
      expect(d.name).not.toBe(shape.name);
    }), { numRuns: 500 });
  });
});
