// Helpers for the closed-loop benchmark: an API client on the operator's own
// transport and informers (keep-alive pool, list+watch), a bounded-concurrency runner,
// percentiles, /proc readings, Prometheus text deltas, and the operator process.
import type { KubernetesObject } from "@kubernetes/client-node";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../e2e/controlplane/cluster.ts";
import { backoffDelay } from "../operator/src/runtime/backoff.ts";
import type { KubeApi } from "../operator/src/k8s/api.ts";
import { connect, loadKubeConfig } from "../operator/src/k8s/client.ts";
import { KubeApiError } from "../operator/src/k8s/errors.ts";
import type { Resource } from "../operator/src/k8s/resources.ts";
import type { KubeTransport, Query } from "../operator/src/k8s/transport.ts";
import { Informer } from "../operator/src/runtime/informer.ts";

export const ROOT = resolve(import.meta.dirname, "..");

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with the operator's ISO stamps). */
export const wall = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string>; creationTimestamp?: string; generation?: number };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface List<T> {
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchHandler = (type: "ADDED" | "MODIFIED" | "DELETED", obj: KubeObject, at: number) => void;

export class Kube {
  readonly api: KubeApi;
  readonly #transport: KubeTransport;

  constructor(kubeconfigPath: string) {
    const { api, transport } = connect(loadKubeConfig(kubeconfigPath), "smartops-bench");
    this.api = api;
    this.#transport = transport;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.#transport.json<T>(`GET ${path}`, { method: "GET", path, query, timeoutMs: 120_000 });
  }

  create<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.#transport.json<T>(`POST ${path}`, { method: "POST", path, body, timeoutMs: 60_000 });
  }

  put<T = KubeObject>(path: string, body: unknown): Promise<T> {
    return this.#transport.json<T>(`PUT ${path}`, { method: "PUT", path, body, timeoutMs: 60_000 });
  }

  /** Create, retrying transient failures; AlreadyExists counts as done (the run is idempotent). */
  async createRetrying(path: string, body: unknown, attempts = 6): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await this.create(path, body);
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 409) return;
        const transient = !(err instanceof KubeApiError) || err.status === 429 || err.status >= 500;
        if (!transient || i >= attempts) throw err;
        await sleep(backoffDelay(i + 1, { initialMs: 200, maxMs: Number.POSITIVE_INFINITY, jitter: 0 }));
      }
    }
  }

  /** Number of objects in a collection, without transferring them. */
  async count(path: string): Promise<number> {
    const l = await this.get<List<KubeObject>>(path, { limit: 1 });
    return l.items.length + (l.metadata.remainingItemCount ?? 0);
  }

  /**
   * An informer (the operator's own list+watch) on one namespace's `resource`
   * until `signal` aborts: every add and update reaches `onEvent` with the time
   * it was handled.
   */
  async watch(resource: Resource, namespace: string, onEvent: WatchHandler, signal: AbortSignal): Promise<{ done: Promise<void> }> {
    const inf = new Informer<KubernetesObject>({ api: this.api, resource, namespace });
    inf.on("add", (o) => onEvent("ADDED", o as KubeObject, wall()));
    inf.on("update", (_old, o) => onEvent("MODIFIED", o as KubeObject, wall()));
    inf.on("delete", (o) => onEvent("DELETED", o as KubeObject, wall()));
    inf.start(signal);
    await inf.waitForSync(signal);
    return { done: new Promise<void>((r) => signal.addEventListener("abort", () => void inf.stop().then(() => r()), { once: true })) };
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}

