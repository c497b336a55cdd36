// make cluster-up / cluster-down / cluster-status: one long-lived local control
// plane under the cache dir, independent of any test run.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DEV_COMPONENTS, devDir, devServer, stopDev } from "../dev/supervisor.ts";
import { COMPONENTS, type ClusterState, kubectl, loadState, startCluster, stopCluster } from "./cluster.ts";
import { cacheDir, reapStale, register, unregister } from "./registry.ts";

const dir = process.env.SMARTOPS_CLUSTER_DIR ?? join(cacheDir(), "local-cluster");
const log = (line: string) => console.error(line);

function current(): ClusterState | undefined {
  if (!existsSync(join(dir, "state.json"))) return undefined;
  const state = loadState(dir);
  try {
    kubectl(state, ["get", "--raw", "/readyz"]);
    return state;
  } catch {
    return undefined;
  }
}

async function main(cmd: string | undefined): Promise<void> {
  switch (cmd) {
    case "up": {
      reapStale(log);
      let state = current();
      if (state) {
        log(`control plane already running at ${state.server}`);
      } else {
        if (existsSync(join(dir, "state.json"))) stopCluster(loadState(dir));
        state = await startCluster({ dir, detached: true, etcdFsync: process.env.SMARTOPS_ETCD_FSYNC === "1", log });
        register(state);
      }
      console.log(`export KUBECONFIG=${state.kubeconfig}`);
      return;
    }
    case "down": {
      if (!existsSync(join(dir, "state.json"))) {
        log("no local control plane is running");
        return;
      }
      const state = loadState(dir);
      // The operator and shim `make dev` left running against this cluster go first, while the API
      // server can still take their lease release. Those of another cluster (make dev with another
      // SMARTOPS_CLUSTER_DIR or KUBECONFIG) keep running: `make dev-down` stops them.
      const ours = DEV_COMPONENTS.filter((c) => devServer(devDir(), c) === state.server);
      for (const stopped of await stopDev(devDir(), undefined, ours)) log(`stopped the dev ${stopped}`);
      stopCluster(state);
      unregister(state);
      log(`stopped the control plane in ${dir}`);
      return;
    }
    case "status": {
      const state = current();
      if (!state) {
        log("no local control plane is running");
        process.exitCode = 1;
        return;
      }
      console.log(`server:     ${state.server}\nkubeconfig: ${state.kubeconfig}\nlogs:       ${join(state.dir, "logs")}`);
      for (const c of COMPONENTS) console.log(`${c.padEnd(24)} pid ${state.processes[c]?.pid}`);
      return;
    }
    default:
      log("usage: cli.ts up|down|status");
      process.exitCode = 2;
  }
}

await main(process.argv[2]);
