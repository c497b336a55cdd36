// The harness stops exactly the processes it started: also when its owner is
// killed with SIGKILL, and never a PID that is not one of its binaries.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { attachedDir, COMPONENTS, type ClusterState, loadState, processesNaming, restartComponent, startCluster, stopCluster } from "./controlplane/cluster.ts";
import { reapStale } from "./controlplane/registry.ts";
import { waitFor } from "./support/kube.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
};

const pids = (s: ClusterState) => COMPONENTS.map((c) => s.processes[c]!.pid);

describe("control plane harness", () => {
  it("reaps a cluster whose owner was killed with SIGKILL, and only its processes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smartops-harness-"));
    const cache = mkdtempSync(join(tmpdir(), "smartops-registry-"));
    const env = { ...process.env, SMARTOPS_REGISTRY_DIR: cache };
    // An owner process that starts a cluster, registers it, then waits to be killed.
    const script = `
      import { startCluster } from ${JSON.stringify(resolve(import.meta.dirname, "controlplane/cluster.ts"))};
      import { register } from ${JSON.stringify(resolve(import.meta.dirname, "controlplane/registry.ts"))};
      const s = await startCluster({ dir: ${JSON.stringify(dir)} });
      register(s);
      console.log("ready");
      setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ["--input-type=module", "-e", script], { env, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    owner.stdout.on("data", (d: Buffer) => (output += d.toString()));
    await waitFor("owner ready", () => output.includes("ready"), 120_000, 250);
    const state = loadState(dir);
    expect(pids(state).every(alive)).toBe(true);

    const bystander = spawn("sleep", ["60"]);
    // A detached operator left by `make dev` against this cluster (its command line names our entry point),
    // and a pid file that points at someone else's process.
    const attached = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", resolve(import.meta.dirname, "../operator/src/cmd/operator.ts")], { stdio: "ignore" });
    onTestFinished(() => void attached.kill("SIGKILL"));
    mkdirSync(attachedDir(state), { recursive: true });
    writeFileSync(join(attachedDir(state), "operator.pid"), `${attached.pid}\n`);
    writeFileSync(join(attachedDir(state), "shim.pid"), `${bystander.pid}\n`);
    owner.kill("SIGKILL");
    await waitFor("owner gone", () => !alive(owner.pid!), 10_000);
    expect(pids(state).every(alive), "components outlive a SIGKILLed owner until reaped").toBe(true);

    const reaped = reapStale(() => {}, cache);
    expect(reaped).toBe(1);
    await waitFor("components stopped", () => pids(state).every((p) => !alive(p)), 20_000);
    await waitFor("attached operator stopped", () => !alive(attached.pid!), 10_000);
    expect(alive(bystander.pid!)).toBe(true);
    expect(existsSync(dir)).toBe(false);
    bystander.kill();
  });

  it("stops a component restarted by another process: nothing of the cluster outlives stopCluster", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smartops-restarted-"));
    const state = await startCluster({ dir });
    // The global setup keeps the state it started with; a test worker restarts the
    // API server from state.json, which then alone records the new pid.
    const startedWith = structuredClone(state);
    let latest = state;
    try {
      const worker = loadState(dir);
      await restartComponent(worker, "kube-apiserver");
      latest = loadState(dir);
      const restarted = latest.processes["kube-apiserver"]!.pid;
      expect(restarted).not.toBe(startedWith.processes["kube-apiserver"]!.pid);
      expect(alive(restarted)).toBe(true);
      expect(processesNaming(dir).length).toBe(COMPONENTS.length);

      stopCluster(startedWith);
      expect(alive(restarted), `restarted kube-apiserver ${restarted} outlived stopCluster`).toBe(false);
      expect(pids(startedWith).filter(alive)).toEqual([]);
      expect(processesNaming(dir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    } finally {
      stopCluster(latest);
    }
  });

  it("never signals a PID that is not one of the cluster's binaries", () => {
    const bystander = spawn("sleep", ["60"]);
    const fake: ClusterState = {
      ...({} as ClusterState),
      dir: mkdtempSync(join(tmpdir(), "smartops-fake-")),
      binDir: resolve(execFileSync(resolve(import.meta.dirname, "controlplane/build.sh"), { encoding: "utf8" }).trim()),
      processes: { etcd: { pid: bystander.pid!, argv: [], log: "" } },
    };
    stopCluster(fake);
    expect(alive(bystander.pid!)).toBe(true);
    bystander.kill();
  });
});

