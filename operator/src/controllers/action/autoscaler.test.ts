// Scales of autoscaled Deployments through the action controller, against the
// in-memory KubeApi: Block (ManagedByAutoscaler naming the autoscaler), and
// AdjustAutoscaler — the floor raised instead of the Deployment, verified when
// the Deployment follows, recognised after a crash, judged again when the floor
// moved, restored by a revert (and not over someone else's change), and the
// floor-restore controller that creates that revert when the period ends.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ANNOTATIONS, type RemediationAction } from "../../api/v1alpha1/objects.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import { DEPLOYMENTS, GUARDRAIL_POLICIES, HORIZONTAL_POD_AUTOSCALERS, PODS, REMEDIATION_ACTIONS, REPLICASETS, SCALED_OBJECTS } from "../../k8s/resources.ts";
import { FakeKubeApi } from "../../k8s/testing/fake-api.ts";
import { KEDA_SCALED_OBJECT_LABEL } from "../../remediation/autoscaler.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import {
  action, available, cacheOfApi, deployment, dryRun, NAMESPACE, type Opt, policy, replicaSet, T0, withPatch, withPhase, withReplicas, withRevertOf, withScale,
  withStatus, withType, withPolicySpec,
} from "../testing/builders.ts";
import { FloorRestoreController, restoreName } from "../floor-restore.ts";
import { ActionController } from "./controller.ts";

const START = T0 + 10_000;
const ADJUST = withPolicySpec({ autoscaler: { mode: "AdjustAutoscaler", adjustSeconds: 60 } });

interface Hpa { metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; managedFields?: unknown[] }; spec: { scaleTargetRef: object; minReplicas?: number; maxReplicas: number } }
const hpa = (min: number | undefined, max = 6, target = "web", more: Partial<Hpa["metadata"]> = {}): Hpa => ({
  metadata: { name: "web-hpa", namespace: NAMESPACE, ...more },
  spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, ...(min !== undefined ? { minReplicas: min } : {}), maxReplicas: max },
});
const scaledObject = (min: number, max = 10) => ({
  apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject",
  metadata: { name: "web-so", namespace: NAMESPACE },
  spec: { scaleTargetRef: { name: "web" }, minReplicaCount: min, maxReplicaCount: max },
});

function harness(s: { action: RemediationAction; others?: RemediationAction[]; hpas?: Hpa[]; scaledObjects?: object[]; policies?: Opt<ReturnType<typeof policy>>[][]; deployment?: V1Deployment }) {
  let now = START;
  const api = new FakeKubeApi({ now: () => now });
  const d = s.deployment ?? deployment("web", withReplicas(2), available());
  api.seed(DEPLOYMENTS, d);
  api.seed(REPLICASETS, replicaSet(api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!));
  for (const h of s.hpas ?? []) api.seed(HORIZONTAL_POD_AUTOSCALERS, h);
  for (const o of s.scaledObjects ?? []) api.seed(SCALED_OBJECTS, o);
  (s.policies ?? []).forEach((opts, i) => api.seed(GUARDRAIL_POLICIES, policy(`p${i}`, ...opts)));
  for (const o of s.others ?? []) api.seed(REMEDIATION_ACTIONS, o);
  api.seed(REMEDIATION_ACTIONS, s.action);
  const recorder: EventRecorder = { record: () => {} };
  const ctl = new ActionController({
    api,
    actions: cacheOfApi(api, REMEDIATION_ACTIONS),
    deployments: cacheOfApi(api, DEPLOYMENTS),
    pods: cacheOfApi(api, PODS),
    replicaSets: cacheOfApi(api, REPLICASETS),
    policies: cacheOfApi(api, GUARDRAIL_POLICIES),
    autoscalers: { hpas: cacheOfApi(api, HORIZONTAL_POD_AUTOSCALERS), scaledObjects: cacheOfApi(api, SCALED_OBJECTS) },
    events: recorder,
    operatorNamespace: "smartops-system",
    log: silentLogger(),
    now: () => now,
  });
  const stored = () => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, s.action.metadata.name)!;
  return {
    api, stored,
    hpa: () => api.stored<Hpa>(HORIZONTAL_POD_AUTOSCALERS, NAMESPACE, "web-hpa")!,
    so: () => api.stored<ReturnType<typeof scaledObject>>(SCALED_OBJECTS, NAMESPACE, "web-so")!,
    advance: (ms: number) => void (now += ms),
    now: () => now,
    async reconcile() {
      api.reset();
      const result = await ctl.reconcile(`${NAMESPACE}/web`);
      ctl.observe(stored());
      for (const o of s.others ?? []) ctl.observe(api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, o.metadata.name)!);
      return result;
    },
    writes: () => api.writes().filter((c) => !c.error).map((c) => `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ""}`),
  };
}

