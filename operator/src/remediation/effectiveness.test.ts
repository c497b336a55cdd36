import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EffectivenessInput, judgeEffectiveness, problemOf, recurs, type SignalSeen } from "./effectiveness.ts";

const T = Date.parse("2026-05-01T00:00:00Z");
const S = 1000;
const anomaly = (name: string, afterSeconds: number, type: string, isAnomaly = true, target = "web"): SignalSeen => ({ kind: "AnomalySignal", name, at: T + afterSeconds * S, target, service: target, isAnomaly, anomalyType: type });
const rca = (name: string, afterSeconds: number, cause: string, target = "web"): SignalSeen => ({ kind: "RcaSignal", name, at: T + afterSeconds * S, target, service: target, topCause: cause });

const input = (over: Partial<EffectivenessInput> = {}): EffectivenessInput => ({
  target: "web", problem: { kind: "AnomalySignal", anomalyType: "latency" }, succeededAt: T, windowSeconds: 300, now: T + 10 * S, signals: [], ...over,
});

describe("judgeEffectiveness", () => {
  it("the same anomaly type inside the window: Ineffective at once, naming the signal", () => {
    const v = judgeEffectiveness(input({ signals: [anomaly("again", 60, "latency")] }));
    expect(v).toMatchObject({ state: "Ineffective", reason: "AnomalyRecurred", recurrence: { name: "again" } });
  });

  it("another type, another service, a normal window, or a signal outside the window do not recur", () => {
    const signals = [anomaly("cpu", 60, "resource"), anomaly("other-svc", 60, "latency", true, "api"), anomaly("fine", 90, "latency", false), anomaly("late", 301, "latency"), anomaly("before", -1, "latency")];
    expect(judgeEffectiveness(input({ signals }))).toMatchObject({ state: "Pending", normalWindows: 1 });
    expect(judgeEffectiveness(input({ signals, now: T + 300 * S }))).toMatchObject({ state: "Effective", reason: "NoRecurrence", normalWindows: 1 });
  });

  it("the window includes its last instant; creation times have one-second resolution, so the second the action succeeded in counts", () => {
    expect(judgeEffectiveness(input({ signals: [anomaly("edge", 300, "latency")] }))).toMatchObject({ state: "Ineffective" });
    const at = T + 400; // the action succeeded 0.4 s into a second; a signal stamped with that second counts
    expect(judgeEffectiveness(input({ succeededAt: at, signals: [anomaly("same-second", 0, "latency")] }))).toMatchObject({ state: "Ineffective" });
    expect(judgeEffectiveness(input({ succeededAt: at, signals: [anomaly("second-before", -1, "latency")] }))).toMatchObject({ state: "Pending" });
  });

  it("the action's own signal is never its recurrence", () => {
    expect(judgeEffectiveness(input({ signals: [anomaly("own", 0, "latency")], ownSignal: { kind: "AnomalySignal", name: "own" } }))).toMatchObject({ state: "Pending" });
  });

  it("an RCA action recurs on an RCA with the same top cause only", () => {
    const problem = problemOf("RcaSignal", { causes: [{ svc: "web", cause: "memory_leak", probability: 0.9 }] });
    expect(judgeEffectiveness(input({ problem, signals: [rca("cpu", 10, "cpu_saturation"), anomaly("lat", 20, "latency")], now: T + 400 * S }))).toMatchObject({ state: "Effective" });
    expect(judgeEffectiveness(input({ problem, signals: [rca("leak", 10, "memory_leak")] }))).toMatchObject({ state: "Ineffective", recurrence: { name: "leak" } });
  });

  it("a manual action (no problem named) recurs on any anomalous window of its service", () => {
    expect(recurs(anomaly("x", 1, "error"), {})).toBe(true);
    expect(recurs(anomaly("x", 1, "error", false), {})).toBe(false);
  });

  it("metric checks decide a quiet window: a failed check is Ineffective, an unreadable one Unknown", () => {
    const end = { now: T + 300 * S };
    expect(judgeEffectiveness(input({ ...end, metrics: [{ effective: true, message: "0.4 -> 0.01 (< 0.05)" }] }))).toMatchObject({ state: "Effective" });
    expect(judgeEffectiveness(input({ ...end, metrics: [{ effective: true, message: "ok" }, { effective: false, message: "0.4 -> 0.3 (< 0.05)" }] }))).toMatchObject({ state: "Ineffective", reason: "MetricNotRecovered" });
    expect(judgeEffectiveness(input({ ...end, metrics: [{ effective: undefined, message: "no data" }] }))).toMatchObject({ state: "Unknown", reason: "MetricUnavailable" });
  });

  it("property: Ineffective(AnomalyRecurred) iff a matching anomalous signal lies in (succeededAt, end]; else Pending before the end and Effective after", () => {
    const sig = fc.record({
      after: fc.integer({ min: -100, max: 500 }),
      type: fc.constantFrom("latency", "error"),
      isAnomaly: fc.boolean(),
      target: fc.constantFrom("web", "api"),
    });
    fc.assert(fc.property(fc.array(sig, { maxLength: 8 }), fc.integer({ min: 0, max: 600 }), (sigs, nowAfter) => {
      const signals = sigs.map((s, i) => anomaly(`s${i}`, s.after, s.type, s.isAnomaly, s.target));
      const v = judgeEffectiveness(input({ signals, now: T + nowAfter * S }));
      const hit = sigs.some((s) => s.after >= 0 && s.after <= 300 && s.type === "latency" && s.isAnomaly && s.target === "web");
      if (hit) expect(v).toMatchObject({ state: "Ineffective", reason: "AnomalyRecurred" });
      else expect(v.state).toBe(nowAfter < 300 ? "Pending" : "Effective");
      expect(v.windowEndsAt).toBe(T + 300 * S);
    }));
  });
});
