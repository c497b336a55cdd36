// Soak benchmark: does the operator reach a steady state and stay there?
//
// Real control plane (etcd fsync on), 200 Deployments on a KWOK node, the seed
// guardrails (samples/valid/guardrailpolicy-default.yaml), the operator and the
// shim as their own processes under their own ServiceAccounts, and two agent
// identities posting through the shim with real tokens at 20 signals/s, open
// loop: most windows normal (isAnomaly false), bursts of anomalies on a few
// "flaky" services, an RCA now and then, and retries of an already accepted
// windowId with the same body. Retention is short (signals and blocked actions
// go after 5 minutes) so that object counts level off within the run.
//
// Every 30 s it samples etcd's DB size, object counts per kind, the operator's
// and the shim's RSS, heap and event-loop delay, the operator's API writes/s and
// queue depth, signal → terminal latency p99 (on this process's clock: POST sent
// → the bench's own watch sees the signal end, or its action reach a terminal
// phase) and the shim's 2xx/4xx/5xx answers, into <out>.csv, plots them into
// <out>.png, and judges the pass criteria (printed at the end; exit code 1 when
// one fails):
//
//  - object counts (AnomalySignals, RcaSignals, RemediationActions) and etcd's DB
//    size plateau: over the last half of the run the least-squares line rises by
//    at most 10 % of the level (or 50 objects). Why 10 %: retention deletes in
//    passes (every 30 s here), so a bounded count saw-tooths by up to one pass's
//    inflow (≈ 600 signals on a level of ≈ 6000) around a flat line, while an
//    unbounded one at 20/s rises by 36 000 over a half hour, 600 % of its level:
//    the threshold separates the two by a wide margin. etcd's file grows until
//    compaction frees pages for reuse and never shrinks without defragmentation,
//    so it is judged the same way;
//  - no RSS growth trend after warm-up (the first half): operator and shim RSS
//    rise by at most 5 % (or 8 MiB) over the last half — a leak of one small
//    object per signal (1 KiB × 36 000) would show as 35 MiB;
//  - nothing lost: after the load stops and a drain period, every signal the
//    shim answered 2xx has an outcome — a terminal phase on the signal
//    (Ignored, NoTarget, Notified, Refused) seen by the bench's watch, or an
//    ActionFinished audit record (the operator's log stream) of its action;
//  - the shim answered no 5xx.
//
// Changed actions stay for the hour the guardrails' rate limit reads them
// (docs/deployment.md#retention): they are bounded by the guardrails instead —
// 6 per Deployment per hour, and anomalies come only from 20 flaky services.
// Core Events expire by the API server's --event-ttl (1 h), so their count is
// recorded but not judged in a run of an hour.
//
//   node bench/soak.bench.ts [--minutes 60] [--out docs/soak/soak-60min]   # writes <out>.csv, .png, .txt (the verdict)
//   make bench-soak [MINUTES=60]
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, kubeconfigYaml, kubectl, startCluster, stopCluster } from "../e2e/controlplane/cluster.ts";
import { signalName } from "../operator/src/shim/mapping.ts";
import { ANOMALY_SIGNALS, RCA_SIGNALS, REMEDIATION_ACTIONS } from "../operator/src/k8s/resources.ts";
import { Kube, type KubeObject, type List, type Operator, parseMetrics, percentile, pool, ROOT, rssMiB, sleep, startOperator, wall } from "./lib.ts";
import { plotPanels, type Rgb } from "./png.ts";
import { account, type Cell, plateau, SIGNAL_END_PHASES, toCsv, type Trend } from "./soak-stats.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "60" },
    deployments: { type: "string", default: "200" },
    rate: { type: "string", default: "20" },
    "sample-seconds": { type: "string", default: "30" },
    "signal-ttl": { type: "string", default: "300" },
    "action-ttl": { type: "string", default: "300" },
    "drain-seconds": { type: "string", default: "240" },
    out: { type: "string" },
  },
});
const MINUTES = Number(values.minutes);
const DEPLOYMENTS = Number(values.deployments);
const RATE = Number(values.rate);
const SAMPLE_S = Number(values["sample-seconds"]);
const DRAIN_S = Number(values["drain-seconds"]);
const OUT = values.out ?? join(ROOT, "docs/soak", `soak-${MINUTES}min`);
const NS = "soak";
const GROUP = "/apis/smartops.io/v1alpha1";
const FLAKY = 20;
const TERMINAL_ACTION = new Set(["Succeeded", "Failed", "Blocked", "Rejected", "Expired"]);
const RETENTION_ENV = {
  SMARTOPS_RETENTION_SIGNAL_TTL_SECONDS: values["signal-ttl"]!,
  SMARTOPS_RETENTION_SIGNALS_PER_NAMESPACE: "100000",
  SMARTOPS_RETENTION_ACTION_TTL_SECONDS: values["action-ttl"]!,
  SMARTOPS_RETENTION_ACTIONS_PER_TARGET: "20",
  SMARTOPS_RETENTION_UNDO_WINDOW_SECONDS: "300",
  SMARTOPS_RETENTION_INTERVAL_SECONDS: "30",
  SMARTOPS_RETENTION_BATCH: "1000",
  // 20 signals/s arrive, so the default 20 deletes/s could never catch up once actions are added.
  SMARTOPS_RETENTION_DELETES_PER_SECOND: "60",
};
if (!(MINUTES > 0) || !(RATE > 0) || !(DEPLOYMENTS >= FLAKY)) throw new Error("--minutes and --rate must be positive, --deployments at least 20");

