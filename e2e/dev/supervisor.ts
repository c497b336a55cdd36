// The processes `make dev` leaves running — the operator and the shim — detached,
// each with a log and a pid file in the dev dir, as the control plane is in
// e2e/controlplane. Only a pid whose command line is our entry point is ever
// signalled, so a stale pid file cannot hit an unrelated process.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { parse } from "yaml";
import { cacheDir } from "../controlplane/registry.ts";
import { type Component, ENTRY, launch, waitReady } from "../support/processes.ts";

export const DEV_COMPONENTS: readonly Component[] = ["operator", "shim"];

/** Where pid files, logs and the dev kubeconfigs live; SMARTOPS_DEV_DIR overrides (tests). */
export function devDir(): string {
  return process.env.SMARTOPS_DEV_DIR ?? join(cacheDir(), "dev");
}

export const pidFile = (dir: string, c: Component) => join(dir, `${c}.pid`);
export const kubeconfigFile = (dir: string, c: Component) => join(dir, `${c}.kubeconfig`);

/** The API server the component's dev kubeconfig points at; undefined without a readable one. */
export function devServer(dir: string, c: Component): string | undefined {
  try {
    const kc = parse(readFileSync(kubeconfigFile(dir, c), "utf8")) as { clusters?: { cluster?: { server?: string } }[] };
    return kc.clusters?.[0]?.cluster?.server;
  } catch {
    return undefined;
  }
}
export const logFile = (dir: string, c: Component) => join(dir, `${c}.log`);

/** The pid in the component's pid file, when that process is alive and is ours. */
export function runningPid(dir: string, c: Component): number | undefined {
  const file = pidFile(dir, c);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 && isOurs(pid, c) ? pid : undefined;
}

function isOurs(pid: number, c: Component): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(ENTRY[c]);
  } catch {
    return false;
  }
}

/**
 * SIGTERM (the operator releases its lease, the shim drains), then SIGKILL after
 * `graceMs`. Returns what was stopped, e.g. ["operator (pid 123)"].
 */
export async function stopDev(dir = devDir(), graceMs = 25_000, components: readonly Component[] = DEV_COMPONENTS): Promise<string[]> {
  const running = components.map((c) => ({ c, pid: runningPid(dir, c) })).filter((r): r is { c: Component; pid: number } => r.pid !== undefined);
  for (const r of running) signal(r.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && running.some((r) => isOurs(r.pid, r.c))) await new Promise((res) => setTimeout(res, 100));
  for (const r of running) if (isOurs(r.pid, r.c)) signal(r.pid, "SIGKILL");
  for (const c of components) rmSync(pidFile(dir, c), { force: true });
  return running.map((r) => `${r.c} (pid ${r.pid})`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

export interface StartedProcess {
  component: Component;
  pid: number;
  port: number;
  logFile: string;
}

/** Starts a component detached, records its pid, and waits for /readyz. The previous log is kept as <c>.log.1. */
export async function startDetached(c: Component, opts: { kubeconfig: string; port: number; env?: Record<string, string> }, dir = devDir()): Promise<StartedProcess> {
  mkdirSync(dir, { recursive: true });
  await ensurePortFree(opts.port, c);
  const log = logFile(dir, c);
  if (existsSync(log)) renameSync(log, `${log}.1`);
  const child = launch(c, { kubeconfig: opts.kubeconfig, port: opts.port, logFile: log, detached: true, env: opts.env ?? {} });
  const pid = child.pid!;
  writeFileSync(pidFile(dir, c), `${pid}\n`);
  await waitReady(c, opts.port, () => isOurs(pid, c), log);
  return { component: c, pid, port: opts.port, logFile: log };
}

function ensurePortFree(port: number, c: Component): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", () =>
      reject(new Error(`127.0.0.1:${port} is in use by another process; free it or pick another port for the ${c} (SMARTOPS_DEV_${c.toUpperCase()}_PORT)`)),
    );
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
  });
}
