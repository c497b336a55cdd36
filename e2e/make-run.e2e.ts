// `make run` as the README tells a user to type it: KUBECONFIG of the cluster
// (here the test cluster, as its admin), nothing else set but the listen address
// (so it cannot collide with another process on :8080). It must create its
// namespace, start the operator in the foreground and reconcile a signal into
// an action that reaches a terminal phase.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort } from "./controlplane/cluster.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { anomaly, createDeployment, permissive, signalToAction, TERMINAL, waitForPhase } from "./support/loop.ts";

const ROOT = resolve(import.meta.dirname, "..");
const NS = "e2e-make-run";
const c = clients();
let make: ChildProcess | undefined;
let output = "";

const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;

/** SIGTERM to make's whole process group (make, its shell, node), as Ctrl-C in a terminal reaches all of them. */
async function stop(p: ChildProcess): Promise<void> {
  if (exited(p)) return;
  const gone = new Promise((r) => p.once("exit", r));
  process.kill(-p.pid!, "SIGTERM");
  await Promise.race([gone, new Promise((r) => setTimeout(r, 30_000))]);
  if (!exited(p)) process.kill(-p.pid!, "SIGKILL");
}

afterAll(async () => {
  if (make) await stop(make);
});

describe("make run", () => {
  it("starts the operator against $KUBECONFIG and reconciles a signal into a terminal action", async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: inject("kubeconfig"), SMARTOPS_LISTEN: `127.0.0.1:${port}` };
    delete env.SMARTOPS_OPERATOR_NAMESPACE;
    make = spawn("make", ["run"], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const p = make;
    p.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (output += d.toString()));

    const ready = await waitFor("the operator of make run to be ready", async () => {
      if (exited(p)) return "exited";
      return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok && "ready";
    }, 90_000, 250);
    expect(ready, `make run exited ${p.exitCode ?? p.signalCode}:\n${output}`).toBe("ready");
    // The namespace make run applies holds the operator's lease.
    expect((await c.core.readNamespace({ name: "smartops-system" })).metadata?.name).toBe("smartops-system");

    await ensureNamespace(c, NS);
    await applySmartops(c, permissive(NS));
    await createDeployment(c, NS, "make-run-app");
    const name = await signalToAction(c, anomaly(NS, "make-run-cpu", { service: "make-run-app", type: "resource" }), 60_000);
    const a = await waitForPhase(c, NS, name, TERMINAL, 90_000);
    expect(TERMINAL).toContain(a.status?.phase);
    expect(a.spec).toMatchObject({ target: { name: "make-run-app" }, signalRef: { kind: "AnomalySignal", name: "make-run-cpu" } });

    await stop(p);
    expect(exited(p)).toBe(true);
  });
});
