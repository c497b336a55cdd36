import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import { evaluateGuardrails, type ActionRecord } from "./guardrails.ts";
import { effectivePolicy, type PolicyObject } from "./policy.ts";
import { type ReplayAction, type ReplayInput, type ReplaySignal, replay } from "./replay.ts";
import { decideForAnomaly } from "./rules.ts";

const T = Date.parse("2026-05-01T00:00:00Z");
const S = 1000;
const NS = "team-a";

const pol = (name: string, spec: Record<string, unknown>): PolicyObject => ({ metadata: { namespace: NS, name }, spec: guardrailPolicySpec.parse(spec) });
const SEED = pol("default", { cooldownSeconds: { restart: 300 } });

function latency(i: number, at: number, recorded: ReplaySignal["recorded"]): ReplaySignal {
  return { kind: "AnomalySignal", namespace: NS, name: `lat-${i}`, at, target: "web", spec: anomalySignalSpec.parse({ windowId: `w${i}`, service: "web", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "m" }), recorded };
}
function restart(i: number, at: number, outcome: { phase: string; reason?: string; executed?: boolean }): ReplayAction {
  return {
    namespace: NS, name: `act-${i}`, target: "web", type: "restart", source: "closed-loop", dryRun: false, at, signal: { kind: "AnomalySignal", name: `lat-${i}` },
    phase: outcome.phase, ...(outcome.reason ? { reason: outcome.reason } : {}), ...(outcome.executed ? { executedAt: at + S } : {}), fromReplicas: 2,
  };
}

/** A recorded storm: five latency windows 10 s apart; the seed's 300 s restart cooldown let the first through. */
function storm(): Pick<ReplayInput, "signals" | "actions"> {
  const signals: ReplaySignal[] = [];
  const actions: ReplayAction[] = [];
  for (let i = 0; i < 5; i++) {
    signals.push(latency(i, T + i * 10 * S, { phase: "ActionCreated", action: `act-${i}` }));
    actions.push(restart(i, T + i * 10 * S, i === 0 ? { phase: "Succeeded", executed: true } : { phase: "Blocked", reason: "CooldownActive" }));
  }
  return { signals, actions };
}

const input = (candidate: PolicyObject[], mode: "replace" | "beside" = "replace"): ReplayInput => ({
  ...storm(), deploymentLabels: new Map([[`${NS}/web`, { app: "web" }]]), current: [SEED], candidate, mode, operatorNamespace: "smartops-system",
});

describe("replay: a recorded storm under other policies", () => {
  it("the current policy reproduces the record: nothing changed", () => {
    const r = replay(input([SEED]));
    expect(r.rows.map((x) => x.candidate)).toEqual([
      { kind: "executed", type: "restart" },
      ...Array(4).fill({ kind: "blocked", type: "restart", reason: "CooldownActive" }),
    ]);
    expect(r.summary).toMatchObject({ events: 5, allowed: 1, blocked: 4, changed: 0, blockedBy: { CooldownActive: 4 } });
  });

  it("a stricter policy (restarts not allowed) blocks the one that ran: 1 changed", () => {
    const r = replay(input([pol("default", { allowedActions: ["scale"] })]));
    expect(r.summary).toMatchObject({ allowed: 0, blocked: 5, changed: 1, blockedBy: { ActionTypeNotAllowed: 5 } });
    expect(r.rows[0]).toMatchObject({ event: "AnomalySignal/lat-0", recorded: { kind: "executed" }, candidate: { kind: "blocked", reason: "ActionTypeNotAllowed" }, changed: true });
  });

  it("a looser policy (15 s cooldown) lets every other one through: at 0, 20 and 40 s", () => {
    const r = replay(input([pol("default", { cooldownSeconds: { restart: 15 } })]));
    expect(r.rows.map((x) => x.candidate.kind)).toEqual(["executed", "blocked", "executed", "blocked", "executed"]);
    expect(r.summary).toMatchObject({ allowed: 3, blocked: 2, changed: 2 });
  });

  it("beside the current policies, a candidate can only tighten (most restrictive wins)", () => {
    const r = replay(input([pol("candidate", { cooldownSeconds: { restart: 15 } })], "beside"));
    expect(r.summary.changed).toBe(0);
    const paused = replay(input([pol("candidate", { paused: true })], "beside"));
    expect(paused.summary).toMatchObject({ blocked: 5, changed: 1, blockedBy: { PolicyPaused: 5 } });
  });

  it("a rule the candidate changes to none ignores the signals", () => {
    const r = replay(input([pol("default", { rules: { anomaly: [{ type: "latency", action: "none" }] } })]));
    expect(r.rows.every((x) => x.candidate.kind === "ignored")).toBe(true);
    expect(r.summary).toMatchObject({ ignored: 5, changed: 5 });
  });

  it("says where an input is missing", () => {
    const i = input([SEED]);
    const r = replay({ ...i, deploymentLabels: new Map() });
    expect(r.rows[0]!.notes.join(" ")).toContain("is gone");
  });

  it("is deterministic", () => {
    const i = input([pol("default", { cooldownSeconds: { restart: 15 } })]);
    expect(JSON.stringify(replay(i))).toBe(JSON.stringify(replay({ ...i, signals: [...i.signals].reverse(), actions: [...i.actions].reverse() })));
  });
});

