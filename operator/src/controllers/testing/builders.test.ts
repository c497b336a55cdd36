// The builders make objects the schemas accept and the pure decisions read as
// their names say: available() is complete for rolloutStatus, a pod of
// replicaSet(d) is d's by ownership, approvalFor("restart") makes restarts wait.
import { describe, expect, it } from "vitest";
import { validateObject, validate } from "../../api/v1alpha1/validation.ts";
import { remediationActionStatus } from "../../api/v1alpha1/remediation-action.ts";
import { DEPLOYMENTS } from "../../k8s/resources.ts";
import { FakeKubeApi } from "../../k8s/testing/fake-api.ts";
import { owningDeploymentName, podsOwnedBy } from "../../remediation/ownership.ts";
import { deploymentAvailable, rolloutStatus, unhealthyPods } from "../../remediation/rollout.ts";
import { policyFor } from "../policies.ts";
import {
  action, approvalFor, approvalTimeout, available, cacheOf, cacheOfApi, cooldown, crashLooping, createdAt, deployment, dryRun, fromSignal,
  maxReplicas, notReadyFor, observedGeneration, paused, pod, pods, policy, progressDeadlineExceeded, progressing, replicaSet, T0,
  withApproval, withDeletePod, withGeneration, withIntent, withPatch, withPhase, withReplicas, withResourceVersion, withScale, withStatus,
  withTarget, withType, withUid, withVerify, withVerifyTimeout,
} from "./builders.ts";

const valid = (o: { kind?: unknown; spec?: unknown }) => {
  const r = validateObject(o);
  return r.ok ? [] : r.issues;
};

describe("action()", () => {
  it("defaults: team-a, a scale of web to 3, the schema's defaults filled in, created at T0", () => {
    const a = action();
    expect(a.metadata).toMatchObject({ name: "scale-web", namespace: "team-a", uid: "scale-web-uid", resourceVersion: "1", generation: 1 });
    expect(Date.parse(a.metadata.creationTimestamp as unknown as string)).toBe(T0);
    expect(a.spec).toEqual({
      type: "scale", target: { kind: "Deployment", name: "web" }, scale: { replicas: 3 },
      dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "manual",
    });
    expect(a.status).toBeUndefined();
    expect(valid(a)).toEqual([]);
  });

  it.each([
    ["restart", action("r", withType("restart"))],
    ["patch", action("p", withPatch({ spec: { template: { metadata: { annotations: { a: "b" } } } } }))],
    ["json patch", action("j", withPatch('[{"op":"add","path":"/spec/replicas","value":2}]', "json"))],
    ["delete-pod", action("d", withDeletePod({ podName: "web-0" }))],
    ["relative scale", action("s", withScale({ by: 1, decidedAtReplicas: 2 }), withTarget("api"))],
    ["closed loop", action("c", fromSignal("AnomalySignal", "lat-1"), dryRun(), withVerify(false), withVerifyTimeout(5))],
    ["approved", action("a", withApproval("Approved", "alice"))],
    ["in flight", action("f", withPhase("Executing", "Executing"), withIntent({ fromReplicas: 2, replicas: 3, resourceVersion: "7" }), withUid("u1"), withResourceVersion("9"), createdAt(T0 - 1000))],
    ["verifying", action("v", withPhase("Verifying"), withStatus({ verification: { status: "IN_PROGRESS", attempts: 1 }, startedAt: "2026-01-01T00:00:00Z" }))],
  ])("%s passes the schemas", (_what, a) => {
    expect(valid(a)).toEqual([]);
    const st = validate(remediationActionStatus, a.status ?? {});
    expect(st.ok ? [] : st.issues).toEqual([]);
  });

  it("options set what they name", () => {
    const a = action("x", withScale({ by: -1 }), withApproval("Rejected", "bob"), withPhase("Executing"), withIntent({ replicas: 1 }), withStatus({ message: "m" }));
    expect(a.spec.scale).toEqual({ by: -1 });
    expect(a.spec.approval).toMatchObject({ decision: "Rejected", approvedBy: "bob" });
    expect(a.status).toMatchObject({ phase: "Executing", message: "m", intent: { replicas: 1, recordedAt: new Date(T0).toISOString() } });
    expect(action("y", withDeletePod()).spec.deletePod).toEqual({ notReadyThresholdSeconds: 120 });
    expect(action("z", fromSignal("RcaSignal", "rca-1")).metadata.labels).toEqual({ "smartops.io/target": "web", "smartops.io/signal": "rca-1" });
  });

  it("an invalid combination throws naming the field", () => {
    expect(() => action("bad", withScale({ by: 0 }))).toThrow(/spec\.scale\.by/);
    expect(() => action("bad", withPhase("Sleeping" as "Pending"))).toThrow(/status\.phase/);
  });
});