const scale = (...opts: Opt<RemediationAction>[]) => action("act", withScale({ replicas: 4 }), ...opts);
const STATUS = "replace remediationactions/status";

describe("Block (the default): a scale of an autoscaled Deployment is refused, naming the autoscaler", () => {
  it.each([
    { name: "a scale, HPA", setup: { action: scale(), hpas: [hpa(2)] }, text: "HorizontalPodAutoscaler web-hpa (min 2, max 6)" },
    { name: "a patch of spec.replicas", setup: { action: action("act", withType("patch"), withPatch({ spec: { replicas: 4 } })), hpas: [hpa(2)] }, text: "a patch of spec.replicas" },
    { name: "a KEDA ScaledObject (its generated HPA is the same autoscaler)", setup: { action: scale(), scaledObjects: [scaledObject(1)], hpas: [hpa(1, 10, "web", { name: "keda-hpa-web-so", labels: { [KEDA_SCALED_OBJECT_LABEL]: "web-so" } })] }, text: "scaled by ScaledObject web-so (min 1, max 10): a scale" },
    { name: "a dry run says it would be blocked", setup: { action: scale(dryRun()), hpas: [hpa(2)] }, text: "would be blocked: ManagedByAutoscaler: Deployment team-a/web is scaled by HorizontalPodAutoscaler web-hpa" },
  ])("$name", async ({ setup, text }) => {
    const h = harness(setup);
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason: "ManagedByAutoscaler" });
    expect(h.stored().status!.message).toContain(text);
    expect(h.writes()).toEqual([STATUS]);
  });

  it("an HPA of another Deployment does not stop a scale", async () => {
    const h = harness({ action: scale(), hpas: [hpa(2, 6, "other")] });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Verifying" });
    expect(h.writes()).toEqual([STATUS, "patch deployments", STATUS]);
  });
});

