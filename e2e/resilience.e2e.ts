// Nothing lost, nothing done twice: leader election between two operator
// processes, kill -9 at each step of an action, a storm of 1000 signals, and a
// kube-apiserver restart in the middle of a run. Every check reads the cluster.
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { loadState, restartComponent } from "./controlplane/cluster.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { action, anomaly, createDeployment, deploymentAvailable, getAction, listActions, permissive, policy, signalToAction, TERMINAL, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, startOperator } from "./support/operator.ts";

const c = clients();
let kubeconfig: string;
const running: OperatorProcess[] = [];

async function operator(identity: string, env: Record<string, string> = {}) {
  const op = await startOperator({ kubeconfig, identity, env });
  running.push(op);
  return op;
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await c.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: "smartops-operator", namespace: OPERATOR_NAMESPACE });
  return lease.spec?.holderIdentity || undefined;
}

beforeAll(async () => {
  installOperatorRbac();
  kubeconfig = await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator");
});

afterEach(async () => {
  // Graceful stops release the lease; a killed operator's lease expires after 4 s.
  for (const op of running.splice(0)) if (op.proc.exitCode === null && op.proc.signalCode === null) await op.stop();
});

describe("leader election", () => {
  const NS = "e2e-leader";

  it("two operators: only the leader acts; kill -9 the leader and the other takes over", async () => {
    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    await createDeployment(c, NS, "erp");
    const a = await operator("leader-a");
    const b = await operator("leader-b");
    const holder = await waitFor("a lease holder", leaseHolder, 20_000);
    expect(["leader-a", "leader-b"]).toContain(holder);
    const [leader, standby] = holder === "leader-a" ? [a, b] : [b, a];

    const first = await signalToAction(c, anomaly(NS, "le-1", { service: "erp", type: "latency" }));
    expect((await waitForPhase(c, NS, first)).status?.phase).toBe("Succeeded");
    // The status write lands before the log line is flushed: wait for the line.
    await waitFor("the leader logged the action", () => leader.logs().includes("action finished"), 10_000);
    expect(standby.logs()).not.toContain("started leading");
    expect(standby.logs()).not.toContain("action finished");

    await leader.kill9();
    await waitFor("standby leads", async () => (await leaseHolder()) === standby.identity, 20_000, 200);
    const second = await signalToAction(c, anomaly(NS, "le-2", { service: "erp", type: "error" }));
    expect((await waitForPhase(c, NS, second)).status?.phase).toBe("Succeeded");
    expect(standby.logs()).toContain("started leading");
  });

  it("a graceful stop releases the lease so the standby takes over at once", async () => {
    const a = await operator("graceful-a");
    await waitFor("graceful-a leads", async () => (await leaseHolder()) === "graceful-a", 20_000);
    const b = await operator("graceful-b");
    const stoppedAt = Date.now();
    await a.stop();
    await waitFor("graceful-b leads", async () => (await leaseHolder()) === "graceful-b", 10_000, 100);
    expect(Date.now() - stoppedAt).toBeLessThan(4_000);
    await waitFor("graceful-b logged it", () => b.logs().includes("started leading"), 10_000);
  });
});

