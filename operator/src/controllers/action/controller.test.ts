// Every phase transition of the action controller, table-driven against the
// in-memory KubeApi (k8s/testing/fake-api.ts) with test-object builders: what
// each pass writes, in which order, and that a converged object writes nothing.
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ANNOTATIONS, type RemediationAction } from "../../api/v1alpha1/objects.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import { DEPLOYMENTS, GUARDRAIL_POLICIES, PODS, REMEDIATION_ACTIONS, REPLICASETS } from "../../k8s/resources.ts";
import { apiError, FakeKubeApi } from "../../k8s/testing/fake-api.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import {
  action, allowedActions, approvalFor, approvalTimeout, available, cacheOfApi, crashLooping, createdAt, deployment, dryRun, executedAt, managedBy, maxReplicas, maxStep,
  minReplicas, NAMESPACE, type Opt, rateLimits, rfc3339, withRevertOf,
  paused, pod, policy, progressDeadlineExceeded, progressing, replicaSet, stampedBy, T0, withApproval, withDeletePod, withIntent, withPatch,
  withPhase, withPolicySpec, withReplicas, withScale, withStatus, withTarget, withType, withVerify, withVerifyTimeout,
} from "../testing/builders.ts";
import { undoName } from "../../remediation/names.ts";
import { ActionController, MAX_ACTION_ERRORS } from "./controller.ts";
import { VERIFY_RETRY_BASE_MS } from "./verify.ts";

const START = T0 + 10_000;

interface Setup {
  action: RemediationAction;
  /** Other actions of the target (already stored), e.g. the action a revert undoes. */
  others?: RemediationAction[];
  deployment?: V1Deployment | null;
  pods?: (d: V1Deployment) => V1Pod[];
  policies?: Opt<ReturnType<typeof policy>>[][];
  now?: number;
}

function harness(s: Setup) {
  let now = s.now ?? START;
  const api = new FakeKubeApi({ now: () => now });
  const d = s.deployment === null ? undefined : s.deployment ?? deployment("web", withReplicas(2), available());
  if (d) {
    api.seed(DEPLOYMENTS, d);
    const rs = api.seed(REPLICASETS, replicaSet(api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, d.metadata!.name!)!));
    for (const p of s.pods?.(d) ?? []) api.seed(PODS, { ...p, metadata: { ...p.metadata, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata!.name!, uid: rs.metadata!.uid!, controller: true }] } });
  }
  (s.policies ?? []).forEach((opts, i) => api.seed(GUARDRAIL_POLICIES, policy(`p${i}`, ...opts)));
  for (const o of s.others ?? []) api.seed(REMEDIATION_ACTIONS, o);
  api.seed(REMEDIATION_ACTIONS, s.action);
  const events: string[] = [];
  const recorder: EventRecorder = { record: (r, type, reason) => events.push(`${type} ${reason} ${r.kind}`) };
  const ctl = new ActionController({
    api,
    actions: cacheOfApi(api, REMEDIATION_ACTIONS),
    deployments: cacheOfApi(api, DEPLOYMENTS),
    pods: cacheOfApi(api, PODS),
    replicaSets: cacheOfApi(api, REPLICASETS),
    policies: cacheOfApi(api, GUARDRAIL_POLICIES),
    events: recorder,
    operatorNamespace: "smartops-system",
    log: silentLogger(),
    now: () => now,
  });
  const stored = () => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, s.action.metadata.name)!;
  const other = (name: string) => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, name)!;
  return {
    api, events, stored, other,
    advance: (ms: number) => void (now += ms),
    /** One reconcile of the target, then the informer delivers what was written (clearing the overlay). */
    async reconcile() {
      api.reset();
      const result = await ctl.reconcile(`${NAMESPACE}/web`);
      ctl.observe(stored());
      for (const o of s.others ?? []) ctl.observe(other(o.metadata.name));
      return result;
    },
    writes: () => api.writes().filter((c) => !c.error).map((c) => `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ""}`),
  };
}

const scale = (...opts: Opt<RemediationAction>[]) => action("act", ...opts);
const STATUS = "replace remediationactions/status";
const PATCH = "patch deployments";
const EVICT = "create pods/eviction";

describe("admit: Pending → judged, then as far as it can go", () => {
  const cases: Array<{ name: string; setup: Setup; phase: string; reason: string; writes: string[] }> = [
    { name: "a scale within the guardrails: intent, the scale, Verifying", setup: { action: scale() }, phase: "Verifying", reason: "RolloutInProgress", writes: [STATUS, PATCH, STATUS] },
    { name: "verify false ends Succeeded after the mutation", setup: { action: scale(withVerify(false)) }, phase: "Succeeded", reason: "Executed", writes: [STATUS, PATCH, STATUS] },
    { name: "paused policy blocks without touching the Deployment", setup: { action: scale(), policies: [[paused()]] }, phase: "Blocked", reason: "PolicyPaused", writes: [STATUS] },
    { name: "over maxReplicas blocks", setup: { action: scale(), policies: [[maxReplicas(2)]] }, phase: "Blocked", reason: "MaxReplicasExceeded", writes: [STATUS] },
    { name: "a missing target blocks", setup: { action: scale(withType("restart")), deployment: null }, phase: "Blocked", reason: "TargetNotFound", writes: [STATUS] },
    { name: "approval required waits in PendingApproval", setup: { action: scale(), policies: [[approvalFor("scale")]] }, phase: "PendingApproval", reason: "ApprovalRequired", writes: [STATUS] },
    { name: "rejected ends Rejected", setup: { action: scale(withApproval("Rejected", "alice")), policies: [[approvalFor("scale")]] }, phase: "Rejected", reason: "RejectedByUser", writes: [STATUS] },
    { name: "approved goes on to the scale", setup: { action: scale(withApproval("Approved", "alice")), policies: [[approvalFor("scale")]] }, phase: "Verifying", reason: "RolloutInProgress", writes: [STATUS, PATCH, STATUS] },
    {
      name: "approval not given within the timeout expires",
      setup: { action: scale(createdAt(T0)), policies: [[approvalFor("scale"), approvalTimeout(60)]], now: T0 + 61_000 },
      phase: "Expired", reason: "ApprovalExpired", writes: [STATUS],
    },
    { name: "a dry run sends the dry run only and records its result", setup: { action: scale(dryRun()) }, phase: "Succeeded", reason: "DryRunSucceeded", writes: [STATUS] },
    {
      name: "a patch that changes nothing succeeds without a write",
      setup: { action: scale(withType("patch"), withPatch({ metadata: { labels: { app: "web" } } })) },
      phase: "Succeeded", reason: "NoChange", writes: [STATUS],
    },
  ];
  it.each(cases)("$name", async ({ setup, phase, reason, writes }) => {
    const h = harness(setup);
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase, reason });
    expect(h.writes()).toEqual(writes);
  });

  it("records the intent before the mutation, guarded by the reading's resourceVersion", async () => {
    const h = harness({ action: scale() });
    await h.reconcile();
    const [intentWrite, patch] = h.api.writes();
    expect((intentWrite!.body as RemediationAction).status?.intent).toMatchObject({ fromReplicas: 2, replicas: 3 });
    const body = patch!.body as { metadata: { resourceVersion: string; annotations: Record<string, string> }; spec: { replicas: number } };
    expect(body.spec.replicas).toBe(3);
    expect(body.metadata.annotations[ANNOTATIONS.lastAction]).toBe(h.stored().metadata.uid);
    expect(body.metadata.resourceVersion).toBe((intentWrite!.body as RemediationAction).status?.intent?.resourceVersion);
  });
});

