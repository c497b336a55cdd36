// `make dev` against the test's control plane (KUBECONFIG set), run as a user
// runs it: its own process, plain output (no TTY). The outcome is then read from
// the cluster and from the processes it left running.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { signalName } from "../../operator/src/shim/mapping.ts";
import { attachedDir, freePort, loadState } from "../controlplane/cluster.ts";
import { clients } from "../support/kube.ts";
import { getAction, signalStatus } from "../support/loop.ts";
import { scenarios, windows } from "./scenarios.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const NS = "e2e-dev";
const c = clients();
// Under the test cluster's dir when there is one, so the detached operator and shim
// go down with the cluster even if this run is killed (see attachedDir).
const clusterDir = inject("clusterDir");
const dir = clusterDir ? attachedDir(loadState(clusterDir)) : mkdtempSync(join(tmpdir(), "smartops-dev-e2e-"));
let env: Record<string, string>;
let ports: { operator: number; shim: number };

function node(script: string, extra: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [join(ROOT, script)], { env: { ...process.env, ...env, ...extra }, timeout: 280_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      res({ code, output: stdout + stderr });
    });
  });
}

const walkthrough = (run: string) => node("e2e/dev/walkthrough.ts", { SMARTOPS_DEV_RUN_ID: run });
const pidOf = (component: string) => Number(readFileSync(join(dir, `${component}.pid`), "utf8"));
const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return false;
  }
};
const readyz = async (port: number) => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status;

async function outcomes(run: string) {
  const out: { id: string; windowId: string; phase?: string; reason?: string; expected: unknown; dryRun?: boolean; type?: string; requestedBy?: string }[] = [];
  for (const s of scenarios(run)) {
    for (const [i, w] of windows(s).entries()) {
      const kind = w.route.endsWith("anomaly") ? "AnomalySignal" : "RcaSignal";
      const name = signalName(String(w.body.windowId));
      const sig = (await signalStatus(c, kind, NS, name)) as { actionRef?: { name: string }; phase?: string; reason?: string } | undefined;
      const plural = kind === "AnomalySignal" ? "anomalysignals" : "rcasignals";
      const obj = (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural, name })) as { metadata: { annotations?: Record<string, string> } };
      const a = sig?.actionRef ? await getAction(c, NS, sig.actionRef.name) : undefined;
      out.push({
        // A signal the escalation ladder turned into a notification has no action: its own phase and reason say so.
        id: s.id, windowId: String(w.body.windowId), phase: a?.status?.phase ?? sig?.phase, reason: a?.status?.reason ?? sig?.reason, expected: s.expected[i],
        dryRun: a?.spec.dryRun, type: a?.spec.type, requestedBy: obj.metadata.annotations?.["smartops.io/requested-by"],
      });
    }
  }
  return out;
}

beforeAll(async () => {
  ports = { operator: await freePort(), shim: await freePort() };
  env = {
    KUBECONFIG: inject("kubeconfig"),
    SMARTOPS_KUBECTL: inject("kubectl"),
    SMARTOPS_DEV_DIR: dir,
    SMARTOPS_DEV_NAMESPACE: NS,
    SMARTOPS_DEV_OPERATOR_PORT: String(ports.operator),
    SMARTOPS_DEV_SHIM_PORT: String(ports.shim),
  };
});

afterAll(async () => {
  await node("e2e/dev/down.ts");
  rmSync(dir, { recursive: true, force: true });
});

