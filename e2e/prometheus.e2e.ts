// A real Prometheus scraping the real operator and shim (each under its own
// ServiceAccount, as in a cluster) through a closed-loop run driven over the
// shim's HTTP API: every panel query of the chart's Grafana dashboard returns
// data, the chart's rules load and evaluate cleanly and stay silent while all is
// well, and the "operator down" alert's expression turns true once the operator
// stops. Targets carry the labels the chart's ServiceMonitor gives them (job =
// the scraped Service's name, namespace = the release's), scraped every second.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signalName } from "../operator/src/shim/mapping.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { createDeployment, permissive, policy, signalStatus, TERMINAL, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountToken } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";
import { AGENT_RULES, installAgentRbac } from "./support/agents.ts";
import { dashboardQueries, JOBS, type PrometheusProcess, RELEASE_NAMESPACE, renderedRules, type Sample, startPrometheus } from "./support/prometheus.ts";

const c = clients();
const NS = "e2e-prometheus";
const rules = renderedRules();
const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
let op: OperatorProcess;
let shim: ShimProcess;
let prom: PrometheusProcess;
let agent: string;
let promStarted: number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const finite = (s: Sample[]) => s.filter((x) => Number.isFinite(Number(x.value[1])));

beforeAll(async () => {
  await ensureNamespace(c, NS);
  installAgentRbac(NS, AGENT_RULES);
  // Two identical rounds: the second repeats the first's actions, so no escalation ladder (docs/guardrails.md#escalation).
  await applySmartops(c, permissive(NS, { escalation: { enabled: false } }));
  // Restarts of p-cool are held back by a cooldown: the loop's guardrail blocks.
  await applySmartops(c, policy(NS, "p-cool-cooldown", { targets: { selector: { matchLabels: { "app.kubernetes.io/name": "p-cool" } } }, cooldownSeconds: { scale: 0, restart: 300, patch: 0, deletePod: 0 }, escalation: { enabled: false } }));
  await Promise.all([createDeployment(c, NS, "p-restart", 1), createDeployment(c, NS, "p-scale", 1), createDeployment(c, NS, "p-cool", 1)]);
  agent = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
  shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "1000", SMARTOPS_SHIM_RATE_LIMIT_BURST: "1000" });
  op = await operatorUnderOwnRbac(c, "prometheus");
  promStarted = Date.now();
  prom = await startPrometheus([
    { job: JOBS.operator, address: `127.0.0.1:${op.port}`, labels: { namespace: RELEASE_NAMESPACE } },
    { job: JOBS.shim, address: `127.0.0.1:${shim.port}`, labels: { namespace: RELEASE_NAMESPACE } },
  ], rules);
  await waitFor("both targets scraped and up", async () => (await prom.query("up == 1")).length === 2, 30_000, 250);
}, 1_800_000);

afterAll(async () => {
  await prom?.stop();
  await shim?.stop();
  await op?.stop();
});

