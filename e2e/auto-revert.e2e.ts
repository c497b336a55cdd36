// Automatic undo on the real control plane: a scale or patch whose verification
// fails is reverted by the operator itself (the policy's onFailure defaults to
// Revert), through the normal revert path, and both actions name each other. A
// patch whose new pods crash-loop is undone within seconds; a scale whose new
// pod can never be scheduled waits out the DEFAULT verification (60 s and two
// retries) and is still restored and verified inside 5 minutes of the
// mutation; onFailure Keep leaves the change; kill -9 between the failed
// action's terminal write and the undo's create still ends with exactly one
// undo. Every check reads the cluster; the figures are logged with their parts.
import type * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RemediationAction } from "../operator/src/api/v1alpha1/objects.ts";
import { applySmartops, clients, ensureNamespace, FIELD_MANAGER, kubectl, waitFor } from "./support/kube.ts";
import { action, deploymentAvailable, getAction, listActions, policy, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, startOperator } from "./support/operator.ts";

const c = clients();
const NS = { crash: "e2e-autoundo-crash", timeout: "e2e-autoundo-timeout", keep: "e2e-autoundo-keep", kill: "e2e-autoundo-kill" };
/** The seed's bound: from the action's mutation to the Deployment restored and verified. */
const BOUND_MS = 300_000;
let kubeconfig: string;
let op: OperatorProcess | undefined;

beforeAll(async () => {
  // onFailure is left at its default (Revert) except where Keep is under test; the
  // cooldowns stay at their defaults too: a revert has none.
  const limits = { rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 100 }, replicas: { min: 1, max: 8, maxStep: 2 } };
  for (const ns of Object.values(NS)) {
    await ensureNamespace(c, ns);
    await applySmartops(c, policy(ns, "undo", ns === NS.keep ? { ...limits, onFailure: { scale: "Keep", patch: "Keep" } } : limits));
  }
  installOperatorRbac();
  kubeconfig = await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator");
  op = await startOperator({ kubeconfig, identity: "autoundo" });
}, 300_000);

afterAll(async () => {
  await op?.stop();
});

/**
 * A Deployment of `replicas` pods, available. minReadySeconds, set once it is
 * (so its own pods need not wait it out), keeps the action's rollout incomplete
 * long enough for the test to make a new pod crash-loop (KWOK makes pods Ready
 * at once); `pod` adds to the pod spec.
 */
async function deploymentOf(namespace: string, name: string, replicas: number, extra: { minReadySeconds?: number; pod?: Partial<k8s.V1PodSpec> } = {}): Promise<k8s.V1Deployment> {
  await c.apps.createNamespacedDeployment({
    namespace,
    fieldManager: FIELD_MANAGER,
    body: {
      metadata: { name, namespace, labels: { "app.kubernetes.io/name": name } },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }], ...extra.pod } },
      },
    },
  });
  await waitFor(`${namespace}/${name} available`, () => deploymentAvailable(c, namespace, name), 60_000);
  if (extra.minReadySeconds) kubectl(["-n", namespace, "patch", "deployment", name, "--type", "merge", "-p", JSON.stringify({ spec: { minReadySeconds: extra.minReadySeconds } })]);
  return waitFor(`${namespace}/${name} available`, () => deploymentAvailable(c, namespace, name), 60_000);
}