describe("execute: Executing replays the recorded intent exactly once", () => {
  const executing = (...opts: Opt<RemediationAction>[]) => scale(withPhase("Executing", "IntentRecorded"), withStatus({ startedAt: new Date(START).toISOString() }), ...opts);
  const UID = "act-uid";
  // A rollout still under way, so that each case stops in Verifying after its one pass.
  const moving = (...opts: Opt<V1Deployment>[]) => deployment("web", withReplicas(2), ...opts, progressing());
  const cases: Array<{ name: string; setup: Setup; writes: string[]; message?: RegExp }> = [
    { name: "scale not yet applied: one scale", setup: { action: executing(withIntent({ fromReplicas: 2, replicas: 3 })), deployment: moving() }, writes: [PATCH, STATUS] },
    {
      name: "scale applied before a crash (stamped): no second scale",
      setup: { action: executing(withIntent({ fromReplicas: 2, replicas: 3 })), deployment: moving(withReplicas(3), stampedBy(UID)) },
      writes: [STATUS], message: /already applied/,
    },
    {
      name: "restart applied before a crash (restartedAt present): no second rollout",
      setup: {
        action: executing(withType("restart"), withIntent({ restartedAt: "2026-01-01T00:00:05.000Z" })),
        deployment: (() => {
          const d = moving();
          d.spec!.template.metadata = { ...d.spec!.template.metadata, annotations: { [ANNOTATIONS.restartedAt]: "2026-01-01T00:00:05.000Z" } };
          return d;
        })(),
      },
      writes: [STATUS], message: /already applied/,
    },
    { name: "restart not yet applied: one rollout", setup: { action: executing(withType("restart"), withIntent({ restartedAt: "2026-01-01T00:00:05.000Z" })), deployment: moving() }, writes: [PATCH, STATUS] },
    {
      name: "patch applied before a crash (stamped): not applied again",
      setup: { action: executing(withType("patch"), withPatch({ spec: { minReadySeconds: 5 } }), withIntent({ changedPaths: ["spec.minReadySeconds"] })), deployment: moving(stampedBy(UID)) },
      writes: [STATUS], message: /already applied/,
    },
    {
      name: "eviction done before a crash (pod gone): no second eviction",
      setup: { action: executing(withType("delete-pod"), withDeletePod(), withIntent({ podName: "gone", podUID: "gone-uid" })), deployment: moving() },
      writes: [STATUS], message: /already applied/,
    },
    {
      name: "eviction not yet done: one eviction with the pod's uid as precondition",
      setup: { action: executing(withType("delete-pod"), withDeletePod(), withIntent({ podName: "web-7d9f8b6c5-0", podUID: "p0-uid" })), deployment: moving(), pods: (d) => [podOf(d, "web-7d9f8b6c5-0", "p0-uid")] },
      writes: [EVICT, STATUS],
    },
  ];
  it.each(cases)("$name", async ({ setup, writes, message }) => {
    const h = harness(setup);
    await h.reconcile();
    expect(h.writes()).toEqual(writes);
    expect(h.stored().status?.phase).toBe("Verifying");
    if (message) expect(h.stored().status?.message).toMatch(message);
  });

  it("429 (a PodDisruptionBudget) waits for Retry-After without writing", async () => {
    const h = harness({ action: executing(withType("delete-pod"), withDeletePod(), withIntent({ podName: "web-7d9f8b6c5-0", podUID: "p0-uid" })), pods: (d) => [podOf(d, "web-7d9f8b6c5-0", "p0-uid")] });
    h.api.failNext({ verb: "create", subresource: "eviction" }, apiError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", 7));
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 7000 });
    expect(h.writes()).toEqual([]);
    expect(h.stored().status?.phase).toBe("Executing");
    expect(h.events).toContain("Normal EvictionRetry RemediationAction");
  });

  it("5xx is retried by the queue: the reconcile fails, nothing is written, the next one applies", async () => {
    const h = harness({ action: executing(withType("restart"), withIntent({ restartedAt: "2026-01-01T00:00:05.000Z" })) });
    h.api.failNext({ verb: "patch", resource: DEPLOYMENTS }, apiError(503, "ServiceUnavailable"));
    await expect(h.reconcile()).rejects.toMatchObject({ status: 503 });
    expect(h.writes()).toEqual([]);
    await h.reconcile();
    expect(h.writes()).toEqual([PATCH, STATUS]);
  });

  it.each([[400, "BadRequest"], [403, "Forbidden"], [404, "NotFound"], [422, "Invalid"]])("%i on the mutation ends Failed ExecutionFailed", async (status, reason) => {
    const h = harness({ action: executing(withType("restart"), withIntent({ restartedAt: "2026-01-01T00:00:05.000Z" })) });
    h.api.failNext({ verb: "patch", resource: DEPLOYMENTS }, apiError(status, reason, "refused"));
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "ExecutionFailed" });
    expect(h.writes()).toEqual([STATUS]);
  });

  it("a scale whose Deployment moved (409) is computed again from a fresh reading, recorded, then applied", async () => {
    const h = harness({ action: executing(withIntent({ fromReplicas: 2, replicas: 3, resourceVersion: "1" })), deployment: deployment("web", withReplicas(2), available()) });
    h.api.mutate<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web", (d) => void (d.spec!.replicas = 1));
    await h.reconcile();
    expect(h.writes()).toEqual([STATUS, PATCH, STATUS]);
    expect(h.stored().status?.intent).toMatchObject({ fromReplicas: 1, replicas: 3 });
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(3);
  });
});

