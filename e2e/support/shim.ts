// Runs the HTTP shim the way it runs in a cluster: its own process, under the
// smartops-shim ServiceAccount with the RBAC of config/rbac/shim.yaml, and mints
// callers' tokens with the TokenRequest API.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../controlplane/cluster.ts";
import { type Clients, kubectl } from "./kube.ts";
import { OPERATOR_NAMESPACE, serviceAccountKubeconfig } from "./operator.ts";
import { componentManifests, launch, waitReady } from "./processes.ts";

export function installShimRbac(namespace = OPERATOR_NAMESPACE): void {
  for (const m of componentManifests("shim", namespace)) kubectl(["apply", "--server-side", "-f", "-"], m);
}

export interface ShimProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  logs(): string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

export async function startShimProcess(kubeconfig: string, env: Record<string, string> = {}, port?: number): Promise<ShimProcess> {
  const p = port ?? (await freePort());
  const logFile = join(mkdtempSync(join(tmpdir(), "smartops-shim-")), "shim.log");
  const proc = launch("shim", { kubeconfig, port: p, logFile, env: { LOG_LEVEL: "info", ...env } });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const logs = () => readFileSync(logFile, "utf8");
  const url = `http://127.0.0.1:${p}`;
  await waitReady("shim", p, () => proc.exitCode === null && proc.signalCode === null, logFile);
  return {
    proc, port: p, url, logs, exited,
    stop: async () => { proc.kill("SIGTERM"); await exited; },
    kill9: async () => { proc.kill("SIGKILL"); await exited; },
  };
}

/** RBAC, the shim's own token, and the shim running under it. */
export async function shimUnderOwnRbac(c: Clients, env: Record<string, string> = {}, port?: number): Promise<ShimProcess> {
  installShimRbac();
  return startShimProcess(await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-shim"), env, port);
}
