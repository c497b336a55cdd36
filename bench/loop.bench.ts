// Closed-loop benchmark on the real local control plane (etcd fsync on): the
// operator runs as its own process under its own ServiceAccount token (the RBAC
// of config/rbac/operator.yaml), and the bench watches the cluster to see when
// each signal's mutation lands.
//
//   node bench/loop.bench.ts                    # all parts
//   node bench/loop.bench.ts --part latency     # steady 20 signals/s for 30 s, one signal per Deployment
//   node bench/loop.bench.ts --part burst       # 1000 signals at once (dry-run, then real), one per Deployment
//   node bench/loop.bench.ts --part memory      # standby operator RSS with 10k signals, actions, Deployments
//   node bench/loop.bench.ts --part burst --burst-deployments 200   # 5 signals per Deployment
//   node bench/loop.bench.ts --built            # run the compiled operator (tsc) instead of the .ts sources
//
// Each part gets its own control plane (the controller-manager's rollouts of one
// part would otherwise still be running in the next).
//
// Latency of one signal = t1 − t0, both on this process's clock: t0 just before
// the signal's POST is sent; t1 when this process's own WATCH on Deployments
// delivers the change stamped smartops.io/last-action = uid of the action whose
// spec.signalRef.name is that signal. The split uses the same clock: the POST's
// return, the action's ADDED event and the event that first shows status.intent.
import * as k8s from "@kubernetes/client-node";
import type { V1Deployment } from "@kubernetes/client-node";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ClusterState, COMPONENTS, kubeconfigYaml, kubectl, startCluster, stopCluster } from "../e2e/controlplane/cluster.ts";
import { loadKubeConfig } from "../operator/src/k8s/client.ts";
import { DEPLOYMENTS, REMEDIATION_ACTIONS } from "../operator/src/k8s/resources.ts";
import { deploymentAvailable } from "../operator/src/remediation/rollout.ts";
import {
  buildOperator, cpuSeconds, dist, histogramDelta, httpsText, Kube, type KubeObject, type List, type Operator, parseMetrics, percentile, pool, ROOT, rssMiB, sleep,
  startOperator, wall,
} from "./lib.ts";

const { values } = parseArgs({
  options: {
    part: { type: "string", default: "all" },
    deployments: { type: "string" },
    rate: { type: "string", default: "20" },
    duration: { type: "string", default: "30" },
    burst: { type: "string", default: "1000" },
    "burst-deployments": { type: "string", default: "1000" },
    "burst-concurrency": { type: "string", default: "64" },
    objects: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "32" },
    "action-workers": { type: "string" },
    "signal-workers": { type: "string" },
    "no-fsync": { type: "boolean", default: false },
    built: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const PART = values.part;
if (!["latency", "burst", "memory", "all"].includes(PART)) throw new Error(`--part must be latency, burst, memory or all (got ${PART})`);
const RATE = Number(values.rate);
const DURATION_S = Number(values.duration);
// Default: one signal per Deployment over the timed window, so no signal waits behind another's rollout.
const STEADY_DEPLOYMENTS = Number(values.deployments ?? Math.round(RATE * DURATION_S));
const BURST = Number(values.burst);
const BURST_DEPLOYMENTS = Number(values["burst-deployments"]);
const BURST_CONCURRENCY = Number(values["burst-concurrency"]);
const OBJECTS = Number(values.objects);
const CONCURRENCY = Number(values.concurrency);
const FSYNC = !values["no-fsync"];
const OPERATOR_ENV: Record<string, string> = {
  ...(values["action-workers"] ? { SMARTOPS_ACTION_WORKERS: values["action-workers"] } : {}),
  ...(values["signal-workers"] ? { SMARTOPS_SIGNAL_WORKERS: values["signal-workers"] } : {}),
};
const TERMINAL = new Set(["Succeeded", "Failed", "Blocked", "Rejected", "Expired"]);
const GROUP_PATH = "/apis/smartops.io/v1alpha1";
const MIB = 1024 * 1024;

const results: Record<string, unknown> = {};
function say(line = ""): void {
  console.log(line);
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(", ");
const depName = (i: number) => `svc-${String(i).padStart(5, "0")}`;


// --- objects --------------------------------------------------------------------

function deployment(ns: string, name: string, replicas: number) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels: { "app.kubernetes.io/name": name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
    },
  };
}

/** A latency anomaly (→ restart). Without modelVersion the signal is unverified and its action a dry run. */
function anomaly(ns: string, name: string, service: string, verified = true) {
  return {
    apiVersion: "smartops.io/v1alpha1",
    kind: "AnomalySignal",
    metadata: { name, namespace: ns },
    spec: { windowId: name, service, isAnomaly: true, score: 0.9, confidence: 0.9, type: "latency", ...(verified ? { modelVersion: "v1" } : {}) },
  };
}

/** No cooldown, rates far above what the runs reach: nothing is blocked by guardrails. */
function permissivePolicy(ns: string) {
  return {
    apiVersion: "smartops.io/v1alpha1",
    kind: "GuardrailPolicy",
    metadata: { name: "bench-permissive", namespace: ns },
    spec: {
      cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
      rateLimits: { maxActionsPerHour: 10000, maxScaleIncreasePer15Minutes: 1000 },
    },
  };
}

/** The status the controller-manager gives a settled Deployment of 0 replicas. */
function zeroReplicaStatus(name: string) {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    observedGeneration: 1,
    conditions: [
      { type: "Available", status: "True", lastUpdateTime: now, lastTransitionTime: now, reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability." },
      { type: "Progressing", status: "True", lastUpdateTime: now, lastTransitionTime: now, reason: "NewReplicaSetAvailable", message: `ReplicaSet "${name}-6d4cf56db6" has successfully progressed.` },
    ],
  };
}

// --- cluster --------------------------------------------------------------------

interface Ctx {
  state: ClusterState;
  kube: Kube;
  /** kubeconfig with the operator ServiceAccount's token. */
  operatorKubeconfig: string;
  dir: string;
}

// What is running, so that an interrupted run (Ctrl-C, SIGTERM) still stops it.
const liveClusters = new Set<Ctx>();
const liveOperators = new Set<Operator>();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`${sig}: stopping the operators and control planes this run started`);
    for (const op of liveOperators) op.proc.kill("SIGKILL");
    for (const ctx of liveClusters) {
      stopCluster(ctx.state);
      rmSync(ctx.dir, { recursive: true, force: true });
    }
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
    process.exit(130);
  });
}

