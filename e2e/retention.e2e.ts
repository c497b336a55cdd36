// Bounded state on the real control plane: retention with short TTLs deletes
// what nothing needs and keeps what the guardrails and an undo still read; the
// audit record survives a kill -9 between the terminal status write and the
// record; a real ResourceQuota refuses signals (shim: 429) and actions (the
// signal ends Refused, QuotaExceeded).
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RemediationAction, Signal } from "../operator/src/api/v1alpha1/objects.ts";
import { AGENT_RULES, installAgentRbac } from "./support/agents.ts";
import { apiErrorMessage, applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { action, anomaly, createDeployment, getAction, permissive, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, serviceAccountToken, startOperator } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";

const c = clients();
let kubeconfig: string;
const running: { stop(): Promise<void>; proc: { exitCode: number | null; signalCode: NodeJS.Signals | null } }[] = [];

async function operator(identity: string, env: Record<string, string> = {}): Promise<OperatorProcess> {
  const op = await startOperator({ kubeconfig, identity, env });
  running.push(op);
  return op;
}

async function exists(kind: "remediationactions" | "anomalysignals", namespace: string, name: string): Promise<boolean> {
  try {
    await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace, plural: kind, name });
    return true;
  } catch (err) {
    if (apiErrorMessage(err).code === 404) return false;
    throw err;
  }
}

beforeAll(async () => {
  installOperatorRbac();
  kubeconfig = await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator");
});

afterEach(async () => {
  for (const p of running.splice(0)) if (p.proc.exitCode === null && p.proc.signalCode === null) await p.stop();
});

describe("audit records across a crash", () => {
  const NS = "e2e-audit";

  it("kill -9 after the terminal status write, before the record: the restarted operator emits it with the same id, then marks it", async () => {
    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    const doomed = await operator("audit-doomed", { SMARTOPS_FAILPOINT: "before-audit" });
    // No such Deployment: the action ends Blocked (TargetNotFound) at once.
    await applySmartops(c, action(NS, "audit-ghost", { type: "scale", target: { name: "ghost" }, scale: { replicas: 3 } }));
    const code = await doomed.exited;
    expect(doomed.proc.signalCode ?? code).toBe("SIGKILL");
    const terminal = await getAction(c, NS, "audit-ghost");
    expect(terminal.status?.phase).toBe("Blocked");
    expect(terminal.status?.audit).toBeUndefined();
    expect(doomed.logs()).not.toContain('"message":"audit"');

    const id = `${terminal.metadata.uid}/Blocked`;
    const recovered = await operator("audit-recovered");
    await waitFor("the audit record in the log stream", () => recovered.logs().includes(`"audit_id":"${id}"`), 30_000);
    const line = recovered.logs().split("\n").find((l) => l.includes(`"audit_id":"${id}"`))!;
    const parsed = JSON.parse(line) as { message: string; component: string; audit: { schema: string; id: string; decision: { phase: string; reason: string }; action: { name: string } } };
    expect(parsed).toMatchObject({ message: "audit", component: "audit", audit: { schema: "smartops.io/audit/v1", id, decision: { phase: "Blocked", reason: "TargetNotFound" }, action: { name: "audit-ghost" } } });
    const marked = await waitFor("status.audit names the record", async () => {
      const a = await getAction(c, NS, "audit-ghost");
      return a.status?.audit?.some((m) => m.id === id) ? a : undefined;
    }, 30_000);
    expect(marked.status?.audit).toHaveLength(1);
  });
});