describe("crash injection: exactly one effect per action", () => {
  const NS = "e2e-crash";

  it.each(["before-intent", "after-intent", "after-act"])("kill -9 %s, restart: the restart happened exactly once", async (point) => {
    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    const deployment = `crash-${point}`;
    await createDeployment(c, NS, deployment);
    const rsBefore = (await c.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: `app=${deployment}` })).items.length;

    const doomed = await operator(`crash-${point}`, { SMARTOPS_FAILPOINT: point });
    await applySmartops(c, action(NS, `restart-${point}`, { type: "restart", target: { name: deployment } }));
    const code = await doomed.exited;
    expect(doomed.proc.signalCode ?? code).toBe("SIGKILL");

    const after = await getAction(c, NS, `restart-${point}`);
    if (point === "before-intent") expect(after.status?.intent).toBeUndefined();
    else expect(after.status?.intent?.restartedAt).toBeDefined();

    await operator(`recover-${point}`);
    const done = await waitForPhase(c, NS, `restart-${point}`);
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    if (point !== "before-intent") expect(done.status?.intent?.restartedAt).toBe(after.status?.intent?.restartedAt);
    const rsAfter = (await c.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: `app=${deployment}` })).items.length;
    expect(rsAfter - rsBefore).toBe(1);
    const d = await c.apps.readNamespacedDeployment({ name: deployment, namespace: NS });
    expect(d.metadata?.generation).toBe(2);
    expect(d.spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBe(done.status?.intent?.restartedAt);
  });

  it("kill -9 after a non-idempotent JSON patch: the recorded intent is not applied a second time", async () => {
    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    await createDeployment(c, NS, "crash-patch", 2);
    await c.apps.patchNamespacedDeployment({ name: "crash-patch", namespace: NS, body: [{ op: "add", path: "/spec/template/metadata/annotations", value: { phase: "one" } }] });
    await waitFor("crash-patch available", () => deploymentAvailable(c, NS, "crash-patch"));
    const doomed = await operator("crash-patch", { SMARTOPS_FAILPOINT: "after-act" });
    // Applied twice, the test op fails the second time: only a skip keeps this Succeeded.
    await applySmartops(c, action(NS, "patch-crash", {
      type: "patch", target: { name: "crash-patch" },
      patch: { json: JSON.stringify([{ op: "test", path: "/spec/template/metadata/annotations/phase", value: "one" }, { op: "replace", path: "/spec/template/metadata/annotations/phase", value: "two" }]) },
    }));
    await doomed.exited;
    await operator("recover-patch");
    const done = await waitForPhase(c, NS, "patch-crash");
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(done.status?.message).toContain("already applied");
    const d = await c.apps.readNamespacedDeployment({ name: "crash-patch", namespace: NS });
    expect(d.spec?.template?.metadata?.annotations?.phase).toBe("two");
  });

  it("kill -9 after a scale: replicas moved exactly one step", async () => {
    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    await createDeployment(c, NS, "crash-scale", 2);
    const doomed = await operator("crash-scale", { SMARTOPS_FAILPOINT: "after-act" });
    await applySmartops(c, action(NS, "scale-crash", { type: "scale", target: { name: "crash-scale" }, scale: { replicas: 3 } }));
    await doomed.exited;
    await operator("recover-scale");
    expect((await waitForPhase(c, NS, "scale-crash")).status?.phase).toBe("Succeeded");
    const d = await c.apps.readNamespacedDeployment({ name: "crash-scale", namespace: NS });
    expect(d.spec?.replicas).toBe(3);
    expect(d.metadata?.annotations?.["smartops.io/last-action"]).toBe((await getAction(c, NS, "scale-crash")).metadata.uid);
  });
});

