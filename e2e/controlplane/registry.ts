// A list of running local clusters under the cache dir, so a cluster whose
// owner was killed (kill -9 of a test run) is found and stopped next time.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type ClusterState, isStale, loadState, stopCluster } from "./cluster.ts";

export function cacheDir(): string {
  return process.env.SMARTOPS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "smartops");
}

const registryDir = () => process.env.SMARTOPS_REGISTRY_DIR ?? join(cacheDir(), "clusters");

export function register(state: ClusterState): void {
  mkdirSync(registryDir(), { recursive: true });
  writeFileSync(join(registryDir(), `${state.ports.apiserver}`), state.dir);
}

export function unregister(state: ClusterState): void {
  rmSync(join(registryDir(), `${state.ports.apiserver}`), { force: true });
}

/** Stops clusters whose owning process is gone; returns how many. */
export function reapStale(log: (line: string) => void = () => {}, registry = registryDir()): number {
  if (!existsSync(registry)) return 0;
  let reaped = 0;
  for (const entry of readdirSync(registry)) {
    const file = join(registry, entry);
    const dir = readFileSync(file, "utf8").trim();
    if (!existsSync(join(dir, "state.json"))) {
      rmSync(file, { force: true });
      continue;
    }
    const state = loadState(dir);
    if (!isStale(state)) continue;
    log(`stopping stale control plane in ${dir} (owner ${state.ownerPid} is gone)`);
    stopCluster(state);
    rmSync(file, { force: true });
    reaped++;
  }
  return reaped;
}
