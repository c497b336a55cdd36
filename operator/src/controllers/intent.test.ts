import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { stored } from "../remediation/testing/patches.ts";
import { diffObjects } from "../remediation/change.ts";
import { alreadyApplied, concreteIntent, preStateFor } from "./intent.ts";

const now = Date.parse("2026-11-23T12:00:00Z");
const deployment: V1Deployment = { metadata: { name: "erp", namespace: "ns" }, spec: { replicas: 2, selector: {}, template: {} } };

function action(spec: Partial<RemediationAction["spec"]>): RemediationAction {
  return {
    apiVersion: "smartops.io/v1alpha1",
    kind: "RemediationAction",
    metadata: { name: "a", namespace: "ns", uid: "uid-1" },
    spec: { type: "restart", target: { kind: "Deployment", name: "erp" }, dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "manual", ...spec },
  } as RemediationAction;
}

const pod = (name: string, uid: string, extra: Partial<V1Pod["status"]> = {}, deleting = false): V1Pod => ({
  metadata: { name, uid, ...(deleting ? { deletionTimestamp: new Date(now) } : {}) },
  status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date(now - 600_000) }], ...extra },
});
const crashing = (name: string, uid: string) =>
  pod(name, uid, { conditions: [{ type: "Ready", status: "False", lastTransitionTime: new Date(now - 5_000) }], containerStatuses: [{ name: "app", image: "x", imageID: "", ready: false, restartCount: 5, state: { waiting: { reason: "CrashLoopBackOff" } } }] });

describe("concreteIntent", () => {
  it("records from and to replicas for a scale", () => {
    expect(concreteIntent(action({ type: "scale", scale: { replicas: 3 } }), deployment, [], now)).toEqual({
      ok: true, intent: { fromReplicas: 2, replicas: 3, recordedAt: "2026-11-23T12:00:00.000Z" },
    });
  });

  it("fixes the restartedAt timestamp before acting", () => {
    const d = concreteIntent(action({ type: "restart" }), deployment, [], now);
    expect(d).toEqual({ ok: true, intent: { restartedAt: "2026-11-23T12:00:00.000Z", recordedAt: "2026-11-23T12:00:00.000Z" } });
  });

  it("records replicas for a patch that sets spec.replicas, so the scale windows count it, and the paths it changes", () => {
    const changes = [{ path: "spec.replicas", pointer: "/spec/replicas", before: 2, after: 4 }];
    const d = concreteIntent(action({ type: "patch", patch: stored({ merge: { spec: { replicas: 4 } } }) }), { ...deployment, metadata: { ...deployment.metadata, resourceVersion: "7" } }, [], now, 4, changes);
    expect(d).toEqual({ ok: true, intent: { fromReplicas: 2, replicas: 4, resourceVersion: "7", changedPaths: ["spec.replicas"], recordedAt: "2026-11-23T12:00:00.000Z" } });
    expect(concreteIntent(action({ type: "patch", patch: stored({ merge: { spec: { template: { metadata: { labels: { a: "b" } } } } } }) }), deployment, [], now))
      .toEqual({ ok: true, intent: { recordedAt: "2026-11-23T12:00:00.000Z" } });
  });

  it("a relative scale records the target the guardrails computed, and the resourceVersion it was computed from", () => {
    const d = { ...deployment, metadata: { ...deployment.metadata, resourceVersion: "42" }, spec: { ...deployment.spec!, replicas: 6 } };
    expect(concreteIntent(action({ type: "scale", scale: { by: 2, decidedAtReplicas: 2 } }), d, [], now, 8)).toEqual({
      ok: true, intent: { fromReplicas: 6, replicas: 8, resourceVersion: "42", recordedAt: "2026-11-23T12:00:00.000Z" },
    });
  });

  it("picks the crash-looping pod and its UID for delete-pod, never a terminating one", () => {
    const pods = [pod("healthy", "u1"), crashing("bad", "u2"), crashing("going", "u3")];
    pods[2]!.metadata!.deletionTimestamp = new Date(now);
    expect(concreteIntent(action({ type: "delete-pod", deletePod: { notReadyThresholdSeconds: 120 } }), deployment, pods, now))
      .toMatchObject({ ok: true, intent: { podName: "bad", podUID: "u2" } });
  });

  it("blocks delete-pod when nothing is unhealthy, or the named pod is not the target's", () => {
    expect(concreteIntent(action({ type: "delete-pod", deletePod: { notReadyThresholdSeconds: 120 } }), deployment, [pod("ok", "u1")], now))
      .toMatchObject({ ok: false, reason: "NoUnhealthyPods" });
    expect(concreteIntent(action({ type: "delete-pod", deletePod: { podName: "other", notReadyThresholdSeconds: 120 } }), deployment, [pod("ok", "u1")], now))
      .toMatchObject({ ok: false, reason: "PodNotOwnedByTarget" });
  });
});

describe("alreadyApplied", () => {
  it("scale and patch: the target carries this action's stamp", () => {
    expect(alreadyApplied(action({ type: "scale" }), {}, deployment, [], "uid-1")).toBe(true);
    expect(alreadyApplied(action({ type: "patch" }), {}, deployment, [], "uid-0")).toBe(false);
  });

  it("restart: the template carries the recorded timestamp", () => {
    const d: V1Deployment = { ...deployment, spec: { ...deployment.spec!, template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "T1" } } } } };
    expect(alreadyApplied(action({ type: "restart" }), { restartedAt: "T1" }, d, [], undefined)).toBe(true);
    expect(alreadyApplied(action({ type: "restart" }), { restartedAt: "T2" }, d, [], undefined)).toBe(false);
  });

  it("delete-pod: the recorded pod is gone or terminating", () => {
    expect(alreadyApplied(action({ type: "delete-pod" }), { podUID: "u2" }, deployment, [pod("bad", "u2")], undefined)).toBe(false);
    expect(alreadyApplied(action({ type: "delete-pod" }), { podUID: "u2" }, deployment, [pod("bad", "u2", {}, true)], undefined)).toBe(true);
    expect(alreadyApplied(action({ type: "delete-pod" }), { podUID: "u2" }, deployment, [pod("new", "u9")], undefined)).toBe(true);
  });
});

describe("preStateFor", () => {
  it.each([
    { type: "scale" as const, intent: { fromReplicas: 2, replicas: 5 }, want: { reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "5" }] } },
    { type: "restart" as const, intent: { restartedAt: "2026-11-23T12:00:00.000Z" }, want: { reversible: false, reason: "a restart re-triggers a rollout; it cannot be undone" } },
    { type: "delete-pod" as const, intent: { podName: "bad", podUID: "u2" }, want: { reversible: false, reason: "an evicted pod is replaced, not restored" } },
  ])("$type", ({ type, intent, want }) => {
    expect(preStateFor(action({ type }), intent, deployment)).toEqual(want);
  });

  it("a patch: from its dry run's effect on the same reading", () => {
    const after: V1Deployment = { ...deployment, spec: { ...deployment.spec!, template: { spec: { containers: [{ name: "app", image: "app:2" }] } } } };
    const before: V1Deployment = { ...deployment, spec: { ...deployment.spec!, template: { spec: { containers: [{ name: "app", image: "app:1" }] } } } };
    expect(preStateFor(action({ type: "patch", patch: stored({ merge: {} }) }), {}, before, { changes: diffObjects(before, after), after })).toEqual({
      reversible: true, fields: [{ path: "/spec/template/spec/containers/0/image", before: '"app:1"', after: '"app:2"' }],
    });
  });
});
