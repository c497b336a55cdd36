// One action that cannot be processed never stalls its Deployment: it ends
// Failed after a bounded number of attempts, and the actions after it run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace } from "./support/kube.ts";
import { action, createDeployment, permissive, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, startOperator } from "./support/operator.ts";

const c = clients();
const NS = "e2e-poison";
let op: OperatorProcess;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  await applySmartops(c, permissive(NS));
  installOperatorRbac();
  // Every reconcile of an action named poison-… throws, as a bug or an unprocessable object would.
  op = await startOperator({ kubeconfig: await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator"), identity: "poison", env: { SMARTOPS_FAILPOINT_THROW: "poison-" } });
}, 300_000);

afterAll(async () => {
  await op?.stop();
});

describe("a poison action", () => {
  it("ends Failed with ProcessingFailed after bounded retries, and a later action on the same Deployment runs meanwhile", async () => {
    await createDeployment(c, NS, "shared");
    await applySmartops(c, action(NS, "poison-1", { type: "restart", target: { name: "shared" } }));
    await applySmartops(c, action(NS, "healthy-1", { type: "restart", target: { name: "shared" } }));
    const healthy = await waitForPhase(c, NS, "healthy-1", undefined, 60_000);
    expect(healthy.status?.phase, healthy.status?.message).toBe("Succeeded");
    const poison = await waitForPhase(c, NS, "poison-1", undefined, 60_000);
    expect(poison.status?.phase).toBe("Failed");
    expect(poison.status?.reason).toBe("ProcessingFailed");
    expect(poison.status?.message).toContain("processing failed 5 time(s)");
    expect(poison.status?.message).toContain("injected failure");
    // Nothing was done for it: the one restart is the healthy action's.
    const d = await c.apps.readNamespacedDeployment({ name: "shared", namespace: NS });
    expect(d.metadata?.annotations?.["smartops.io/last-action"]).toBe(healthy.metadata.uid);
  });
});
