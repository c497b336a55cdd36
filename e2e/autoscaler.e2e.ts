// Autoscaled Deployments on the real control plane. kube-controller-manager runs
// the real HPA controller; there is no metrics server, and the HPA controller
// still enforces minReplicas (a Deployment below its HPA's floor is raised to it
// before any metric is read) — the first test shows that, since the rest rests
// on it. An HPA min 2 / max 6: a scale is blocked by default (ManagedByAutoscaler
// naming the HPA); under AdjustAutoscaler the HPA's minReplicas is raised, the
// Deployment follows through the HPA controller, and the old floor comes back
// when adjustSeconds end, and on a human revert. KEDA: the ScaledObject CRD from
// the KEDA Go module (tools/keda/crd.sh; no KEDA controller runs) — a scale is
// blocked naming the ScaledObject (its generated HPA is not a second
// autoscaler), and AdjustAutoscaler patches minReplicaCount.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { action, createDeployment, getAction, policy, waitForPhase } from "./support/loop.ts";
import { installKedaCrd, removeKedaCrd } from "./support/keda.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, startOperator } from "./support/operator.ts";

const c = clients();
const NS = "e2e-autoscaler";
const KEDA_NS = "e2e-keda";
let op: OperatorProcess | undefined;

const adjustPolicy = (namespace: string, adjustSeconds: number) => policy(namespace, "autoscaled", {
  cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
  rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 100 },
  replicas: { min: 1, max: 8, maxStep: 4 },
  autoscaler: { mode: "AdjustAutoscaler", adjustSeconds },
});
const blockPolicy = (namespace: string) => policy(namespace, "autoscaled", {
  cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
  rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 100 },
  replicas: { min: 1, max: 8, maxStep: 4 },
});

function hpa(namespace: string, name: string, target: string, min: number, max: number, labels: Record<string, string> = {}) {
  return JSON.stringify({
    apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name, namespace, labels },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: min, maxReplicas: max },
  });
}

const getJson = <T>(args: string[]): T => JSON.parse(kubectl(["get", ...args, "-o", "json"])) as T;
const hpaMin = (name: string) => getJson<{ spec: { minReplicas?: number } }>(["hpa", name, "-n", NS]).spec.minReplicas;
const replicasOf = async (namespace: string, name: string) => (await c.apps.readNamespacedDeployment({ name, namespace })).spec?.replicas;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  await ensureNamespace(c, KEDA_NS);
  // KEDA's CRD before the operator starts: it looks for ScaledObjects once, at start.
  installKedaCrd();
  await applySmartops(c, blockPolicy(NS));
  await applySmartops(c, blockPolicy(KEDA_NS));
  installOperatorRbac();
  const kubeconfig = await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator");
  op = await startOperator({ kubeconfig, identity: "autoscaler" });
}, 300_000);

afterAll(async () => {
  await op?.stop();
  removeKedaCrd();
});

