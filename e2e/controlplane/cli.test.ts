// `make cluster-down` (cli.ts down) stops the operator and shim `make dev` left
// running only when they run against the cluster being stopped: the dev dir's
// kubeconfigs name their server, compared with the cluster's state.server.
// The cluster here is a state.json without processes (nothing to signal), the
// dev processes are stand-ins whose command line names the real entry points.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ENTRY } from "../support/processes.ts";
import { type ClusterState, kubeconfigYaml } from "./cluster.ts";

const CLI = resolve(import.meta.dirname, "cli.ts");
const children: ChildProcess[] = [];
const roots: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
};

function fixture(clusterServer: string, devServer: string) {
  const root = mkdtempSync(join(tmpdir(), "smartops-cli-down-"));
  roots.push(root);
  const clusterDir = join(root, "cluster");
  const devDir = join(root, "dev");
  mkdirSync(clusterDir);
  mkdirSync(devDir);
  const state = { dir: clusterDir, binDir: join(root, "no-bin"), server: clusterServer, ports: { apiserver: 1 }, processes: {}, ownerPid: 0 } as unknown as ClusterState;
  writeFileSync(join(clusterDir, "state.json"), JSON.stringify(state));
  const pids: Record<string, number> = {};
  for (const c of ["operator", "shim"] as const) {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", ENTRY[c]], { stdio: "ignore" });
    children.push(child);
    pids[c] = child.pid!;
    writeFileSync(join(devDir, `${c}.pid`), `${child.pid}\n`);
    writeFileSync(join(devDir, `${c}.kubeconfig`), kubeconfigYaml(devServer, "ca", "token", `smartops-${c}`));
  }
  const down = () =>
    spawnSync(process.execPath, [CLI, "down"], {
      encoding: "utf8",
      env: { ...process.env, SMARTOPS_CLUSTER_DIR: clusterDir, SMARTOPS_DEV_DIR: devDir, SMARTOPS_REGISTRY_DIR: join(root, "registry") },
      timeout: 60_000,
    });
  return { clusterDir, pids, down };
}

describe("cli.ts down", () => {
  it("leaves the dev operator and shim alone when they run against another cluster", () => {
    const f = fixture("https://127.0.0.1:6443", "https://127.0.0.1:7443");
    const r = f.down();
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(f.clusterDir), "the named cluster is stopped").toBe(false);
    expect(alive(f.pids.operator!), r.stderr).toBe(true);
    expect(alive(f.pids.shim!), r.stderr).toBe(true);
  });

  it("stops the dev operator and shim that run against the cluster it stops", async () => {
    const f = fixture("https://127.0.0.1:6443", "https://127.0.0.1:6443");
    const r = f.down();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stopped the dev operator/);
    expect(existsSync(f.clusterDir)).toBe(false);
    await expect.poll(() => alive(f.pids.operator!) || alive(f.pids.shim!), { timeout: 5000 }).toBe(false);
  });
});
