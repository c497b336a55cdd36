import { describe, expect, it } from "vitest";
import { anomalySignalSpec } from "../../operator/src/api/v1alpha1/anomaly-signal.ts";
import { rcaSignalSpec } from "../../operator/src/api/v1alpha1/rca-signal.ts";
import { decideForAnomaly, decideForRca, type SignalRules } from "../../operator/src/remediation/rules.ts";
import { blockHint, runId, scenarios, windows } from "./scenarios.ts";

// signals.* of samples/valid/guardrailpolicy-default.yaml
const seedRules: SignalRules = { minScore: 0, minConfidence: 0, unverified: "DryRun", scaleStep: 1 };

describe("make dev scenarios", () => {
  const all = scenarios("1123-230000");

  it("are C1–C5, each post a valid seed payload the shim accepts", () => {
    expect(all.map((s) => s.id)).toEqual(["C1", "C2", "C3", "C4", "C5"]);
    for (const s of all) {
      for (const p of s.posts) {
        const schema = p.route === "/v1/signals/anomaly" ? anomalySignalSpec : rcaSignalSpec;
        expect(schema.safeParse(p.body).success, `${s.id} ${JSON.stringify(p.body)}`).toBe(true);
      }
    }
  });

  it("become the seed's actions under the seed policy (C4 and one C5 signal unverified: dry run)", () => {
    const decided = all.flatMap((s) => windows(s).map((p) => {
      const d = p.route === "/v1/signals/anomaly" ? decideForAnomaly(anomalySignalSpec.parse(p.body), seedRules) : decideForRca(rcaSignalSpec.parse(p.body), seedRules);
      return d.kind === "action" ? `${s.id}:${d.actionType}${d.dryRun ? ":dry" : ""}` : `${s.id}:${d.reason}`;
    }));
    expect(decided).toEqual(["C1:restart", "C2:scale", "C3:restart", "C4:restart:dry", "C5:restart", "C5:scale", "C5:restart:dry"]);
  });

  it("C5 retries one window: four posts, three windows, one expected outcome per window", () => {
    const c5 = all.find((s) => s.id === "C5")!;
    expect(c5.posts).toHaveLength(4);
    expect(windows(c5)).toHaveLength(3);
    for (const s of all) expect(s.expected).toHaveLength(windows(s).length);
  });

  it("use fresh windowIds per run, unique within a run", () => {
    const ids = (run: string) => scenarios(run).flatMap((s) => windows(s).map((p) => String(p.body.windowId)));
    expect(new Set(ids("a")).size).toBe(7);
    expect(ids("a").filter((id) => ids("b").includes(id))).toEqual([]);
  });

  it("run ids are MMDD-HHMMSS in UTC", () => {
    expect(runId(new Date("2026-11-23T23:04:05.678Z"))).toBe("1123-230405");
  });

  it("explain the blocks a re-run meets, naming the policy field", () => {
    expect(blockHint("CooldownActive", "restart")).toContain("spec.cooldownSeconds.restart");
    expect(blockHint("CooldownActive", "delete-pod")).toContain("spec.cooldownSeconds.deletePod");
    expect(blockHint("HourlyActionLimitReached", "scale")).toContain("maxActionsPerHour");
    expect(blockHint("ScaleIncreaseLimitReached", "scale")).toContain("maxScaleIncreasePer15Minutes");
    expect(blockHint("TargetNotFound", "scale")).toBeUndefined();
  });
});
