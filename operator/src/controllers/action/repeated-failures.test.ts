// The RepeatedFailures stop and the judgedBy audit record, through the action
// controller on the in-memory API.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { DEPLOYMENTS, GUARDRAIL_POLICIES, PODS, REMEDIATION_ACTIONS, REPLICASETS } from "../../k8s/resources.ts";
import { FakeKubeApi } from "../../k8s/testing/fake-api.ts";
import { RESUME_ANNOTATION } from "../../remediation/escalation.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import {
  action, available, cacheOfApi, deployment, fromSignal, NAMESPACE, type Opt, policy, replicaSet, rfc3339, T0, withAnnotations, withPolicySpec, withSource, withType,
} from "../testing/builders.ts";
import { finished, judged } from "../testing/signals.ts";
import { ActionController } from "./controller.ts";

const MIN = 60_000;
const NOW = T0 + 60 * MIN;

function run(a: RemediationAction, history: RemediationAction[], opts: { deployment?: Opt<V1Deployment>[]; policies?: ReturnType<typeof policy>[] } = {}) {
  const api = new FakeKubeApi({ now: () => NOW });
  api.seed(DEPLOYMENTS, deployment("web", available(), ...(opts.deployment ?? [])));
  api.seed(REPLICASETS, replicaSet(api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!));
  for (const p of opts.policies ?? []) api.seed(GUARDRAIL_POLICIES, p);
  for (const h of history) api.seed(REMEDIATION_ACTIONS, h);
  api.seed(REMEDIATION_ACTIONS, a);
  const ctl = new ActionController({
    api, actions: cacheOfApi(api, REMEDIATION_ACTIONS), deployments: cacheOfApi(api, DEPLOYMENTS), pods: cacheOfApi(api, PODS),
    replicaSets: cacheOfApi(api, REPLICASETS), policies: cacheOfApi(api, GUARDRAIL_POLICIES),
    events: { record: () => undefined }, operatorNamespace: "smartops-system", log: silentLogger(), now: () => NOW,
  });
  return { go: () => ctl.reconcile(`${NAMESPACE}/web`), stored: () => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, a.metadata.name)! };
}

const failedAt = (name: string, minutes: number) => action(name, withType("restart"), fromSignal("AnomalySignal", `${name}-s`), finished(T0 + minutes * MIN, "Failed"));
const ineffectiveAt = (name: string, minutes: number) => action(name, withType("restart"), fromSignal("AnomalySignal", `${name}-s`), finished(T0 + minutes * MIN), judged("Ineffective", T0 + minutes * MIN));
const THREE = [failedAt("f1", 1), ineffectiveAt("f2", 2), failedAt("f3", 3)];
const next = (...opts: Opt<RemediationAction>[]) => action("next", withType("restart"), fromSignal("AnomalySignal", "next-s"), ...opts);

describe("RepeatedFailures", () => {
  it("blocks an automatic action after three failed or ineffective ones in a row, saying how to resume", async () => {
    const h = run(next(), THREE);
    await h.go();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason: "RepeatedFailures" });
    expect(h.stored().status?.message).toContain(`${RESUME_ANNOTATION}=`);
    expect(h.stored().status?.message).toContain("f3, f2, f1");
  });

  it("lets a human's own action through, and an agent's is blocked like the loop's", async () => {
    const manual = run(next(withSource("manual")), THREE);
    await manual.go();
    expect(manual.stored().status?.phase).not.toBe("Blocked");
    const agent = run(next(withSource("ai-agent")), THREE);
    await agent.go();
    expect(agent.stored().status?.reason).toBe("RepeatedFailures");
  });

  it("two failures, or three broken by an effective action, do not block", async () => {
    const two = run(next(), THREE.slice(1));
    await two.go();
    expect(two.stored().status?.phase).not.toBe("Blocked");
    const broken = run(next(), [...THREE.slice(0, 2), action("ok", withType("restart"), finished(T0 + 2.5 * MIN), judged("Effective", T0 + 2.5 * MIN)), failedAt("f4", 4)]);
    await broken.go();
    expect(broken.stored().status?.phase).not.toBe("Blocked");
  });

  it("resumes once the Deployment carries the resume annotation, dated after the failures", async () => {
    const h = run(next(), THREE, { deployment: [withAnnotations({ [RESUME_ANNOTATION]: rfc3339(T0 + 4 * MIN) })] });
    await h.go();
    expect(h.stored().status?.phase).not.toBe("Blocked");
    const early = run(next(), THREE, { deployment: [withAnnotations({ [RESUME_ANNOTATION]: rfc3339(T0 + MIN / 2) })] });
    await early.go();
    expect(early.stored().status?.reason).toBe("RepeatedFailures");
  });

  it("follows the policy: maxConsecutiveFailures 2 blocks sooner; an expiry lifts the block", async () => {
    const two = run(next(), THREE.slice(1), { policies: [policy("p", withPolicySpec({ escalation: { maxConsecutiveFailures: 2 } }))] });
    await two.go();
    expect(two.stored().status?.reason).toBe("RepeatedFailures");
    const expired = run(next(), THREE, { policies: [policy("p", withPolicySpec({ escalation: { blockExpirySeconds: 600 } }))] });
    await expired.go();
    expect(expired.stored().status?.phase).not.toBe("Blocked");
  });
});

describe("judgedBy: the policy values that judged the action", () => {
  it("records cooldown, caps, limits, approval tier, onFailure and the effectiveness window", async () => {
    const h = run(action("sc", fromSignal("AnomalySignal", "s")), [], { policies: [policy("p", withPolicySpec({ cooldownSeconds: { scale: 120 }, effectiveness: { windowSeconds: 600 } }))] });
    await h.go();
    expect(h.stored().status?.judgedBy).toEqual({
      policies: ["team-a/p"], cooldownSeconds: 120, approvalTier: "None", replicas: { min: 1, max: 8, maxStep: 2 },
      maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 3, onFailure: "Revert", effectivenessWindowSeconds: 600,
    });
  });
});