describe("storm", () => {
  const NS = "e2e-storm";
  const TARGETS = ["storm-a", "storm-b", "storm-c", "storm-d"];
  const SIGNALS = 1000;

  it(`${SIGNALS} signals on ${TARGETS.length} targets: every one terminal, no cap broken`, async () => {
    await ensureNamespace(c, NS);
    // The seed defaults, with a short cooldown so several actions per target really run.
    await applySmartops(c, policy(NS, "storm", { cooldownSeconds: { scale: 2, restart: 2, patch: 2, deletePod: 2 }, rateLimits: { maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 3 }, replicas: { min: 1, max: 5, maxStep: 2 } }));
    await Promise.all(TARGETS.map((t) => createDeployment(c, NS, t, 2)));
    await operator("storm", { SMARTOPS_ACTION_WORKERS: "4", SMARTOPS_SIGNAL_WORKERS: "8" });

    const types = ["latency", "resource", "error", "jitter"];
    const started = Date.now();
    const batch = 25;
    for (let i = 0; i < SIGNALS; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, SIGNALS - i) }, (_, j) => {
        const n = i + j;
        return applySmartops(c, anomaly(NS, `storm-${n}`, { service: TARGETS[n % TARGETS.length], type: types[(n >> 2) % types.length] }));
      }));
    }
    // Each signal ends with an action, or — once the escalation ladder has run out for its problem on that
    // target (the same anomaly recurring inside the actions' effectiveness windows) — Notified, with no action.
    const signals = async () => ((await c.custom.listNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural: "anomalysignals" })) as { items: { status?: { phase?: string } }[] }).items;
    const actions = await waitFor("every storm signal decided and every action terminal", async () => {
      const all = await listActions(c, NS);
      const notified = (await signals()).filter((s) => s.status?.phase === "Notified").length;
      return all.length + notified === SIGNALS && all.every((a) => TERMINAL.includes(a.status?.phase ?? "")) ? all : undefined;
    }, 240_000, 1000);
    const notified = (await signals()).filter((s) => s.status?.phase === "Notified").length;
    console.log(`[storm] ${actions.length} actions, ${notified} signals notified a human (escalation ladder done)`);
    console.log(`[storm] ${SIGNALS} signals → terminal in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    for (const t of TARGETS) {
      const executed = actions
        .filter((a) => a.spec.target.name === t && a.status?.intent?.recordedAt)
        .map((a) => ({ type: a.spec.type, at: Date.parse(a.status!.intent!.recordedAt!), from: a.status!.intent!.fromReplicas, to: a.status!.intent!.replicas }))
        .sort((x, y) => x.at - y.at);
      expect(executed.length).toBeGreaterThan(0);
      for (const type of ["restart", "scale"]) {
        const same = executed.filter((e) => e.type === type);
        expect(same.length, `${t} ${type} per hour`).toBeLessThanOrEqual(6);
        for (let i = 1; i < same.length; i++) expect(same[i]!.at - same[i - 1]!.at, `${t} ${type} cooldown`).toBeGreaterThanOrEqual(2000);
      }
      const increase = executed.filter((e) => e.type === "scale").reduce((sum, e) => sum + Math.max(0, (e.to ?? 0) - (e.from ?? 0)), 0);
      expect(increase, `${t} scale increase in 15 min`).toBeLessThanOrEqual(3);
      const d = await c.apps.readNamespacedDeployment({ name: t, namespace: NS });
      expect(d.spec!.replicas!).toBeLessThanOrEqual(5);
    }
    const blocked = actions.filter((a) => a.status?.phase === "Blocked");
    expect(blocked.length).toBeGreaterThan(0);
    for (const a of blocked) expect(a.status?.reason).toMatch(/CooldownActive|HourlyActionLimitReached|ScaleIncreaseLimitReached|MaxReplicasExceeded|MaxReplicasReached|MaxScaleStepExceeded|RepeatedFailures/);
  }, 360_000);
});

describe("kube-apiserver restart", () => {
  const NS = "e2e-apiserver";

  it("the operator recovers after the API server restarts mid-run and loses nothing", async () => {
    const dir = inject("clusterDir");
    if (!dir) return; // an external cluster: its API server is not ours to restart
    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    await createDeployment(c, NS, "erp", 2);
    const op = await operator("apiserver", { SMARTOPS_LEASE_DURATION_SECONDS: "15", SMARTOPS_RENEW_DEADLINE_SECONDS: "10" });
    const before = await signalToAction(c, anomaly(NS, "before-restart", { service: "erp", type: "latency" }));
    expect((await waitForPhase(c, NS, before)).status?.phase).toBe("Succeeded");

    await restartComponent(loadState(dir), "kube-apiserver", { hard: true, downMs: 3000 });
    await waitFor("API server back", () => c.core.readNamespace({ name: NS }), 60_000);

    const names = [];
    for (let i = 0; i < 3; i++) names.push(await signalToAction(c, anomaly(NS, `after-restart-${i}`, { service: "erp", type: i === 1 ? "resource" : "error" }), 60_000));
    for (const n of names) expect((await waitForPhase(c, NS, n, TERMINAL, 90_000)).status?.phase).toBe("Succeeded");
    expect(op.proc.exitCode).toBeNull();
    expect(await (await fetch(`http://127.0.0.1:${op.port}/healthz`)).json()).toMatchObject({ status: "ok" });
    // The outage is visible to whoever watches the operator: its watches failed and were restarted.
    const metrics = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
    const restarts = [...metrics.matchAll(/^smartops_informer_restarts_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(restarts).toBeGreaterThan(0);
  }, 240_000);
});
