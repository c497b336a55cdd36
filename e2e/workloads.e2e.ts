// Proves the control plane is real: Deployments roll out on KWOK nodes, a
// rollout restart replaces every pod through a new ReplicaSet, a deleted pod is
// replaced. The operator's executors rely on exactly these behaviours.
import type * as k8s from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { deploymentAvailable } from "../operator/src/remediation/rollout.ts";
import { clients, ensureNamespace, FIELD_MANAGER, waitFor } from "./support/kube.ts";

const c = clients();
const NS = "e2e-workloads";
const NAME = "erp-simulator";

function deployment(replicas: number): k8s.V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: NAME, namespace: NS, labels: { "app.kubernetes.io/name": NAME } },
    spec: {
      replicas,
      selector: { matchLabels: { app: NAME } },
      template: {
        metadata: { labels: { app: NAME } },
        spec: { containers: [{ name: "app", image: "registry.invalid/erp-simulator:1" }] },
      },
    },
  };
}

async function available(): Promise<k8s.V1Deployment | undefined> {
  const d = await c.apps.readNamespacedDeployment({ name: NAME, namespace: NS });
  return deploymentAvailable(d) ? d : undefined;
}

async function pods(): Promise<k8s.V1Pod[]> {
  return (await c.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${NAME}` })).items;
}

beforeAll(async () => {
  await ensureNamespace(c, NS);
  await c.apps.createNamespacedDeployment({ namespace: NS, body: deployment(2), fieldManager: FIELD_MANAGER });
});

describe("workloads on KWOK nodes", () => {
  it("a Deployment with 2 replicas becomes Available", async () => {
    const d = await waitFor("erp-simulator available", available, 60_000);
    expect(d.status?.availableReplicas).toBe(2);
    const running = await pods();
    expect(running).toHaveLength(2);
    for (const p of running) {
      expect(p.spec?.nodeName).toBe("kwok-node-0");
      expect(p.status?.conditions?.find((cond) => cond.type === "Ready")?.status).toBe("True");
    }
  });

  it("a rollout restart completes with a new ReplicaSet and the old pods gone", async () => {
    await waitFor("erp-simulator available", available, 60_000);
    const before = await pods();
    const rsBefore = (await c.apps.listNamespacedReplicaSet({ namespace: NS })).items.map((rs) => rs.metadata?.name);
    const restartedAt = new Date().toISOString();
    await c.apps.patchNamespacedDeployment(
      {
        name: NAME,
        namespace: NS,
        fieldManager: FIELD_MANAGER,
        body: [{ op: "add", path: "/spec/template/metadata/annotations", value: { "kubectl.kubernetes.io/restartedAt": restartedAt } }],
      },
    );
    await waitFor("restart rolled out", async () => {
      const d = await available();
      if (!d) return undefined;
      const current = await pods();
      const oldLeft = current.filter((p) => before.some((b) => b.metadata?.uid === p.metadata?.uid));
      return oldLeft.length === 0 && current.length === 2 ? d : undefined;
    }, 90_000);
    const rsAfter = (await c.apps.listNamespacedReplicaSet({ namespace: NS })).items;
    const fresh = rsAfter.filter((rs) => !rsBefore.includes(rs.metadata?.name));
    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBe(restartedAt);
    expect(fresh[0]?.status?.readyReplicas).toBe(2);
  });

  it("a deleted pod is replaced", async () => {
    await waitFor("erp-simulator available", available, 60_000);
    const [victim] = await pods();
    await c.core.deleteNamespacedPod({ name: victim!.metadata!.name!, namespace: NS });
    const replaced = await waitFor("pod replaced", async () => {
      const current = await pods();
      const gone = !current.some((p) => p.metadata?.uid === victim!.metadata?.uid);
      const ready = current.filter((p) => p.status?.conditions?.some((cond) => cond.type === "Ready" && cond.status === "True"));
      return gone && ready.length === 2 ? current : undefined;
    }, 60_000);
    expect(replaced.map((p) => p.metadata?.uid)).not.toContain(victim!.metadata?.uid);
  });
});
