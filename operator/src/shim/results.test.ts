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
