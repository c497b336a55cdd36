// The effectiveness controller on the in-memory API: when it opens a window,
// what ends it (a recurring signal, a quiet end, a metric check), what it
// writes and tells, and which actions it never judges.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import type { EventRecorder } from "../k8s/events.ts";
import { DEPLOYMENTS, GUARDRAIL_POLICIES, REMEDIATION_ACTIONS } from "../k8s/resources.ts";
import { FakeKubeApi } from "../k8s/testing/fake-api.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { EffectivenessController, type MeasureMetric } from "./effectiveness-controller.ts";
import {
  action, available, cacheOf, deployment, dryRun, fromSignal, NAMESPACE, type Opt, policy, T0, withPolicySpec, withRevertOf, withType,
} from "./testing/builders.ts";
import { anomalySignal, finished, rcaSignal, withRecommendation } from "./testing/signals.ts";

const DONE = T0 + 60_000;
const S = 1000;

const restart = (...opts: Opt<RemediationAction>[]) => action("restart-web", withType("restart"), fromSignal("AnomalySignal", "lat-1"),
  withRecommendation({ service: "web", anomalyType: "latency", score: 0.9 }), finished(DONE), ...opts);

function harness(a: RemediationAction, opts: { signals?: Signal[]; policies?: ReturnType<typeof policy>[]; measure?: MeasureMetric } = {}) {
  let now = DONE + S;
  const api = new FakeKubeApi({ now: () => now });
  api.seed(DEPLOYMENTS, deployment("web", available()));
  for (const p of opts.policies ?? []) api.seed(GUARDRAIL_POLICIES, p);
  api.seed(REMEDIATION_ACTIONS, a);
  const signals = opts.signals ?? [];
  const events: string[] = [];
  const recorder: EventRecorder = { record: (r, type, reason, _action, note) => events.push(`${type} ${reason} ${r.kind}/${r.name}: ${note}`) };
  const ctl = new EffectivenessController({
    api,
    actions: { get: (ns, n) => api.stored(REMEDIATION_ACTIONS, ns, n), list: (ns) => api.storedAll(REMEDIATION_ACTIONS, ns) },
    anomalies: cacheOf(signals.filter((s) => s.kind === "AnomalySignal")),
    rcas: cacheOf(signals.filter((s) => s.kind === "RcaSignal")),
    deployments: { get: (ns, n) => api.stored<V1Deployment>(DEPLOYMENTS, ns, n), list: (ns) => api.storedAll(DEPLOYMENTS, ns) },
    policies: { get: (ns, n) => api.stored(GUARDRAIL_POLICIES, ns, n), list: (ns) => api.storedAll(GUARDRAIL_POLICIES, ns) },
    events: recorder,
    operatorNamespace: "smartops-system",
    log: silentLogger(),
    now: () => now,
    ...(opts.measure ? { measure: opts.measure } : {}),
  });
  const stored = () => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, a.metadata.name)!;
  const effective = () => stored().status?.conditions?.find((c) => c.type === "Effective");
  return {
    api, events, stored, effective, signals,
    at: (ms: number) => void (now = ms),
    reconcile: async () => {
      api.reset();
      return ctl.reconcile(`${NAMESPACE}/${a.metadata.name}`);
    },
    writes: () => api.writes().filter((c) => !c.error).length,
  };
}