describe("pre-state: what an action replaces, recorded in the intent's own write", () => {
  const RESTART = "a restart re-triggers a rollout; it cannot be undone";
  const EVICT_REASON = "an evicted pod is replaced, not restored";
  const cases: Array<{ name: string; setup: Setup; preState: object; message?: RegExp }> = [
    {
      name: "a scale: replicas before, and the count it sets",
      setup: { action: scale() },
      preState: { reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "3" }] },
    },
    {
      name: "a relative scale: from the fresh reading the target was computed from",
      setup: { action: scale(withScale({ by: 2, decidedAtReplicas: 1 })), deployment: deployment("web", withReplicas(4), available()) },
      preState: { reversible: true, replicas: 4, fields: [{ path: "/spec/replicas", before: "4", after: "6" }] },
    },
    {
      name: "a patch: every field its dry run changes, with the value before (or its absence) and the value set",
      setup: { action: scale(withPatch({ spec: { replicas: 3, template: { spec: { containers: [{ name: "app", image: "registry.example/app:1.0", resources: { limits: { memory: "256Mi" } } }] } } } })), policies: [[]] },
      preState: {
        reversible: true, replicas: 2,
        fields: [
          { path: "/spec/replicas", before: "2", after: "3" },
          { path: "/spec/template/spec/containers/0/resources", absent: true, after: '{"limits":{"memory":"256Mi"}}' },
        ],
      },
    },
    {
      name: "a patch of a template annotation on a template without annotations: the map is absent before",
      setup: { action: scale(withType("patch")) },
      preState: { reversible: true, fields: [{ path: "/spec/template/metadata/annotations", absent: true, after: '{"example.com/patched":"true"}' }] },
    },
    {
      name: "a patch setting a value over 4 KiB: not reversible, and the intent's message says so",
      setup: { action: scale(withPatch({ spec: { template: { metadata: { annotations: { "example.com/big": "x".repeat(5000) } } } } })) },
      preState: { reversible: false, reason: expect.stringMatching(/too large to record: the value set at \/spec\/template\/metadata\/annotations is 5\d{3} bytes of JSON \(at most 4096\); the action is not reversible/) },
      message: /not reversible: the pre-state is too large/,
    },
    { name: "a restart: not reversible", setup: { action: scale(withType("restart")) }, preState: { reversible: false, reason: RESTART } },
    {
      name: "a delete-pod: not reversible",
      setup: { action: scale(withType("delete-pod"), withDeletePod()), pods: (d) => [podOf(d, "web-bad", "bad-uid", T0, crashLooping())] },
      preState: { reversible: false, reason: EVICT_REASON },
    },
  ];
  it.each(cases)("$name", async ({ setup, preState, message }) => {
    const h = harness(setup);
    await h.reconcile();
    const [intentWrite, mutation] = h.api.writes();
    const recorded = (intentWrite!.body as RemediationAction).status;
    expect(recorded?.phase).toBe("Executing");
    expect(recorded?.preState).toEqual(preState);
    expect(mutation?.verb === "patch" || mutation?.verb === "create").toBe(true);
    if (message) expect(recorded?.message).toMatch(message);
    // It stays with the action for the rest of its life.
    expect(h.stored().status?.preState).toEqual(preState);
  });

  it("a dry run records the pre-state with its result", async () => {
    const h = harness({ action: scale(dryRun()) });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({
      phase: "Succeeded", reason: "DryRunSucceeded",
      preState: { reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "3" }] },
    });
  });

  it("a dry-run restart says it is not reversible", async () => {
    const h = harness({ action: scale(withType("restart"), dryRun()) });
    await h.reconcile();
    expect(h.stored().status?.preState).toEqual({ reversible: false, reason: RESTART });
  });

  it("a block records no pre-state: nothing was replaced", async () => {
    const h = harness({ action: scale(), policies: [[paused()]] });
    await h.reconcile();
    expect(h.stored().status?.preState).toBeUndefined();
  });

  const recorded = { reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "3" }] };
  const executing = (...opts: Opt<RemediationAction>[]) =>
    scale(withPhase("Executing", "IntentRecorded"), withStatus({ startedAt: new Date(START).toISOString(), preState: recorded }), withIntent({ fromReplicas: 2, replicas: 3 }), ...opts);

  it.each([
    { name: "the scale not yet applied", deployment: deployment("web", withReplicas(2), progressing()), writes: [PATCH, STATUS] },
    { name: "the scale applied before a crash (the Deployment now holds the new count)", deployment: deployment("web", withReplicas(3), stampedBy("act-uid"), progressing()), writes: [STATUS] },
  ])("crash replay in Executing ($name) keeps the recorded pre-state, never one read from the Deployment now", async ({ deployment: d, writes }) => {
    const h = harness({ action: executing(), deployment: d });
    await h.reconcile();
    expect(h.writes()).toEqual(writes);
    expect(h.stored().status?.phase).toBe("Verifying");
    expect(h.stored().status?.preState).toEqual(recorded);
  });

  it("a scale whose Deployment moved (409) records the pre-state again from the fresh reading, with the new intent", async () => {
    const h = harness({ action: executing(withIntent({ fromReplicas: 2, replicas: 3, resourceVersion: "1" })) });
    h.api.mutate<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web", (d) => void (d.spec!.replicas = 1));
    await h.reconcile();
    const intentWrite = h.api.writes().find((c) => !c.error && c.subresource === "status");
    expect((intentWrite!.body as RemediationAction).status).toMatchObject({
      intent: { fromReplicas: 1, replicas: 3 },
      preState: { reversible: true, replicas: 1, fields: [{ path: "/spec/replicas", before: "1", after: "3" }] },
    });
  });

  it("a judgement that ends the action before it acted drops the pre-state with the intent", async () => {
    const h = harness({ action: executing(withIntent({ fromReplicas: 2, replicas: 3, resourceVersion: "1" })), policies: [[maxStep(1)]] });
    h.api.mutate<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web", (d) => void (d.spec!.replicas = 1));
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason: "MaxScaleStepExceeded" });
    expect(h.stored().status?.intent).toBeUndefined();
    expect(h.stored().status?.preState).toBeUndefined();
  });
});

