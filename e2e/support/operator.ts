// Runs the operator the way it runs in a cluster: its own process, under its own
// ServiceAccount token with the RBAC of config/rbac/operator.yaml — so a missing
// or excess permission shows up as a failing test, not as a surprise in production.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, kubeconfigYaml } from "../controlplane/cluster.ts";
import { type Clients, kubectl, waitFor } from "./kube.ts";
import { componentManifests, launch, OPERATOR_NAMESPACE, waitReady } from "./processes.ts";

export { OPERATOR_NAMESPACE };

/** Applies the operator's RBAC and the approval admission policy (idempotent). */
export function installOperatorRbac(namespace = OPERATOR_NAMESPACE): void {
  for (const m of componentManifests("operator", namespace)) kubectl(["apply", "--server-side", "-f", "-"], m);
}

/** A raw ServiceAccount token (TokenRequest) for the given audiences. */
export async function serviceAccountToken(c: Clients, namespace: string, name: string, audiences?: string[]): Promise<string> {
  const tr = await waitFor(`token for ${namespace}/${name}`, () =>
    c.core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 7200, ...(audiences ? { audiences } : {}) } },
    }),
  );
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/** A kubeconfig holding a fresh token of the given ServiceAccount (TokenRequest API). */
export async function serviceAccountKubeconfig(c: Clients, namespace: string, name: string, audiences?: string[]): Promise<string> {
  const token = await serviceAccountToken(c, namespace, name, audiences);
  const admin = c.kc.getCurrentCluster()!;
  const ca = Buffer.from(admin.caData ?? "", "base64").toString("utf8");
  const file = join(tmpdir(), `smartops-${namespace}-${name}-${process.pid}-${Date.now()}.kubeconfig`);
  writeFileSync(file, kubeconfigYaml(admin.server, ca, token, `${namespace}-${name}`), { mode: 0o600 });
  return file;
}

/** RBAC, a ServiceAccount token, and the operator running under it: what every loop suite needs. */
export async function operatorUnderOwnRbac(c: Clients, identity: string, env: Record<string, string> = {}): Promise<OperatorProcess> {
  installOperatorRbac();
  return startOperator({ kubeconfig: await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator"), identity, env });
}

export interface OperatorProcess {
  proc: ChildProcess;
  identity: string;
  port: number;
  logFile: string;
  logs(): string;
  metrics(): Promise<string>;
  /** SIGTERM and wait for exit (graceful: releases the lease). */
  stop(): Promise<void>;
  /** SIGKILL, as a node failure. */
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  kubeconfig: string;
  identity?: string;
  env?: Record<string, string>;
  leaseDurationSeconds?: number;
}

export async function startOperator(opts: StartOptions): Promise<OperatorProcess> {
  const port = await freePort();
  const identity = opts.identity ?? `op-${port}`;
  const dir = join(tmpdir(), "smartops-e2e-operators");
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${identity}-${Date.now()}.log`);
  const proc = launch("operator", {
    kubeconfig: opts.kubeconfig,
    port,
    logFile,
    env: {
      SMARTOPS_IDENTITY: identity,
      SMARTOPS_LEASE_DURATION_SECONDS: String(opts.leaseDurationSeconds ?? 4),
      SMARTOPS_RENEW_DEADLINE_SECONDS: String(Math.max(2, (opts.leaseDurationSeconds ?? 4) - 1)),
      SMARTOPS_RETRY_PERIOD_SECONDS: "0.5",
      LOG_LEVEL: "debug",
      ...opts.env,
    },
  });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const handle: OperatorProcess = {
    proc,
    identity,
    port,
    logFile,
    exited,
    logs: () => readFileSync(logFile, "utf8"),
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    stop: async () => {
      proc.kill("SIGTERM");
      await exited;
    },
    kill9: async () => {
      proc.kill("SIGKILL");
      await exited;
    },
  };
  await waitReady("operator", port, () => proc.exitCode === null && proc.signalCode === null, logFile);
  return handle;
}

