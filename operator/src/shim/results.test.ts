import { describe, expect, it } from "vitest";
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { leaks, status422 } from "../runtime/testing/leaky-status.ts";
import { actionResult } from "./results.ts";

const failed = (message: string): RemediationAction => ({
  apiVersion: "smartops.io/v1alpha1",
  kind: "RemediationAction",
  metadata: { name: "patch-web", namespace: "team-a" },
  spec: { type: "patch", target: { kind: "Deployment", name: "web" }, patch: { merge: JSON.stringify({ metadata: { annotations: { broken: 1 } } }) }, dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "ai-agent" },
  status: { phase: "Failed", reason: "ExecutionFailed", message, verification: { status: "FAILED", message } },
} as RemediationAction);

describe("actionResult", () => {
  it("never answers an object a status text embeds, in any field", () => {
    const answer = actionResult(failed(`patch_deployment: 422 Invalid: ${status422.message}`), "/v1/k8s/patch");
    expect(answer.body.success).toBe(false);
    expect(answer.body.message).toContain("422 Invalid");
    expect(leaks(JSON.stringify(answer))).toEqual([]);
  });

  it("keeps ordinary messages as they are", () => {
    const answer = actionResult(failed("Deployment team-a/web not found"), "/v1/k8s/patch");
    expect(answer.body.message).toBe("PATCH Deployment team-a/web failed: Deployment team-a/web not found");
  });
});

describe("actionResult: effectiveness in verify answers", () => {
  const succeeded = (effectiveness?: NonNullable<RemediationAction["status"]>["effectiveness"]): RemediationAction => ({
    ...failed(""),
    status: {
      phase: "Succeeded", reason: "RolloutComplete", message: "verified",
      verification: { status: "SUCCESS", attempts: 1 },
      ...(effectiveness ? { effectiveness } : {}),
    },
  } as RemediationAction);
  const verification = (a: RemediationAction) => actionResult(a, "/v1/k8s/patch").body.verification as Record<string, unknown>;

  it("null while unknown (no window yet, or the window still runs)", () => {
    expect(verification(succeeded())).toMatchObject({ effective: null, effectiveness: null });
    expect(verification(succeeded({ state: "Pending", windowSeconds: 300, windowEndsAt: "2026-05-01T00:05:00Z" }))).toMatchObject({
      effective: null, effectiveness: { state: "Pending", window_ends_at: "2026-05-01T00:05:00Z", message: null },
    });
  });

  it("true or false once decided, with the reason's message", () => {
    const no = verification(succeeded({ state: "Ineffective", windowSeconds: 300, windowEndsAt: "2026-05-01T00:05:00Z", message: "AnomalySignal lat-2 showed the problem again" }));
    expect(no).toMatchObject({ effective: false, effectiveness: { state: "Ineffective", message: "AnomalySignal lat-2 showed the problem again" } });
    expect(verification(succeeded({ state: "Effective", windowSeconds: 300, windowEndsAt: "2026-05-01T00:05:00Z" })).effective).toBe(true);
    expect(verification(succeeded({ state: "Unknown", windowSeconds: 300, windowEndsAt: "2026-05-01T00:05:00Z" })).effective).toBeNull();
  });
});
