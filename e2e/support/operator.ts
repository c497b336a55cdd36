// Runs the operator the way it runs in a cluster: its own process, under its own
// ServiceAccount token with the RBAC of config/rbac/operator.yaml — so a missing
// or excess permission shows up as a failing test, not as a surprise in production.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, kubeconfigYaml } from "../controlplane/cluster.ts";
import { type Clients, kubectl, waitFor } from "./kube.ts";

const ROOT = resolve(import.meta.dirname, "../..");
export const OPERATOR_NAMESPACE = "smartops-system";

/** Applies the operator's RBAC and the approval admission policy (idempotent). */
export function installOperatorRbac(namespace = OPERATOR_NAMESPACE): void {
  kubectl(["apply", "--server-side", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`);
  const rbac = readFileSync(join(ROOT, "config/rbac/operator.yaml"), "utf8").replaceAll("smartops-system", namespace);
  kubectl(["apply", "--server-side", "-f", "-"], rbac);
  kubectl(["apply", "--server-side", "-f", join(ROOT, "config/rbac/approver.yaml")]);
  kubectl(["apply", "--server-side", "-f", join(ROOT, "config/admission/approval-policy.yaml")]);
}

/** A kubeconfig holding a fresh token of the given ServiceAccount (TokenRequest API). */
export async function serviceAccountKubeconfig(c: Clients, namespace: string, name: string, audiences?: string[]): Promise<string> {
  const tr = await waitFor(`token for ${namespace}/${name}`, () =>
    c.core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 7200, ...(audiences ? { audiences } : {}) } },
    }),
  );
  const admin = c.kc.getCurrentCluster()!;
  const ca = Buffer.from(admin.caData ?? "", "base64").toString("utf8");
  const file = join(tmpdir(), `smartops-${namespace}-${name}-${process.pid}-${Date.now()}.kubeconfig`);
  const token = tr.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
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
  const fd = openSync(logFile, "a");
  const proc = spawn(process.execPath, [join(ROOT, "operator/src/cmd/operator.ts")], {
    stdio: ["ignore", fd, fd],
    env: {
      ...process.env,
      KUBECONFIG: opts.kubeconfig,
      SMARTOPS_OPERATOR_NAMESPACE: OPERATOR_NAMESPACE,
      SMARTOPS_LISTEN: `127.0.0.1:${port}`,
      SMARTOPS_IDENTITY: identity,
      SMARTOPS_LEASE_DURATION_SECONDS: String(opts.leaseDurationSeconds ?? 4),
      SMARTOPS_RENEW_DEADLINE_SECONDS: String(Math.max(2, (opts.leaseDurationSeconds ?? 4) - 1)),
      SMARTOPS_RETRY_PERIOD_SECONDS: "0.5",
      LOG_LEVEL: "debug",
      ...opts.env,
    },
  });
  closeSync(fd);
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
  await waitFor(`operator ${identity} ready`, async () => {
    if (proc.exitCode !== null) throw new Error(`operator exited with ${proc.exitCode}:\n${handle.logs().slice(-3000)}`);
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    return res?.ok;
  }, 60_000);
  return handle;
}

