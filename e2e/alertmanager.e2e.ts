// Alertmanager as a signal source, on the real control plane: a real
// Alertmanager (built from its Go module) whose webhook_config points at the
// real shim's /v1/alertmanager with a ServiceAccount token; an alert posted to
// Alertmanager's API becomes an AnomalySignal and, with the operator running,
// an executed, verified restart; resolving the alert records a normal window that
// the restart's effectiveness counts; an alert carrying the operator's own label
// makes no signal, and neither does the operator's own notification of a
// guardrail block, sent to the same Alertmanager and routed back to the shim.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnomalySignal } from "../operator/src/api/v1alpha1/objects.ts";
import { ORIGIN_LABEL, ORIGIN_VALUE } from "../operator/src/notify/notification.ts";
import { alertWindowId } from "../operator/src/shim/alertmanager.ts";
import { signalName } from "../operator/src/shim/mapping.ts";
import { AGENT_RULES, installAgentRbac } from "./support/agents.ts";
import { type AlertmanagerProcess, startAlertmanager } from "./support/alertmanager.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { action, createDeployment, getAction, listActions, permissive, signalStatus, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountToken } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";

const c = clients();
const NS = "e2e-alertmanager";
const TARGET = "am-checkout";
let shim: ShimProcess;
let op: OperatorProcess;
let am: AlertmanagerProcess;

async function listSignals(): Promise<AnomalySignal[]> {
  return ((await c.custom.listNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural: "anomalysignals" })) as { items: AnomalySignal[] }).items;
}
const fromAlert = (s: AnomalySignal, alertname: string) => (s.spec.metadata as Record<string, unknown> | undefined)?.alertname === alertname;

async function shimMetric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${shim.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

beforeAll(async () => {
  await ensureNamespace(c, NS);
  // Alertmanager's identity: a ServiceAccount allowed to create signals in the namespace.
  installAgentRbac(NS, AGENT_RULES, { agent: "alertmanager" });
  await applySmartops(c, permissive(NS, { effectiveness: { windowSeconds: 30 } }));
  await createDeployment(c, NS, TARGET);
  const token = await serviceAccountToken(c, NS, "alertmanager", ["smartops-shim"]);
  shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS });
  am = await startAlertmanager({ url: `${shim.url}/v1/alertmanager`, token });
  // The operator notifies (every guardrail block, at warning) in Alertmanager's format to the
  // same Alertmanager: the loop the self-label exists to break.
  const notify = join(mkdtempSync(join(tmpdir(), "smartops-am-notify-")), "notify.json");
  writeFileSync(notify, JSON.stringify({ webhooks: [{ name: "alertmanager", url: `${am.url}/api/v2/alerts`, format: "alertmanager", minSeverity: "warning" }] }));
  op = await operatorUnderOwnRbac(c, "alertmanager", { SMARTOPS_NOTIFY_CONFIG: notify });
}, 300_000);

afterAll(async () => {
  await am?.stop();
  await shim?.stop();
  await op?.stop();
});

const startsAt = new Date(Date.now() - 60_000).toISOString();
const latency = { alertname: "CheckoutHighLatency", severity: "critical", namespace: NS, deployment: TARGET };

