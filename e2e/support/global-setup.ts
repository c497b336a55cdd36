// Starts one real control plane for the whole e2e run (or uses the cluster of
// SMARTOPS_E2E_KUBECONFIG, e.g. a k3d cluster where Docker exists), installs the
// CRDs, and always stops exactly the processes it started.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { type ClusterState, processesNaming, startCluster, stopCluster } from "../controlplane/cluster.ts";
import { reapStale, register, unregister } from "../controlplane/registry.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    /** Directory of the local control plane's state.json; empty for an external cluster. */
    clusterDir: string;
    kubectl: string;
  }
}

const ROOT = resolve(import.meta.dirname, "../..");
const log = (line: string) => console.log(`[e2e] ${line}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  reapStale(log);
  let state: ClusterState | undefined;
  let kubeconfig = process.env.SMARTOPS_E2E_KUBECONFIG;
  let kubectlBin = "kubectl";
  if (kubeconfig) {
    log(`using the existing cluster of ${kubeconfig}`);
  } else {
    const started = Date.now();
    state = await startCluster({ log, etcdFsync: false });
    register(state);
    const stop = () => {
      if (!state) return;
      stopCluster(state);
      unregister(state);
      state = undefined;
    };
    process.once("exit", stop);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, () => { stop(); process.exit(130); });
    log(`control plane started in ${Date.now() - started} ms`);
    kubeconfig = state.kubeconfig;
    kubectlBin = resolve(state.binDir, "kubectl");
  }
  execFileSync(kubectlBin, ["--kubeconfig", kubeconfig, "apply", "--server-side", "-f", resolve(ROOT, "crds")], { stdio: "inherit" });
  execFileSync(kubectlBin, ["--kubeconfig", kubeconfig, "wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=smartops", "--timeout=60s"], { stdio: "inherit" });

  project.provide("kubeconfig", kubeconfig);
  project.provide("clusterDir", state?.dir ?? "");
  project.provide("kubectl", kubectlBin);

  return async () => {
    if (!state) return;
    log("stopping the control plane");
    const dir = state.dir;
    stopCluster(state);
    unregister(state);
    state = undefined;
    // Nothing of the run's cluster may outlive it (a restarted component once did).
    const deadline = Date.now() + 5000;
    while (processesNaming(dir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const left = processesNaming(dir);
    if (left.length > 0) throw new Error(`control plane processes outlived the e2e run: ${left.map((pid) => `${pid} (${cmdline(pid)})`).join(", ")}`);
  };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 2).join(" ");
  } catch {
    return "gone";
  }
}