describe("EffectivenessController", () => {
  it("opens the window on a succeeded action: Pending, Effective=Unknown, comes back when it ends", async () => {
    const h = harness(restart());
    const r = await h.reconcile();
    expect(h.stored().status?.effectiveness).toMatchObject({ state: "Pending", windowSeconds: 300, windowEndsAt: new Date(DONE + 300 * S).toISOString() });
    expect(h.effective()).toMatchObject({ status: "Unknown", reason: "EffectivenessPending" });
    expect(r.requeueAfterMs).toBe(299 * S);
    // Nothing new: nothing written.
    await h.reconcile();
    expect(h.writes()).toBe(0);
  });

  it("the same anomaly inside the window: Ineffective at once (AnomalyRecurred), naming the signal, with a Warning", async () => {
    const h = harness(restart(), { signals: [anomalySignal("lat-2", DONE + 90 * S)] });
    await h.reconcile();
    expect(h.stored().status?.effectiveness).toMatchObject({ state: "Ineffective", recurrence: { kind: "AnomalySignal", name: "lat-2" } });
    expect(h.effective()).toMatchObject({ status: "False", reason: "AnomalyRecurred" });
    expect(h.events).toEqual([expect.stringMatching(/^Warning AnomalyRecurred RemediationAction\/restart-web: AnomalySignal lat-2/)]);
  });

  it("a quiet window (normal windows only) ends Effective=True with a Normal event", async () => {
    const h = harness(restart(), { signals: [anomalySignal("ok-1", DONE + 30 * S, { isAnomaly: false }), anomalySignal("cpu", DONE + 40 * S, { type: "resource" })] });
    await h.reconcile();
    h.at(DONE + 300 * S);
    await h.reconcile();
    expect(h.stored().status?.effectiveness).toMatchObject({ state: "Effective", normalWindows: 1 });
    expect(h.effective()).toMatchObject({ status: "True", reason: "NoRecurrence" });
    expect(h.events).toEqual([expect.stringMatching(/^Normal NoRecurrence/)]);
  });

  it("an RCA action: the same top cause recurs, another cause does not", async () => {
    const rca = action("rca-web", withType("restart"), fromSignal("RcaSignal", "leak-1"), withRecommendation({ service: "web", causes: [{ svc: "web", cause: "memory_leak", probability: 0.8 }] }), finished(DONE));
    const other = harness(rca, { signals: [rcaSignal("cpu-1", DONE + 10 * S, "cpu_saturation")] });
    await other.reconcile();
    expect(other.stored().status?.effectiveness?.state).toBe("Pending");
    const same = harness(rca, { signals: [rcaSignal("leak-2", DONE + 10 * S, "memory_leak")] });
    await same.reconcile();
    expect(same.stored().status?.effectiveness).toMatchObject({ state: "Ineffective", recurrence: { name: "leak-2" } });
  });

  describe("metric checks: baseline when the window opens, outcome when it ends", () => {
    const check = { query: 'max(errors{namespace="$namespace",deployment="$deployment"})', comparison: "<" as const, threshold: 0.05 };
    const withCheck = policy("p", withPolicySpec({ rules: { anomaly: [{ type: "latency", action: "restart", check }] } }));
    const reading = (...values: (number | undefined)[]): MeasureMetric => {
      const queue = [...values];
      return async (c, vars) => {
        const value = queue.shift();
        const query = c.query.replace("$namespace", vars.namespace).replace("$deployment", vars.deployment);
        return value === undefined ? { query, message: "the query returned no series" } : { query, value };
      };
    };

    it("recovered: Effective, the check recorded baseline -> outcome with the rendered query", async () => {
      const h = harness(restart(), { policies: [withCheck], measure: reading(0.4, 0.01) });
      await h.reconcile();
      expect(h.stored().status?.effectiveness?.metrics).toEqual([expect.objectContaining({ query: 'max(errors{namespace="team-a",deployment="web"})', baseline: 0.4 })]);
      h.at(DONE + 301 * S);
      await h.reconcile();
      expect(h.stored().status?.effectiveness).toMatchObject({ state: "Effective", metrics: [{ baseline: 0.4, outcome: 0.01 }] });
      expect(h.stored().status?.effectiveness?.metrics?.[0]?.message).toContain("0.4 -> 0.01 (< 0.05)");
    });

    it("not recovered: Ineffective (MetricNotRecovered)", async () => {
      const h = harness(restart(), { policies: [withCheck], measure: reading(0.4, 0.3) });
      await h.reconcile();
      h.at(DONE + 301 * S);
      await h.reconcile();
      expect(h.effective()).toMatchObject({ status: "False", reason: "MetricNotRecovered" });
    });

    it("no data at the end, or no Prometheus configured: Unknown (MetricUnavailable), saying why", async () => {
      const h = harness(restart(), { policies: [withCheck], measure: reading(0.4, undefined) });
      await h.reconcile();
      h.at(DONE + 301 * S);
      await h.reconcile();
      expect(h.effective()).toMatchObject({ status: "Unknown", reason: "MetricUnavailable" });
      expect(h.stored().status?.effectiveness?.message).toContain("no series");
      const none = harness(restart(), { policies: [withCheck] });
      await none.reconcile();
      none.at(DONE + 301 * S);
      await none.reconcile();
      expect(none.stored().status?.effectiveness?.message).toContain("SMARTOPS_PROMETHEUS_URL");
    });

    it("a recurrence decides without waiting for the metric", async () => {
      const h = harness(restart(), { policies: [withCheck], measure: reading(0.4), signals: [anomalySignal("lat-2", DONE + 20 * S)] });
      await h.reconcile();
      expect(h.effective()).toMatchObject({ status: "False", reason: "AnomalyRecurred" });
    });
  });

  it("never judges a failed action, a dry run, a revert, or an action already judged", async () => {
    for (const a of [
      restart(finished(DONE, "Failed")),
      restart(dryRun()),
      action("undo", withRevertOf("restart-web"), finished(DONE)),
      restart((x) => { x.status!.effectiveness = { state: "Effective", windowSeconds: 300, windowEndsAt: new Date(DONE + 300 * S).toISOString() }; }),
    ]) {
      const h = harness(a, { signals: [anomalySignal("lat-2", DONE + 90 * S)] });
      await h.reconcile();
      expect(h.writes(), a.metadata.name).toBe(0);
    }
  });
});
