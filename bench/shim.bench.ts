// Shim benchmark: POST /v1/signals/anomaly → CR created latency at a fixed
// 200 requests/s, then the sustained requests/s at saturation, with a check
// that every 2xx answer has its CR; then POST /v1/k8s/scale answered with its
// outcome (the default: the shim waits until the operator has executed the
// scale) beside the same request with Prefer: respond-async (answered once the
// action exists). Real control plane, etcd fsync on, the shim and the operator
// under their own ServiceAccounts, callers authenticated with real tokens.
// The shim's resident memory (now and peak) is read from /proc after the signal phases.
//
//   node bench/shim.bench.ts [--rate 200] [--seconds 15] [--concurrency 32] [--actions 40] [--only-actions]
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, kubeconfigYaml, kubectl, startCluster, stopCluster } from "../e2e/controlplane/cluster.ts";
import { type Operator, startOperator } from "./lib.ts";

const ROOT = resolve(import.meta.dirname, "..");
const NS = "bench-shim";
const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "15" },
    concurrency: { type: "string", default: "32" },
    actions: { type: "string", default: "40" },
    "only-actions": { type: "boolean", default: false },
  },
});
const actions = Number(values.actions);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function rss(pid: number | undefined): string {
  const status = pid === undefined ? "" : readFileSync(`/proc/${pid}/status`, "utf8");
  const mib = (key: string) => (Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) / 1024).toFixed(0);
  return `shim RSS after the signal phases: ${mib("VmRSS")} MiB, peak ${mib("VmHWM")} MiB`;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