async function launchOperator(opts: Parameters<typeof startOperator>[0]): Promise<Operator> {
  const op = await startOperator(opts);
  liveOperators.add(op);
  const stop = op.stop;
  op.stop = async () => {
    await stop();
    liveOperators.delete(op);
  };
  return op;
}

async function setupCluster(nodes: number): Promise<Ctx> {
  const t0 = performance.now();
  const state = await startCluster({ etcdFsync: FSYNC });
  const dir = mkdtempSync(join(tmpdir(), "smartops-loop-bench-"));
  try {
    kubectl(state, ["apply", "--server-side", "-f", join(ROOT, "crds")]);
    kubectl(state, ["wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=smartops", "--timeout=60s"]);
    kubectl(state, ["apply", "--server-side", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: smartops-system\n");
    kubectl(state, ["apply", "--server-side", "-f", join(ROOT, "config/rbac/operator.yaml")]);
    let token = "";
    for (let i = 0; !token; i++) {
      try {
        token = kubectl(state, ["create", "token", "smartops-operator", "-n", "smartops-system", "--duration=6h"]).trim();
      } catch (err) {
        if (i > 50) throw err;
        await sleep(200);
      }
    }
    const operatorKubeconfig = join(dir, "operator.kubeconfig");
    writeFileSync(operatorKubeconfig, kubeconfigYaml(state.server, readFileSync(state.caFile, "utf8"), token, "smartops-system-smartops-operator"), { mode: 0o600 });
    // startCluster makes kwok-node-0 (1000 pods); add more when the runs need room for surge pods.
    for (let i = 1; i < nodes; i++) {
      const node = {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: `kwok-node-${i}`,
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { "kubernetes.io/hostname": `kwok-node-${i}`, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
        },
        status: { allocatable: { cpu: "64", memory: "256Gi", pods: "1000" }, capacity: { cpu: "64", memory: "256Gi", pods: "1000" } },
      };
      kubectl(state, ["apply", "--server-side", "-f", "-"], JSON.stringify(node));
    }
    if (nodes > 1) kubectl(state, ["wait", "--for=condition=Ready", "node", "--all", "--timeout=60s"]);
    console.log(`control plane up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${nodes} KWOK node(s), etcd fsync ${FSYNC ? "on" : "off"}), work dir ${dir}`);
    const ctx = { state, kube: new Kube(state.kubeconfig), operatorKubeconfig, dir };
    liveClusters.add(ctx);
    return ctx;
  } catch (err) {
    stopCluster(state);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function teardown(ctx: Ctx): Promise<void> {
  await ctx.kube.close();
  stopCluster(ctx.state);
  rmSync(ctx.dir, { recursive: true, force: true });
  liveClusters.delete(ctx);
}

async function createNamespace(ctx: Ctx, ns: string): Promise<void> {
  await ctx.kube.createRetrying("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  // Pods are admitted only once the namespace's default ServiceAccount exists.
  for (let i = 0; ; i++) {
    try {
      await ctx.kube.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
      return;
    } catch (err) {
      if (i > 300) throw err;
      await sleep(100);
    }
  }
}

async function createMany(ctx: Ctx, what: string, path: string, n: number, body: (i: number) => unknown, op?: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  const one = op ? async (i: number) => void (await op(i)) : (i: number) => ctx.kube.createRetrying(path, body(i));
  await pool(Array.from({ length: n }, (_, i) => i), CONCURRENCY, one, {
    every: Math.max(100, Math.ceil(n / 10 / 100) * 100),
    report: (done) => console.log(`  ${what}: ${done}/${n} done (${(done / ((performance.now() - t0) / 1000)).toFixed(0)}/s, load ${load()})`),
  });
  const s = (performance.now() - t0) / 1000;
  console.log(`  ${what}: ${n} done in ${s.toFixed(1)} s (${(n / s).toFixed(0)}/s)`);
  return s;
}

/** Polls until `ok` holds for all n Deployments of the namespace (the controller-manager works through them at its own pace). */
async function waitDeployments(ctx: Ctx, ns: string, n: number, what: string, ok: (d: V1Deployment) => boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (let last = -1; ;) {
    const l = await ctx.kube.get<List<V1Deployment>>(`/apis/apps/v1/namespaces/${ns}/deployments`);
    const done = l.items.filter(ok).length;
    if (done !== last) console.log(`  ${ns}: ${done}/${n} Deployments ${what} (${((performance.now() - t0) / 1000).toFixed(0)} s, load ${load()})`);
    last = done;
    if (done === n) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${ns}: only ${done}/${n} Deployments ${what} after ${timeoutMs / 1000} s`);
    await sleep(2000);
  }
}


/** Namespace with a permissive policy and n Deployments of 1 replica, all Available. */
async function prepareNamespace(ctx: Ctx, ns: string, n: number): Promise<void> {
  await createNamespace(ctx, ns);
  await ctx.kube.createRetrying(`${GROUP_PATH}/namespaces/${ns}/guardrailpolicies`, permissivePolicy(ns));
  await createMany(ctx, `${ns} Deployments`, `/apis/apps/v1/namespaces/${ns}/deployments`, n, (i) => deployment(ns, depName(i), 1));
  await waitDeployments(ctx, ns, n, "available", deploymentAvailable, 1_200_000);
}

// --- control-plane metrics ------------------------------------------------------

/** One scrape of etcd and kube-apiserver, keys prefixed with the component. (The controller-manager's /metrics needs delegated authn this cluster does not configure.) */
async function controlPlaneMetrics(ctx: Ctx): Promise<Map<string, number>> {
  const s = ctx.state;
  const out = new Map<string, number>();
  const add = (prefix: string, text: string) => {
    for (const [k, v] of parseMetrics(text)) out.set(`${prefix}:${k}`, v);
  };
  const scrape = async (prefix: string, get: () => Promise<string>) => {
    try {
      add(prefix, await get());
    } catch (err) {
      console.log(`  (no ${prefix} metrics: ${err instanceof Error ? err.message : String(err)})`);
    }
  };
  await scrape("etcd", async () => (await fetch(`http://127.0.0.1:${s.ports.etcdClient}/metrics`)).text());
  await scrape("apiserver", () => httpsText(`${s.server}/metrics`, s.adminToken, readFileSync(s.caFile)));
  return out;
}

/** Sum of a counter's increase over the label sets whose labels match. */
function counterDelta(before: Map<string, number>, after: Map<string, number>, name: string, labels: RegExp): number {
  let sum = 0;
  for (const [k, v] of after) if (k.startsWith(`${name}{`) && labels.test(k)) sum += v - (before.get(k) ?? 0);
  return sum;
}

function printControlPlaneDeltas(before: Map<string, number>, after: Map<string, number>, seconds: number): void {
  say("    control plane over the run (count × mean):");
  for (const name of ["etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds"]) {
    for (const row of histogramDelta(before, after, `etcd:${name}`)) say(`      etcd ${name}: ${row.count} × ${row.meanMs.toFixed(2)} ms`);
  }
  const writes = histogramDelta(before, after, "apiserver:apiserver_request_duration_seconds")
    .filter((r) => /verb="(POST|PUT|PATCH|DELETE)"/.test(r.labels) && /resource="(anomalysignals|remediationactions|deployments|events)"/.test(r.labels))
    .slice(0, 8);
  for (const row of writes) {
    const pick = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(row.labels)?.[1] ?? "";
    say(`      apiserver ${pick("verb")} ${pick("resource")}${pick("subresource") ? `/${pick("subresource")}` : ""} (${pick("group") || "core"}): ${row.count} × ${row.meanMs.toFixed(1)} ms`);
  }
  // The controller-manager's writes for rollouts, by the controller that makes them.
  const req = "apiserver:apiserver_request_total";
  const c = (re: RegExp) => counterDelta(before, after, req, re);
  const deploymentController = c(/resource="replicasets",scope="namespace",subresource="",verb="POST"/) + c(/resource="replicasets",scope="resource",subresource="",verb="(PUT|PATCH)"/) + c(/resource="deployments",scope="resource",subresource="status",verb="PUT"/);
  const replicaSetController = c(/resource="pods",scope="namespace",subresource="",verb="POST"/) + c(/resource="pods",scope="resource",subresource="",verb="DELETE"/) + c(/resource="replicasets",scope="resource",subresource="status",verb="PUT"/);
  if (deploymentController + replicaSetController > 0) {
    say(`      controller-manager writes: deployment controller ${deploymentController} (${(deploymentController / seconds).toFixed(1)}/s), replicaset controller ${replicaSetController} (${(replicaSetController / seconds).toFixed(1)}/s) over ${seconds.toFixed(0)} s; each controller's client is limited to 20 requests/s (burst 30) by default`);
  }
}

// --- tracking -------------------------------------------------------------------

interface SignalRec {
  name: string;
  t0: number;
  tc?: number;
  err?: string;
}

interface ActionRec {
  name: string;
  uid: string;
  tAdded: number;
  tIntent?: number;
  tTerminal?: number;
  phase?: string;
  reason?: string;
  startedAt?: string;
}

/** Watches one namespace's RemediationActions and Deployments. */
class Tracker {
  readonly actions = new Map<string, ActionRec>(); // by signal name
  readonly mutations = new Map<string, number>(); // action uid → first time a Deployment carried it
  readonly #stop = new AbortController();
  #done: Promise<void>[] = [];

  static async start(kube: Kube, ns: string): Promise<Tracker> {
    const t = new Tracker();
    const a = await kube.watch(REMEDIATION_ACTIONS, ns, (_type, obj, at) => t.#onAction(obj, at), t.#stop.signal);
    const d = await kube.watch(DEPLOYMENTS, ns, (_type, obj, at) => t.#onDeployment(obj, at), t.#stop.signal);
    t.#done = [a.done, d.done];
    return t;
  }

  #onAction(obj: KubeObject, at: number): void {
    const signal = (obj.spec?.signalRef as { name?: string } | undefined)?.name;
    if (!signal) return;
    let rec = this.actions.get(signal);
    if (!rec) {
      rec = { name: obj.metadata.name, uid: obj.metadata.uid!, tAdded: at };
      this.actions.set(signal, rec);
    }
    const st = obj.status as { phase?: string; reason?: string; intent?: unknown; startedAt?: string } | undefined;
    if (st?.intent && rec.tIntent === undefined) {
      rec.tIntent = at;
      rec.startedAt = st.startedAt;
    }
    if (st?.phase && TERMINAL.has(st.phase) && rec.tTerminal === undefined) {
      rec.tTerminal = at;
      rec.phase = st.phase;
      rec.reason = st.reason;
    }
  }

  #onDeployment(obj: KubeObject, at: number): void {
    const uid = obj.metadata.annotations?.["smartops.io/last-action"];
    if (uid && !this.mutations.has(uid)) this.mutations.set(uid, at);
  }

  terminal(sigs: readonly SignalRec[]): number {
    return sigs.filter((s) => this.actions.get(s.name)?.tTerminal !== undefined).length;
  }

  async waitTerminal(sigs: readonly SignalRec[], timeoutMs: number, label: string): Promise<boolean> {
    const want = sigs.filter((s) => !s.err);
    const deadline = performance.now() + timeoutMs;
    let lastLog = performance.now();
    for (;;) {
      const n = this.terminal(want);
      if (n === want.length) return true;
      if (performance.now() > deadline) {
        console.log(`  ${label}: only ${n}/${want.length} actions terminal after ${timeoutMs / 1000} s`);
        return false;
      }
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        const created = want.filter((s) => this.actions.has(s.name)).length;
        const mutated = want.filter((s) => this.mutations.has(this.actions.get(s.name)?.uid ?? "")).length;
        console.log(`  ${label}: ${created}/${want.length} actions created, ${mutated} Deployments mutated, ${n} actions terminal (load ${load()})`);
      }
      await sleep(20);
    }
  }

  async waitMutated(sigs: readonly SignalRec[], timeoutMs: number, label: string): Promise<boolean> {
    const want = sigs.filter((s) => !s.err);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const n = want.filter((s) => this.mutations.has(this.actions.get(s.name)?.uid ?? "")).length;
      if (n === want.length) return true;
      if (performance.now() > deadline) {
        console.log(`  ${label}: only ${n}/${want.length} Deployments mutated after ${timeoutMs / 1000} s`);
        return false;
      }
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#done);
  }
}

async function sendSignal(kube: Kube, ns: string, name: string, service: string, into: SignalRec[], verified = true): Promise<void> {
  const rec: SignalRec = { name, t0: wall() };
  into.push(rec);
  try {
    await kube.create(`${GROUP_PATH}/namespaces/${ns}/anomalysignals`, anomaly(ns, name, service, verified));
    rec.tc = wall();
  } catch (err) {
    rec.err = err instanceof Error ? err.message : String(err);
  }
}

interface Analysis {
  sent: number;
  createErrors: number;
  noAction: number;
  notMutated: number;
  phases: Record<string, number>;
  latency: number[];
  create: number[];
  toActionSeen: number[];
  toIntentSeen: number[];
  toMutationSeen: number[];
  toOperatorIntent: number[];
  operatorIntentToMutation: number[];
  mutationToTerminal: number[];
  toTerminal: number[];
}

function analyse(t: Tracker, sigs: readonly SignalRec[]): Analysis {
  const r: Analysis = {
    sent: sigs.length, createErrors: 0, noAction: 0, notMutated: 0, phases: {},
    latency: [], create: [], toActionSeen: [], toIntentSeen: [], toMutationSeen: [], toOperatorIntent: [], operatorIntentToMutation: [], mutationToTerminal: [], toTerminal: [],
  };
  for (const s of sigs) {
    if (s.err || s.tc === undefined) {
      r.createErrors++;
      continue;
    }
    const a = t.actions.get(s.name);
    if (!a) {
      r.noAction++;
      continue;
    }
    const phase = a.phase ? (a.phase === "Succeeded" ? a.phase : `${a.phase}/${a.reason}`) : "not terminal";
    r.phases[phase] = (r.phases[phase] ?? 0) + 1;
    r.create.push(s.tc - s.t0);
    r.toActionSeen.push(a.tAdded - s.tc);
    if (a.tTerminal !== undefined) r.toTerminal.push(a.tTerminal - s.t0);
    const t1 = t.mutations.get(a.uid);
    if (t1 === undefined) {
      r.notMutated++;
      continue;
    }
    r.latency.push(t1 - s.t0);
    if (a.tIntent !== undefined) {
      r.toIntentSeen.push(a.tIntent - a.tAdded);
      r.toMutationSeen.push(t1 - a.tIntent);
    }
    if (a.tTerminal !== undefined) r.mutationToTerminal.push(a.tTerminal - t1);
    const started = Date.parse(a.startedAt ?? "");
    if (Number.isFinite(started)) {
      r.toOperatorIntent.push(started - s.t0);
      r.operatorIntentToMutation.push(t1 - started);
    }
  }
  return r;
}

function printAnalysis(label: string, r: Analysis): void {
  say(`  signals sent ${r.sent}, create errors ${r.createErrors}, without action ${r.noAction}, action without mutation ${r.notMutated}`);
  say(`  action outcomes: ${Object.entries(r.phases).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  if (r.latency.length) say(`  ${label} signal → mutation seen (t1−t0): ${dist(r.latency)}`);
  say("    split, each step on the bench's clock (they add up to t1−t0 per signal):");
  say(`      POST signal returned          ${dist(r.create)}`);
  say(`      → action ADDED seen           ${dist(r.toActionSeen)}`);
  if (r.latency.length) {
    say(`      → action status.intent seen   ${dist(r.toIntentSeen)}`);
    say(`      → Deployment mutation seen    ${dist(r.toMutationSeen)}`);
    say(`    with the operator's clock: t0 → status.startedAt (intent decided) ${dist(r.toOperatorIntent)}`);
    say(`                               startedAt → mutation seen            ${dist(r.operatorIntentToMutation)}`);
    say(`    after the mutation: mutation seen → action terminal seen (rollout + verification) ${dist(r.mutationToTerminal, "ms", 0)}`);
  }
  say(`    signal → action terminal seen: ${dist(r.toTerminal, "ms", 0)}`);
}

function printMetricDeltas(before: Map<string, number>, after: Map<string, number>): void {
  say("    operator metrics over the run (count × mean):");
  for (const name of ["workqueue_queue_duration_seconds", "workqueue_work_duration_seconds", "smartops_k8s_api_latency_seconds", "smartops_orchestrator_verification_duration_seconds"]) {
    for (const row of histogramDelta(before, after, name).slice(0, 8)) say(`      ${name}${row.labels}: ${row.count} × ${row.meanMs.toFixed(1)} ms`);
  }
  // The operator's own API writes (every call goes through KubeApi, counted by operation),
  // per action it created over the run; the actions still verifying at the end have not
  // made their final status write yet, so the figure is for what happened within the run.
  const writes = new Map<string, number>();
  for (const [k, v] of after) {
    const op = /^smartops_k8s_api_calls_total\{operation="((?:create|status|patch|update)_[^"]+)"\}$/.exec(k)?.[1];
    if (op) writes.set(op, (writes.get(op) ?? 0) + v - (before.get(k) ?? 0));
  }
  const created = writes.get("create_remediationaction") ?? 0;
  const terminal = counterDelta(before, after, "smartops_orchestrator_actions_total", /./);
  const total = [...writes.values()].reduce((x, y) => x + y, 0);
  if (created > 0) {
    say(`      operator API writes: ${total} for ${created} action(s) created, ${terminal} terminal = ${(total / created).toFixed(2)} per action (${[...writes].filter(([, n]) => n > 0).map(([o, n]) => `${o} ${(n / created).toFixed(2)}`).join(", ")})`);
  }
  // prom-client resets its event-loop delay histogram at each scrape: these cover the run.
  const lag = (q: string) => ((after.get(`nodejs_eventloop_lag_${q}_seconds`) ?? NaN) * 1000).toFixed(1);
  say(`      operator event-loop delay over the run: mean ${lag("mean")} ms, p99 ${lag("p99")} ms, max ${lag("max")} ms`);
}

interface CpuSnapshot {
  at: number;
  bench: number;
  procs: Record<string, number>;
}

function cpuSnapshot(ctx: Ctx, op: Operator): CpuSnapshot {
  const procs: Record<string, number> = { operator: cpuSeconds(op.pid) };
  for (const c of COMPONENTS) procs[c] = cpuSeconds(ctx.state.processes[c]!.pid);
  const u = process.cpuUsage();
  return { at: performance.now(), bench: (u.user + u.system) / 1e6, procs };
}

function printCpu(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const secs = (b.at - a.at) / 1000;
  const used: Record<string, number> = { bench: (b.bench - a.bench) / secs };
  for (const k of Object.keys(a.procs)) used[k] = (b.procs[k]! - a.procs[k]!) / secs;
  say(`    CPU cores used over ${secs.toFixed(1)} s: ${Object.entries(used).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")} (machine: ${cpus().length} cores)`);
  return used;
}

/** Snapshots before a run, and the printed deltas after it. */
async function measure<T>(ctx: Ctx, op: Operator, run: () => Promise<T>): Promise<{ value: T; cpu: Record<string, number>; maxSockets: number; maxRss: number }> {
  const m0 = await op.metrics();
  const cp0 = await controlPlaneMetrics(ctx);
  const c0 = cpuSnapshot(ctx, op);
  let maxSockets = socketCount(op.pid);
  let maxRss = rssMiB(op.pid).rss;
  const sampler = setInterval(() => {
    maxSockets = Math.max(maxSockets, socketCount(op.pid));
    maxRss = Math.max(maxRss, rssMiB(op.pid).rss);
  }, 250);
  let value: T;
  try {
    value = await run();
  } finally {
    clearInterval(sampler);
  }
  const c1 = cpuSnapshot(ctx, op);
  const m1 = await op.metrics();
  const cp1 = await controlPlaneMetrics(ctx);
  printMetricDeltas(m0, m1);
  printControlPlaneDeltas(cp0, cp1, (c1.at - c0.at) / 1000);
  const cpu = printCpu(c0, c1);
  say(`    operator during the run: at most ${maxSockets} open sockets, RSS at most ${maxRss.toFixed(0)} MiB (250 ms samples)`);
  return { value, cpu, maxSockets, maxRss };
}

/** Open sockets of a process (its connections to the API server, plus the telemetry listener). */
function socketCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:");
      } catch {
        return false;
      }
    }).length;
  } catch {
    return NaN;
  }
}