describe("deployment(), replicaSet(), pod()", () => {
  it("available() by default, whatever order withReplicas comes in: complete and settled", () => {
    for (const d of [deployment(), deployment("web", available(), withReplicas(5)), deployment("web", withReplicas(0))]) {
      expect(rolloutStatus(d).state).toBe("complete");
      expect(deploymentAvailable(d)).toBe(true);
    }
    expect(deployment("web", withReplicas(5)).status).toMatchObject({ replicas: 5, updatedReplicas: 5, readyReplicas: 5, availableReplicas: 5 });
  });

  it("progressing(), progressDeadlineExceeded() and a generation not yet observed read as their names say", () => {
    expect(rolloutStatus(deployment("web", progressing())).state).toBe("progressing");
    expect(deploymentAvailable(deployment("web", progressing()))).toBe(false);
    expect(rolloutStatus(deployment("web", progressDeadlineExceeded()))).toMatchObject({ state: "failed", reason: "ProgressDeadlineExceeded" });
    const unobserved = deployment("web", withGeneration(3), observedGeneration(2));
    expect(rolloutStatus(unobserved)).toMatchObject({ state: "progressing", message: expect.stringContaining("generation 3") });
  });

  it("pods of replicaSet(d) are d's by controller ownerReferences, not another Deployment's", () => {
    const web = deployment("web");
    const canary = deployment("web-canary", withUid("canary-uid"));
    const rs = replicaSet(web);
    const other = replicaSet(canary);
    const mine = pods(rs, 2);
    const theirs = pod(other);
    expect(mine.map((p) => p.metadata?.name)).toEqual(["web-7d9f8b6c5-0", "web-7d9f8b6c5-1"]);
    expect(new Set(mine.map((p) => p.metadata?.uid)).size).toBe(2);
    expect(podsOwnedBy(web, [rs, other], [...mine, theirs])).toEqual(mine);
    expect(owningDeploymentName(theirs, [rs, other])).toBe("web-canary");
  });

  it("crashLooping() fails a rollout; notReadyFor() ranks as unhealthy past the threshold only", () => {
    const rs = replicaSet(deployment());
    const crash = pod(rs, crashLooping());
    expect(rolloutStatus(deployment(), [crash])).toMatchObject({ state: "failed", reason: "CrashLoopDetected" });
    const [healthy, slow, stuck] = pods(rs, 3);
    notReadyFor(30)(slow!);
    notReadyFor(300)(stuck!);
    expect(unhealthyPods([healthy!, slow!, stuck!, crash], T0, 120).map((p) => p.metadata?.name)).toEqual([crash.metadata?.name, stuck!.metadata?.name]);
  });
});

describe("policy()", () => {
  it("defaults pass the schema; options become the effective policy", () => {
    expect(valid(policy())).toEqual([]);
    const p = policy("strict", approvalFor("restart", "delete-pod"), approvalTimeout(60), maxReplicas(4), cooldown("delete-pod", 0), paused());
    expect(valid(p)).toEqual([]);
    const eff = policyFor({ namespace: "team-a", name: "web", labels: { app: "web" } }, cacheOf([p]), "smartops-system");
    expect(eff).toMatchObject({
      paused: true,
      replicas: { max: 4 },
      cooldownSeconds: { deletePod: 0, scale: 300 },
      approval: { restart: "Required", deletePod: "Required", scale: "None", timeoutSeconds: 60 },
      sources: ["team-a/strict"],
    });
  });
});

describe("caches", () => {
  it("cacheOf: get and list by namespace; set and delete change what the informer sees", () => {
    const a = action("a");
    const b = action("b", withTarget("api"));
    const elsewhere = { ...action("c"), metadata: { ...action("c").metadata, namespace: "team-b" } };
    const cache = cacheOf([a, b, elsewhere]);
    expect(cache.list("team-a").map((x) => x.metadata.name)).toEqual(["a", "b"]);
    expect(cache.list().length).toBe(3);
    cache.set(action("a", withPhase("Succeeded")));
    expect(cache.get("team-a", "a")?.status?.phase).toBe("Succeeded");
    expect(cache.delete("team-a", "b")).toBe(true);
    expect(cache.get("team-a", "b")).toBeUndefined();
  });

  it("cacheOfApi sees every write the fake API server stored", async () => {
    const api = new FakeKubeApi();
    api.seed(DEPLOYMENTS, deployment("web"));
    const cache = cacheOfApi<ReturnType<typeof deployment>>(api, DEPLOYMENTS);
    await api.patch(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 4 } });
    expect(cache.get("team-a", "web")?.spec?.replicas).toBe(4);
    expect(cache.list("team-a").length).toBe(1);
    expect(cache.list("team-b")).toEqual([]);
  });
});