async function post(path: string, body: unknown): Promise<void> {
  const res = await fetch(shim.url + path, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${agent}` }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

const rcaBody = (windowId: string, service: string, cause: string) => ({ windowId, service, rankedCauses: [{ svc: service, cause, probability: 0.93 }], confidence: 0.9, modelVersion: "v1" });
const anomalyBody = (windowId: string, service: string) => ({ windowId, service, isAnomaly: true, score: 0.95, type: "error", modelVersion: "v1" });

/** One round over HTTP: a restart, a scale, and two restarts of p-cool of which the cooldown blocks at least one. */
async function round(n: number): Promise<string[]> {
  const signals: [kind: "RcaSignal" | "AnomalySignal", path: string, body: { windowId: string }][] = [
    ["RcaSignal", "/v1/signals/rca", rcaBody(`prom-mem-${n}`, "p-restart", "memory_leak")],
    ["RcaSignal", "/v1/signals/rca", rcaBody(`prom-cpu-${n}`, "p-scale", "cpu_saturation")],
    ["AnomalySignal", "/v1/signals/anomaly", anomalyBody(`prom-err-${n}-a`, "p-cool")],
    ["AnomalySignal", "/v1/signals/anomaly", anomalyBody(`prom-err-${n}-b`, "p-cool")],
  ];
  for (const [, path, body] of signals) await post(path, body);
  const actions = await Promise.all(signals.map(([kind, , body]) =>
    waitFor(`action of ${body.windowId}`, async () => ((await signalStatus(c, kind, NS, signalName(body.windowId))) as { actionRef?: { name: string } } | undefined)?.actionRef?.name, 60_000, 100)));
  const done = await Promise.all(actions.map((a) => waitForPhase(c, NS, a, TERMINAL, 120_000)));
  return done.map((a) => `${a.spec.target.name}:${a.spec.type}:${a.status?.phase}`);
}

describe("Prometheus scraping the operator and shim through a closed-loop run", () => {
  it("a closed-loop run over the shim: restarts and scales succeed, the cooldown blocks", async () => {
    const first = await round(1);
    // A few scrapes between rounds, so counters and histograms first seen in
    // round 1 show an increase in round 2 (Prometheus does not count a series'
    // first sample as an increase).
    await sleep(3000);
    const second = await round(2);
    for (const outcomes of [first, second]) {
      expect(outcomes).toContain("p-restart:restart:Succeeded");
      expect(outcomes).toContain("p-scale:scale:Succeeded");
      expect(outcomes).toContain("p-cool:restart:Blocked");
    }
    // Let Prometheus scrape the final state.
    await sleep(3000);
  });

  it("every dashboard panel's query returns data", async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(10);
    // The dashboard viewed over the run: Grafana's range and rate-interval
    // variables both span the time since Prometheus started.
    const range = `${Math.ceil((Date.now() - promStarted) / 1000) + 5}s`;
    const expand = (expr: string) => expr.replaceAll("$__rate_interval", range).replaceAll("$__range", range).replaceAll("$__interval", "1s");
    const results = new Map<string, Sample[]>();
    const empty = async () => {
      const missing: string[] = [];
      for (const q of queries) {
        const r = finite(await prom.query(expand(q.expr)));
        results.set(q.expr, r);
        if (r.length === 0) missing.push(`${q.panel}: ${q.expr}`);
      }
      return missing;
    };
    let missing = await empty();
    for (let i = 0; i < 10 && missing.length > 0; i++) {
      await sleep(1000);
      missing = await empty();
    }
    expect(missing, "panels without data").toEqual([]);
    // And the data is the run's: one leader, restarts and scales that succeeded, cooldown blocks, 200s from the shim.
    const byExpr = (panel: string) => results.get(queries.find((q) => q.panel === panel)!.expr)!;
    expect(byExpr("Leader").map((s) => Number(s.value[1]))).toEqual([1]);
    expect(byExpr("Guardrail blocks by reason").map((s) => s.metric.reason)).toContain("CooldownActive");
    expect(byExpr("Actions by type and result").filter((s) => Number(s.value[1]) > 0).map((s) => `${s.metric.action_type}/${s.metric.status}`)).toEqual(expect.arrayContaining(["restart/succeeded", "scale/succeeded", "restart/blocked"]));
    expect(byExpr("Verification outcomes").filter((s) => Number(s.value[1]) > 0).map((s) => s.metric.status)).toContain("SUCCESS");
    expect(byExpr("Shim requests by route and code").filter((s) => Number(s.value[1]) > 0).map((s) => s.metric.code)).toContain("200");
    expect(Number(byExpr("MTTR (mean signal → recovery)")[0]!.value[1])).toBeGreaterThan(0);
  });

  it("the chart's rules load, evaluate without error, and no alert's expression holds while all is well", async () => {
    const loaded = await waitFor("every rule evaluated", async () => {
      const data = await prom.api<{ groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] }>("/api/v1/rules");
      const all = data.groups.flatMap((g) => g.rules);
      return all.length === alerts.length && all.every((r) => !r.lastEvaluation.startsWith("0001")) && all;
    }, 30_000, 500);
    expect(loaded.map((r) => [r.name, r.health, r.lastError ?? ""])).toEqual(alerts.map((a) => [a.alert, "ok", ""]));
    for (const a of alerts) expect(await prom.query(a.expr), `${a.alert} while healthy`).toEqual([]);
  });

  it("the operator-down alert's expression holds once the operator is stopped (pending: its for: is not waited out)", async () => {
    const down = alerts.find((a) => a.alert === "SmartOpsOperatorDown")!;
    expect(await prom.query(down.expr)).toEqual([]);
    await op.stop();
    const result = await waitFor("operator-down expression true", async () => {
      const r = await prom.query(down.expr);
      return r.length > 0 && r;
    }, 30_000, 250);
    expect(result.map((s) => Number(s.value[1]))).toEqual([1]);
    expect((await prom.query(`up{job="${JOBS.operator}"}`)).map((s) => s.value[1])).toEqual(["0"]);
    // Prometheus' own rule evaluation agrees: the alert is pending.
    const pending = await waitFor("SmartOpsOperatorDown pending", async () => {
      const data = await prom.api<{ alerts: { labels: { alertname: string }; state: string }[] }>("/api/v1/alerts");
      return data.alerts.find((a) => a.labels.alertname === "SmartOpsOperatorDown");
    }, 30_000, 500);
    expect(pending.state).toBe("pending");
  });
});