/**
 * The cost of one API call on the operator's write path, measured apart: 100
 * sequential GETs of one Deployment with the operator's token, through the
 * @kubernetes/client-node generated client as shipped (a new connection pool per
 * request), and through the operator's KubeApi (one pooled keep-alive transport,
 * as every operator call goes).
 */
async function clientProbe(ctx: Ctx, ns: string): Promise<{ generated: number[]; pooled: number[] }> {
  const apps = loadKubeConfig(ctx.operatorKubeconfig).makeApiClient(k8s.AppsV1Api);
  const pooledKube = new Kube(ctx.operatorKubeconfig);
  const generated: number[] = [];
  const pooled: number[] = [];
  try {
    for (let i = 0; i < 105; i++) {
      const t0 = performance.now();
      await apps.readNamespacedDeployment({ name: depName(0), namespace: ns });
      if (i >= 5) generated.push(performance.now() - t0);
    }
    for (let i = 0; i < 105; i++) {
      const t0 = performance.now();
      await pooledKube.api.get(DEPLOYMENTS, ns, depName(0));
      if (i >= 5) pooled.push(performance.now() - t0);
    }
  } finally {
    await pooledKube.close();
  }
  say(`  client probe, 100 sequential GETs of one Deployment with the operator's token (load ${load()}):`);
  say(`    @kubernetes/client-node generated client as shipped: ${dist(generated, "ms", 2)}`);
  say(`    the operator's KubeApi on its one pooled transport: ${dist(pooled, "ms", 2)}`);
  return { generated, pooled };
}