describe("Alertmanager → shim → AnomalySignal → RemediationAction", () => {
  let firingWindow = "";
  let actionName = "";

  it("an alert posted to Alertmanager's API is routed by its webhook to the shim and becomes an executed, verified restart", async () => {
    await am.postAlerts([{ labels: latency, annotations: { summary: "p99 over 2 s" }, startsAt }]);
    const signal = await waitFor("the alert's AnomalySignal", async () => (await listSignals()).find((s) => fromAlert(s, "CheckoutHighLatency") && s.spec.isAnomaly), 60_000);
    const [mine] = (await am.alerts()).filter((a) => a.labels.alertname === "CheckoutHighLatency");
    firingWindow = alertWindowId(mine!.fingerprint, mine!.startsAt, "firing");
    expect(signal.metadata.name).toBe(signalName(firingWindow));
    expect(signal.spec).toMatchObject({ windowId: firingWindow, service: TARGET, isAnomaly: true, type: "latency", score: 0.95, modelVersion: "alertmanager", confidence: 1 });
    expect(signal.metadata.annotations?.["smartops.io/requested-by"]).toBe(`system:serviceaccount:${NS}:alertmanager`);

    actionName = await waitFor("the signal's action", async () => ((await signalStatus(c, "AnomalySignal", NS, signal.metadata.name)) as { actionRef?: { name: string } } | undefined)?.actionRef?.name, 30_000);
    const a = await waitForPhase(c, NS, actionName);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect(a.spec).toMatchObject({ type: "restart", dryRun: false, source: "closed-loop", target: { name: TARGET }, signalRef: { kind: "AnomalySignal", name: signal.metadata.name } });
    expect(a.status?.verification?.status).toBe("SUCCESS");
    const d = await c.apps.readNamespacedDeployment({ name: TARGET, namespace: NS });
    expect(d.spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBe(a.status?.intent?.restartedAt);
    // Delivered with the bearer token, accepted: no failed webhook notification.
    expect(await am.metric("alertmanager_notifications_total", { integration: "webhook" })).toBeGreaterThanOrEqual(1);
    expect(await am.metric("alertmanager_notifications_failed_total", { integration: "webhook" })).toBe(0);
    expect(await shimMetric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "created" })).toBeGreaterThanOrEqual(1);
  });

  it("resolving the alert records a normal window, which the restart's effectiveness counts", async () => {
    expect(actionName, "needs the first case").not.toBe("");
    await am.postAlerts([{ labels: latency, startsAt, endsAt: new Date(Date.now() - 1000).toISOString() }]);
    const resolvedWindow = `${firingWindow}-resolved`;
    const normal = await waitFor("the resolved alert's normal window", async () => (await listSignals()).find((s) => s.spec.windowId === resolvedWindow), 60_000);
    expect(normal.spec).toMatchObject({ isAnomaly: false, score: 0, service: TARGET, type: "latency", tsRange: { start: expect.any(String), end: expect.any(String) } });
    expect(await waitFor("the normal window ignored", async () => {
      const s = await signalStatus(c, "AnomalySignal", NS, normal.metadata.name);
      return s?.phase === "Ignored" ? s : undefined;
    })).toMatchObject({ reason: "NotAnomalous" });
    const judged = await waitFor("the restart judged", async () => {
      const x = await getAction(c, NS, actionName);
      return x.status?.effectiveness?.state === "Effective" ? x : undefined;
    }, 90_000);
    expect(judged.status?.effectiveness).toMatchObject({ state: "Effective", normalWindows: 1 });
    // One action for the alert: the normal window made none.
    expect((await listActions(c, NS)).map((x) => x.metadata.name)).toEqual([actionName]);
  });

  it(`an alert carrying ${ORIGIN_LABEL}=${ORIGIN_VALUE} (the operator's own notification) is delivered and ignored: no signal`, async () => {
    const before = await shimMetric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "ignored" });
    await am.postAlerts([{ labels: { alertname: "SmartopsEscalatedToHuman", severity: "critical", namespace: NS, deployment: TARGET, [ORIGIN_LABEL]: ORIGIN_VALUE }, startsAt }]);
    await waitFor("the shim to ignore the operator's own alert", async () => (await shimMetric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "ignored" })) > before, 60_000);
    expect(await am.metric("alertmanager_notifications_failed_total", { integration: "webhook" })).toBe(0);
    expect((await listSignals()).filter((s) => fromAlert(s, "SmartopsEscalatedToHuman"))).toEqual([]);
  });

  it("the operator's own notification of a guardrail block, sent to Alertmanager, comes back to the shim and is ignored", async () => {
    const before = await shimMetric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "ignored" });
    await applySmartops(c, action(NS, "am-too-many", { type: "scale", target: { name: TARGET }, scale: { replicas: 50 }, verifyTimeoutSeconds: 30 }));
    const blocked = await waitForPhase(c, NS, "am-too-many");
    expect(blocked.status).toMatchObject({ phase: "Blocked", reason: "MaxReplicasExceeded" });
    const note = await waitFor("the operator's notification in Alertmanager", async () => (await am.alerts()).find((a) => a.labels.alertname === "SmartOpsMaxReplicasExceeded"), 60_000);
    expect(note.labels).toMatchObject({ [ORIGIN_LABEL]: ORIGIN_VALUE, namespace: NS, deployment: TARGET });
    await waitFor("the shim to ignore the routed notification", async () => (await shimMetric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "ignored" })) > before, 60_000);
    expect(await am.metric("alertmanager_notifications_failed_total", { integration: "webhook" })).toBe(0);
    expect((await listSignals()).filter((s) => fromAlert(s, "SmartOpsMaxReplicasExceeded"))).toEqual([]);
    expect((await listActions(c, NS)).map((x) => x.metadata.name).sort()).toEqual([actionName, "am-too-many"].sort());
  });
});
