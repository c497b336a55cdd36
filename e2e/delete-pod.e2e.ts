// delete-pod through the Eviction API: the target's unhealthy pod or a named one,
// one at a time, with a UID precondition; a PodDisruptionBudget is respected
// (429 → retry later), and the action completes once the budget allows.
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { action, createDeployment, getAction, permissive, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac } from "./support/operator.ts";

const c = clients();
const NS = "e2e-delete-pod";
let op: OperatorProcess;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  await applySmartops(c, permissive(NS));
  op = await operatorUnderOwnRbac(c, "delete-pod");
});

afterAll(async () => {
  await op?.stop();
});

const podsOf = async (app: string): Promise<V1Pod[]> =>
  (await c.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);

/** Makes a running KWOK pod look crash-looping (KWOK only rewrites Pending pods). */
async function crashLoop(pod: V1Pod): Promise<void> {
  await c.core.patchNamespacedPodStatus({
    name: pod.metadata!.name!,
    namespace: NS,
    body: [
      { op: "replace", path: "/status/conditions", value: [{ type: "Ready", status: "False", lastTransitionTime: new Date().toISOString() }] },
      { op: "replace", path: "/status/containerStatuses", value: [{ name: "app", image: "registry.invalid/app:1", imageID: "", ready: false, restartCount: 7, state: { waiting: { reason: "CrashLoopBackOff", message: "back-off restarting failed container" } } }] },
    ],
  });
}

describe("delete-pod", () => {
  it("evicts the crash-looping pod, and only that one; the Deployment replaces it", async () => {
    await createDeployment(c, NS, "dp-unhealthy", 3);
    const pods = await podsOf("dp-unhealthy");
    const victim = pods[1]!;
    await crashLoop(victim);
    await applySmartops(c, action(NS, "evict-unhealthy", { type: "delete-pod", target: { name: "dp-unhealthy" } }));
    const a = await waitForPhase(c, NS, "evict-unhealthy");
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect(a.status?.intent).toMatchObject({ podName: victim.metadata!.name, podUID: victim.metadata!.uid });
    const after = await podsOf("dp-unhealthy");
    expect(after.map((p) => p.metadata?.uid)).not.toContain(victim.metadata!.uid);
    for (const survivor of pods.filter((p) => p !== victim)) expect(after.map((p) => p.metadata?.uid)).toContain(survivor.metadata!.uid);
    expect(after).toHaveLength(3);
  });

  it("with nothing unhealthy, blocks instead of evicting a healthy pod", async () => {
    await createDeployment(c, NS, "dp-healthy", 2);
    await applySmartops(c, action(NS, "evict-nothing", { type: "delete-pod", target: { name: "dp-healthy" } }));
    expect((await waitForPhase(c, NS, "evict-nothing")).status).toMatchObject({ phase: "Blocked", reason: "NoUnhealthyPods" });
  });

  it("evicts a named pod; refuses a pod that is not the target's", async () => {
    await createDeployment(c, NS, "dp-named", 2);
    const [first] = await podsOf("dp-named");
    await applySmartops(c, action(NS, "evict-named", { type: "delete-pod", target: { name: "dp-named" }, deletePod: { podName: first!.metadata!.name } }));
    expect((await waitForPhase(c, NS, "evict-named")).status?.phase).toBe("Succeeded");
    expect((await podsOf("dp-named")).map((p) => p.metadata?.uid)).not.toContain(first!.metadata!.uid);
    const [other] = await podsOf("dp-healthy");
    await applySmartops(c, action(NS, "evict-foreign", { type: "delete-pod", target: { name: "dp-named" }, deletePod: { podName: other!.metadata!.name } }));
    expect((await waitForPhase(c, NS, "evict-foreign")).status).toMatchObject({ phase: "Blocked", reason: "PodNotOwnedByTarget" });
  });

  it("refuses a pod of another Deployment whose labels the target's selector matches; nothing is evicted", async () => {
    // dp-web selects app=shared; dp-canary's pods carry app=shared too (plus track=canary),
    // so by labels alone every canary pod looks like one of dp-web's.
    const deployment = (name: string, labels: Record<string, string>, selector: Record<string, string>) =>
      c.apps.createNamespacedDeployment({
        namespace: NS,
        body: {
          metadata: { name, namespace: NS },
          spec: {
            replicas: 1,
            selector: { matchLabels: selector },
            template: { metadata: { labels }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
          },
        },
      });
    await deployment("dp-web", { app: "shared", track: "stable" }, { app: "shared" });
    await deployment("dp-canary", { app: "shared", track: "canary" }, { app: "shared", track: "canary" });
    const canaryPod = await waitFor("a running canary pod", async () =>
      (await c.core.listNamespacedPod({ namespace: NS, labelSelector: "app=shared,track=canary" })).items.find((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp));
    await waitFor("a running web pod", async () =>
      (await c.core.listNamespacedPod({ namespace: NS, labelSelector: "app=shared,track=stable" })).items.find((p) => p.status?.phase === "Running"));

    await applySmartops(c, action(NS, "evict-overlap", { type: "delete-pod", target: { name: "dp-web" }, deletePod: { podName: canaryPod.metadata!.name } }));
    const a = await waitForPhase(c, NS, "evict-overlap");
    expect(a.status, a.status?.message).toMatchObject({ phase: "Blocked", reason: "PodNotOwnedByTarget" });
    expect(a.status?.intent?.podUID).toBeUndefined();
    const still = await c.core.readNamespacedPod({ name: canaryPod.metadata!.name!, namespace: NS });
    expect(still.metadata?.uid).toBe(canaryPod.metadata!.uid);
    expect(still.metadata?.deletionTimestamp).toBeUndefined();
  });

  it("respects a PodDisruptionBudget: 429 means retry later, and the eviction happens once the budget allows", async () => {
    await createDeployment(c, NS, "dp-pdb", 2);
    await c.policy.createNamespacedPodDisruptionBudget({
      namespace: NS,
      body: { metadata: { name: "dp-pdb" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "dp-pdb" } } } },
    });
    await waitFor("PDB observed", async () => (await c.policy.readNamespacedPodDisruptionBudget({ name: "dp-pdb", namespace: NS })).status?.observedGeneration === 1);
    const [pod] = await podsOf("dp-pdb");
    await applySmartops(c, action(NS, "evict-pdb", { type: "delete-pod", target: { name: "dp-pdb" }, deletePod: { podName: pod!.metadata!.name } }));
    await waitFor("eviction refused by the PDB", async () => {
      const a = await getAction(c, NS, "evict-pdb");
      return a.status?.phase === "Executing" && a.status.intent?.podUID === pod!.metadata!.uid;
    });
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getAction(c, NS, "evict-pdb")).status?.phase).toBe("Executing");
    expect((await podsOf("dp-pdb")).map((p) => p.metadata?.uid)).toContain(pod!.metadata!.uid);

    await c.policy.deleteNamespacedPodDisruptionBudget({ name: "dp-pdb", namespace: NS });
    const a = await waitForPhase(c, NS, "evict-pdb", undefined, 60_000);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect((await podsOf("dp-pdb")).map((p) => p.metadata?.uid)).not.toContain(pod!.metadata!.uid);
  });
});