/** A few signals before timing, so the operator's code paths are warm; waits until their actions are terminal. */
async function warmUp(ctx: Ctx, t: Tracker, ns: string, n: number): Promise<void> {
  const sigs: SignalRec[] = [];
  for (let i = 0; i < n; i++) {
    void sendSignal(ctx.kube, ns, `warm-${i}`, depName(i), sigs);
    await sleep(100);
  }
  await sleep(200);
  if (!(await t.waitTerminal(sigs, 300_000, "warm-up"))) throw new Error("warm-up actions did not finish");
}

async function waitLeader(ctx: Ctx, identity: string): Promise<void> {
  for (let i = 0; ; i++) {
    const lease = await ctx.kube.get<{ spec?: { holderIdentity?: string } }>("/apis/coordination.k8s.io/v1/namespaces/smartops-system/leases/smartops-operator").catch(() => undefined);
    if (lease?.spec?.holderIdentity === identity) return;
    if (i > 600) throw new Error(`operator ${identity} did not become leader`);
    await sleep(100);
  }
}

/** A cluster with n Available Deployments in `ns` and a leading operator; torn down after `body`. */
async function withLoop(ns: string, n: number, body: (ctx: Ctx, op: Operator, t: Tracker) => Promise<void>): Promise<void> {
  const ctx = await setupCluster(Math.max(1, Math.ceil((2 * n) / 900)));
  let op: Operator | undefined;
  try {
    await prepareNamespace(ctx, ns, n);
    await sleep(5000); // let the controllers settle after the setup
    op = await launchOperator({ kubeconfig: ctx.operatorKubeconfig, dir: ctx.dir, identity: "bench-leader", env: OPERATOR_ENV, ...(ENTRY ? { entry: ENTRY } : {}) });
    await waitLeader(ctx, "bench-leader");
    say(`  operator (${ENTRY ? "compiled JS" : "TypeScript sources, type stripping"}): own process, ServiceAccount smartops-system/smartops-operator, workers actions=${OPERATOR_ENV.SMARTOPS_ACTION_WORKERS ?? "4 (default)"} signals=${OPERATOR_ENV.SMARTOPS_SIGNAL_WORKERS ?? "4 (default)"}; leader; RSS ${rssMiB(op.pid).rss.toFixed(0)} MiB with ${n} Deployments and their pods cached`);
    const t = await Tracker.start(ctx.kube, ns);
    try {
      await warmUp(ctx, t, ns, Math.min(20, n));
      await body(ctx, op, t);
    } finally {
      await t.stop();
    }
  } finally {
    await op?.stop();
    await teardown(ctx);
  }
}