const state = await startCluster({ etcdFsync: true, log: (l) => console.error(l) });
let shim: ChildProcess | undefined;
let operator: Operator | undefined;
try {
  const k = (args: string[], input?: string) => kubectl(state, args, input);
  k(["apply", "--server-side", "-f", join(ROOT, "crds")]);
  k(["wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=smartops", "--timeout=60s"]);
  k(["apply", "--server-side", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: {name: smartops-system}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  k(["apply", "--server-side", "-f", join(ROOT, "config/rbac/shim.yaml")]);
  k(["apply", "--server-side", "-f", "-"], `apiVersion: v1
kind: ServiceAccount
metadata: {name: bench-agent, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: send-signals, namespace: ${NS}}
rules: [{apiGroups: [smartops.io], resources: [anomalysignals, rcasignals, remediationactions], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bench-agent, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: send-signals}
subjects: [{kind: ServiceAccount, name: bench-agent, namespace: ${NS}}]
`);
  const shimToken = k(["create", "token", "smartops-shim", "-n", "smartops-system", "--duration=2h"]).trim();
  const callerToken = k(["create", "token", "bench-agent", "-n", NS, "--audience=smartops-shim", "--duration=2h"]).trim();
  const dir = mkdtempSync(join(tmpdir(), "smartops-shim-bench-"));
  const kubeconfig = join(dir, "shim.kubeconfig");
  writeFileSync(kubeconfig, kubeconfigYaml(state.server, readFileSync(state.caFile, "utf8"), shimToken, "smartops-shim"), { mode: 0o600 });

  const port = await freePort();
  const fd = openSync(join(dir, "shim.log"), "a");
  shim = spawn(process.execPath, [join(ROOT, "operator/src/cmd/shim.ts")], {
    stdio: ["ignore", fd, fd],
    env: {
      ...process.env, KUBECONFIG: kubeconfig, SMARTOPS_SHIM_LISTEN: `127.0.0.1:${port}`, SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS,
      SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "100000", SMARTOPS_SHIM_RATE_LIMIT_BURST: "100000", LOG_LEVEL: "warn",
    },
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const report = [`# shim benchmark — ${new Date().toISOString()}, etcd fsync on, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}${process.env.SMARTOPS_SHIM_HTTP ? `, SMARTOPS_SHIM_HTTP=${process.env.SMARTOPS_SHIM_HTTP}` : ""}`];
  if (!values["only-actions"]) report.push(...(await signalPhases()), rss(shim.pid));
  report.push(...(await actionPhase()));
  console.log(report.join("\n"));

  async function signalPhases(): Promise<string[]> {
    let n = 0;
    const post = async (): Promise<{ ms: number; code: number }> => {
      const id = `bench-${process.pid}-${n++}`;
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/signals/anomaly`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${callerToken}` },
        body: JSON.stringify({ windowId: id, service: "erp-simulator", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1" }),
      }).catch(() => undefined);
      await res?.arrayBuffer();
      return { ms: performance.now() - t0, code: res?.status ?? 0 };
    };

    for (let i = 0; i < 100; i++) await post(); // warm-up: auth cache, connections, JIT

    // Phase 1: open loop at a fixed rate (requests are sent on schedule, not after the previous answer).
    const fixed: Promise<{ ms: number; code: number }>[] = [];
    const start = performance.now();
    for (let i = 0; i < rate * seconds; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      fixed.push(post());
    }
    const fixedResults = await Promise.all(fixed);
    const fixedElapsed = (performance.now() - start) / 1000;

    // Phase 2: closed loop at saturation.
    const satResults: { ms: number; code: number }[] = [];
    const satStart = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() - satStart < seconds * 1000) satResults.push(await post());
    }));
    const satElapsed = (performance.now() - satStart) / 1000;

    const ok = (rs: { code: number }[]) => rs.filter((r) => r.code >= 200 && r.code < 300).length;
    const accepted = 100 + ok(fixedResults) + ok(satResults);
    const page = JSON.parse(k(["get", "--raw", `/apis/smartops.io/v1alpha1/namespaces/${NS}/anomalysignals?limit=1`])) as { items: unknown[]; metadata: { remainingItemCount?: number } };
    const stored = page.items.length + (page.metadata.remainingItemCount ?? 0);
    const lat = fixedResults.filter((r) => r.code >= 200 && r.code < 300).map((r) => r.ms);
    const satLat = satResults.map((r) => r.ms);
    const codes = (rs: { code: number }[]) => Object.entries(rs.reduce<Record<number, number>>((m, r) => ((m[r.code] = (m[r.code] ?? 0) + 1), m), {})).map(([c, v]) => `${c}×${v}`).join(" ");

    const out: string[] = [];
    out.push(`fixed rate ${rate}/s for ${seconds}s: sent ${fixedResults.length} in ${fixedElapsed.toFixed(1)}s, codes ${codes(fixedResults)}`);
    out.push(`  POST → CR created: p50 ${pct(lat, 50).toFixed(1)} ms, p90 ${pct(lat, 90).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms`);
    out.push(`saturation, ${concurrency} in flight for ${seconds}s: ${(ok(satResults) / satElapsed).toFixed(0)} requests/s accepted, codes ${codes(satResults)}, p50 ${pct(satLat, 50).toFixed(1)} ms, p99 ${pct(satLat, 99).toFixed(1)} ms`);
    out.push(`nothing lost: ${accepted} answered 2xx, ${stored} AnomalySignals stored${stored === accepted ? "" : "  <-- MISMATCH"}`);
    if (stored !== accepted) process.exitCode = 1;
    return out;
  }

  /** POST /v1/k8s/scale answered with its outcome, and the same with Prefer: respond-async, alternating 3 and 2 replicas. */
  async function actionPhase(): Promise<string[]> {
    k(["apply", "--server-side", "-f", join(ROOT, "config/rbac/operator.yaml")]);
    const opToken = k(["create", "token", "smartops-operator", "-n", "smartops-system", "--duration=2h"]).trim();
    const opKubeconfig = join(dir, "operator.kubeconfig");
    writeFileSync(opKubeconfig, kubeconfigYaml(state.server, readFileSync(state.caFile, "utf8"), opToken, "smartops-operator"), { mode: 0o600 });
    k(["apply", "--server-side", "-f", "-"], `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-deployments, namespace: ${NS}}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bench-agent-read, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-deployments}
subjects: [{kind: ServiceAccount, name: bench-agent, namespace: ${NS}}]
---
apiVersion: smartops.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: bench, namespace: ${NS}}
spec:
  cooldownSeconds: {scale: 0, restart: 0, patch: 0, deletePod: 0}
  rateLimits: {maxActionsPerHour: 10000, maxScaleIncreasePer15Minutes: 1000}
  replicas: {min: 1, max: 10, maxStep: 10}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench-web, namespace: ${NS}, labels: {app.kubernetes.io/name: bench-web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: bench-web}}
  template:
    metadata: {labels: {app: bench-web}}
    spec: {containers: [{name: app, image: registry.invalid/app:1}]}
`);
    operator = await startOperator({ kubeconfig: opKubeconfig, dir, identity: "bench-shim", env: { LOG_LEVEL: "warn" } });
    let replicas = 2;
    const scale = async (prefer: string | undefined): Promise<{ ms: number; code: number; phase: string }> => {
      replicas = replicas === 2 ? 3 : 2;
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/k8s/scale`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${callerToken}`, ...(prefer ? { prefer } : {}) },
        body: JSON.stringify({ namespace: NS, deployment: "bench-web", replicas, dry_run: false }),
      }).catch(() => undefined);
      const body = ((await res?.json().catch(() => ({}))) ?? {}) as { phase?: string };
      return { ms: performance.now() - t0, code: res?.status ?? 0, phase: body.phase ?? "" };
    };
    for (let i = 0; i < 5; i++) await scale(undefined); // warm-up
    const sync: Awaited<ReturnType<typeof scale>>[] = [];
    const async_: Awaited<ReturnType<typeof scale>>[] = [];
    // Interleaved, one request at a time, so both see the same machine.
    for (let i = 0; i < actions; i++) {
      sync.push(await scale(undefined));
      async_.push(await scale("respond-async"));
      await new Promise((r) => setTimeout(r, 200)); // let the async one finish before the next
    }
    const line = (what: string, rs: typeof sync) => {
      const ms = rs.map((r) => r.ms);
      const codes = Object.entries(rs.reduce<Record<string, number>>((m, r) => ((m[`${r.code} ${r.phase}`] = (m[`${r.code} ${r.phase}`] ?? 0) + 1), m), {})).map(([c, v]) => `${c}×${v}`).join(", ");
      return `  ${what}: p50 ${pct(ms, 50).toFixed(1)} ms, p90 ${pct(ms, 90).toFixed(1)} ms, p99 ${pct(ms, 99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms (${codes})`;
    };
    if (sync.some((r) => r.code !== 200)) process.exitCode = 1;
    return [`POST /v1/k8s/scale, ${actions} of each, one at a time, operator running:`, line("default (answered with the outcome: executed)", sync), line("Prefer: respond-async (answered once created)", async_)];
  }
} finally {
  await operator?.stop();
  shim?.kill("SIGTERM");
  stopCluster(state);
}
