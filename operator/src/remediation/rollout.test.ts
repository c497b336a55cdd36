import type { V1ContainerStatus, V1Deployment, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { deploymentAvailable, podsSince, rolloutStatus, unhealthyPods } from "./rollout.ts";

const deployment = (over: { generation?: number; replicas?: number; status?: V1Deployment["status"] } = {}): V1Deployment => ({
  metadata: { name: "erp", namespace: "ns", generation: over.generation ?? 2 },
  spec: { replicas: over.replicas ?? 3, selector: {}, template: {} },
  status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, ...over.status },
});

const NOW = Date.parse("2026-03-01T12:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000);

const container = (over: Partial<V1ContainerStatus> = {}): V1ContainerStatus => ({ name: "app", image: "app:1", imageID: "", ready: true, restartCount: 0, ...over });
const crashLoop = container({ ready: false, restartCount: 5, state: { waiting: { reason: "CrashLoopBackOff" } } });
const oomLast = container({ restartCount: 1, lastState: { terminated: { reason: "OOMKilled", exitCode: 137 } }, state: { running: {} } });

const pod = (name: string, over: { ready?: boolean; since?: Date | string; containers?: V1ContainerStatus[]; init?: V1ContainerStatus[]; deleting?: boolean; startTime?: Date } = {}): V1Pod => ({
  metadata: { name, ...(over.deleting ? { deletionTimestamp: ago(1) } : {}) },
  status: {
    ...(over.startTime ? { startTime: over.startTime } : {}),
    conditions: over.ready === undefined ? [] : [{ type: "Ready", status: over.ready ? "True" : "False", ...(over.since ? { lastTransitionTime: over.since as Date } : {}) }],
    containerStatuses: over.containers ?? [container()],
    ...(over.init ? { initContainerStatuses: over.init } : {}),
  },
});

describe("rolloutStatus", () => {
  it("complete when every replica is updated, ready and available", () => {
    expect(rolloutStatus(deployment(), [pod("p", { ready: true })])).toEqual({
      state: "complete",
      reason: "RolloutComplete",
      message: "3 of 3 replicas updated, ready and available",
      observed: { desiredReplicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
    });
  });

  it("progressing until the controller observes the new generation", () => {
    expect(rolloutStatus(deployment({ generation: 3 }))).toMatchObject({ state: "progressing", reason: "RolloutInProgress", message: expect.stringContaining("generation 3") });
  });

  it.each([
    ["updated < desired", { updatedReplicas: 1 }, "1 of 3 new replicas"],
    ["old replicas still terminating", { replicas: 4 }, "1 old replicas"],
    ["available < updated", { availableReplicas: 2 }, "2 of 3 updated replicas are available"],
    ["ready < desired", { readyReplicas: 2 }, "2 of 3 replicas are ready"],
  ] as const)("progressing while %s", (_what, status, message) => {
    expect(rolloutStatus(deployment({ status }))).toMatchObject({ state: "progressing", reason: "RolloutInProgress", message: expect.stringContaining(message) });
  });

  it("failed when the progress deadline is exceeded", () => {
    const d = deployment({ status: { updatedReplicas: 1, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "ReplicaSet erp-1 has timed out progressing." }] } });
    expect(rolloutStatus(d)).toMatchObject({ state: "failed", reason: "ProgressDeadlineExceeded", message: expect.stringContaining("timed out") });
  });

  it("failed at once when a new pod crash-loops or was OOMKilled, even mid-rollout", () => {
    expect(rolloutStatus(deployment({ status: { availableReplicas: 2 } }), [pod("new-1", { containers: [crashLoop] })]))
      .toMatchObject({ state: "failed", reason: "CrashLoopDetected", message: "pod new-1: container app is in CrashLoopBackOff (5 restarts)" });
    expect(rolloutStatus(deployment(), [pod("new-2", { containers: [oomLast] })])).toMatchObject({ state: "failed", reason: "CrashLoopDetected" });
    expect(rolloutStatus(deployment(), [pod("new-3", { containers: [container({ state: { terminated: { reason: "OOMKilled", exitCode: 137 } } })] })]))
      .toMatchObject({ state: "failed", reason: "CrashLoopDetected" });
  });

  it("defaults missing fields as the API server would", () => {
    expect(rolloutStatus({ metadata: { name: "x" }, spec: { selector: {}, template: {} } })).toMatchObject({
      state: "progressing",
      observed: { desiredReplicas: 1, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 },
    });
    expect(rolloutStatus({ metadata: { name: "x", generation: 1 }, spec: { replicas: 0, selector: {}, template: {} }, status: { observedGeneration: 1 } })).toMatchObject({ state: "complete" });
  });
});