const read = (namespace: string, name: string) => c.apps.readNamespacedDeployment({ name, namespace });
const podsOf = async (namespace: string, app: string) => (await c.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;

/** As e2e/approval.e2e.ts does: the kubelet's report of a container in CrashLoopBackOff, written to the pod's status. */
async function crashLoop(namespace: string, pod: k8s.V1Pod): Promise<void> {
  await c.core.patchNamespacedPodStatus({
    name: pod.metadata!.name!,
    namespace,
    body: [{ op: "replace", path: "/status/containerStatuses", value: [{ name: "app", image: "registry.invalid/app:1", imageID: "", ready: false, restartCount: 4, state: { waiting: { reason: "CrashLoopBackOff", message: "back-off restarting failed container" } } }] }],
  });
}

/** Waits for a running pod of `app` that `isNew` picks (the action's), then makes it crash-loop. */
async function crashNewPod(namespace: string, app: string, isNew: (p: k8s.V1Pod) => boolean): Promise<k8s.V1Pod> {
  const fresh = await waitFor(`a new pod of ${namespace}/${app}`, async () => (await podsOf(namespace, app)).find((p) => isNew(p) && p.status?.phase === "Running" && !p.metadata?.deletionTimestamp), 30_000);
  await crashLoop(namespace, fresh);
  return fresh;
}

/** The undo the operator recorded on `original` once it exists, with the revert itself finished. */
async function undoneBy(namespace: string, original: string, timeoutMs = 60_000): Promise<{ failed: RemediationAction; revert: RemediationAction }> {
  const failed = await waitFor(`${original} names its automatic undo`, async () => {
    const a = await getAction(c, namespace, original);
    return a.status?.autoRevert?.action ? a : undefined;
  }, timeoutMs);
  const revert = await waitForPhase(c, namespace, failed.status!.autoRevert!.action, undefined, 120_000);
  return { failed, revert };
}

const at = (t: string | undefined) => Date.parse(t ?? "");

/** From the mutation (the intent recorded just before it is sent) to the undo verified, and its parts. */
function figure(label: string, failed: RemediationAction, revert: RemediationAction) {
  const mutation = at(failed.status?.intent?.recordedAt ?? failed.status?.startedAt);
  const parts = {
    detectionMs: at(failed.status?.completedAt) - mutation,
    admissionMs: at(revert.status?.startedAt) - at(failed.status?.completedAt),
    revertRolloutAndVerificationMs: at(revert.status?.completedAt) - at(revert.status?.startedAt),
  };
  const totalMs = at(revert.status?.completedAt) - mutation;
  console.log(`[auto-revert] ${label}: ${(totalMs / 1000).toFixed(1)} s from the mutation to the Deployment restored and verified = detection ${(parts.detectionMs / 1000).toFixed(1)} s + `
    + `revert admission ${(parts.admissionMs / 1000).toFixed(1)} s + revert rollout and verification ${(parts.revertRolloutAndVerificationMs / 1000).toFixed(1)} s`);
  for (const v of [...Object.values(parts), totalMs]) expect(Number.isFinite(v) && v >= 0, JSON.stringify({ parts, totalMs })).toBe(true);
  return { totalMs, ...parts };
}

/** Both directions of the link, as the cluster holds them. */
async function expectLinked(namespace: string, original: string, revert: RemediationAction): Promise<void> {
  expect(revert.spec).toMatchObject({ type: "revert", revertOf: original, source: "policy-engine" });
  expect(revert.spec.reason).toMatch(/^automatic undo: verification failed \(/);
  expect((await getAction(c, namespace, original)).status?.autoRevert?.action).toBe(revert.metadata.name);
  const linked = await waitFor(`${original}.status.revertedBy`, async () => (await getAction(c, namespace, original)).status?.revertedBy, 30_000);
  expect(linked).toBe(revert.metadata.name);
  const reverts = (await listActions(c, namespace)).filter((a) => a.spec.revertOf === original);
  expect(reverts.map((a) => a.metadata.name)).toEqual([revert.metadata.name]);
}

function warningEvents(namespace: string, regarding: string, reason: string): Array<{ note?: string; message?: string }> {
  const list = JSON.parse(kubectl(["get", "events.events.k8s.io", "-n", namespace, "-o", "json"])) as { items: Array<{ reason?: string; type?: string; note?: string; regarding?: { name?: string } }> };
  return list.items.filter((e) => e.reason === reason && e.type === "Warning" && e.regarding?.name === regarding);
}

describe("automatic undo: crash between the failure and the undo", () => {
  it("kill -9 after the failed action's terminal write, before the undo is created; a restarted operator creates exactly one", async () => {
    const ns = NS.kill;
    await deploymentOf(ns, "kill", 1, { minReadySeconds: 30 });
    await op?.stop();
    op = undefined;
    const doomed = await startOperator({ kubeconfig, identity: "autoundo-doomed", env: { SMARTOPS_FAILPOINT: "before-auto-revert" } });
    await applySmartops(c, action(ns, "scale-kill", { type: "scale", target: { name: "kill" }, scale: { replicas: 2 } }));
    const verifying = await waitForPhase(c, ns, "scale-kill", ["Verifying"], 30_000);
    const startedAt = at(verifying.status?.startedAt);
    await crashNewPod(ns, "kill", (p) => at(p.metadata?.creationTimestamp as unknown as string) >= startedAt - 1000);
    await doomed.exited;
    expect(doomed.proc.signalCode).toBe("SIGKILL");
    const failed = await getAction(c, ns, "scale-kill");
    expect(failed.status).toMatchObject({ phase: "Failed", reason: "CrashLoopDetected" });
    expect(failed.status?.autoRevert).toBeUndefined();
    expect((await listActions(c, ns)).filter((a) => a.spec.revertOf === "scale-kill")).toEqual([]);
    expect((await read(ns, "kill")).spec?.replicas).toBe(2);

    // The operator that serves the rest of the file: its first reconcile of the target finds the undo missing.
    op = await startOperator({ kubeconfig, identity: "autoundo-after-crash" });
    const { revert } = await undoneBy(ns, "scale-kill");
    expect(revert.status?.phase, revert.status?.message).toBe("Succeeded");
    expect((await read(ns, "kill")).spec?.replicas).toBe(1);
    await expectLinked(ns, "scale-kill", revert);
  }, 240_000);
});

describe.concurrent("automatic undo", () => {
  it("a patch whose new pods crash-loop: Failed CrashLoopDetected, undone at once, the old template Available again, both actions linked", async () => {
    const ns = NS.crash;
    const before = await deploymentOf(ns, "crashy", 2, { minReadySeconds: 30 });
    await applySmartops(c, action(ns, "patch-crashy", {
      type: "patch", target: { name: "crashy" },
      patch: { merge: JSON.stringify({ spec: { template: { metadata: { annotations: { "example.com/variant": "crashing" } } } } }) },
    }));
    await waitForPhase(c, ns, "patch-crashy", ["Verifying"], 30_000);
    // A pod of the new template (it carries the patched annotation) crash-loops.
    await crashNewPod(ns, "crashy", (p) => p.metadata?.annotations?.["example.com/variant"] === "crashing");
    const failedNow = await waitForPhase(c, ns, "patch-crashy", ["Failed", "Succeeded"], 60_000);
    expect(failedNow.status, failedNow.status?.message).toMatchObject({ phase: "Failed", reason: "CrashLoopDetected", verification: { status: "FAILED" } });

    const { failed, revert } = await undoneBy(ns, "patch-crashy");
    expect(revert.status?.phase, revert.status?.message).toBe("Succeeded");
    expect(revert.status?.verification?.status).toBe("SUCCESS");
    // The old template, exactly, and Available with pods of it Ready.
    const d = await waitFor("crashy available again", () => deploymentAvailable(c, ns, "crashy"), 60_000);
    expect(d.spec?.template).toEqual(before.spec?.template);
    expect(d.status?.availableReplicas).toBe(d.spec?.replicas);
    const ready = (await podsOf(ns, "crashy")).filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.annotations?.["example.com/variant"] === undefined
      && p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True"));
    expect(ready.length).toBe(d.spec?.replicas);
    await expectLinked(ns, "patch-crashy", revert);
    expect(warningEvents(ns, "patch-crashy", "AutoRevertCreated").length).toBeGreaterThan(0);

    const f = figure("patch, new pods crash-loop", failed, revert);
    expect(f.totalMs).toBeLessThan(BOUND_MS);
    // A crash loop does not wait out the verification timeout (60 s) nor its retries.
    expect(f.detectionMs).toBeLessThan(60_000);
  }, 240_000);

  it("a scale whose new pod can never be scheduled, DEFAULT verification: RolloutTimedOut, scaled back and verified inside 5 minutes of the mutation", async () => {
    const ns = NS.timeout;
    // One KWOK node and a host port: a second pod has nowhere to go.
    await deploymentOf(ns, "pinned", 1, { pod: { containers: [{ name: "app", image: "registry.invalid/app:1", ports: [{ containerPort: 8080, hostPort: 31477 }] }] } });
    await applySmartops(c, action(ns, "scale-pinned", { type: "scale", target: { name: "pinned" }, scale: { replicas: 2 } }));
    const verifying = await waitForPhase(c, ns, "scale-pinned", ["Verifying"], 30_000);
    expect(verifying.spec.verifyTimeoutSeconds).toBe(60);
    const { failed, revert } = await undoneBy(ns, "scale-pinned", 280_000);
    expect(failed.status).toMatchObject({ phase: "Failed", reason: "RolloutTimedOut", verification: { status: "TIMED_OUT", attempts: 3 } });
    expect(revert.status?.phase, revert.status?.message).toBe("Succeeded");
    expect(revert.status?.verification?.status).toBe("SUCCESS");
    const d = await read(ns, "pinned");
    expect(d.spec?.replicas).toBe(1);
    expect(d.status?.availableReplicas).toBe(1);
    await expectLinked(ns, "scale-pinned", revert);

    const f = figure("scale, new pod never scheduled (default verification)", failed, revert);
    expect(f.totalMs).toBeLessThan(BOUND_MS);
  }, 330_000);

  it("onFailure Keep: the failed patch stays, no undo is created", async () => {
    const ns = NS.keep;
    await deploymentOf(ns, "kept", 1, { minReadySeconds: 30 });
    await applySmartops(c, action(ns, "patch-kept", {
      type: "patch", target: { name: "kept" },
      patch: { merge: JSON.stringify({ spec: { template: { metadata: { annotations: { "example.com/variant": "crashing" } } } } }) },
    }));
    await waitForPhase(c, ns, "patch-kept", ["Verifying"], 30_000);
    await crashNewPod(ns, "kept", (p) => p.metadata?.annotations?.["example.com/variant"] === "crashing");
    const failed = await waitForPhase(c, ns, "patch-kept", ["Failed", "Succeeded"], 60_000);
    expect(failed.status).toMatchObject({ phase: "Failed", reason: "CrashLoopDetected" });
    // The operator's terminal path and its next reconciles have had their turn (an undo is created in the same pass, within a second).
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await getAction(c, ns, "patch-kept")).status?.autoRevert).toBeUndefined();
    expect((await listActions(c, ns)).filter((a) => a.spec.type === "revert")).toEqual([]);
    expect((await read(ns, "kept")).spec?.template?.metadata?.annotations?.["example.com/variant"]).toBe("crashing");
    expect(warningEvents(ns, "patch-kept", "AutoRevertCreated")).toEqual([]);
  }, 180_000);
});