describe("retention with short TTLs", () => {
  const NS = "e2e-retention";

  it("deletes what nothing needs; a cooldown still blocks and a revert still undoes after pruning", async () => {
    await ensureNamespace(c, NS);
    // A day-long restart cooldown: the restart that opened it must survive a 1 s TTL.
    await applySmartops(c, permissive(NS, { cooldownSeconds: { scale: 0, restart: 86_400, patch: 0, deletePod: 0 } }));
    await createDeployment(c, NS, "web", 2);
    // This namespace only: with 1 s TTLs an operator watching all would first prune the other suites' objects.
    await operator("retention", {
      SMARTOPS_WATCH_NAMESPACE: NS,
      SMARTOPS_RETENTION_ACTION_TTL_SECONDS: "1",
      SMARTOPS_RETENTION_SIGNAL_TTL_SECONDS: "1",
      SMARTOPS_RETENTION_INTERVAL_SECONDS: "1",
      SMARTOPS_RETENTION_DELETES_PER_SECOND: "5",
    });

    // Nothing needs this one: a signal of a normal window, ignored before any effectiveness window opened.
    await applySmartops(c, anomaly(NS, "normal-1", { service: "web", type: "latency", isAnomaly: false }));
    await waitFor("normal-1 ignored", async () => (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural: "anomalysignals", name: "normal-1" }) as Signal).status?.phase === "Ignored", 30_000);
    await new Promise((r) => setTimeout(r, 1100)); // creation times have one-second resolution

    await applySmartops(c, action(NS, "restart-1", { type: "restart", target: { name: "web" } }));
    expect((await waitForPhase(c, NS, "restart-1")).status?.phase).toBe("Succeeded");
    await applySmartops(c, action(NS, "scale-1", { type: "scale", target: { name: "web" }, scale: { replicas: 3 } }));
    const scaled = await waitForPhase(c, NS, "scale-1");
    expect(scaled.status?.phase, scaled.status?.message).toBe("Succeeded");
    // Nothing needs this either: a blocked action on a missing Deployment (it changed nothing, so no cooldown reads it).
    await applySmartops(c, action(NS, "ghost-1", { type: "scale", target: { name: "ghost" }, scale: { replicas: 3 } }));
    expect((await waitForPhase(c, NS, "ghost-1")).status?.phase).toBe("Blocked");

    await waitFor("ghost-1 and normal-1 pruned", async () => !(await exists("remediationactions", NS, "ghost-1")) && !(await exists("anomalysignals", NS, "normal-1")), 60_000, 500);
    // Still needed: the restart (cooldown window, effectiveness window) and the scale (undo window).
    expect(await exists("remediationactions", NS, "restart-1")).toBe(true);
    expect(await exists("remediationactions", NS, "scale-1")).toBe(true);
    const restart = await getAction(c, NS, "restart-1");
    expect(restart.status?.audit?.map((m) => m.id)).toContain(`${restart.metadata.uid}/Succeeded`);

    await applySmartops(c, action(NS, "restart-2", { type: "restart", target: { name: "web" } }));
    const blocked = await waitForPhase(c, NS, "restart-2");
    expect(blocked.status?.phase).toBe("Blocked");
    expect(blocked.status?.reason).toBe("CooldownActive");

    await applySmartops(c, action(NS, "undo-scale-1", { type: "revert", target: { name: "web" }, revertOf: "scale-1" }));
    const undone = await waitForPhase(c, NS, "undo-scale-1");
    expect(undone.status?.phase, undone.status?.message).toBe("Succeeded");
    const d = await c.apps.readNamespacedDeployment({ name: "web", namespace: NS });
    expect(d.spec?.replicas).toBe(2);
  });
});

describe("quotas for writers", () => {
  const NS = "e2e-quota";
  let shim: ShimProcess | undefined;

  afterEach(async () => {
    await shim?.stop();
    shim = undefined;
  });

  it("a spent signal quota is a 429 from the shim naming the quota; an action the quota refuses ends its signal Refused", { timeout: 420_000 }, async () => {
    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    await createDeployment(c, NS, "web", 2);
    // The quota controller counts custom resources only once its discovery resync (30 s) has
    // seen their kinds; a quota it could not count at creation waits for the 5-minute full
    // resync. So: create both quotas, and re-create them until counted.
    const quotas = [
      `apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: smartops-signals, namespace: ${NS}}\nspec: {hard: {count/anomalysignals.smartops.io: "1"}}`,
      `apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: no-actions, namespace: ${NS}}\nspec: {hard: {count/remediationactions.smartops.io: "0"}}`,
    ].join("\n---\n");
    const counted = () => ["smartops-signals", "no-actions"].every((q) => kubectl(["-n", NS, "get", "resourcequota", q, "-o", "jsonpath={.status.used}"]).includes("smartops.io"));
    for (let attempt = 0; ; attempt++) {
      kubectl(["apply", "--server-side", "-f", "-"], quotas);
      const ok = await waitFor("quotas counted", counted, 20_000, 1000).catch(() => false);
      if (ok) break;
      if (attempt >= 8) throw new Error("the quota controller never counted the ResourceQuotas");
      kubectl(["-n", NS, "delete", "resourcequota", "smartops-signals", "no-actions", "--wait=true"]);
    }

    installAgentRbac(NS, AGENT_RULES);
    const token = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
    shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS });
    const post = (windowId: string) => fetch(`${shim!.url}/v1/signals/anomaly`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ windowId, service: "web", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1" }),
    });
    // Until the quota controller has counted a new quota (it learns of custom resources on its
    // discovery resync) the API server refuses creates with "status unknown for quota": the shim
    // answers 503 Retry-After 1, and the agent retries the same windowId.
    const first = await post("quota-1");
    expect(first.status, await first.clone().text()).toBe(200);
    const second = await post("quota-2");
    const body = await second.json() as { error: string; message: string };
    expect(second.status, JSON.stringify(body)).toBe(429);
    expect(body.error).toBe("TooManyRequests");
    expect(body.message).toContain("exceeded quota: smartops-signals");
    expect(second.headers.get("retry-after")).toBe("30");

    // The accepted signal's action: refused by the no-actions quota, the signal ends Refused, not retried forever.
    await operator("quota");
    const sigName = ((await first.json()) as { name: string }).name;
    const refused = await waitFor("the signal ends Refused", async () => {
      const s = await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural: "anomalysignals", name: sigName }) as Signal;
      return s.status?.phase === "Refused" ? s : undefined;
    }, 60_000, 500);
    expect(refused.status?.reason).toBe("QuotaExceeded");
    expect(refused.status?.message).toMatch(/forbidden: exceeded quota: no-actions/);
    const actions = await c.custom.listNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural: "remediationactions" }) as { items: RemediationAction[] };
    expect(actions.items).toEqual([]);
  });
});