describe("make dev (walkthrough) on the cluster of KUBECONFIG", () => {
  let first: { code: number; output: string };
  let firstPids: { operator: number; shim: number };

  it("posts C1–C5 to the shim; the actions in the cluster have the seed outcomes", async () => {
    first = await walkthrough("first");
    expect(first.code, first.output).toBe(0);
    const got = await outcomes("first");
    expect(got).toHaveLength(7);
    for (const o of got) expect({ phase: o.phase, reason: o.reason }, `${o.id} ${o.windowId}\n${first.output}`).toEqual(o.expected);
    // Through the shim, under the agent's own token: the caller is recorded on every signal.
    for (const o of got) expect(o.requestedBy).toBe(`system:serviceaccount:${NS}:smartops-agent`);
    expect(got.map((o) => `${o.id}:${o.type}${o.dryRun ? ":dry" : ""}`)).toEqual(["C1:restart", "C2:scale", "C3:restart", "C4:restart:dry", "C5:restart", "C5:scale", "C5:scale:dry"]);
    expect((await c.apps.readNamespacedDeployment({ name: "erp-simulator", namespace: NS })).spec?.replicas).toBe(3);
    // What the user sees: each step, the retried window answered as a duplicate, the cooldown explained, how to stop.
    expect(first.output).not.toContain("\u001b[");
    for (const text of ["✔ operator", "✔ shim", "C1 memory leak", "duplicate (no new signal)", "guardrail passed", "verified  SUCCESS", "Blocked (CooldownActive) is the seed's restart-loop guardrail", "make dev-down", "kubectl get remediationactions -A", `http://127.0.0.1:${ports.operator}/metrics`]) {
      expect(first.output).toContain(text);
    }
  }, 300_000);

  it("leaves the operator and the shim running detached, answering /readyz, with pid files and logs", async () => {
    firstPids = { operator: pidOf("operator"), shim: pidOf("shim") };
    expect(alive(firstPids.operator) && alive(firstPids.shim)).toBe(true);
    expect(await readyz(ports.operator)).toBe(200);
    expect(await readyz(ports.shim)).toBe(200);
    expect(readFileSync(join(dir, "operator.log"), "utf8")).toContain("dev-");
    expect(readFileSync(join(dir, "shim.log"), "utf8")).toContain("shim listening");
  });

  it("a re-run replaces both processes, posts fresh windows and explains the cooldown blocks", async () => {
    const second = await walkthrough("second");
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain(`stopping the operator and shim of the previous run — operator (pid ${firstPids.operator}), shim (pid ${firstPids.shim})`);
    expect(alive(firstPids.operator) || alive(firstPids.shim)).toBe(false);
    const pids = { operator: pidOf("operator"), shim: pidOf("shim") };
    expect(pids.operator).not.toBe(firstPids.operator);
    expect(alive(pids.operator) && alive(pids.shim)).toBe(true);
    // Within five minutes of the first run's restart and scale, the same problems again mean those actions did not
    // work: C1's memory leak escalates from restart to scale-up (held back by the scale cooldown), C2's CPU
    // saturation after a scale-up reaches the ladder's notify step (no action, a human is told); the rest are
    // held back by the cooldowns. The output says why.
    const got = await outcomes("second");
    expect(got.map((o) => o.reason)).toEqual(["CooldownActive", "EscalatedToHuman", ...Array(5).fill("CooldownActive")]);
    expect(got[1]!.phase).toBe("Notified");
    expect(second.output).toContain("the escalation ladder");
    expect(second.output).toContain("on a fresh start this is Succeeded (RolloutComplete)");
    expect(second.output).toMatch(/restart cooldown of 300s after \S+ has \d+s left/);
  }, 300_000);

  it("make dev-down stops both and removes the pid files", async () => {
    const pids = { operator: pidOf("operator"), shim: pidOf("shim") };
    const down = await node("e2e/dev/down.ts");
    expect(down.code, down.output).toBe(0);
    expect(down.output).toContain(`stopped operator (pid ${pids.operator}), shim (pid ${pids.shim})`);
    expect(alive(pids.operator) || alive(pids.shim)).toBe(false);
    expect(await readyz(ports.operator)).toBeUndefined();
    expect(await readyz(ports.shim)).toBeUndefined();
    expect(existsSync(join(dir, "operator.pid")) || existsSync(join(dir, "shim.pid"))).toBe(false);
    expect((await node("e2e/dev/down.ts")).output).toContain("no dev operator or shim running");
  }, 60_000);
});