/** Runs fn over items with at most `concurrency` in flight; reports progress every `every` completions. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>, progress?: { every: number; report: (done: number) => void }): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
      done++;
      if (progress && done % progress.every === 0) progress.report(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Nearest-rank percentile of already-finite numbers. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function dist(xs: readonly number[], unit = "ms", digits = 1): string {
  if (xs.length === 0) return "no samples";
  const f = (v: number) => v.toFixed(digits);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return `p50 ${f(percentile(xs, 50))} ${unit}, p90 ${f(percentile(xs, 90))}, p99 ${f(percentile(xs, 99))}, max ${f(Math.max(...xs))}, mean ${f(mean)} (n=${xs.length})`;
}

export function rssMiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** User + system CPU seconds a process has used (Linux clock ticks are 100 Hz). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Prometheus text → { "name{labels}": value }. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Per label set of a histogram: count and mean (ms) of the observations made between two scrapes. */
export function histogramDelta(before: Map<string, number>, after: Map<string, number>, name: string): { labels: string; count: number; meanMs: number }[] {
  const rows: { labels: string; count: number; meanMs: number }[] = [];
  for (const [key, sum] of after) {
    if (!key.startsWith(`${name}_sum`)) continue;
    const labels = key.slice(`${name}_sum`.length);
    const countKey = `${name}_count${labels}`;
    const count = (after.get(countKey) ?? 0) - (before.get(countKey) ?? 0);
    if (count <= 0) continue;
    rows.push({ labels, count, meanMs: ((sum - (before.get(key) ?? 0)) / count) * 1000 });
  }
  return rows.sort((a, b) => b.count * b.meanMs - a.count * a.meanMs);
}

/** GET over TLS with a bearer token; `ca` undefined = accept the component's self-signed serving cert (loopback only). */
export function httpsText(url: string, token: string, ca?: Buffer): Promise<string> {
  return new Promise((res, rej) => {
    const req = httpsGet(url, { headers: { authorization: `Bearer ${token}` }, ...(ca ? { ca } : { rejectUnauthorized: false }) }, (r) => {
      let body = "";
      r.setEncoding("utf8");
      r.on("data", (c: string) => (body += c));
      r.on("end", () => (r.statusCode === 200 ? res(body) : rej(new Error(`${url}: ${r.statusCode} ${body.slice(0, 200)}`))));
    });
    req.on("error", rej);
  });
}

/**
 * Compiles the operator (tsconfig.build.json) into a new temp dir, as a
 * production image would run it: plain JS, no type stripping. Returns the dir;
 * the entry point is <dir>/dist/cmd/operator.js.
 */
export function buildOperator(): string {
  const dir = mkdtempSync(join(tmpdir(), "smartops-bench-build-"));
  execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", join(dir, "dist")], { stdio: "inherit" });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  return dir;
}

export interface Operator {
  proc: ChildProcess;
  pid: number;
  port: number;
  logFile: string;
  /** ms from spawn to /readyz 200. */
  readyAfterMs: number;
  metrics(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/** Starts `node operator/src/cmd/operator.ts` as its own process and waits for /readyz. */
export async function startOperator(opts: { kubeconfig: string; dir: string; identity: string; env?: Record<string, string>; readyTimeoutMs?: number; entry?: string }): Promise<Operator> {
  const port = await freePort();
  const logFile = join(opts.dir, `operator-${opts.identity}.log`);
  const fd = openSync(logFile, "a");
  const t0 = performance.now();
  const proc = spawn(process.execPath, [opts.entry ?? join(ROOT, "operator/src/cmd/operator.ts")], {
    stdio: ["ignore", fd, fd],
    env: {
      ...process.env,
      KUBECONFIG: opts.kubeconfig,
      SMARTOPS_OPERATOR_NAMESPACE: "smartops-system",
      SMARTOPS_LISTEN: `127.0.0.1:${port}`,
      SMARTOPS_IDENTITY: opts.identity,
      LOG_LEVEL: "info",
      ...opts.env,
    },
  });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error("could not start the operator");
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`operator exited with ${proc.exitCode}:\n${readFileSync(logFile, "utf8").slice(-3000)}`);
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (res?.ok) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`operator not ready in time:\n${readFileSync(logFile, "utf8").slice(-3000)}`);
    }
    await sleep(100);
  }
  const readyAfterMs = performance.now() - t0;
  return {
    proc,
    pid: proc.pid,
    port,
    logFile,
    readyAfterMs,
    metrics: async () => parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()),
    stop: async () => {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 25_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