describe("verify: Verifying until the rollout completes, fails or times out", () => {
  const verifying = (deadline: number, attempts = 1, ...opts: Opt<RemediationAction>[]) =>
    scale(withPhase("Verifying", "RolloutInProgress"), withIntent({ fromReplicas: 2, replicas: 2 }), withVerifyTimeout(60),
      withStatus({ startedAt: new Date(START).toISOString(), verification: { status: "IN_PROGRESS", attempts, deadline: new Date(deadline).toISOString() } }), ...opts);

  it("a complete rollout ends Succeeded", async () => {
    const h = harness({ action: verifying(START + 60_000) });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Succeeded", reason: "RolloutComplete", verification: { status: "SUCCESS" } });
    expect(h.writes()).toEqual([STATUS]);
  });

  it("a progress deadline exceeded ends Failed", async () => {
    const h = harness({ action: verifying(START + 60_000), deployment: deployment("web", progressDeadlineExceeded()) });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "ProgressDeadlineExceeded" });
  });

  it("crash-looping new pods end it Failed without waiting for the deadline", async () => {
    const h = harness({ action: verifying(START + 60_000), deployment: deployment("web", progressing()), pods: (d) => [podOf(d, "web-new", "new-uid", START + 1000, crashLooping())] });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "CrashLoopDetected" });
  });

  it("before the deadline nothing is written and the pass comes back at the deadline", async () => {
    const h = harness({ action: verifying(START + 30_000), deployment: deployment("web", progressing()) });
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 30_000 });
    expect(h.writes()).toEqual([]);
  });

  it("past the deadline: a retry window after the backoff (5 s, then 10 s), then RolloutTimedOut", async () => {
    const h = harness({ action: verifying(START - 1), deployment: deployment("web", progressing()) });
    expect(await h.reconcile()).toEqual({ requeueAfterMs: VERIFY_RETRY_BASE_MS + 60_000 });
    expect(h.stored().status?.verification).toMatchObject({ status: "IN_PROGRESS", attempts: 2, deadline: new Date(START + VERIFY_RETRY_BASE_MS + 60_000).toISOString() });
    expect(h.events).toContain("Warning VerificationRetry RemediationAction");
    h.advance(VERIFY_RETRY_BASE_MS + 60_000);
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 2 * VERIFY_RETRY_BASE_MS + 60_000 });
    expect(h.stored().status?.verification?.attempts).toBe(3);
    h.advance(2 * VERIFY_RETRY_BASE_MS + 60_000);
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "RolloutTimedOut", verification: { status: "TIMED_OUT", attempts: 3 } });
  });

  it("a target deleted during verification ends Failed TargetNotFound", async () => {
    const h = harness({ action: verifying(START + 60_000) });
    h.api.remove(DEPLOYMENTS, NAMESPACE, "web");
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "TargetNotFound" });
  });
});

describe("a converged object: the second reconcile writes nothing (invariant 1)", () => {
  const cases: Array<{ name: string; setup: Setup }> = [
    { name: "Succeeded", setup: { action: scale() } },
    { name: "Blocked", setup: { action: scale(), policies: [[paused()]] } },
    { name: "PendingApproval", setup: { action: scale(), policies: [[approvalFor("scale")]] } },
    { name: "Verifying before its deadline", setup: { action: scale(), deployment: deployment("web", withReplicas(2), progressing()) } },
    { name: "dry run Succeeded", setup: { action: scale(dryRun()) } },
  ];
  it.each(cases)("$name", async ({ setup }) => {
    const h = harness(setup);
    await h.reconcile();
    if (h.stored().status?.phase === "Verifying" && setup.deployment === undefined) {
      h.api.mutate<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web", (d) => Object.assign(d, deployment("web", withReplicas(3), stampedBy(h.stored().metadata.uid!), available()), { metadata: d.metadata }));
      await h.reconcile();
    }
    const before = h.stored().metadata.resourceVersion;
    await h.reconcile();
    expect(h.writes()).toEqual([]);
    expect(h.stored().metadata.resourceVersion).toBe(before);
  });
});