describe("replay: property", () => {
  it("replaying the policy that decided reproduces every recorded decision", () => {
    const cooldown = fc.integer({ min: 0, max: 120 });
    const perHour = fc.integer({ min: 0, max: 5 });
    const gaps = fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 12 });
    const types = fc.array(fc.constantFrom("latency", "resource", "error"), { minLength: 12, maxLength: 12 });
    fc.assert(fc.property(cooldown, perHour, gaps, types, (cd, hour, gapList, typeList) => {
      const current = pol("default", { cooldownSeconds: { restart: cd, scale: cd }, rateLimits: { maxActionsPerHour: hour, maxScaleIncreasePer15Minutes: 100 }, replicas: { min: 1, max: 100, maxStep: 5 } });
      const policy = effectivePolicy([current]);
      // The operator, as a model: each signal decided by the rules and the guardrails against what ran before.
      const signals: ReplaySignal[] = [];
      const actions: ReplayAction[] = [];
      const ran: ActionRecord[] = [];
      let at = T;
      let replicas = 2;
      gapList.forEach((gap, i) => {
        at += gap * S;
        const spec = anomalySignalSpec.parse({ windowId: `w${i}`, service: "web", isAnomaly: true, score: 0.9, type: typeList[i], modelVersion: "m" });
        const d = decideForAnomaly(spec, policy.signals);
        if (d.kind !== "action") return;
        const scale = d.actionType === "scale" ? { by: d.scaleStep ?? 1 } : undefined;
        const g = evaluateGuardrails({ action: { name: `a${i}`, namespace: NS, type: d.actionType, ...(scale ? { scale } : {}) }, target: { exists: true, replicas }, history: ran, policy, now: at });
        const executed = g.verdict === "allow";
        const from = replicas;
        if (executed) {
          ran.push({ name: `a${i}`, type: d.actionType, executedAt: at, ...(g.replicas !== undefined ? { fromReplicas: replicas, toReplicas: g.replicas } : {}) });
          if (g.replicas !== undefined) replicas = g.replicas;
        }
        signals.push({ kind: "AnomalySignal", namespace: NS, name: `s${i}`, at, target: "web", spec, recorded: { phase: "ActionCreated", action: `a${i}` } });
        actions.push({
          namespace: NS, name: `a${i}`, target: "web", type: d.actionType, source: "closed-loop", dryRun: false, at, signal: { kind: "AnomalySignal", name: `s${i}` },
          ...(scale ? { scale } : {}), fromReplicas: from, ...(executed ? { executedAt: at, phase: "Succeeded" } : { phase: "Blocked", reason: g.verdict === "block" ? g.reason : "" }),
        });
      });
      const r = replay({ signals, actions, deploymentLabels: new Map([[`${NS}/web`, {}]]), current: [current], candidate: [current], mode: "replace", operatorNamespace: "smartops-system" });
      expect(r.rows.filter((x) => x.changed)).toEqual([]);
    }));
  });
});