// --- parts ----------------------------------------------------------------------

async function steady(): Promise<void> {
  const ns = "bench-steady";
  const total = Math.round(RATE * DURATION_S);
  say(`## steady: ${RATE} signals/s for ${DURATION_S} s (${total} AnomalySignals, type latency → restart) over ${STEADY_DEPLOYMENTS} Deployments of 1 replica`);
  await withLoop(ns, STEADY_DEPLOYMENTS, async (ctx, op, t) => {
    const probe = await clientProbe(ctx, ns);
    results.clientProbe = { generated: { p50: percentile(probe.generated, 50), p99: percentile(probe.generated, 99) }, pooled: { p50: percentile(probe.pooled, 50), p99: percentile(probe.pooled, 99) } };
    await sleep(2000);
    say(`  load average before: ${load()}`);
    const sigs: SignalRec[] = [];
    const { cpu, maxSockets } = await measure(ctx, op, async () => {
      const sends: Promise<void>[] = [];
      const interval = 1000 / RATE;
      const start = wall() + 50;
      for (let i = 0; i < total; i++) {
        const wait = start + i * interval - wall();
        if (wait > 0) await sleep(wait);
        sends.push(sendSignal(ctx.kube, ns, `steady-${i}`, depName(i % STEADY_DEPLOYMENTS), sigs));
      }
      await Promise.all(sends);
      const sentOver = (Math.max(...sigs.map((s) => s.t0)) - Math.min(...sigs.map((s) => s.t0))) / 1000;
      say(`  achieved send rate: ${((total - 1) / sentOver).toFixed(1)} signals/s; load average at the end of sending: ${load()}`);
      // Mutations are what is timed; rollouts then queue in the controller-manager, so stop at the last mutation.
      const deadline = performance.now() + 120_000;
      while (performance.now() < deadline && sigs.some((s) => !s.err && !t.mutations.has(t.actions.get(s.name)?.uid ?? ""))) await sleep(20);
    });
    const r = analyse(t, sigs);
    printAnalysis("steady", r);
    const rss = rssMiB(op.pid);
    say(`  operator RSS after the steady run: ${rss.rss.toFixed(0)} MiB (peak ${rss.hwm.toFixed(0)} MiB); load average: ${load()}`);
    results.steady = { deployments: STEADY_DEPLOYMENTS, ...summary(r), cpu, maxSockets, rssMiB: rss.rss, rssPeakMiB: rss.hwm, load: loadavg() };
  });
}