describe("one poison action", () => {
  it(`ends Failed ProcessingFailed after ${MAX_ACTION_ERRORS} consecutive processing errors, and the target's next action goes on`, async () => {
    const h = harness({ action: scale() });
    for (let i = 1; i < MAX_ACTION_ERRORS; i++) {
      h.api.failNext({ verb: "get", resource: DEPLOYMENTS }, apiError(400, "BadRequest", "cannot read"));
      await expect(h.reconcile()).rejects.toMatchObject({ status: 400 });
      expect(h.stored().status?.phase).toBeUndefined();
    }
    h.api.failNext({ verb: "get", resource: DEPLOYMENTS }, apiError(400, "BadRequest", "cannot read"));
    await expect(h.reconcile()).rejects.toMatchObject({ status: 400 });
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "ProcessingFailed" });
  });
});

describe("revert: undo of one earlier action", () => {
  const SCALED = { reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "3" }] };
  const ACTED = START - 10_000;
  const STAMP = `/metadata/annotations/${ANNOTATIONS.lastAction.replace(/\//g, "~1")}`;
  /** A scale 2 → 3 that executed 10 s ago (inside the default 300 s scale cooldown) and succeeded. */
  const original = (...opts: Opt<RemediationAction>[]) => action("orig", withPhase("Succeeded", "RolloutComplete"),
    withIntent({ fromReplicas: 2, replicas: 3, recordedAt: rfc3339(ACTED) }), withStatus({ preState: SCALED }), executedAt(ACTED), ...opts);
  /** The Deployment as the original left it: 3 replicas, stamped by it. */
  const scaled = (...opts: Opt<V1Deployment>[]) => deployment("web", withReplicas(3), stampedBy("orig-uid"), ...opts);
  const undo = (...opts: Opt<RemediationAction>[]) => action("undo", withRevertOf("orig"), ...opts);
  const notExecuted = withStatus({ conditions: [] });

  const blocks: Array<{ name: string; setup: Setup; reason: string; message: RegExp }> = [
    { name: "of a restart", setup: { action: undo(), others: [original(withType("restart"))], deployment: scaled() }, reason: "NotReversible", message: /orig is a restart: a restart re-triggers a rollout/ },
    { name: "of a delete-pod", setup: { action: undo(), others: [original(withDeletePod())], deployment: scaled() }, reason: "NotReversible", message: /evicted pod is replaced/ },
    { name: "of a dry run", setup: { action: undo(), others: [original(dryRun())], deployment: scaled() }, reason: "NotReversible", message: /was a dry run: it changed nothing/ },
    { name: "of an action with no pre-state", setup: { action: undo(), others: [original(withStatus({ preState: undefined }))], deployment: scaled() }, reason: "NotReversible", message: /recorded no pre-state/ },
    {
      name: "of an action whose pre-state is not reversible",
      setup: { action: undo(), others: [original(withStatus({ preState: { reversible: false, reason: "the pre-state is too large to record" } }))], deployment: scaled() },
      reason: "NotReversible", message: /not reversible: the pre-state is too large/,
    },
    { name: "of a revert", setup: { action: undo(), others: [original(withRevertOf("older"))], deployment: scaled() }, reason: "NotReversible", message: /itself a revert/ },
    { name: "of an action not executed (it was blocked)", setup: { action: undo(), others: [original(withPhase("Blocked", "CooldownActive"), notExecuted)], deployment: scaled() }, reason: "NotExecuted", message: /has not changed the Deployment \(phase Blocked, CooldownActive\)/ },
    { name: "of an action already reverted", setup: { action: undo(), others: [original(withStatus({ preState: SCALED, revertedBy: "undo-0" }))], deployment: scaled() }, reason: "AlreadyReverted", message: /already reverted by undo-0/ },
    {
      name: "of an action another revert undid before a crash lost its link",
      setup: { action: undo(), others: [original(), action("undo-0", withRevertOf("orig"), withPhase("Succeeded", "RolloutComplete"), executedAt(ACTED))], deployment: scaled() },
      reason: "AlreadyReverted", message: /already reverted by undo-0/,
    },
    { name: "of an action that does not exist", setup: { action: undo(), deployment: scaled() }, reason: "RevertTargetMissing", message: /action team-a\/orig to revert does not exist/ },
    { name: "of an action on another Deployment", setup: { action: undo(), others: [original(withTarget("api"))], deployment: scaled() }, reason: "RevertTargetMismatch", message: /acted on Deployment team-a\/api, not on team-a\/web/ },
    { name: "while automation is paused", setup: { action: undo(), others: [original()], deployment: scaled(), policies: [[paused()]] }, reason: "PolicyPaused", message: /paused/ },
    {
      name: "below minReplicas (the caps judge the count it restores)",
      setup: { action: undo(), others: [original()], deployment: scaled(), policies: [[minReplicas(3)]] },
      reason: "MinReplicasViolated", message: /revert of spec.replicas to 2 is below minReplicas 3/,
    },
    {
      name: "where the undone type is not allowed",
      setup: { action: undo(), others: [original()], deployment: scaled(), policies: [[allowedActions("restart")]] },
      reason: "ActionTypeNotAllowed", message: /a revert of scale/,
    },
    {
      name: "over the hourly limit, counted among reverts",
      setup: {
        action: undo(), deployment: scaled(), policies: [[rateLimits({ maxActionsPerHour: 1 })]],
        others: [original(), action("undo-0", withRevertOf("orig-0"), withPhase("Succeeded", "RolloutComplete"), withIntent({ recordedAt: rfc3339(START - 60_000) }), executedAt(START - 60_000))],
      },
      reason: "HourlyActionLimitReached", message: /1 revert action\(s\) in the last hour/,
    },
    {
      name: "when another field manager changed the field since: names the field and the manager",
      setup: {
        action: undo(), others: [original()],
        deployment: scaled(withReplicas(5), managedBy(
          { manager: "smartops-operator", fields: { "f:metadata": { "f:annotations": { "f:smartops.io/last-action": {} } } } },
          { manager: "hpa-tuner", operation: "Apply", fields: { "f:spec": { "f:replicas": {} } } },
        )),
      },
      reason: "TargetChangedSinceAction", message: /\/spec\/replicas changed since action orig: \/spec\/replicas holds 5, not 3 as the action set it; last changed by field manager "hpa-tuner" \(Apply\)/,
    },
  ];
  it.each(blocks)("is Blocked at once $name", async ({ setup, reason, message }) => {
    const h = harness(setup);
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason });
    expect(h.stored().status?.message).toMatch(message);
    expect(h.writes().filter((w) => w.startsWith("patch deployments"))).toEqual([]);
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(setup.deployment!.spec!.replicas);
  });

  it("restores the fields with one guarded JSON patch carrying the stamp, recorded in the intent first", async () => {
    const h = harness({ action: undo(), others: [original()], deployment: scaled() });
    await h.reconcile();
    expect(h.writes()).toEqual([STATUS, PATCH, STATUS]);
    const [intentWrite, patch] = h.api.writes();
    const ops = [
      { op: "test", path: "/metadata/resourceVersion", value: "1" },
      { op: "test", path: "/spec/replicas", value: 3 },
      { op: "replace", path: "/spec/replicas", value: 2 },
      { op: "add", path: STAMP, value: "undo-uid" },
    ];
    const intent = (intentWrite!.body as RemediationAction).status?.intent;
    expect(intent).toMatchObject({ fromReplicas: 3, replicas: 2, resourceVersion: "1" });
    expect(JSON.parse(intent!.revertPatch!)).toEqual(ops);
    expect(patch).toMatchObject({ patchType: "json", body: ops });
    const d = h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!;
    expect(d.spec!.replicas).toBe(2);
    expect(d.metadata!.annotations![ANNOTATIONS.lastAction]).toBe("undo-uid");
    expect(h.stored().status).toMatchObject({ phase: "Verifying", preState: { reversible: false } });
  });

  it.each([
    {
      name: "the undo of a patch removes the template annotations it added (the map was absent before)",
      pre: { reversible: true, fields: [{ path: "/spec/template/metadata/annotations", absent: true, after: '{"example.com/patched":"true"}' }] },
      phase: "Verifying", check: (d: V1Deployment) => expect(d.spec!.template.metadata!.annotations).toBeUndefined(),
    },
    {
      name: "a (forged) pre-state that would write a denied field through the undo of a patch is refused by today's safelist",
      pre: { reversible: true, fields: [{ path: "/spec/template/spec/containers/0/image", before: '"evil.example/miner:1"', after: '"registry.example/app:1.0"' }] },
      phase: "Blocked", reason: "PatchPathForbidden", check: (d: V1Deployment) => expect(d.spec!.template.spec!.containers[0]!.image).toBe("registry.example/app:1.0"),
    },
  ])("$name", async ({ pre, phase, reason, check }) => {
    const patched = deployment("web", withReplicas(2), stampedBy("orig-uid"), progressing(), (d) => void (d.spec!.template.metadata!.annotations = { "example.com/patched": "true" }));
    const h = harness({ action: undo(), others: [original(withType("patch"), withStatus({ preState: pre }))], deployment: patched });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase, ...(reason ? { reason } : {}) });
    check(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!);
  });

  it("is exempt from the cooldown of the action it undoes (a new scale now is not)", async () => {
    const h = harness({ action: undo(), others: [original()], deployment: scaled() });
    await h.reconcile();
    expect(h.stored().status?.phase).toBe("Verifying");
    const again = harness({ action: action("again"), others: [original()], deployment: scaled() });
    await again.reconcile();
    expect(again.stored().status).toMatchObject({ phase: "Blocked", reason: "CooldownActive" });
  });

  it.each([
    { name: "approval.revert Required: waits for a human", policies: [[approvalFor("revert")]], opts: [], phase: "PendingApproval" },
    { name: "approval.revert Required and approved: goes on", policies: [[approvalFor("revert")]], opts: [withApproval("Approved", "alice")], phase: "Verifying" },
    { name: "approval.revert Required and rejected: Rejected", policies: [[approvalFor("revert")]], opts: [withApproval("Rejected", "alice")], phase: "Rejected" },
    { name: "only the undone type's tier Required: its own tier (None) decides", policies: [[approvalFor("scale")]], opts: [], phase: "Verifying" },
  ])("$name", async ({ policies, opts, phase }) => {
    const h = harness({ action: undo(...opts), others: [original()], deployment: scaled(), policies });
    await h.reconcile();
    expect(h.stored().status?.phase).toBe(phase);
  });

  it("a dry run sends the undo as a dry run and changes nothing", async () => {
    const h = harness({ action: undo(dryRun()), others: [original()], deployment: scaled() });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Succeeded", reason: "DryRunSucceeded", dryRunResult: { summary: expect.stringMatching(/would revert orig/) } });
    expect(h.writes()).toEqual([STATUS]);
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(3);
    expect(h.other("orig").status?.revertedBy).toBeUndefined();
  });

  it("links both ways when it succeeds: the original's status names the revert", async () => {
    const h = harness({ action: undo(withVerify(false)), others: [original()], deployment: scaled() });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Succeeded", reason: "Executed" });
    expect(h.writes()).toEqual([STATUS, PATCH, STATUS, STATUS]);
    expect(h.other("orig").status).toMatchObject({ phase: "Succeeded", revertedBy: "undo" });
    expect(h.stored().spec.revertOf).toBe("orig");
    // Converged: nothing more to write.
    await h.reconcile();
    expect(h.writes()).toEqual([]);
  });

  it("a link lost to a crash after the revert's terminal write is written by the next reconcile of the target", async () => {
    const h = harness({ action: undo(withPhase("Succeeded", "RolloutComplete"), executedAt(ACTED)), others: [original()], deployment: deployment("web", withReplicas(2), stampedBy("undo-uid")) });
    await h.reconcile();
    expect(h.writes()).toEqual([STATUS]);
    expect(h.other("orig").status?.revertedBy).toBe("undo");
  });

  it.each([
    { status: 422, reason: "Invalid", thrown: false },
    { status: 503, reason: "ServiceUnavailable", thrown: true },
  ])("a link refused ($status) never fails the revert nor holds up the target; it is written by a later reconcile", async ({ status, reason, thrown }) => {
    const h = harness({ action: undo(withPhase("Succeeded", "RolloutComplete"), executedAt(ACTED)), others: [original()], deployment: deployment("web", withReplicas(2), stampedBy("undo-uid")) });
    h.api.failNext({ verb: "replace", resource: REMEDIATION_ACTIONS, name: "orig" }, apiError(status, reason, "refused"));
    if (thrown) await expect(h.reconcile()).rejects.toMatchObject({ status });
    else await h.reconcile();
    expect(h.other("orig").status?.revertedBy).toBeUndefined();
    expect(h.stored().status?.phase).toBe("Succeeded");
    await h.reconcile();
    expect(h.other("orig").status?.revertedBy).toBe("undo");
  });

  // Executing: the intent (the patch) is recorded; a crash before or after the patch.
  const recordedOps = [
    { op: "test", path: "/metadata/resourceVersion", value: "1" },
    { op: "test", path: "/spec/replicas", value: 3 },
    { op: "replace", path: "/spec/replicas", value: 2 },
    { op: "add", path: STAMP, value: "undo-uid" },
  ];
  const executing = (...opts: Opt<RemediationAction>[]) => undo(withPhase("Executing", "IntentRecorded"),
    withIntent({ revertPatch: JSON.stringify(recordedOps), fromReplicas: 3, replicas: 2, resourceVersion: "1" }), withStatus({ startedAt: new Date(START).toISOString() }), ...opts);

  it.each([
    { name: "not yet applied: the recorded patch, once", d: scaled(progressing()), writes: [PATCH, STATUS], message: /reverted orig/ },
    { name: "applied before a crash (stamped by the revert): not applied twice", d: deployment("web", withReplicas(2), stampedBy("undo-uid"), progressing()), writes: [STATUS], message: /already applied/ },
  ])("crash replay in Executing, $name", async ({ d, writes, message }) => {
    const h = harness({ action: executing(), others: [original()], deployment: d });
    await h.reconcile();
    expect(h.writes()).toEqual(writes);
    expect(h.stored().status?.phase).toBe("Verifying");
    expect(h.stored().status?.message).toMatch(message);
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(2);
  });

  it("a reading that moved (the patch's resourceVersion test fails, 422) is judged again and the undo computed again", async () => {
    const h = harness({ action: executing(), others: [original()], deployment: scaled(progressing()) });
    h.api.mutate<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web", (d) => void (d.status!.observedGeneration = 2));
    await h.reconcile();
    expect(h.writes()).toEqual([STATUS, PATCH, STATUS]);
    const fresh = h.stored().status?.intent?.resourceVersion;
    expect(fresh).not.toBe("1");
    expect(JSON.parse(h.stored().status!.intent!.revertPatch!)[0]).toEqual({ op: "test", path: "/metadata/resourceVersion", value: fresh });
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(2);
  });

  it("a field changed after the intent (422) ends TargetChangedSinceAction, nothing undone", async () => {
    const h = harness({ action: executing(), others: [original()], deployment: scaled() });
    h.api.mutate<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web", (d) => void (d.spec!.replicas = 5));
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason: "TargetChangedSinceAction" });
    expect(h.stored().status?.message).toMatch(/judged again/);
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(5);
  });

  it("a 422 on a Deployment that did not move is not a guard: Failed, not judged again forever", async () => {
    const h = harness({ action: executing(), others: [original()], deployment: scaled() });
    h.api.failNext({ verb: "patch", resource: DEPLOYMENTS }, apiError(422, "Invalid", "refused"));
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "ExecutionFailed" });
  });
});