describe("unhealthyPods", () => {
  it("crash-looping and OOMKilled first, then the longest not Ready, then by name; healthy, recent and terminating pods are left alone", () => {
    const pods = [
      pod("ready", { ready: true, since: ago(1000) }),
      pod("not-ready-short", { ready: false, since: ago(60) }),
      pod("not-ready-b", { ready: false, since: ago(500) }),
      pod("not-ready-a", { ready: false, since: ago(500) }),
      pod("not-ready-long", { ready: false, since: ago(5000) }),
      pod("terminating", { ready: false, since: ago(5000), deleting: true }),
      pod("oom", { ready: true, containers: [oomLast] }),
      pod("crash", { ready: false, since: ago(10), containers: [crashLoop] }),
      pod("init-crash", { ready: false, since: ago(5), init: [crashLoop] }),
    ];
    expect(unhealthyPods(pods, NOW, 120).map((p) => p.metadata?.name)).toEqual(["crash", "init-crash", "oom", "not-ready-long", "not-ready-a", "not-ready-b"]);
  });

  it("judges a pod without a Ready condition by its start time, and leaves a pod with no time at all", () => {
    const pods = [pod("started-long-ago", { startTime: ago(300) }), pod("started-just-now", { startTime: ago(5) }), pod("no-time")];
    expect(unhealthyPods(pods, NOW, 120).map((p) => p.metadata?.name)).toEqual(["started-long-ago"]);
  });

  it("reads timestamps given as strings (raw JSON from the informer)", () => {
    const p = pod("raw", { ready: false, since: ago(300).toISOString() });
    expect(unhealthyPods([p], NOW, 120)).toHaveLength(1);
    expect(unhealthyPods([p], NOW, 600)).toHaveLength(0);
  });

  it("counts exactly the threshold as unhealthy", () => {
    expect(unhealthyPods([pod("edge", { ready: false, since: ago(120) })], NOW, 120)).toHaveLength(1);
    expect(unhealthyPods([pod("edge", { ready: false, since: ago(119) })], NOW, 120)).toHaveLength(0);
  });
});

describe("podsSince", () => {
  const at = Date.parse("2026-11-23T12:00:01.500Z");
  const pod = (name: string, created: string, extra: Partial<V1Pod["metadata"]> = {}): V1Pod => ({ metadata: { name, uid: `uid-${name}`, creationTimestamp: created as unknown as Date, ...extra } });

  it("keeps pods created since the start (whole-second timestamps, a second of slack), drops older ones", () => {
    const pods = [pod("old", "2026-11-23T11:59:59Z"), pod("same-second", "2026-11-23T12:00:01Z"), pod("new", "2026-11-23T12:00:03Z")];
    expect(podsSince(pods, at).map((p) => p.metadata?.name)).toEqual(["same-second", "new"]);
  });

  it("never counts the evicted pod or a terminating one, however recent", () => {
    const pods = [pod("victim", "2026-11-23T12:00:01Z"), pod("leaving", "2026-11-23T12:00:02Z", { deletionTimestamp: new Date(at) }), pod("replacement", "2026-11-23T12:00:02Z")];
    expect(podsSince(pods, at, "uid-victim").map((p) => p.metadata?.name)).toEqual(["replacement"]);
  });
});

describe("deploymentAvailable", () => {
  it("true only when every wanted replica is updated and available and none is left over", () => {
    expect(deploymentAvailable(deployment())).toBe(true);
    expect(deploymentAvailable(deployment({ generation: 3 }))).toBe(false);
    expect(deploymentAvailable(deployment({ status: { availableReplicas: 2 } }))).toBe(false);
    expect(deploymentAvailable(deployment({ status: { updatedReplicas: 2 } }))).toBe(false);
    expect(deploymentAvailable(deployment({ status: { readyReplicas: 2 } }))).toBe(false);
    // A scale-down in progress: kubectl calls the rollout complete, but a surplus pod remains.
    const scalingDown = deployment({ replicas: 1 });
    expect(rolloutStatus(scalingDown).state).toBe("complete");
    expect(deploymentAvailable(scalingDown)).toBe(false);
    expect(deploymentAvailable(deployment({ replicas: 1, status: { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 } }))).toBe(true);
    expect(deploymentAvailable({ metadata: { generation: 1 }, spec: { selector: {}, template: {} } })).toBe(false);
  });
});
