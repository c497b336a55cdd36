// Shadow policies on the in-memory API: they decide nothing, and each action
// records what they would have decided beside the enforced policies.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { DEPLOYMENTS, GUARDRAIL_POLICIES, PODS, REMEDIATION_ACTIONS, REPLICASETS } from "../../k8s/resources.ts";
import { FakeKubeApi } from "../../k8s/testing/fake-api.ts";
import { registry } from "../../telemetry/metrics.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import { action, available, cacheOfApi, deployment, NAMESPACE, policy, replicaSet, T0, withPolicySpec, withType } from "../testing/builders.ts";
import { ActionController } from "./controller.ts";

function run(a: RemediationAction, policies: ReturnType<typeof policy>[]) {
  const api = new FakeKubeApi({ now: () => T0 });
  api.seed(DEPLOYMENTS, deployment("web", available()));
  api.seed(REPLICASETS, replicaSet(api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!));
  for (const p of policies) api.seed(GUARDRAIL_POLICIES, p);
  api.seed(REMEDIATION_ACTIONS, a);
  const ctl = new ActionController({
    api, actions: cacheOfApi(api, REMEDIATION_ACTIONS), deployments: cacheOfApi(api, DEPLOYMENTS), pods: cacheOfApi(api, PODS),
    replicaSets: cacheOfApi(api, REPLICASETS), policies: cacheOfApi(api, GUARDRAIL_POLICIES),
    events: { record: () => undefined }, operatorNamespace: "smartops-system", log: silentLogger(), now: () => T0,
  });
  return { go: () => ctl.reconcile(`${NAMESPACE}/web`), stored: () => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, a.metadata.name)! };
}

const shadow = (name: string, spec: Record<string, unknown>) => policy(name, withPolicySpec({ mode: "Shadow", ...spec }));

describe("shadow policies", () => {
  it("decide nothing: a paused shadow policy does not pause, a stricter one does not block", async () => {
    registry.resetMetrics();
    const h = run(action("r", withType("restart")), [shadow("trial-paused", { paused: true }), shadow("trial-scale-only", { allowedActions: ["scale"] })]);
    await h.go();
    expect(h.stored().status?.phase).not.toBe("Blocked");
    expect(h.stored().status?.intent?.restartedAt).toBeDefined();
    expect(h.stored().status?.shadowDecisions).toEqual([
      expect.objectContaining({ policy: "team-a/trial-paused", verdict: "Blocked", reason: "PolicyPaused", agrees: false }),
      expect.objectContaining({ policy: "team-a/trial-scale-only", verdict: "Blocked", reason: "ActionTypeNotAllowed", agrees: false }),
    ]);
    const counted = (await registry.getSingleMetric("smartops_shadow_decisions_total")!.get()).values.map((v) => `${v.labels.result}/${v.labels.reason}=${v.value}`).sort();
    expect(counted).toEqual(["disagree/ActionTypeNotAllowed=1", "disagree/PolicyPaused=1"]);
  });

  it("record agreement, combined with the enforced policies (a shadow policy alone cannot loosen them)", async () => {
    const enforced = policy("enforced", withPolicySpec({ allowedActions: ["scale"] }));
    const h = run(action("r", withType("restart")), [enforced, shadow("looser", { allowedActions: ["restart", "scale"] })]);
    await h.go();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason: "ActionTypeNotAllowed" });
    expect(h.stored().status?.shadowDecisions).toEqual([expect.objectContaining({ policy: "team-a/looser", verdict: "Blocked", reason: "ActionTypeNotAllowed", agrees: true })]);
  });

  it("without shadow policies nothing is recorded", async () => {
    const h = run(action("r", withType("restart")), [policy("enforced")]);
    await h.go();
    expect(h.stored().status?.shadowDecisions).toBeUndefined();
  });
});