async function burst(): Promise<void> {
  const ns = "bench-burst";
  say(`## burst: ${BURST} AnomalySignals created as fast as the client can (${BURST_CONCURRENCY} POSTs in flight) over ${BURST_DEPLOYMENTS} Deployments of 1 replica (${(BURST / BURST_DEPLOYMENTS).toFixed(1)} per Deployment)`);
  await withLoop(ns, BURST_DEPLOYMENTS, async (ctx, op, t) => {
    for (const mode of ["dry-run", "real"] as const) {
      say(mode === "dry-run"
        ? `### dry-run burst: unverified signals (no modelVersion) → dry-run actions: decide, guardrails, server-side dry-run patch, status; no rollout`
        : `### real burst: verified signals → restarts, each verified by its rollout (the controller-manager's work)`);
      say(`  load average before: ${load()}`);
      const sigs: SignalRec[] = [];
      let first = 0;
      const { cpu, maxSockets } = await measure(ctx, op, async () => {
        first = wall();
        await pool(Array.from({ length: BURST }, (_, i) => i), BURST_CONCURRENCY, (i) => sendSignal(ctx.kube, ns, `${mode}-${i}`, depName(i % BURST_DEPLOYMENTS), sigs, mode === "real"));
        // A real burst is drained, as far as the operator goes, when every Deployment is mutated: the
        // rollouts that verification then waits for are the controller-manager's work at its own client
        // rate (20 requests/s), which takes many minutes for 1000 Deployments on this machine.
        if (mode === "dry-run") await t.waitTerminal(sigs, 900_000, `${mode} burst`);
        else await t.waitMutated(sigs, 600_000, `${mode} burst`);
      });
      const r = analyse(t, sigs);
      const acts = sigs.map((s) => t.actions.get(s.name)).filter((a): a is ActionRec => a !== undefined);
      const lastOf = (xs: number[]) => (xs.length ? (Math.max(...xs) - first) / 1000 : NaN);
      const allCreated = lastOf(sigs.map((s) => s.tc ?? Infinity));
      const allActions = lastOf(acts.map((a) => a.tAdded));
      const allMutated = mode === "real" ? lastOf(acts.map((a) => t.mutations.get(a.uid) ?? Infinity)) : NaN;
      const drained = mode === "real" ? allMutated : lastOf(acts.map((a) => a.tTerminal ?? Infinity));
      const terminalSoFar = acts.filter((a) => a.tTerminal !== undefined).length;
      say(mode === "real"
        ? `  from the first POST: all signals created ${allCreated.toFixed(2)} s, all actions created ${allActions.toFixed(2)} s, all Deployments mutated (drained) ${allMutated.toFixed(2)} s; ${terminalSoFar}/${acts.length} actions verified by then (rollouts continue in the controller-manager)`
        : `  from the first POST: all signals created ${allCreated.toFixed(2)} s, all actions created ${allActions.toFixed(2)} s, all actions terminal (drained) ${drained.toFixed(2)} s`);
      printAnalysis(`${mode} burst`, r);
      const rss = rssMiB(op.pid);
      say(`  operator RSS after the ${mode} burst: ${rss.rss.toFixed(0)} MiB (peak ${rss.hwm.toFixed(0)} MiB); load average: ${load()}`);
      results[`burst-${mode}`] = {
        deployments: BURST_DEPLOYMENTS, signals: BURST, concurrency: BURST_CONCURRENCY, ...summary(r),
        allCreatedS: allCreated, allActionsS: allActions, allMutatedS: allMutated, drainedS: drained, cpu, maxSockets, rssMiB: rss.rss, rssPeakMiB: rss.hwm, load: loadavg(),
      };
      await sleep(5000);
    }
  });
}