const svc = (i: number) => `svc-${String(i).padStart(3, "0")}`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(", ");
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

// --- what the bench saw -----------------------------------------------------------

const sentAt = new Map<string, number>(); // signal name → first POST sent (wall ms)
const lastPhase = new Map<string, string>(); // signal name → last phase the watch saw
const accepted = new Set<string>(); // signal names the shim answered 2xx
const done = new Set<string>(); // signal names with their terminal latency taken
let latencies: number[] = []; // completed since the last sample
const codes = { "2xx": 0, "4xx": 0, "5xx": 0, failed: 0, duplicates: 0 };
const codeDetail = new Map<string, number>();

function finished(name: string, at: number): void {
  if (done.has(name)) return;
  const t0 = sentAt.get(name);
  if (t0 === undefined) return;
  done.add(name);
  latencies.push(at - t0);
}

function onSignal(obj: KubeObject, at: number): void {
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  if (!phase) return;
  lastPhase.set(obj.metadata.name, phase);
  if (SIGNAL_END_PHASES.has(phase)) finished(obj.metadata.name, at);
}

function onAction(obj: KubeObject, at: number): void {
  const signal = (obj.spec?.signalRef as { name?: string } | undefined)?.name;
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  if (signal && phase && TERMINAL_ACTION.has(phase)) finished(signal, at);
}

// --- the load -------------------------------------------------------------------

interface Body {
  kind: "anomaly" | "rca";
  body: Record<string, unknown>;
}
const recent: Body[] = []; // accepted bodies, for retries of the same windowId
let seq = 0;
const runId = Date.now().toString(36);

/** Bursts: every 4 minutes from 0:30, 60 s of anomalies on 3 of the 20 flaky services (rotating). */
function burstServices(elapsedS: number): number[] {
  const k = Math.floor((elapsedS - 30) / 240);
  if (elapsedS < 30 || elapsedS - 30 - k * 240 >= 60) return [];
  return [0, 1, 2].map((j) => (k * 3 + j) % FLAKY);
}

