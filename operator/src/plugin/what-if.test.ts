// `kubectl smartops what-if` on the fake client: a recorded storm (five latency
// windows 10 s apart under a 300 s restart cooldown: one restart, four blocked)
// replayed with a stricter and a looser candidate, checked against what was
// worked out by hand.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import type { GuardrailPolicy, Signal } from "../api/v1alpha1/objects.ts";
import { UsageError } from "./args.ts";
import { candidatePolicies, replayActionOf, whatIf, whatIfTable } from "./what-if.ts";
import type { Action } from "./views.ts";

const T = Date.parse("2026-03-01T09:00:00Z");
const NOW = T + 3600_000;
const iso = (ms: number) => new Date(ms).toISOString() as unknown as Date;

function storm() {
  const signals: Signal[] = [];
  const actions: Action[] = [];
  for (let i = 0; i < 5; i++) {
    const at = T + i * 10_000;
    signals.push({
      apiVersion: "smartops.io/v1alpha1", kind: "AnomalySignal",
      metadata: { name: `lat-${i}`, namespace: "shop", creationTimestamp: iso(at) },
      spec: anomalySignalSpec.parse({ windowId: `w${i}`, service: "web", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "m" }),
      status: { phase: "ActionCreated", target: "web", actionRef: { name: `act-${i}` } },
    } as Signal);
    actions.push({
      metadata: { name: `act-${i}`, namespace: "shop", creationTimestamp: iso(at) },
      spec: { type: "restart", target: { kind: "Deployment", name: "web" }, dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "closed-loop", signalRef: { kind: "AnomalySignal", name: `lat-${i}` } },
      status: i === 0
        ? { phase: "Succeeded", reason: "RolloutComplete", intent: { recordedAt: new Date(at + 500).toISOString(), restartedAt: new Date(at + 500).toISOString() } }
        : { phase: "Blocked", reason: "CooldownActive" },
    } as Action);
  }
  const policies = [{ apiVersion: "smartops.io/v1alpha1", kind: "GuardrailPolicy", metadata: { name: "default", namespace: "shop" }, spec: guardrailPolicySpec.parse({}) } as GuardrailPolicy];
  return { signals, actions, policies, deployments: [{ name: "web", namespace: "shop", labels: { app: "web" }, annotations: {} }] };
}

const file = (text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), "what-if-")), "p.yaml");
  writeFileSync(p, text);
  return p;
};
const opts = { since: NOW - 86_400_000, mode: "replace" as const, operatorNamespace: "smartops-system" };

describe("what-if", () => {
  it("the policy in force reproduces the record", () => {
    const r = whatIf(storm(), candidatePolicies("kind: GuardrailPolicy\nmetadata: {name: default}\nspec: {}\n", "p.yaml", "shop"), opts);
    expect(r.summary).toMatchObject({ events: 5, allowed: 1, blocked: 4, changed: 0 });
  });

  it("a stricter candidate (maxActionsPerHour 0): all five blocked, one decision differs", () => {
    const r = whatIf(storm(), candidatePolicies("kind: GuardrailPolicy\nmetadata: {name: default}\nspec: {rateLimits: {maxActionsPerHour: 0}}\n", "p.yaml", "shop"), opts);
    expect(r.summary).toMatchObject({ allowed: 0, blocked: 5, changed: 1 });
    expect(r.summary.blockedBy).toEqual({ HourlyActionLimitReached: 5 });
    const t = whatIfTable(r, false);
    expect(t.rows[0]).toEqual(["2026-03-01T09:00:00Z", "AnomalySignal/lat-0", "web", "executed restart", "blocked restart: HourlyActionLimitReached", "yes"]);
    expect(t.summary).toBe("5 events: the candidate would have allowed 0, blocked 5 (HourlyActionLimitReached 5), ignored 0; 1 decision(s) differ from the record.");
  });

  it("a looser candidate (15 s cooldown): restarts at 0, 20 and 40 s — by hand: 10 s < 15 s blocked, 20 s ≥ 15 s allowed", () => {
    const r = whatIf(storm(), candidatePolicies("kind: GuardrailPolicy\nmetadata: {name: default}\nspec: {cooldownSeconds: {restart: 15}}\n", "p.yaml", "shop"), opts);
    expect(r.rows.map((x) => x.candidate.kind)).toEqual(["executed", "blocked", "executed", "blocked", "executed"]);
    expect(r.summary).toMatchObject({ allowed: 3, blocked: 2, changed: 2 });
  });

  it("--since leaves older events out", () => {
    expect(whatIf(storm(), candidatePolicies("kind: GuardrailPolicy\nmetadata: {name: default}\nspec: {}\n", "p.yaml", "shop"), { ...opts, since: T + 25_000 }).summary.events).toBe(2);
  });

  it("refuses a candidate that is not a valid GuardrailPolicy, naming the field", () => {
    expect(() => candidatePolicies("kind: GuardrailPolicy\nmetadata: {name: x}\nspec: {replicas: {max: 0}}\n", "p.yaml", "shop")).toThrow(/spec\.replicas\.max/);
    expect(() => candidatePolicies("kind: ConfigMap\nmetadata: {name: x}\n", "p.yaml", "shop")).toThrow(UsageError);
    expect(() => candidatePolicies("", "p.yaml", "shop")).toThrow(/holds no GuardrailPolicy/);
  });

  it("maps what an action recorded: replicas before, when it ran, the escalation step, a human's decision", () => {
    const a = replayActionOf({
      metadata: { name: "s", namespace: "shop", creationTimestamp: iso(T) },
      spec: { type: "scale", target: { kind: "Deployment", name: "web" }, scale: { by: 1, decidedAtReplicas: 2 }, dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "closed-loop", escalation: { from: "r", step: 1, ladder: ["restart", "scale-up"] }, approval: { decision: "Approved", approvedBy: "alice" } },
      status: { phase: "Succeeded", intent: { fromReplicas: 3, replicas: 4, recordedAt: new Date(T + 9000).toISOString() } },
    } as Action);
    expect(a).toMatchObject({ fromReplicas: 3, toReplicas: 4, executedAt: T + 9000, escalated: true, humanDecision: true, scale: { by: 1 } });
  });

  it("runs as a command: -f is required; the table ends with the summary", async () => {
    const { parse } = await import("./args.ts");
    expect(() => parse(["what-if"])).toThrow(/-f policy.yaml is required/);
    expect(() => parse(["what-if", "-f", "x", "--mode", "sideways"])).toThrow(/use replace or beside/);
    const p = parse(["what-if", "-f", file("kind: GuardrailPolicy\nmetadata: {name: default}\nspec: {}\n"), "--since", "7d"]);
    expect(p).toMatchObject({ kind: "run", invocation: { command: "what-if", sinceMs: 7 * 86_400_000 } });
  });
});