describe("AdjustAutoscaler: the floor is raised instead of the Deployment", () => {
  it("records intent and pre-state, patches the HPA (tested, stamped), then verifies the Deployment reaching the floor", async () => {
    const h = harness({ action: scale(), hpas: [hpa(2)], policies: [[ADJUST]] });
    await h.reconcile();
    expect(h.writes()).toEqual([STATUS, "patch horizontalpodautoscalers", STATUS]);
    const patch = h.api.writes().find((c) => c.resource === "horizontalpodautoscalers")!;
    expect(patch.body).toEqual(expect.arrayContaining([{ op: "test", path: "/spec/minReplicas", value: 2 }, { op: "replace", path: "/spec/minReplicas", value: 4 }]));
    expect(h.hpa().spec.minReplicas).toBe(4);
    expect(h.hpa().metadata.annotations?.[ANNOTATIONS.lastAction]).toBe(h.stored().metadata.uid);
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(2);
    const st = h.stored().status!;
    expect(st.intent!.autoscaler).toMatchObject({ kind: "HorizontalPodAutoscaler", name: "web-hpa", fromMinReplicas: 2, toMinReplicas: 4, restoreAt: new Date(START + 60_000).toISOString() });
    expect(st.preState).toEqual({ reversible: true, object: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "web-hpa" }, fields: [{ path: "/spec/minReplicas", before: "2", after: "4" }] });
    expect(st.phase).toBe("Verifying");

    // The Deployment has not followed yet: still verifying.
    h.advance(1000);
    await h.reconcile();
    expect(h.stored().status!.phase).toBe("Verifying");
    // The HPA controller raised it to the floor and the rollout completed.
    h.api.seed(DEPLOYMENTS, deployment("web", withReplicas(4), available()));
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Succeeded", reason: "RolloutComplete" });
  });

  it("caps the floor at the HPA's max and says so", async () => {
    const h = harness({ action: action("act", withScale({ replicas: 8 })), hpas: [hpa(2, 6)], policies: [[ADJUST, withPolicySpec({ replicas: { min: 1, max: 8, maxStep: 8 }, rateLimits: { maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 8 } })]] });
    await h.reconcile();
    expect(h.hpa().spec.minReplicas).toBe(6);
    expect(h.stored().status!.conditions!.find((c) => c.type === "GuardrailsPassed")!.message).toContain("the requested 8 is above its max 6: capped at 6");
  });

  it("a crash after the write: the stamp on the HPA is recognised, nothing is sent again", async () => {
    const h = harness({ action: scale(), hpas: [hpa(2)], policies: [[ADJUST]] });
    await h.reconcile();
    const done = h.stored();
    // The same action back in Executing with the same intent, as if the status write after the patch was lost.
    const again = harness({ action: action("act", withScale({ replicas: 4 }), withStatus({ ...done.status!, phase: "Executing", conditions: [] })), hpas: [h.hpa()], policies: [[ADJUST]] });
    again.api.seed(REMEDIATION_ACTIONS, { ...again.stored(), metadata: { ...again.stored().metadata, uid: done.metadata.uid } });
    await again.reconcile();
    expect(again.writes()).toEqual([STATUS]);
    expect(again.stored().status!.message).toContain("already applied");
  });

  it("a floor changed after the intent is judged again from the fresh reading, never overwritten", async () => {
    const h = harness({ action: scale(withStatus({ phase: "Executing", intent: { fromReplicas: 2, replicas: 4, autoscaler: { kind: "HorizontalPodAutoscaler", name: "web-hpa", fromMinReplicas: 2, toMinReplicas: 4, restoreAt: new Date(START).toISOString() }, recordedAt: new Date(START).toISOString() } })), hpas: [hpa(3)], policies: [[ADJUST]] });
    await h.reconcile();
    expect(h.writes()).toEqual([STATUS, "patch horizontalpodautoscalers", STATUS]);
    expect(h.stored().status!.intent!.autoscaler).toMatchObject({ fromMinReplicas: 3, toMinReplicas: 4 });
    // The first patch's test of the floor failed (422): nothing was overwritten, the intent was recorded again from 3.
    expect(h.api.writes().filter((c) => c.error).map((c) => `${c.verb} ${c.resource} ${c.error!.status}`)).toEqual(["patch horizontalpodautoscalers 422"]);
    expect(h.hpa().spec.minReplicas).toBe(4);
  });

  it("an unset floor is added, guarded by the HPA's resourceVersion, and recorded as absent", async () => {
    const h = harness({ action: scale(), hpas: [hpa(undefined)], policies: [[ADJUST]] });
    await h.reconcile();
    expect(h.hpa().spec.minReplicas).toBe(4);
    expect(h.stored().status!.preState!.fields).toEqual([{ path: "/spec/minReplicas", absent: true, after: "4" }]);
  });

  it("a dry run says what it would raise and changes nothing", async () => {
    const h = harness({ action: scale(dryRun()), hpas: [hpa(2)], policies: [[ADJUST]] });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Succeeded", reason: "DryRunSucceeded" });
    expect(h.stored().status!.dryRunResult!.summary).toContain("would raise HorizontalPodAutoscaler web-hpa minReplicas 2 -> 4");
    expect(h.hpa().spec.minReplicas).toBe(2);
  });

  it("a KEDA ScaledObject: minReplicaCount is raised", async () => {
    const h = harness({ action: scale(), scaledObjects: [scaledObject(1)], policies: [[ADJUST]] });
    await h.reconcile();
    expect(h.writes()).toEqual([STATUS, "patch scaledobjects", STATUS]);
    expect(h.so().spec.minReplicaCount).toBe(4);
  });
});