function nextSignal(elapsedS: number): Body {
  const r = Math.random();
  if (r < 0.05 && recent.length) return recent[Math.floor(Math.random() * recent.length)]!;
  const id = `${runId}-${seq++}`;
  if (r < 0.07) {
    const s = svc(Math.floor(Math.random() * FLAKY));
    return { kind: "rca", body: { windowId: `rca-${id}`, service: s, rankedCauses: [{ svc: s, cause: "high_error_rate", probability: 0.94 }], confidence: 0.84, modelVersion: "rca-v1" } };
  }
  const burst = burstServices(elapsedS);
  if (burst.length && Math.random() < 0.25) {
    const s = svc(burst[Math.floor(Math.random() * burst.length)]!);
    const type = ["latency", "resource", "error"][Math.floor(Math.random() * 3)]!;
    return { kind: "anomaly", body: { windowId: `w-${id}`, service: s, isAnomaly: true, score: 0.85 + Math.random() * 0.14, confidence: 0.9, type, modelVersion: "v1" } };
  }
  const s = svc(Math.floor(Math.random() * DEPLOYMENTS));
  return { kind: "anomaly", body: { windowId: `w-${id}`, service: s, isAnomaly: false, score: Math.round(Math.random() * 30) / 100, confidence: 0.9, type: "latency", modelVersion: "v1" } };
}

// --- run --------------------------------------------------------------------------