describe("HorizontalPodAutoscaler min 2 / max 6", () => {
  it("the HPA controller, with no metrics server, raises a Deployment below minReplicas to it", async () => {
    await createDeployment(c, NS, "web", 1);
    kubectl(["apply", "-f", "-"], hpa(NS, "web", "web", 2, 6));
    await waitFor("web raised to the HPA's floor 2", async () => (await replicasOf(NS, "web")) === 2, 60_000);
  });

  it("a scale is blocked by default: ManagedByAutoscaler, naming the HPA and its min/max; the Deployment is untouched", async () => {
    await applySmartops(c, action(NS, "scale-blocked", { type: "scale", target: { name: "web" }, scale: { replicas: 4 } }));
    const done = await waitForPhase(c, NS, "scale-blocked");
    expect(done.status?.phase, done.status?.message).toBe("Blocked");
    expect(done.status?.reason).toBe("ManagedByAutoscaler");
    expect(done.status?.message).toContain("HorizontalPodAutoscaler web (min 2, max 6)");
    expect(await replicasOf(NS, "web")).toBe(2);
  });

  it("a dry run says it would be blocked", async () => {
    await applySmartops(c, action(NS, "scale-dry", { type: "scale", target: { name: "web" }, scale: { replicas: 4 }, dryRun: true }));
    const done = await waitForPhase(c, NS, "scale-dry");
    expect(done.status?.message).toMatch(/^would be blocked: ManagedByAutoscaler: .*HorizontalPodAutoscaler web/);
  });

  it("AdjustAutoscaler: minReplicas raised, the Deployment follows through the HPA controller, the old floor restored after adjustSeconds", async () => {
    await applySmartops(c, adjustPolicy(NS, 20));
    await applySmartops(c, action(NS, "scale-adjust", { type: "scale", target: { name: "web" }, scale: { replicas: 4 }, verifyTimeoutSeconds: 60 }));
    const done = await waitForPhase(c, NS, "scale-adjust", undefined, 200_000);
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(done.status?.intent?.autoscaler).toMatchObject({ kind: "HorizontalPodAutoscaler", name: "web", fromMinReplicas: 2, toMinReplicas: 4 });
    expect(done.status?.preState?.object).toEqual({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "web" });
    expect(hpaMin("web")).toBe(4);
    // The operator wrote the HPA, never the Deployment: its replicas are the HPA controller's.
    expect(await replicasOf(NS, "web")).toBeGreaterThanOrEqual(4);
    const d = await c.apps.readNamespacedDeployment({ name: "web", namespace: NS });
    const replicaWriters = (d.metadata?.managedFields ?? []).filter((f) => JSON.stringify(f.fieldsV1 ?? {}).includes("f:replicas") && f.subresource === "scale").map((f) => f.manager);
    expect(replicaWriters).toContain("kube-controller-manager");

    // adjustSeconds (20) later the operator reverts it: the old floor is back.
    const restore = await waitForPhase(c, NS, "scale-adjust-restore-floor", undefined, 120_000);
    expect(restore.status?.phase, restore.status?.message).toBe("Succeeded");
    expect(restore.spec.source).toBe("policy-engine");
    expect(hpaMin("web")).toBe(2);
    expect((await getAction(c, NS, "scale-adjust")).status?.revertedBy).toBe("scale-adjust-restore-floor");
    // Restoring the floor does not scale the Deployment down: without metrics the HPA keeps it.
    expect(await replicasOf(NS, "web")).toBeGreaterThanOrEqual(4);
  }, 300_000);

  it("a human revert restores the floor too", async () => {
    await applySmartops(c, adjustPolicy(NS, 3600));
    await applySmartops(c, action(NS, "scale-adjust-2", { type: "scale", target: { name: "web" }, scale: { replicas: 5 } }));
    const done = await waitForPhase(c, NS, "scale-adjust-2", undefined, 200_000);
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(hpaMin("web")).toBe(5);
    kubectl(["create", "-f", "-"], JSON.stringify({
      apiVersion: "smartops.io/v1alpha1", kind: "RemediationAction", metadata: { name: "undo-adjust-2", namespace: NS },
      spec: { type: "revert", revertOf: "scale-adjust-2", target: { name: "web" }, reason: "the floor is no longer needed" },
    }));
    const undo = await waitForPhase(c, NS, "undo-adjust-2", undefined, 120_000);
    expect(undo.status?.phase, undo.status?.message).toBe("Succeeded");
    expect(undo.status?.message).toContain("does not scale the Deployment down by itself");
    expect(hpaMin("web")).toBe(2);
  }, 300_000);
});

describe("KEDA ScaledObject (CRD only, no KEDA controller)", () => {
  const scaledObject = JSON.stringify({
    apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", metadata: { name: "worker-so", namespace: KEDA_NS },
    spec: {
      scaleTargetRef: { name: "worker" }, minReplicaCount: 1, maxReplicaCount: 10,
      triggers: [{ type: "cron", metadata: { timezone: "Etc/UTC", start: "0 6 * * *", end: "0 20 * * *", desiredReplicas: "2" } }],
    },
  });

  it("a scale is blocked naming the ScaledObject; the HPA KEDA generates for it is not a second autoscaler", async () => {
    await createDeployment(c, KEDA_NS, "worker", 1);
    kubectl(["apply", "-f", "-"], scaledObject);
    // What KEDA would generate for it (no KEDA runs here): an HPA labelled with the ScaledObject's name.
    kubectl(["apply", "-f", "-"], hpa(KEDA_NS, "keda-hpa-worker-so", "worker", 1, 10, { "scaledobject.keda.sh/name": "worker-so" }));
    await applySmartops(c, action(KEDA_NS, "scale-worker", { type: "scale", target: { name: "worker" }, scale: { replicas: 3 } }));
    const done = await waitForPhase(c, KEDA_NS, "scale-worker");
    expect(done.status?.reason, done.status?.message).toBe("ManagedByAutoscaler");
    expect(done.status?.message).toContain("scaled by ScaledObject worker-so (min 1, max 10):");
    expect(done.status?.message).not.toContain("HorizontalPodAutoscaler");
  });

  it("AdjustAutoscaler patches minReplicaCount", async () => {
    await applySmartops(c, adjustPolicy(KEDA_NS, 3600));
    // No KEDA controller carries the floor to the HPA here, so there is nothing to verify.
    await applySmartops(c, action(KEDA_NS, "scale-worker-adjust", { type: "scale", target: { name: "worker" }, scale: { replicas: 3 }, verify: false }));
    const done = await waitForPhase(c, KEDA_NS, "scale-worker-adjust");
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(done.status?.message).toContain("raised ScaledObject worker-so minReplicaCount 1 -> 3");
    const so = getJson<{ spec: { minReplicaCount?: number }; metadata: { annotations?: Record<string, string> } }>(["scaledobjects.keda.sh", "worker-so", "-n", KEDA_NS]);
    expect(so.spec.minReplicaCount).toBe(3);
    expect(so.metadata.annotations?.["smartops.io/last-action"]).toBe(done.metadata.uid);
  });
});
