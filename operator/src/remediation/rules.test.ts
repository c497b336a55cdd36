import { describe, expect, it } from "vitest";
import type { AnomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import type { RcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import { decideForAnomaly, decideForRca, rcaService, type SignalRules } from "./rules.ts";

const rules = (over: Partial<SignalRules> = {}): SignalRules => ({ minScore: 0, minConfidence: 0, unverified: "DryRun", scaleStep: 1, ...over });

const anomaly = (over: Partial<AnomalySignalSpec> = {}): AnomalySignalSpec => ({
  windowId: "lat-001",
  service: "erp-simulator",
  isAnomaly: true,
  score: 0.9,
  type: "latency",
  modelVersion: "v1",
  ...over,
});

const rca = (over: Partial<RcaSignalSpec> = {}): RcaSignalSpec => ({
  windowId: "rca-001",
  service: "erp-simulator",
  rankedCauses: [{ svc: "erp-simulator", cause: "memory_leak", probability: 0.92 }],
  confidence: 0.88,
  modelVersion: "v1",
  ...over,
});

const cause = (c: string, probability: number, svc = "erp-simulator") => ({ svc, cause: c, probability });

describe("decideForAnomaly: the seed table (§4.6 A)", () => {
  it.each([
    ["resource", "scale"],
    ["latency", "restart"],
    ["error", "restart"],
    ["jitter", "restart"],
    ["other", "restart"],
    ["never-heard-of-it", "restart"],
  ] as const)("%s → %s", (type, actionType) => {
    const d = decideForAnomaly(anomaly({ type }), rules({ scaleStep: 2 }));
    expect(d).toMatchObject({ kind: "action", actionType, rule: "default", dryRun: false, verified: true });
    if (d.kind === "action") expect(d.scaleStep).toBe(actionType === "scale" ? 2 : undefined);
  });

  it("writes a summary for the audit trail", () => {
    expect(decideForAnomaly(anomaly(), rules())).toMatchObject({ summary: "latency anomaly lat-001 (score 0.90) → restart" });
    expect(decideForAnomaly(anomaly({ type: "resource", score: 0.92 }), rules({ scaleStep: 2 })))
      .toMatchObject({ summary: "resource anomaly lat-001 (score 0.92) → scale-up by 2" });
  });
});

describe("decideForRca: the seed table (§4.6 B)", () => {
  it.each([
    ["memory_leak", "restart"],
    ["cpu_saturation", "scale"],
    ["high_error_rate", "restart"],
    ["config_issue", "restart"],
    ["cosmic_rays", "restart"],
  ] as const)("%s → %s", (c, actionType) => {
    expect(decideForRca(rca({ rankedCauses: [cause(c, 0.9)] }), rules())).toMatchObject({ kind: "action", actionType, rule: "default", dryRun: false, verified: true });
  });

  it("the most probable cause decides; ties go to the earliest", () => {
    expect(decideForRca(rca({ rankedCauses: [cause("memory_leak", 0.2), cause("cpu_saturation", 0.7)] }), rules())).toMatchObject({ actionType: "scale" });
    expect(decideForRca(rca({ rankedCauses: [cause("memory_leak", 0.5), cause("cpu_saturation", 0.5)] }), rules())).toMatchObject({ actionType: "restart" });
    expect(decideForRca(rca({ rankedCauses: [cause("cpu_saturation", 0.5), cause("memory_leak", 0.5)] }), rules())).toMatchObject({ actionType: "scale" });
  });

  it("without causes: the default row, unverified, so dry-run", () => {
    const d = decideForRca(rca({ rankedCauses: [] }), rules());
    expect(d).toMatchObject({ kind: "action", actionType: "restart", rule: "default", dryRun: true, verified: false });
    expect(decideForRca(rca({ rankedCauses: undefined }), rules())).toMatchObject({ actionType: "restart", verified: false });
  });

  it("writes a summary naming the cause", () => {
    expect(decideForRca(rca(), rules())).toMatchObject({ summary: "rca rca-001: memory_leak on erp-simulator (probability 0.92) → restart" });
  });
});

describe("policy overrides", () => {
  it("win over the default for the listed type or cause only", () => {
    const r = rules({ anomaly: [{ type: "latency", action: "scale-up" }], rca: [{ cause: "memory_leak", action: "delete-pod" }] });
    expect(decideForAnomaly(anomaly({ type: "latency" }), r)).toMatchObject({ actionType: "scale", rule: "policy" });
    expect(decideForAnomaly(anomaly({ type: "error" }), r)).toMatchObject({ actionType: "restart", rule: "default" });
    expect(decideForRca(rca(), r)).toMatchObject({ actionType: "delete-pod", rule: "policy" });
    expect(decideForRca(rca({ rankedCauses: [cause("config_issue", 1)] }), r)).toMatchObject({ actionType: "restart", rule: "default" });
  });

  it("an unknown anomaly type follows the policy's row for other", () => {
    const r = rules({ anomaly: [{ type: "other", action: "delete-pod" }] });
    expect(decideForAnomaly(anomaly({ type: "mystery" }), r)).toMatchObject({ actionType: "delete-pod", rule: "policy" });
    expect(decideForAnomaly(anomaly({ type: "latency" }), r)).toMatchObject({ actionType: "restart", rule: "default" });
  });

  it("duplicate rows resolve to the most restrictive", () => {
    const r = rules({ anomaly: [{ type: "resource", action: "scale-up" }, { type: "resource", action: "restart" }] });
    expect(decideForAnomaly(anomaly({ type: "resource" }), r)).toMatchObject({ actionType: "restart" });
  });
});

describe("ignore reasons, in order", () => {
  it("NotAnomalous first", () => {
    expect(decideForAnomaly(anomaly({ isAnomaly: false, score: 0, confidence: 0 }), rules({ minScore: 0.5, minConfidence: 0.5 })))
      .toMatchObject({ kind: "ignore", reason: "NotAnomalous", verified: true });
  });

  it("then BelowScoreThreshold", () => {
    const d = decideForAnomaly(anomaly({ score: 0.4, confidence: 0.1 }), rules({ minScore: 0.5, minConfidence: 0.5 }));
    expect(d).toMatchObject({ kind: "ignore", reason: "BelowScoreThreshold" });
    if (d.kind === "ignore") expect(d.message).toBe("latency anomaly lat-001 scores 0.4, below minScore 0.5");
    expect(decideForAnomaly(anomaly({ score: 0.5 }), rules({ minScore: 0.5 }))).toMatchObject({ kind: "action" });
  });

  it("then BelowConfidenceThreshold, only when a confidence is given", () => {
    const r = rules({ minConfidence: 0.8, anomaly: [{ type: "latency", action: "none" }], rca: [{ cause: "memory_leak", action: "none" }] });
    expect(decideForAnomaly(anomaly({ confidence: 0.5 }), r)).toMatchObject({ kind: "ignore", reason: "BelowConfidenceThreshold" });
    expect(decideForRca(rca({ confidence: 0.5 }), r)).toMatchObject({ kind: "ignore", reason: "BelowConfidenceThreshold" });
    // The top cause's probability is not a confidence.
    expect(decideForRca(rca({ confidence: 0.9, rankedCauses: [cause("cpu_saturation", 0.1)] }), rules({ minConfidence: 0.8 }))).toMatchObject({ kind: "action" });
    // Absent confidence: not below the threshold (but unverified for RCA).
    expect(decideForAnomaly(anomaly({ confidence: undefined }), rules({ minConfidence: 0.8 }))).toMatchObject({ kind: "action", dryRun: false });
  });

  it("then RuleSaysNoAction", () => {
    const r = rules({ unverified: "Ignore", anomaly: [{ type: "latency", action: "none" }], rca: [{ cause: "memory_leak", action: "none" }] });
    expect(decideForAnomaly(anomaly({ modelVersion: undefined }), r)).toMatchObject({ kind: "ignore", reason: "RuleSaysNoAction", verified: false });
    expect(decideForRca(rca(), r)).toMatchObject({ kind: "ignore", reason: "RuleSaysNoAction", verified: true });
  });

  it("then UnverifiedSignalIgnored when the policy says Ignore", () => {
    const r = rules({ unverified: "Ignore" });
    expect(decideForAnomaly(anomaly({ modelVersion: undefined }), r)).toMatchObject({ kind: "ignore", reason: "UnverifiedSignalIgnored", verified: false });
    expect(decideForRca(rca({ confidence: undefined, rankedCauses: [] }), r))
      .toMatchObject({ kind: "ignore", reason: "UnverifiedSignalIgnored", verified: false, message: expect.stringContaining("no confidence, rankedCauses") });
    expect(decideForAnomaly(anomaly(), r)).toMatchObject({ kind: "action", verified: true });
  });
});

describe("verification (§9.4.4)", () => {
  it("an anomaly is verified by its modelVersion; its score is its confidence", () => {
    expect(decideForAnomaly(anomaly({ confidence: undefined }), rules())).toMatchObject({ verified: true, dryRun: false });
    expect(decideForAnomaly(anomaly({ modelVersion: undefined, confidence: 0.99 }), rules())).toMatchObject({ verified: false, dryRun: true });
  });

  it.each<[string, Partial<RcaSignalSpec>]>([
    ["modelVersion", { modelVersion: undefined }],
    ["confidence", { confidence: undefined }],
    ["rankedCauses", { rankedCauses: [] }],
  ])("an RCA without %s is unverified and forced to dry-run", (_field, over) => {
    expect(decideForRca(rca(over), rules())).toMatchObject({ kind: "action", verified: false, dryRun: true });
  });

  it("a complete RCA is verified", () => {
    expect(decideForRca(rca(), rules())).toMatchObject({ verified: true, dryRun: false });
  });
});

describe("rcaService", () => {
  it("is the spec's service, else the top cause's svc", () => {
    expect(rcaService(rca({ service: "a" }))).toBe("a");
    expect(rcaService(rca({ service: undefined, rankedCauses: [cause("x", 0.1, "low"), cause("y", 0.9, "high")] }))).toBe("high");
    expect(rcaService(rca({ service: undefined, rankedCauses: [] }))).toBeUndefined();
  });
});
