// A closed-loop scale-up never lowers replicas: its target is computed from a
// fresh read when the intent is recorded, and the write is refused if the
// Deployment changed since. Bursts through the shim, an approval that waits while
// a human scales, and a crash between intent and effect — every check reads the
// cluster, and a watch on the Deployment sees every replica count it passes.
import * as k8s from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RemediationAction } from "../operator/src/api/v1alpha1/objects.ts";
import { applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { anomaly, createDeployment, deploymentAvailable, getAction, listActions, policy, signalToAction, TERMINAL, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, serviceAccountToken, startOperator } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";
import { installAgentRbac } from "./support/agents.ts";

const c = clients();
const NS = "e2e-scale-direction";
let kubeconfig: string;
let shim: ShimProcess;
let agent: string;
const running: OperatorProcess[] = [];

async function operator(identity: string, env: Record<string, string> = {}) {
  const op = await startOperator({ kubeconfig, identity, env });
  running.push(op);
  return op;
}


/**
 * The burst policy: no cooldowns, rate limits out of the way, scale-ups of 2 up to 10, and no escalation ladder:
 * every resource anomaly is a scale-up (what this suite checks is their direction, not whether they worked).
 */
const burstPolicy = (target: string, extra: Record<string, unknown> = {}) =>
  policy(NS, `burst-${target}`, {
    targets: { selector: { matchLabels: { "app.kubernetes.io/name": target } } },
    cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
    rateLimits: { maxActionsPerHour: 10000, maxScaleIncreasePer15Minutes: 1000 },
    replicas: { min: 1, max: 10, maxStep: 10 },
    signals: { scaleStep: 2 },
    escalation: { enabled: false },
    ...extra,
  });

/** Every spec.replicas the Deployment passes through, in order, from a watch. */
async function watchReplicas(name: string): Promise<{ seen: number[]; stop: () => void }> {
  const seen: number[] = [];
  let req: { abort: () => void } | undefined;
  let stopped = false;
  const start = async (): Promise<void> => {
    req = await new k8s.Watch(c.kc).watch(`/apis/apps/v1/namespaces/${NS}/deployments`, { fieldSelector: `metadata.name=${name}` },
      (_type, obj: k8s.V1Deployment) => {
        const r = obj.spec?.replicas;
        if (r !== undefined && seen[seen.length - 1] !== r) seen.push(r);
      },
      () => { if (!stopped) void start(); });
  };
  await start();
  return { seen, stop: () => { stopped = true; req?.abort(); } };
}

async function postAnomaly(windowId: string, service: string): Promise<number> {
  const res = await fetch(`${shim.url}/v1/signals/anomaly`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${agent}` },
    body: JSON.stringify({ windowId, service, isAnomaly: true, score: 0.9, type: "resource", modelVersion: "v1", namespace: NS }),
  });
  await res.arrayBuffer();
  return res.status;
}

const nonDecreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]!);

/** Every executed scale went up, from what it found; every other one ended without touching replicas. */
function expectUpwardActions(actions: RemediationAction[]) {
  for (const a of actions) {
    expect(TERMINAL, a.metadata.name).toContain(a.status?.phase);
    const i = a.status?.intent;
    if (a.status?.phase === "Succeeded") {
      expect(i?.replicas, `${a.metadata.name}: ${a.status?.message}`).toBeGreaterThan(i!.fromReplicas!);
    } else {
      expect(a.status?.phase, `${a.metadata.name}: ${a.status?.message}`).toBe("Blocked");
      expect(a.status?.reason, a.status?.message).toBe("MaxReplicasReached");
    }
  }
}

beforeAll(async () => {
  await ensureNamespace(c, NS);
  installAgentRbac(NS, [{ apiGroups: ["smartops.io"], resources: ["anomalysignals", "rcasignals"], verbs: ["create"] }]);
  installOperatorRbac();
  kubeconfig = await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator");
  agent = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
  shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "1000", SMARTOPS_SHIM_RATE_LIMIT_BURST: "1000" });
}, 300_000);

afterEach(async () => {
  for (const op of running.splice(0)) if (op.proc.exitCode === null && op.proc.signalCode === null) await op.stop();
});

afterAll(async () => {
  await shim?.stop();
});

describe("closed-loop scale-ups never scale down", () => {
  it("100 resource anomalies through the shim, 16 at a time, zero cooldowns: replicas only rise, up to the cap", async () => {
    const name = "burst-erp";
    await applySmartops(c, burstPolicy(name));
    await createDeployment(c, NS, name, 2);
    await operator("burst", { SMARTOPS_ACTION_WORKERS: "4", SMARTOPS_SIGNAL_WORKERS: "8" });
    const watch = await watchReplicas(name);
    try {
      const ids = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
      for (let i = 0; i < ids.length; i += 16) {
        const codes = await Promise.all(ids.slice(i, i + 16).map((id) => postAnomaly(id, name)));
        expect(codes.every((s) => s >= 200 && s < 300), String(codes)).toBe(true);
      }
      const actions = await waitFor("100 terminal actions", async () => {
        const all = (await listActions(c, NS)).filter((a) => a.spec.target.name === name);
        return all.length === 100 && all.every((a) => TERMINAL.includes(a.status?.phase ?? "")) ? all : undefined;
      }, 240_000, 500);
      expectUpwardActions(actions);
      // Zero cooldowns let a burst compound: up to the cap, never beyond, never back.
      expect((await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas).toBe(10);
      expect(actions.filter((a) => a.status?.phase === "Succeeded").map((a) => a.status!.intent!.replicas).sort((x, y) => x! - y!)).toEqual([4, 6, 8, 10]);
    } finally {
      watch.stop();
    }
    expect(watch.seen[0]).toBe(2);
    expect(nonDecreasing(watch.seen), `replicas went ${watch.seen.join(" → ")}`).toBe(true);
  }, 300_000);

  it("50 anomalies with a kill -9 of the operator in the middle: replicas only rise", async () => {
    const name = "burst-kill";
    await applySmartops(c, burstPolicy(name, { signals: { scaleStep: 1 }, replicas: { min: 1, max: 12, maxStep: 10 } }));
    await createDeployment(c, NS, name, 2);
    const first = await operator("burst-kill-1", { SMARTOPS_ACTION_WORKERS: "4", SMARTOPS_SIGNAL_WORKERS: "8" });
    const watch = await watchReplicas(name);
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `kill-${i}`);
      for (let i = 0; i < ids.length; i += 16) {
        if (i >= 16 && first.proc.exitCode === null && first.proc.signalCode === null) await first.kill9();
        await Promise.all(ids.slice(i, i + 16).map((id) => postAnomaly(id, name)));
      }
      await operator("burst-kill-2", { SMARTOPS_ACTION_WORKERS: "4", SMARTOPS_SIGNAL_WORKERS: "8" });
      const actions = await waitFor("50 terminal actions", async () => {
        const all = (await listActions(c, NS)).filter((a) => a.spec.target.name === name);
        return all.length === 50 && all.every((a) => TERMINAL.includes(a.status?.phase ?? "")) ? all : undefined;
      }, 240_000, 500);
      expectUpwardActions(actions);
      expect((await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas).toBe(12);
    } finally {
      watch.stop();
    }
    expect(nonDecreasing(watch.seen), `replicas went ${watch.seen.join(" → ")}`).toBe(true);
  }, 300_000);

  it("a scale-up approved after a human scaled past its old target goes up from there; at the cap it changes nothing", async () => {
    const name = "approve-erp";
    await applySmartops(c, burstPolicy(name, { signals: { scaleStep: 1 }, approval: { scale: "Required" } }));
    await createDeployment(c, NS, name, 2);
    await operator("approve");
    const watch = await watchReplicas(name);
    try {
      const waiting = await signalToAction(c, anomaly(NS, "approve-1", { service: name, type: "resource" }));
      const pending = await waitForPhase(c, NS, waiting, ["PendingApproval"]);
      expect(pending.spec.scale).toEqual({ by: 1, decidedAtReplicas: 2 });

      // A human scales to 5 while the action waits; its old target was 3.
      kubectl(["-n", NS, "scale", "deployment", name, "--replicas=5"]);
      await waitFor("5 available", () => deploymentAvailable(c, NS, name));
      await approve(waiting);
      const done = await waitForPhase(c, NS, waiting);
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      expect(done.status?.intent).toMatchObject({ fromReplicas: 5, replicas: 6 });
      expect(done.status?.message).toContain("decided at 2 replicas");
      expect((await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas).toBe(6);

      // Past the cap, a waiting scale-up ends Blocked and leaves the Deployment alone.
      const second = await signalToAction(c, anomaly(NS, "approve-2", { service: name, type: "resource" }));
      await waitForPhase(c, NS, second, ["PendingApproval"]);
      kubectl(["-n", NS, "scale", "deployment", name, "--replicas=11"]);
      await waitFor("11 available", () => deploymentAvailable(c, NS, name));
      await approve(second);
      const capped = await waitForPhase(c, NS, second);
      expect(capped.status?.phase, capped.status?.message).toBe("Blocked");
      expect(capped.status?.reason).toBe("MaxReplicasReached");
      expect(capped.status?.message).toContain("11");
      expect(capped.status?.intent).toBeUndefined();
      expect((await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas).toBe(11);
    } finally {
      watch.stop();
    }
    expect(watch.seen).toEqual([2, 5, 6, 11]);
  }, 180_000);

  it("kill -9 between intent and effect, a human scales meanwhile: the restarted operator recomputes instead of applying the stale number", async () => {
    const name = "stale-erp";
    await applySmartops(c, burstPolicy(name, { signals: { scaleStep: 1 } }));
    await createDeployment(c, NS, name, 2);
    const doomed = await operator("stale-1", { SMARTOPS_FAILPOINT: "after-intent" });
    const actionName = await signalToAction(c, anomaly(NS, "stale-1", { service: name, type: "resource" }));
    await doomed.exited;
    const recorded = await getAction(c, NS, actionName);
    expect(recorded.status?.intent).toMatchObject({ fromReplicas: 2, replicas: 3 });

    kubectl(["-n", NS, "scale", "deployment", name, "--replicas=6"]);
    await waitFor("6 available", () => deploymentAvailable(c, NS, name));
    const watch = await watchReplicas(name);
    try {
      await operator("stale-2");
      const done = await waitForPhase(c, NS, actionName);
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      expect(done.status?.intent).toMatchObject({ fromReplicas: 6, replicas: 7 });
      expect((await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas).toBe(7);
    } finally {
      watch.stop();
    }
    expect(watch.seen).toEqual([6, 7]);
  }, 180_000);

  it("a manual absolute scale stays absolute: a human's explicit number is obeyed, also downwards", async () => {
    const name = "manual-erp";
    await applySmartops(c, burstPolicy(name));
    await createDeployment(c, NS, name, 6);
    await operator("manual");
    await applySmartops(c, { apiVersion: "smartops.io/v1alpha1", kind: "RemediationAction", metadata: { name: "manual-down", namespace: NS }, spec: { type: "scale", target: { name }, scale: { replicas: 4 } } });
    const done = await waitForPhase(c, NS, "manual-down");
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(done.status?.intent).toMatchObject({ fromReplicas: 6, replicas: 4 });
    expect((await c.apps.readNamespacedDeployment({ name, namespace: NS })).spec?.replicas).toBe(4);
  }, 120_000);
});

async function approve(name: string): Promise<void> {
  const me = kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).trim();
  kubectl(["-n", NS, "patch", "remediationactions.smartops.io", name, "--type=merge", "-p", JSON.stringify({ spec: { approval: { decision: "Approved", approvedBy: me } } })]);
}
