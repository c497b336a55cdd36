// A real Alertmanager (built by tools/alertmanager/build.sh into the cache from
// its Go module) on a loopback port, whose only receiver is a webhook_config
// with a bearer token read from a file: the path the shim's /v1/alertmanager
// documents for clusters.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { freePort } from "../controlplane/cluster.ts";
import { tail } from "./processes.ts";

const ROOT = resolve(import.meta.dirname, "../..");

let toolDir: string | undefined;
/** bin/alertmanager (a no-op after `make alertmanager`; a cold build takes minutes). */
export function alertmanagerBinary(): string {
  toolDir ??= execFileSync(join(ROOT, "tools/alertmanager/build.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 1_800_000 }).trim();
  return join(toolDir, "bin/alertmanager");
}

/** One alert as POST /api/v2/alerts takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertmanagerProcess {
  url: string;
  proc: ChildProcess;
  logs(): string;
  /** POST /api/v2/alerts. */
  postAlerts(alerts: PostableAlert[]): Promise<void>;
  /** GET /api/v2/alerts (with fingerprint and status). */
  alerts(): Promise<{ fingerprint: string; labels: Record<string, string>; startsAt: string; status: { state: string } }[]>;
  /** The value of one sample of Alertmanager's own /metrics (0 when absent). */
  metric(name: string, labels: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export interface WebhookReceiver {
  url: string;
  /** The bearer token Alertmanager sends (http_config.authorization.credentials_file). */
  token: string;
}

/**
 * Starts Alertmanager with one route to one webhook receiver: every alert its own
 * group (group_by: ['...']), sent after 1 s and again only after an hour, resolved
 * alerts sent too; clustering off (no gossip port), state in a temp dir.
 */
export async function startAlertmanager(receiver: WebhookReceiver): Promise<AlertmanagerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "smartops-alertmanager-"));
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, receiver.token, { mode: 0o600 });
  const config = {
    route: { receiver: "smartops", group_by: ["..."], group_wait: "1s", group_interval: "1s", repeat_interval: "1h" },
    receivers: [{
      name: "smartops",
      webhook_configs: [{ url: receiver.url, send_resolved: true, max_alerts: 100, http_config: { authorization: { type: "Bearer", credentials_file: tokenFile } } }],
    }],
  };
  writeFileSync(join(dir, "alertmanager.yml"), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, "alertmanager.log");
  const fd = openSync(logFile, "a");
  const proc = spawn(alertmanagerBinary(), [
    `--config.file=${join(dir, "alertmanager.yml")}`,
    `--storage.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--cluster.listen-address=",
    "--log.level=info",
  ], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`alertmanager exited before it was ready:\n${tail(logFile)}`);
    if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok) break;
    if (Date.now() > deadline) throw new Error(`alertmanager was not ready on :${port} within 60 s:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    proc,
    logs: () => readFileSync(logFile, "utf8"),
    postAlerts: async (alerts) => {
      const res = await fetch(`${url}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts), signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`POST /api/v2/alerts: ${res.status} ${await res.text()}`);
    },
    alerts: async () => (await (await fetch(`${url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`, { signal: AbortSignal.timeout(10_000) })).json()) as Awaited<ReturnType<AlertmanagerProcess["alerts"]>>,
    metric: async (name, labels) => {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