const state = await startCluster({ etcdFsync: true, log: (l) => console.error(l) });
const dir = mkdtempSync(join(tmpdir(), "smartops-soak-"));
let shim: ChildProcess | undefined;
let operator: Operator | undefined;
const stopWatch = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`${sig}: stopping the operator, the shim and the control plane this run started`);
    operator?.proc.kill("SIGKILL");
    shim?.kill("SIGKILL");
    stopCluster(state);
    process.exit(130);
  });
}
const kube = new Kube(state.kubeconfig);
try {
  const k = (args: string[], input?: string) => kubectl(state, args, input);
  k(["apply", "--server-side", "-f", join(ROOT, "crds")]);
  k(["wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=smartops", "--timeout=60s"]);
  k(["apply", "--server-side", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: {name: smartops-system}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  k(["apply", "--server-side", "-f", join(ROOT, "config/rbac/shim.yaml")]);
  k(["apply", "--server-side", "-f", join(ROOT, "config/rbac/operator.yaml")]);
  k(["apply", "--server-side", "-f", "-"], ["detector", "rca-agent"].map((sa) => `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${sa}, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${sa}, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: send-signals}
subjects: [{kind: ServiceAccount, name: ${sa}, namespace: ${NS}}]
---
`).join("") + `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: send-signals, namespace: ${NS}}
rules: [{apiGroups: [smartops.io], resources: [anomalysignals, rcasignals], verbs: [create]}]
`);
  // The seed guardrails, as shipped, in the soak namespace.
  k(["apply", "--server-side", "-f", "-"], readFileSync(join(ROOT, "samples/valid/guardrailpolicy-default.yaml"), "utf8").replace(/namespace: smartops-dev/, `namespace: ${NS}`));
  const duration = `${Math.ceil(MINUTES * 60 + 7200)}s`;
  const token = async (sa: string, ns: string, audience?: string) => {
    for (let i = 0; ; i++) {
      try {
        return k(["create", "token", sa, "-n", ns, `--duration=${duration}`, ...(audience ? [`--audience=${audience}`] : [])]).trim();
      } catch (err) {
        if (i > 50) throw err;
        await sleep(200);
      }
    }
  };
  const ca = readFileSync(state.caFile, "utf8");
  const shimKubeconfig = join(dir, "shim.kubeconfig");
  writeFileSync(shimKubeconfig, kubeconfigYaml(state.server, ca, await token("smartops-shim", "smartops-system"), "smartops-shim"), { mode: 0o600 });
  const opKubeconfig = join(dir, "operator.kubeconfig");
  writeFileSync(opKubeconfig, kubeconfigYaml(state.server, ca, await token("smartops-operator", "smartops-system"), "smartops-operator"), { mode: 0o600 });
  const callers = { anomaly: await token("detector", NS, "smartops-shim"), rca: await token("rca-agent", NS, "smartops-shim") };

  // 200 Deployments of one replica, all Available before the load starts.
  const t0 = performance.now();
  await pool(Array.from({ length: DEPLOYMENTS }, (_, i) => i), 16, (i) => kube.createRetrying(`/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: { name: svc(i), namespace: NS, labels: { "app.kubernetes.io/name": svc(i) } },
    spec: { replicas: 1, selector: { matchLabels: { app: svc(i) } }, template: { metadata: { labels: { app: svc(i) } }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] } } },
  }));
  for (;;) {
    const l = await kube.get<List<KubeObject>>(`/apis/apps/v1/namespaces/${NS}/deployments`);
    const ready = l.items.filter((d) => (d.status as { availableReplicas?: number } | undefined)?.availableReplicas === 1).length;
    if (ready === DEPLOYMENTS) break;
    if (performance.now() - t0 > 600_000) throw new Error(`only ${ready}/${DEPLOYMENTS} Deployments available after 10 min`);
    await sleep(2000);
  }
  log(`${DEPLOYMENTS} Deployments available in ${((performance.now() - t0) / 1000).toFixed(0)} s (load ${load()})`);

  operator = await startOperator({ kubeconfig: opKubeconfig, dir, identity: "soak", env: { LOG_LEVEL: "warn", ...RETENTION_ENV } });
  const shimPort = await freePort();
  const fd = openSync(join(dir, "shim.log"), "a");
  shim = spawn(process.execPath, [join(ROOT, "operator/src/cmd/shim.ts")], {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, KUBECONFIG: shimKubeconfig, SMARTOPS_SHIM_LISTEN: `127.0.0.1:${shimPort}`, SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, LOG_LEVEL: "warn" },
  });
  closeSync(fd);
  const shimUrl = `http://127.0.0.1:${shimPort}`;
  for (let i = 0; !(await fetch(`${shimUrl}/readyz`).catch(() => undefined))?.ok; i++) {
    if (i > 300) throw new Error(`shim not ready:\n${readFileSync(join(dir, "shim.log"), "utf8").slice(-2000)}`);
    await sleep(100);
  }
  await kube.watch(ANOMALY_SIGNALS, NS, (_t, o, at) => onSignal(o, at), stopWatch.signal);
  await kube.watch(RCA_SIGNALS, NS, (_t, o, at) => onSignal(o, at), stopWatch.signal);
  await kube.watch(REMEDIATION_ACTIONS, NS, (_t, o, at) => onAction(o, at), stopWatch.signal);
  log(`operator (pid ${operator.pid}) and shim (pid ${shim.pid}) up; ${MINUTES} min at ${RATE} signals/s; retention ${JSON.stringify(RETENTION_ENV)}`);

  const post = async (b: Body): Promise<void> => {
    const res = await fetch(`${shimUrl}/v1/signals/${b.kind}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${callers[b.kind]}` },
      body: JSON.stringify(b.body),
    }).catch(() => undefined);
    const answer = ((await res?.json().catch(() => ({}))) ?? {}) as { name?: string; duplicate?: boolean };
    const code = res?.status ?? 0;
    codeDetail.set(`${code}`, (codeDetail.get(`${code}`) ?? 0) + 1);
    if (code >= 200 && code < 300 && answer.name) {
      codes["2xx"]++;
      if (answer.duplicate) codes.duplicates++;
      accepted.add(answer.name);
      if (!answer.duplicate) {
        recent.push(b);
        if (recent.length > 200) recent.shift();
      }
    } else if (code >= 400 && code < 500) codes["4xx"]++;
    else if (code >= 500) codes["5xx"]++;
    else codes.failed++;
  };

  // Sampling.
  const rows: Record<string, Cell>[] = [];
  const startWall = wall();
  let prevWrites: { at: number; n: number } | undefined;
  const etcdUrl = `http://127.0.0.1:${state.ports.etcdClient}/metrics`;
  const sum = (m: Map<string, number>, re: RegExp) => [...m].filter(([key]) => re.test(key)).reduce((a, [, v]) => a + v, 0);
  const sample = async (): Promise<void> => {
    const at = wall();
    const [etcd, op, sh] = await Promise.all([
      fetch(etcdUrl).then((r) => r.text()).then(parseMetrics),
      operator!.metrics(),
      fetch(`${shimUrl}/metrics`).then((r) => r.text()).then(parseMetrics),
    ]);
    const [anomalysignals, rcasignals, remediationactions, events] = await Promise.all([
      kube.count(`${GROUP}/namespaces/${NS}/anomalysignals`), kube.count(`${GROUP}/namespaces/${NS}/rcasignals`),
      kube.count(`${GROUP}/namespaces/${NS}/remediationactions`), kube.count(`/api/v1/namespaces/${NS}/events`),
    ]);
    const writes = sum(op, /^smartops_k8s_api_calls_total\{operation="(create|update|patch|delete|status)_/);
    const writesPerS = prevWrites ? (writes - prevWrites.n) / ((at - prevWrites.at) / 1000) : undefined;
    prevWrites = { at, n: writes };
    const shimCode = (re: RegExp) => sum(sh, new RegExp(`^smartops_shim_http_requests_total\\{route="/v1/signals/(anomaly|rca)",code="${re.source}"\\}`));
    const row: Record<string, Cell> = {
      t_s: Math.round((at - startWall) / 1000),
      sent: sentAt.size,
      etcd_db_bytes: etcd.get("etcd_mvcc_db_total_size_in_bytes"),
      etcd_db_in_use_bytes: etcd.get("etcd_mvcc_db_total_size_in_use_in_bytes"),
      anomalysignals, rcasignals, remediationactions, events,
      operator_rss_mib: rssMiB(operator!.pid).rss,
      operator_heap_mib: (op.get("nodejs_heap_size_used_bytes") ?? NaN) / 2 ** 20,
      operator_eventloop_p99_ms: (op.get("nodejs_eventloop_lag_p99_seconds") ?? NaN) * 1000,
      shim_rss_mib: rssMiB(shim!.pid!).rss,
      shim_heap_mib: (sh.get("nodejs_heap_size_used_bytes") ?? NaN) / 2 ** 20,
      shim_eventloop_p99_ms: (sh.get("nodejs_eventloop_lag_p99_seconds") ?? NaN) * 1000,
      operator_api_writes_per_s: writesPerS,
      queue_depth_actions_open: op.get("orchestrator_closed_loop_queue_depth"),
      workqueue_depth: sum(op, /^workqueue_depth\{/),
      signal_terminal_p99_ms: percentile(latencies, 99),
      signal_terminal_n: latencies.length,
      shim_2xx: shimCode(/2\d\d/), shim_4xx: shimCode(/4\d\d/), shim_5xx: shimCode(/5\d\d/),
      retention_deleted: sum(op, /^smartops_retention_deleted_total\{/),
      audit_pending: op.get("smartops_audit_pending"),
    };
    latencies = [];
    rows.push(row);
    log(Object.entries(row).map(([key, v]) => `${key}=${typeof v === "number" ? +v.toFixed(1) : v}`).join(" ") + ` load=${load()}`);
  };

  // Open loop: each signal is sent on its schedule, whatever the previous answer.
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  const endAt = start + MINUTES * 60_000;
  let nextSample = start;
  for (let i = 0; ; i++) {
    const due = start + (i * 1000) / RATE;
    if (due >= endAt) break;
    if (due >= nextSample) {
      nextSample += SAMPLE_S * 1000;
      await sample().catch((err) => log(`sample failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const b = nextSignal((performance.now() - start) / 1000);
    // The first send of a windowId starts its signal's clock; a retry keeps it.
    const name = signalName(b.body.windowId as string);
    if (!sentAt.has(name)) sentAt.set(name, wall());
    const p = post(b).finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  await sample();
  const loadSeconds = (performance.now() - start) / 1000;

  // Drain: the last signals finish their actions.
  const auditedSignals = new Set<string>();
  const readAudit = () => {
    for (const line of readFileSync(operator!.logFile, "utf8").split("\n")) {
      if (!line.includes('"message":"audit"')) continue;
      try {
        const a = (JSON.parse(line) as { audit?: { event?: string; action?: { signalRef?: { name?: string } } } }).audit;
        if (a?.event === "ActionFinished" && a.action?.signalRef?.name) auditedSignals.add(a.action.signalRef.name);
      } catch {
        // a torn last line is read again next time
      }
    }
  };
  let result = account(accepted, lastPhase, auditedSignals);
  const drainStart = performance.now();
  for (;;) {
    readAudit();
    result = account(accepted, lastPhase, auditedSignals);
    if (result.lost.size === 0 || performance.now() - drainStart > DRAIN_S * 1000) break;
    log(`drain: ${result.lost.size} accepted signals without an outcome yet`);
    await sleep(10_000);
  }

  // --- outputs ------------------------------------------------------------------
  const columns = Object.keys(rows[0]!);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(`${OUT}.csv`, toCsv(columns, rows));
  const pts = (col: string, scale = 1) => rows.map((r) => ({ t: Number(r.t_s), y: typeof r[col] === "number" ? (r[col] as number) * scale : NaN }));
  const C: Record<string, Rgb> = { red: [200, 40, 40], blue: [40, 80, 200], green: [30, 140, 60], orange: [220, 120, 0], purple: [130, 60, 170], grey: [110, 110, 110] };
  const canvas = plotPanels([
    { title: "etcd DB size (MiB)", series: [{ name: "total", color: C.red!, points: pts("etcd_db_bytes", 2 ** -20) }, { name: "in use", color: C.blue!, points: pts("etcd_db_in_use_bytes", 2 ** -20) }] },
    { title: "objects in the namespace", series: [{ name: "anomalysignals", color: C.red!, points: pts("anomalysignals") }, { name: "rcasignals", color: C.orange!, points: pts("rcasignals") }, { name: "actions", color: C.blue!, points: pts("remediationactions") }, { name: "events", color: C.grey!, points: pts("events") }] },
    { title: "RSS (MiB)", series: [{ name: "operator", color: C.red!, points: pts("operator_rss_mib") }, { name: "shim", color: C.blue!, points: pts("shim_rss_mib") }] },
    { title: "heap used (MiB)", series: [{ name: "operator", color: C.red!, points: pts("operator_heap_mib") }, { name: "shim", color: C.blue!, points: pts("shim_heap_mib") }] },
    { title: "event-loop delay p99 (ms)", series: [{ name: "operator", color: C.red!, points: pts("operator_eventloop_p99_ms") }, { name: "shim", color: C.blue!, points: pts("shim_eventloop_p99_ms") }] },
    { title: "operator API writes/s and queue depth", series: [{ name: "writes/s", color: C.red!, points: pts("operator_api_writes_per_s") }, { name: "open actions", color: C.blue!, points: pts("queue_depth_actions_open") }, { name: "workqueue", color: C.green!, points: pts("workqueue_depth") }] },
    { title: "signal -> terminal p99 per 30 s (s)", series: [{ name: "p99", color: C.purple!, points: pts("signal_terminal_p99_ms", 1 / 1000) }] },
    { title: "shim answers to signals (cumulative)", series: [{ name: "2xx", color: C.green!, points: pts("shim_2xx") }, { name: "4xx", color: C.orange!, points: pts("shim_4xx") }, { name: "5xx", color: C.red!, points: pts("shim_5xx") }] },
  ], { columns: 2, title: `smartops soak: ${MINUTES} min, ${RATE} signals/s, ${DEPLOYMENTS} Deployments, seed guardrails` });
  writeFileSync(`${OUT}.png`, canvas.png());

  const judge: { what: string; trend?: Trend; pass: boolean; detail: string }[] = [];
  const trend = (what: string, col: string, maxRelativeGrowth: number, absoluteFloor: number, unit = "") => {
    const t = plateau(pts(col), { maxRelativeGrowth, absoluteFloor });
    judge.push({ what, trend: t, pass: t.pass, detail: `last half (${t.n} samples): level ${t.level.toFixed(1)}${unit}, fitted rise ${t.growth.toFixed(1)}${unit} (${(t.relativeGrowth * 100).toFixed(1)} %; limit ${maxRelativeGrowth * 100} % or ${absoluteFloor}${unit})` });
  };
  trend("AnomalySignals plateau", "anomalysignals", 0.1, 50);
  trend("RcaSignals plateau", "rcasignals", 0.1, 50);
  trend("RemediationActions plateau", "remediationactions", 0.1, 50);
  trend("etcd DB size plateau", "etcd_db_bytes", 0.1, 0);
  trend("operator RSS: no growth after warm-up", "operator_rss_mib", 0.05, 8, " MiB");
  trend("shim RSS: no growth after warm-up", "shim_rss_mib", 0.05, 8, " MiB");
  judge.push({ what: "nothing lost", pass: result.lost.size === 0, detail: `${result.accepted} signals accepted (2xx), ${result.endedOnSignal} ended on the signal, ${result.audited} with an ActionFinished audit record, ${result.lost.size} without an outcome${result.lost.size ? ` (by last phase: ${JSON.stringify(Object.fromEntries([...result.lost.values()].reduce((m, p) => m.set(p, (m.get(p) ?? 0) + 1), new Map<string, number>())))})` : ""}` });
  judge.push({ what: "no 5xx from the shim", pass: codes["5xx"] === 0, detail: `answers ${JSON.stringify(Object.fromEntries(codeDetail))} (duplicates ${codes.duplicates}, transport failures ${codes.failed})` });

  const t = plateau(pts("events"), { maxRelativeGrowth: 0.1 });
  const summary: string[] = [];
  const say = (line: string) => { summary.push(line); console.log(line); };
  say(`# soak — ${new Date().toISOString()}, ${MINUTES} min (${loadSeconds.toFixed(0)} s of load), ${RATE} signals/s, ${DEPLOYMENTS} Deployments, etcd fsync on, load ${load()}`);
  say(`csv ${OUT}.csv, plot ${OUT}.png`);
  for (const j of judge) say(`${j.pass ? "PASS" : "FAIL"}  ${j.what}: ${j.detail}`);
  say(`info  Events (not judged: the API server's --event-ttl is 1 h): last-half level ${t.level.toFixed(0)}, fitted rise ${t.growth.toFixed(0)}`);
  const last = rows[rows.length - 1]!;
  say(`info  at the end: etcd DB ${(Number(last.etcd_db_bytes) / 2 ** 20).toFixed(1)} MiB, operator RSS ${Number(last.operator_rss_mib).toFixed(0)} MiB, shim RSS ${Number(last.shim_rss_mib).toFixed(0)} MiB, retention deleted ${last.retention_deleted}`);
  if (MINUTES < 20) say("note  a run this short cannot show a plateau (the signal TTL alone is 5 min and the judged half starts at the middle); it proves the bench end to end only");
  writeFileSync(`${OUT}.txt`, `${summary.join("\n")}\n`);
  if (judge.some((j) => !j.pass)) process.exitCode = 1;
} finally {
  stopWatch.abort();
  await operator?.stop().catch(() => {});
  shim?.kill("SIGTERM");
  await kube.close().catch(() => {});
  stopCluster(state);
  rmSync(dir, { recursive: true, force: true });
}