describe("restoring the floor", () => {
  const raised = (name = "raise") => action(name, withScale({ replicas: 4 }), withPhase("Succeeded", "RolloutComplete"), withStatus({
    phase: "Succeeded", reason: "RolloutComplete",
    intent: { fromReplicas: 2, replicas: 4, autoscaler: { kind: "HorizontalPodAutoscaler", name: "web-hpa", fromMinReplicas: 2, toMinReplicas: 4, restoreAt: new Date(START + 60_000).toISOString() }, recordedAt: new Date(START).toISOString() },
    preState: { reversible: true, object: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "web-hpa" }, fields: [{ path: "/spec/minReplicas", before: "2", after: "4" }] },
    conditions: [{ type: "Executed", status: "True", reason: "Executed", message: "raised", lastTransitionTime: new Date(START).toISOString() as never }],
  }));

  it("a revert restores the previous floor on the HPA and leaves the Deployment alone", async () => {
    const h = harness({ action: action("undo", withType("revert"), withRevertOf("raise")), others: [raised()], hpas: [hpa(4)] });
    await h.reconcile();
    expect(h.writes()).toContain("patch horizontalpodautoscalers");
    expect(h.writes()).not.toContain("patch deployments");
    expect(h.hpa().spec.minReplicas).toBe(2);
    expect(h.stored().status!.conditions!.find((c) => c.type === "Executed")!.message).toContain("does not scale the Deployment down by itself");
  });

  it("a floor someone changed since is left as it is, naming who changed it", async () => {
    const changed = hpa(5, 6, "web", { managedFields: [{ manager: "kubectl-edit", operation: "Update", apiVersion: "autoscaling/v2", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:minReplicas": {} } } }] });
    const h = harness({ action: action("undo", withType("revert"), withRevertOf("raise")), others: [raised()], hpas: [changed] });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason: "TargetChangedSinceAction" });
    expect(h.stored().status!.message).toContain("kubectl-edit");
    expect(h.hpa().spec.minReplicas).toBe(5);
  });

  it("the floor-restore controller creates the revert when the period ends, once", async () => {
    let now = START;
    const api = new FakeKubeApi({ now: () => now });
    api.seed(REMEDIATION_ACTIONS, raised());
    const ctl = new FloorRestoreController({ api, actions: cacheOfApi(api, REMEDIATION_ACTIONS), log: silentLogger(), now: () => now });
    expect(await ctl.reconcile(`${NAMESPACE}/raise`)).toEqual({ requeueAfterMs: 60_000 });
    expect(api.storedAll(REMEDIATION_ACTIONS)).toHaveLength(1);
    now += 60_000;
    await ctl.reconcile(`${NAMESPACE}/raise`);
    const revert = api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, restoreName("raise"))!;
    expect(revert.spec).toMatchObject({ type: "revert", revertOf: "raise", target: { name: "web" }, source: "policy-engine" });
    expect(revert.spec.reason).toContain("held until");
    // A replay finds the revert and creates nothing more.
    await ctl.reconcile(`${NAMESPACE}/raise`);
    expect(api.storedAll(REMEDIATION_ACTIONS)).toHaveLength(2);
  });

  it("no restore for an action a human already reverted", async () => {
    const api = new FakeKubeApi({ now: () => START + 120_000 });
    api.seed(REMEDIATION_ACTIONS, raised());
    api.seed(REMEDIATION_ACTIONS, action("human-undo", withType("revert"), withRevertOf("raise")));
    const ctl = new FloorRestoreController({ api, actions: cacheOfApi(api, REMEDIATION_ACTIONS), log: silentLogger(), now: () => START + 120_000 });
    await ctl.reconcile(`${NAMESPACE}/raise`);
    expect(api.storedAll(REMEDIATION_ACTIONS)).toHaveLength(2);
  });
});