describe("automatic undo: a scale or patch whose verification failed, onFailure Revert", () => {
  const SCALED = { reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "3" }] };
  const UNDO = undoName("act", "act-uid");
  const CREATE = "create remediationactions";
  /** A scale 2 → 3 that changed the Deployment and is verifying it (deadline in a minute). */
  const verifying = (...opts: Opt<RemediationAction>[]) => scale(withPhase("Verifying", "RolloutInProgress"), withIntent({ fromReplicas: 2, replicas: 3, recordedAt: rfc3339(START - 5000) }),
    executedAt(START - 5000), withStatus({ preState: SCALED, startedAt: rfc3339(START - 5000), verification: { status: "IN_PROGRESS", attempts: 1, deadline: rfc3339(START + 60_000) } }), ...opts);
  /** The same action after its terminal write: Failed CrashLoopDetected a second ago, no undo recorded (a crash came between). */
  const failedAlready = (...opts: Opt<RemediationAction>[]) => verifying(withPhase("Failed", "CrashLoopDetected"),
    withStatus({ completedAt: rfc3339(START - 1000), message: "pod web-new is in CrashLoopBackOff", verification: { status: "FAILED", attempts: 1 } }), ...opts);
  /** The Deployment as the scale left it, its new pod crash-looping. */
  const crashing = { deployment: deployment("web", withReplicas(3), stampedBy("act-uid"), progressing()), pods: (d: V1Deployment) => [podOf(d, "web-new", "new-uid", START - 4000, crashLooping())] };
  const keep = withPolicySpec({ onFailure: { scale: "Keep", patch: "Keep" } });

  it("a crash loop: Failed at once, then the revert is created, recorded on the action, and a Warning event says so", async () => {
    const h = harness({ action: verifying(), ...crashing });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "CrashLoopDetected", autoRevert: { action: UNDO, createdAt: rfc3339(START) } });
    expect(h.writes()).toEqual([STATUS, CREATE, STATUS]);
    const revert = h.other(UNDO);
    expect(revert.spec).toMatchObject({ type: "revert", revertOf: "act", target: { name: "web" }, source: "policy-engine", dryRun: false, verifyTimeoutSeconds: 60 });
    expect(revert.spec.reason).toMatch(/^automatic undo: verification failed \(CrashLoopDetected: /);
    expect(revert.metadata.labels).toEqual({ "smartops.io/target": "web" });
    expect(h.events).toContain("Warning AutoRevertCreated RemediationAction");
  });

  it("the revert then runs the normal path: replicas restored, verified, the original names it", async () => {
    const h = harness({ action: verifying(), ...crashing });
    await h.reconcile();
    h.api.remove(PODS, NAMESPACE, "web-new");
    await h.reconcile();
    expect(h.other(UNDO).status).toMatchObject({ phase: "Verifying" });
    expect(h.api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!.spec!.replicas).toBe(2);
    // The Deployment controller catches up with the undo.
    h.api.mutate<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web", (d) => {
      Object.assign(d, deployment("web", withReplicas(2), stampedBy(h.other(UNDO).metadata.uid!), available()), { metadata: d.metadata });
      d.status!.observedGeneration = d.metadata!.generation;
    });
    await h.reconcile();
    expect(h.other(UNDO).status, h.other(UNDO).status?.message).toMatchObject({ phase: "Succeeded", reason: "RolloutComplete" });
    expect(h.stored().status).toMatchObject({ autoRevert: { action: UNDO }, revertedBy: UNDO });
    // Converged: no second undo, nothing more to write.
    await h.reconcile();
    expect(h.writes()).toEqual([]);
    expect(h.api.storedAll<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE).filter((a) => a.spec.revertOf === "act").map((a) => a.metadata.name)).toEqual([UNDO]);
  });

  it("a timed-out scale is undone too", async () => {
    const h = harness({ action: verifying(withStatus({ verification: { status: "IN_PROGRESS", attempts: 3, deadline: rfc3339(START - 1) } })), deployment: crashing.deployment });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "RolloutTimedOut", autoRevert: { action: UNDO } });
  });

  const nothing: Array<{ name: string; setup: Setup; phase: string; reason: string }> = [
    { name: "onFailure Keep", setup: { action: verifying(), ...crashing, policies: [[keep]] }, phase: "Failed", reason: "CrashLoopDetected" },
    { name: "a restart (nothing to go back to)", setup: { action: verifying(withType("restart"), withStatus({ preState: { reversible: false, reason: "a restart re-triggers a rollout; it cannot be undone" } })), ...crashing }, phase: "Failed", reason: "CrashLoopDetected" },
    { name: "a failure that is not the verification's (target gone)", setup: { action: verifying(), deployment: null }, phase: "Failed", reason: "TargetNotFound" },
    { name: "already reverted (linked) before it was swept", setup: { action: failedAlready(withStatus({ revertedBy: "undo-by-alice" })), ...crashing }, phase: "Failed", reason: "CrashLoopDetected" },
    { name: "a human's revert of it exists", setup: { action: failedAlready(), others: [action("undo-by-alice", withRevertOf("act"))], ...crashing }, phase: "Failed", reason: "CrashLoopDetected" },
  ];
  it.each(nothing)("no undo: $name", async ({ setup, phase, reason }) => {
    const h = harness(setup);
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase, reason });
    expect(h.stored().status?.autoRevert).toBeUndefined();
    expect(h.api.stored(REMEDIATION_ACTIONS, NAMESPACE, UNDO)).toBeUndefined();
    expect(h.writes()).not.toContain(CREATE);
    expect(h.events).not.toContain("Warning AutoRevertCreated RemediationAction");
  });

  it("a crash after the terminal write, before the create: the next reconcile of the target creates the one undo", async () => {
    const h = harness({ action: failedAlready(), ...crashing });
    await h.reconcile();
    expect(h.writes()).toEqual([CREATE, STATUS]);
    expect(h.stored().status?.autoRevert?.action).toBe(UNDO);
    expect(h.other(UNDO).spec.revertOf).toBe("act");
    expect(h.events).toContain("Warning AutoRevertCreated RemediationAction");
  });

  it("a crash after the create, before the record: AlreadyExists, still one undo, now recorded", async () => {
    const h = harness({ action: failedAlready(), ...crashing });
    h.api.failNext({ verb: "replace", resource: REMEDIATION_ACTIONS, name: "act" }, apiError(503, "ServiceUnavailable", "gone"));
    await expect(h.reconcile()).rejects.toMatchObject({ status: 503 });
    expect(h.api.stored(REMEDIATION_ACTIONS, NAMESPACE, UNDO)).toBeDefined();
    expect(h.stored().status?.autoRevert).toBeUndefined();
    await h.reconcile();
    expect(h.api.writes().filter((c) => c.verb === "create").map((c) => c.error?.reason)).toEqual(["AlreadyExists"]);
    expect(h.stored().status?.autoRevert?.action).toBe(UNDO);
    expect(h.api.storedAll<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE).filter((a) => a.spec.revertOf === "act")).toHaveLength(1);
  });

  it("a create refused (403) never fails the action nor holds up the target; a later reconcile creates it", async () => {
    const h = harness({ action: verifying(), ...crashing });
    h.api.failNext({ verb: "create", resource: REMEDIATION_ACTIONS }, apiError(403, "Forbidden", "no"));
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Failed", reason: "CrashLoopDetected" });
    expect(h.stored().status?.autoRevert).toBeUndefined();
    await h.reconcile();
    expect(h.stored().status?.autoRevert?.action).toBe(UNDO);
  });

  it("a failure older than the undo's age bound is left to a human", async () => {
    const h = harness({ action: failedAlready(withStatus({ completedAt: rfc3339(START - 16 * 60_000) })), ...crashing });
    await h.reconcile();
    expect(h.writes()).toEqual([]);
  });
});

function podOf(d: V1Deployment, name: string, uid: string, createdMs = T0, ...opts: Opt<V1Pod>[]): V1Pod {
  const p = pod(replicaSet(d), ...opts);
  p.metadata = { ...p.metadata, name, uid, creationTimestamp: new Date(createdMs) };
  return p;
}
