// Shim benchmark: POST /v1/signals/anomaly → CR created latency at a fixed
// 200 requests/s, then the sustained requests/s at saturation, with a check
// that every 2xx answer has its CR. Real control plane, etcd fsync on, the shim
// under its own ServiceAccount, callers authenticated with real tokens.
//
//   node bench/shim.bench.ts [--rate 200] [--seconds 15] [--concurrency 32]
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, kubeconfigYaml, kubectl, startCluster, stopCluster } from "../e2e/controlplane/cluster.ts";

const ROOT = resolve(import.meta.dirname, "..");
const NS = "bench-shim";
const { values } = parseArgs({ options: { rate: { type: "string", default: "200" }, seconds: { type: "string", default: "15" }, concurrency: { type: "string", default: "32" } } });
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

const state = await startCluster({ etcdFsync: true, log: (l) => console.error(l) });
let shim: ChildProcess | undefined;
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
rules: [{apiGroups: [smartops.io], resources: [anomalysignals, rcasignals], verbs: [create]}]
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

  console.log(`# shim benchmark — ${new Date().toISOString()}, etcd fsync on, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  console.log(`fixed rate ${rate}/s for ${seconds}s: sent ${fixedResults.length} in ${fixedElapsed.toFixed(1)}s, codes ${codes(fixedResults)}`);
  console.log(`  POST → CR created: p50 ${pct(lat, 50).toFixed(1)} ms, p90 ${pct(lat, 90).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms`);
  console.log(`saturation, ${concurrency} in flight for ${seconds}s: ${(ok(satResults) / satElapsed).toFixed(0)} requests/s accepted, codes ${codes(satResults)}, p50 ${pct(satLat, 50).toFixed(1)} ms, p99 ${pct(satLat, 99).toFixed(1)} ms`);
  console.log(`nothing lost: ${accepted} answered 2xx, ${stored} AnomalySignals stored${stored === accepted ? "" : "  <-- MISMATCH"}`);
  if (stored !== accepted) process.exitCode = 1;
} finally {
  shim?.kill("SIGTERM");
  stopCluster(state);
}