function summary(r: Analysis) {
  const p = (xs: number[]) => (xs.length ? { p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) } : undefined);
  return {
    sent: r.sent, createErrors: r.createErrors, noAction: r.noAction, notMutated: r.notMutated, phases: r.phases,
    latency: p(r.latency), create: p(r.create), toActionSeen: p(r.toActionSeen), toIntentSeen: p(r.toIntentSeen), toMutationSeen: p(r.toMutationSeen),
    mutationToTerminal: p(r.mutationToTerminal), toTerminal: p(r.toTerminal),
  };
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Starts a standby, waits for its caches, samples RSS every 5 s for sampleS seconds, stops it. */
async function standbyRss(ctx: Ctx, label: string, entry: string | undefined, sampleS: number): Promise<Record<string, unknown>> {
  const op = await launchOperator({ kubeconfig: ctx.operatorKubeconfig, dir: ctx.dir, identity: `bench-standby-${label.replace(/\W+/g, "-")}`, readyTimeoutMs: 900_000, ...(entry ? { entry } : {}) });
  try {
    const atReady = rssMiB(op.pid).rss;
    const samples: number[] = [];
    for (let i = 0; i < sampleS / 5; i++) {
      await sleep(5000);
      samples.push(rssMiB(op.pid).rss);
    }
    const m = await op.metrics();
    const final = rssMiB(op.pid);
    const prom = (m.get("process_resident_memory_bytes") ?? NaN) / MIB;
    const heapUsed = (m.get("nodejs_heap_size_used_bytes") ?? NaN) / MIB;
    const heapTotal = (m.get("nodejs_heap_size_total_bytes") ?? NaN) / MIB;
    const external = (m.get("nodejs_external_memory_bytes") ?? NaN) / MIB;
    const leader = m.get("smartops_leader");
    say(`  ${label}: ready (caches synced) ${(op.readyAfterMs / 1000).toFixed(1)} s after spawn; VmRSS at ready ${atReady.toFixed(0)} MiB, then ${samples.map((x) => x.toFixed(0)).join(", ")} MiB every 5 s; peak (VmHWM) ${final.hwm.toFixed(0)} MiB`);
    say(`    at the end: VmRSS ${final.rss.toFixed(0)} MiB, process_resident_memory_bytes ${prom.toFixed(0)} MiB, V8 heap used ${heapUsed.toFixed(0)} of ${heapTotal.toFixed(0)} MiB, external ${external.toFixed(0)} MiB; smartops_leader ${leader}`);
    return { readyS: op.readyAfterMs / 1000, rssAtReadyMiB: atReady, rssSamplesMiB: samples, rssMiB: final.rss, rssPeakMiB: final.hwm, promRssMiB: prom, heapUsedMiB: heapUsed, heapTotalMiB: heapTotal, leader };
  } finally {
    await op.stop();
  }
}

