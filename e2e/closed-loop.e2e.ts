// The chaos scenarios C1–C5 (memory leak, CPU spike, latency jitter, error burst,
// combined chaos) on the real control plane,
// with the operator running under its own least-privilege ServiceAccount.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { anomaly, createDeployment, deploymentAvailable, listActions, permissive, rca, signalStatus, signalToAction, TERMINAL, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac } from "./support/operator.ts";

const c = clients();
const NS = "e2e-loop";
let op: OperatorProcess;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  await applySmartops(c, permissive(NS));
  op = await operatorUnderOwnRbac(c, "loop");
});

afterAll(async () => {
  await op?.stop();
});

async function replicaSets(deployment: string) {
  return (await c.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: `app=${deployment}` })).items;
}

describe("closed loop: seed chaos scenarios", () => {
  it("C1 memory leak: RCA memory_leak → restart, verified with a new ReplicaSet", async () => {
    await createDeployment(c, NS, "c1-erp");
    const before = await replicaSets("c1-erp");
    const name = await signalToAction(c, rca(NS, "c1-memory-leak", "c1-erp", "memory_leak"));
    const a = await waitForPhase(c, NS, name);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect(a.spec).toMatchObject({ type: "restart", source: "closed-loop", dryRun: false, signalRef: { kind: "RcaSignal", name: "c1-memory-leak" } });
    expect(a.status?.verification?.status).toBe("SUCCESS");
    const d = await c.apps.readNamespacedDeployment({ name: "c1-erp", namespace: NS });
    expect(d.spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBe(a.status?.intent?.restartedAt);
    expect(d.metadata?.annotations?.["smartops.io/last-action"]).toBe(a.metadata.uid);
    const after = await replicaSets("c1-erp");
    expect(after.length).toBe(before.length + 1);
    expect(a.status?.conditions?.find((x) => x.type === "Ready")?.status).toBe("True");
    expect((await signalStatus(c, "RcaSignal", NS, "c1-memory-leak"))?.phase).toBe("ActionCreated");
  });

  it("C2 CPU spike: RCA cpu_saturation → scale up by one, verified Ready", async () => {
    await createDeployment(c, NS, "c2-erp", 2);
    const name = await signalToAction(c, rca(NS, "c2-cpu", "c2-erp", "cpu_saturation"));
    const a = await waitForPhase(c, NS, name);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect(a.spec.scale).toEqual({ by: 1, decidedAtReplicas: 2 });
    expect(a.status?.intent).toMatchObject({ fromReplicas: 2, replicas: 3 });
    expect(a.status?.verification?.observed).toMatchObject({ desiredReplicas: 3, readyReplicas: 3 });
    expect((await c.apps.readNamespacedDeployment({ name: "c2-erp", namespace: NS })).status?.readyReplicas).toBe(3);
  });

  it("C3 latency jitter: latency anomaly → restart (service resolved through the smartops- prefix)", async () => {
    await createDeployment(c, NS, "smartops-c3-erp");
    const name = await signalToAction(c, anomaly(NS, "c3-latency", { service: "c3-erp", type: "latency", score: 0.94 }));
    const a = await waitForPhase(c, NS, name);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect(a.spec).toMatchObject({ type: "restart", target: { name: "smartops-c3-erp" } });
  });

  it("C4 error burst: error anomalies and an RCA on one target → one restart, the rest held back by the cooldown", async () => {
    await createDeployment(c, NS, "c4-erp");
    await applySmartops(c, { ...permissive(NS), metadata: { name: "c4-cooldown", namespace: NS }, spec: { targets: { selector: { matchLabels: { "app.kubernetes.io/name": "c4-erp" } } }, cooldownSeconds: { scale: 0, restart: 300, patch: 0, deletePod: 0 } } });
    const names = [];
    for (let i = 0; i < 4; i++) names.push(await signalToAction(c, anomaly(NS, `c4-error-${i}`, { service: "c4-erp", type: "error" })));
    names.push(await signalToAction(c, rca(NS, "c4-rca", "c4-erp", "high_error_rate")));
    const done = await Promise.all(names.map((n) => waitForPhase(c, NS, n)));
    const phases = done.map((a) => a.status?.phase);
    expect(phases.filter((p) => p === "Succeeded")).toHaveLength(1);
    expect(done.filter((a) => a.status?.phase === "Blocked").map((a) => a.status?.reason)).toEqual(Array(4).fill("CooldownActive"));
  });

  it("C5 combined chaos: several signals on several targets become actions in sequence, none stuck", async () => {
    await Promise.all(["c5-a", "c5-b"].map((n) => createDeployment(c, NS, n, 2)));
    const signals = [
      rca(NS, "c5-a-mem", "c5-a", "memory_leak"),
      anomaly(NS, "c5-a-res", { service: "c5-a", type: "resource" }),
      anomaly(NS, "c5-b-jit", { service: "c5-b", type: "jitter" }),
      rca(NS, "c5-b-cpu", "c5-b", "cpu_saturation"),
      rca(NS, "c5-a-cfg", "c5-a", "config_issue"),
    ];
    const names = await Promise.all(signals.map((s) => signalToAction(c, s)));
    const done = await Promise.all(names.map((n) => waitForPhase(c, NS, n, TERMINAL, 120_000)));
    for (const a of done) expect(a.status?.phase, `${a.metadata.name}: ${a.status?.message}`).toBe("Succeeded");
    // Per target, executions never overlap: each started after the previous one finished.
    for (const target of ["c5-a", "c5-b"]) {
      const mine = done.filter((a) => a.spec.target.name === target).sort((x, y) => Date.parse(x.status!.startedAt!) - Date.parse(y.status!.startedAt!));
      for (let i = 1; i < mine.length; i++) expect(Date.parse(mine[i]!.status!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(mine[i - 1]!.status!.completedAt!));
    }
    await waitFor("c5 workloads available", async () => (await deploymentAvailable(c, NS, "c5-a")) && (await deploymentAvailable(c, NS, "c5-b")));
  });

  it("an unverified signal (no modelVersion) becomes a dry-run action that leaves the Deployment untouched", async () => {
    await createDeployment(c, NS, "unverified-erp", 2);
    const before = await c.apps.readNamespacedDeployment({ name: "unverified-erp", namespace: NS });
    const signal = rca(NS, "unverified", "unverified-erp", "cpu_saturation");
    delete (signal.spec as Record<string, unknown>).modelVersion;
    const name = await signalToAction(c, signal);
    const a = await waitForPhase(c, NS, name);
    expect(a.spec.dryRun).toBe(true);
    expect(a.status).toMatchObject({ phase: "Succeeded", reason: "DryRunSucceeded", dryRunResult: { fromReplicas: 2, toReplicas: 3 } });
    const after = await c.apps.readNamespacedDeployment({ name: "unverified-erp", namespace: NS });
    expect(after.spec?.replicas).toBe(2);
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect((await signalStatus(c, "RcaSignal", NS, "unverified"))?.verified).toBe(false);
  });

  it("isAnomaly=false and an unknown service give no action, with a reason on the signal", async () => {
    await applySmartops(c, anomaly(NS, "calm", { service: "c1-erp", type: "latency", isAnomaly: false }));
    await applySmartops(c, anomaly(NS, "ghost", { service: "no-such-service", type: "latency" }));
    const calm = await waitFor("calm ignored", async () => (await signalStatus(c, "AnomalySignal", NS, "calm"))?.phase === "Ignored" && signalStatus(c, "AnomalySignal", NS, "calm"));
    expect(calm).toMatchObject({ reason: "NotAnomalous" });
    const ghost = await waitFor("ghost has no target", async () => (await signalStatus(c, "AnomalySignal", NS, "ghost"))?.phase === "NoTarget" && signalStatus(c, "AnomalySignal", NS, "ghost"));
    expect(ghost).toMatchObject({ reason: "NoMatchingDeployment" });
    expect((await listActions(c, NS)).filter((a) => ["calm", "ghost"].includes(a.spec.signalRef?.name ?? ""))).toEqual([]);
  });

  it("exports the seed metrics", async () => {
    const text = await op.metrics();
    for (const name of ["smartops_k8s_restart_total", "smartops_k8s_scale_total", "smartops_orchestrator_actions_total", "orchestrator_closed_loop_signals_total", "orchestrator_closed_loop_guardrail_blocks_total", "controller_runtime_reconcile_total", "workqueue_depth"]) {
      expect(text, name).toContain(name);
    }
    expect(text).toMatch(/orchestrator_closed_loop_guardrail_blocks_total\{reason="CooldownActive"\} [1-9]/);
    // One producer per series: the operator counts outcomes, only the shim counts ingest.
    expect(text).toMatch(/orchestrator_closed_loop_signal_outcomes_total\{kind="anomaly",result="no_target"\} [1-9]/);
    expect(text).not.toMatch(/^orchestrator_closed_loop_signals_total\{/m);
  });
});
