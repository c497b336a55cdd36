// Starting the operator and the shim as their own processes, the way they run in
// a cluster (own ServiceAccount token, own RBAC, own port). One place for e2e
// suites (attached children) and `make dev` (detached, left running). No vitest
// imports here: `make dev` runs this outside the test runner.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
export const OPERATOR_NAMESPACE = "smartops-system";

export type Component = "operator" | "shim";

export const ENTRY: Readonly<Record<Component, string>> = {
  operator: join(ROOT, "operator/src/cmd/operator.ts"),
  shim: join(ROOT, "operator/src/cmd/shim.ts"),
};

const namespaceYaml = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
const inNamespace = (file: string, namespace: string) => readFileSync(join(ROOT, file), "utf8").replaceAll("smartops-system", namespace);

/**
 * What a component needs installed before it starts, in apply order: its
 * namespace, its least-privilege RBAC, and for the operator the approver role
 * and the approval admission policy.
 */
export function componentManifests(component: Component, namespace = OPERATOR_NAMESPACE): string[] {
  if (component === "shim") return [namespaceYaml(namespace), inNamespace("config/rbac/shim.yaml", namespace)];
  return [
    namespaceYaml(namespace),
    inNamespace("config/rbac/operator.yaml", namespace),
    readFileSync(join(ROOT, "config/rbac/approver.yaml"), "utf8"),
    readFileSync(join(ROOT, "config/admission/approval-policy.yaml"), "utf8"),
  ];
}

/** The ServiceAccount each component runs as (config/rbac/*.yaml). */
export const SERVICE_ACCOUNT: Readonly<Record<Component, string>> = { operator: "smartops-operator", shim: "smartops-shim" };

export interface LaunchOptions {
  kubeconfig: string;
  port: number;
  logFile: string;
  /** Leave it running when the starting process exits (`make dev`). */
  detached?: boolean;
  env?: Record<string, string>;
}

export function launch(component: Component, opts: LaunchOptions): ChildProcess {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, "a");
  const listen = `127.0.0.1:${opts.port}`;
  const own = component === "operator"
    ? { SMARTOPS_LISTEN: listen, SMARTOPS_OPERATOR_NAMESPACE: OPERATOR_NAMESPACE }
    : { SMARTOPS_SHIM_LISTEN: listen };
  const child = spawn(process.execPath, [ENTRY[component]], {
    stdio: ["ignore", fd, fd],
    detached: opts.detached ?? false,
    env: { ...process.env, KUBECONFIG: opts.kubeconfig, ...own, ...opts.env },
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start the ${component}`);
  if (opts.detached) child.unref();
  return child;
}

/** Polls /readyz until it answers 200; fails early, with the log's tail, when the process exits. */
export async function waitReady(component: Component, port: number, alive: () => boolean, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the ${component} exited before it was ready:\n${tail(logFile)}`);
    if ((await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the ${component} was not ready on :${port} within ${timeoutMs} ms:\n${tail(logFile)}`);
}

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