async function memory(): Promise<void> {
  const n = OBJECTS;
  say(`## memory: standby operator with ${n} AnomalySignals, ${n} RemediationActions, ${n} Deployments (replicas 0) in its caches`);
  const ctx = await setupCluster(1);
  try {
    const ns = "bench-mem";
    await createNamespace(ctx, ns);
    const now = microTime(new Date());
    await ctx.kube.createRetrying("/apis/coordination.k8s.io/v1/namespaces/smartops-system/leases", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "smartops-operator", namespace: "smartops-system" },
      spec: { holderIdentity: "bench-holder", leaseDurationSeconds: 3600, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    });
    say(`  Lease smartops-system/smartops-operator held by "bench-holder" for 3600 s: every operator started here stays a standby`);
    const base: Record<string, unknown> = {};
    base.source = await standbyRss(ctx, "baseline, empty caches, TypeScript sources", undefined, 10);
    base.built = await standbyRss(ctx, "baseline, empty caches, compiled JS", BUILT_ENTRY(), 10);

    const tDeploy = await createMany(ctx, "Deployments", `/apis/apps/v1/namespaces/${ns}/deployments`, n, (i) => deployment(ns, depName(i), 0));
    const tSig = await createMany(ctx, "AnomalySignals", `${GROUP_PATH}/namespaces/${ns}/anomalysignals`, n, (i) => anomaly(ns, `sig-${i}`, depName(i)));
    const tAct = await createMany(ctx, "RemediationActions", `${GROUP_PATH}/namespaces/${ns}/remediationactions`, n, (i) => ({
      apiVersion: "smartops.io/v1alpha1",
      kind: "RemediationAction",
      metadata: { name: `act-${i}`, namespace: ns, labels: { "smartops.io/target": depName(i), "smartops.io/signal": `sig-${i}` } },
      spec: {
        type: "restart",
        target: { kind: "Deployment", namespace: ns, name: depName(i) },
        dryRun: true,
        verify: true,
        verifyTimeoutSeconds: 60,
        source: "closed-loop",
        reason: `anomaly latency (score 0.90) on service ${depName(i)} → restart (default rule)`,
        signalRef: { kind: "AnomalySignal", name: `sig-${i}` },
      },
    }));
    // A real Deployment carries the status the controller-manager writes; at its default client
    // rate (20 requests/s, one ReplicaSet and one status write each) 10k would take longer than
    // the rest of the run, so the bench writes that status itself, in the same shape.
    const tStatus = await createMany(ctx, "Deployment statuses", "", n, (i) => i, (i) => ctx.kube.put(`/apis/apps/v1/namespaces/${ns}/deployments/${depName(i)}/status`, { ...deployment(ns, depName(i), 0), status: zeroReplicaStatus(depName(i)) }));
    say(`  created ${n} Deployments in ${tDeploy.toFixed(0)} s (statuses written in ${tStatus.toFixed(0)} s), ${n} AnomalySignals in ${tSig.toFixed(0)} s, ${n} RemediationActions in ${tAct.toFixed(0)} s (${CONCURRENCY} requests in flight)`);
    const counts = {
      deployments: await ctx.kube.count(`/apis/apps/v1/namespaces/${ns}/deployments`),
      signals: await ctx.kube.count(`${GROUP_PATH}/namespaces/${ns}/anomalysignals`),
      actions: await ctx.kube.count(`${GROUP_PATH}/namespaces/${ns}/remediationactions`),
      replicaSets: await ctx.kube.count(`/apis/apps/v1/namespaces/${ns}/replicasets`),
    };
    say(`  in the cluster: ${counts.deployments} Deployments, ${counts.signals} AnomalySignals, ${counts.actions} RemediationActions; ${counts.replicaSets} ReplicaSets so far (the controller-manager keeps working through the Deployments in the background; the operator does not watch ReplicaSets)`);
    await sleep(5000);
    say(`  load average before the standbys start: ${load()}`);
    const full: Record<string, unknown> = {};
    full.source = await standbyRss(ctx, `standby with ${n}+${n}+${n} objects, TypeScript sources`, undefined, 60);
    full.built = await standbyRss(ctx, `standby with ${n}+${n}+${n} objects, compiled JS`, BUILT_ENTRY(), 60);
    const sample = await ctx.kube.get<List<KubeObject>>(`${GROUP_PATH}/namespaces/${ns}/anomalysignals`, { limit: 50 });
    say(`  ${sample.items.filter((s) => s.status !== undefined).length}/50 sampled signals have a status (0: the standbys did not reconcile); load average: ${load()}`);
    results.memory = { objects: n, counts, baseline: base, full, load: loadavg() };
  } finally {
    await teardown(ctx);
  }
}

// --- main -----------------------------------------------------------------------

let buildDir: string | undefined;
/** The compiled operator's entry point, built on first use. */
function BUILT_ENTRY(): string {
  buildDir ??= buildOperator();
  return join(buildDir, "dist/cmd/operator.js");
}
const ENTRY = values.built ? BUILT_ENTRY() : undefined;

say(`# closed-loop benchmark — ${new Date().toISOString()}, part ${PART}, etcd fsync ${FSYNC ? "on" : "off"}`);
say(`machine: ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.versions.node}; load average at start ${load()}`);
try {
  if (PART === "latency" || PART === "all") await steady();
  if (PART === "burst" || PART === "all") await burst();
  if (PART === "memory" || PART === "all") await memory();
} finally {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
}
say(`load average at the end: ${load()}`);
if (values.out) {
  writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), part: PART, fsync: FSYNC, results }, null, 2));
  console.log(`raw figures written to ${values.out}`);
}
