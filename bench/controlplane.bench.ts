// Measures the local control plane: cold build time (recorded by build.sh), warm
// start time to a Ready KWOK node, memory of each component once idle, and disk
// used by the caches and by one running cluster.
//
//   make bench                      # 3 starts, etcd fsync on
//   node bench/controlplane.bench.ts --runs 5 --no-fsync
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildControlPlane, COMPONENTS, type Component, kubectl, startCluster, stopCluster } from "../e2e/controlplane/cluster.ts";
import { cacheDir } from "../e2e/controlplane/registry.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, "no-fsync": { type: "boolean", default: false } } });
const runs = Number(values.runs);
const fsync = !values["no-fsync"];

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function du(path: string): string {
  if (!existsSync(path)) return "-";
  return execFileSync("du", ["-sh", path], { encoding: "utf8" }).split("\t")[0] ?? "-";
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
};

const binDir = buildControlPlane();
const buildSeconds = readFileSync(join(binDir, "..", "build-seconds"), "utf8").trim();

const starts: number[] = [];
const rss: Record<Component, number[]> = Object.fromEntries(COMPONENTS.map((c) => [c, []])) as unknown as Record<Component, number[]>;
let clusterDisk = "-";
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const state = await startCluster({ etcdFsync: fsync });
  starts.push(performance.now() - t0);
  kubectl(state, ["apply", "--server-side", "-f", join(import.meta.dirname, "..", "crds")]);
  await new Promise((r) => setTimeout(r, 5000)); // let informers settle before reading memory
  for (const c of COMPONENTS) rss[c].push(rssMiB(state.processes[c]!.pid));
  clusterDisk = du(state.dir);
  stopCluster(state);
}

const s = stats(starts);
console.log(`# control plane benchmark — ${new Date().toISOString()}, ${runs} runs, etcd fsync ${fsync ? "on" : "off"}`);
console.log(`cold build (recorded by build.sh): ${buildSeconds} s`);
console.log(`warm start to Ready node and default ServiceAccount: median ${(s.median / 1000).toFixed(2)} s (min ${(s.min / 1000).toFixed(2)}, max ${(s.max / 1000).toFixed(2)})`);
console.log("RSS after CRDs installed, idle 5 s (median MiB):");
let total = 0;
for (const c of COMPONENTS) {
  const m = stats(rss[c]).median;
  total += m;
  console.log(`  ${c.padEnd(24)} ${m.toFixed(0)}`);
}
console.log(`  ${"total".padEnd(24)} ${total.toFixed(0)}`);
const cache = cacheDir();
console.log(`disk: Go module cache ${du(join(cache, "go", "mod"))}, Go build cache ${du(join(cache, "go", "build"))}, binaries ${du(join(cache, "controlplane"))}, one running cluster ${clusterDisk}`);
