// Docs are tests: every command block a user is told to run, in each covered
// file, runs in order against the test cluster (see e2e/support/doctest.ts and
// "Docs are tests" in docs/development.md). The shell is a newcomer's: a fresh
// HOME (no ~/.cache, nothing in it), the machine's node first on PATH (Node 20
// here, so the Makefile's own Node 22 is what runs the project), no .tools on PATH.
// SMARTOPS_CACHE points at the already-built control plane so nothing rebuilds.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { attachedDir, freePort, loadState, processesNaming, stopCluster } from "./controlplane/cluster.ts";
import { cacheDir } from "./controlplane/registry.ts";
import { buildImage } from "./support/image.ts";
import { buildScript, extractBlocks, failedBlock, MARKER, type Substitution, tagErrors } from "./support/doctest.ts";

const ROOT = resolve(import.meta.dirname, "..");
/**
 * The files whose command blocks run here, in this order, in one shell session:
 * a newcomer does the README's tour, then opens a runbook in the same shell
 * ($TOKEN, the kubectl alias and KUBECONFIG carry over). docs/deployment.md's
 * blocks are all doctest-skip (docs/adr/0014-doc-tests.md); its tags are checked.
 */
const COVERED = [
  "README.md",
  "docs/runbooks/closed-loop-not-reacting.md",
  "docs/runbooks/pausing-automation.md",
  "docs/runbooks/rbac-forbidden.md",
  "docs/runbooks/restart-loops.md",
  "docs/runbooks/verification-timeouts.md",
  "docs/runbooks/repeated-failures.md",
  "docs/runbooks/action-reverted.md",
  "docs/runbooks/gitops-and-field-owners.md",
  "docs/runbooks/autoscaled-or-gitops.md",
  "docs/shim.md",
  "docs/alertmanager.md",
  "docs/deployment.md",
];

const clusterDir = inject("clusterDir");
let home: string;
let env: Record<string, string>;
let substitutions: Substitution[];

/** The first node on the machine's PATH that is not the Makefile's Node 22 under .tools/. */
function machineNode(): string {
  const found = cleanPath().split(":").map((d) => join(d, "node")).find((f) => existsSync(f));
  if (!found) throw new Error("no node on the machine's PATH");
  return found;
}

function cleanPath(): string {
  return (process.env.PATH ?? "").split(":").filter((d) => d !== "" && !d.includes("/.tools/") && !d.includes("node_modules")).join(":");
}

function run(script: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(home, `doctest-${Date.now()}.sh`);
  writeFileSync(file, script);
  return new Promise((res) => {
    const p = spawn("bash", [file], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(-p.pid!, "SIGKILL"), timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "smartops-newcomer-home-"));
  const ports = { operator: await freePort(), shim: await freePort() };
  const kubeconfig = inject("kubeconfig");
  // The dev processes' pid files live under the test cluster's dir, so they go down with it even if this run is killed.
  const devDir = clusterDir ? join(attachedDir(loadState(clusterDir)), "docs") : join(home, "dev");
  env = {
    HOME: home,
    PATH: `${dirname(machineNode())}:${cleanPath()}`,
    LANG: "C.UTF-8",
    TERM: "dumb",
    SMARTOPS_CACHE: cacheDir(),
    // The newcomer's shell has the test cluster's KUBECONFIG, so `make dev` uses it instead of starting a control plane.
    KUBECONFIG: kubeconfig,
    SMARTOPS_DEV_DIR: devDir,
    SMARTOPS_DEV_OPERATOR_PORT: String(ports.operator),
    SMARTOPS_DEV_SHIM_PORT: String(ports.shim),
  };
  // Documented in docs/development.md ("Docs are tests"); each must still match the docs (checked below).
  substitutions = [
    { from: "~/.cache/smartops/local-cluster/kubeconfig", to: kubeconfig, why: "the test cluster's kubeconfig instead of make cluster-up's" },
    { from: "127.0.0.1:8000", to: `127.0.0.1:${ports.shim}`, why: "the shim's port of this run" },
    { from: "127.0.0.1:8080", to: `127.0.0.1:${ports.operator}`, why: "the operator's port of this run" },
    { from: "curl -s ", to: "curl -sS --fail-with-body ", why: "an HTTP error answer fails the block" },
    { from: " --watch", to: "", why: "a watch never ends; the block lists once" },
    { from: "-n agents create token rca-agent", to: "-n smartops-dev create token smartops-agent", why: "the demo agent of make dev instead of the example's" },
    { from: "http://localhost:8000", to: `http://127.0.0.1:${ports.shim}`, why: "the shim's port of this run" },
    {
      from: "rcasignals -n smartops-dev <name>",
      to: `rcasignals -n smartops-dev "$(kubectl get rcasignals -n smartops-dev --sort-by=.metadata.creationTimestamp -o jsonpath='{.items[-1:].metadata.name}')"`,
      why: "the newest RcaSignal of the demo namespace",
    },
    {
      from: "<name>",
      to: `"$(kubectl get remediationactions -n smartops-dev --sort-by=.metadata.creationTimestamp -o jsonpath='{.items[-1:].metadata.name}')"`,
      why: "the newest RemediationAction of the demo namespace",
    },
  ];
}, 60_000);

afterAll(async () => {
  // make dev-down again in case a test failed before the one that runs it.
  if (env) await run("make dev-down\n", 120_000);
  if (home) rmSync(home, { recursive: true, force: true });
}, 180_000);

/** A foreground target (`make run`, `make shim`) in the newcomer's shell: ready on /readyz, then Ctrl-C (SIGTERM to its group). */
async function foreground(target: string, extra: Record<string, string>, port: number): Promise<{ ready: boolean; output: string; exit: number | null }> {
  const p = spawn("make", [target], { cwd: ROOT, env: { ...env, ...extra }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  p.stdout.on("data", (d: Buffer) => (output += d.toString()));
  p.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((res) => p.once("exit", (code) => res(code)));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 90_000;
  let ready = false;
  while (!done && !ready && Date.now() < deadline) {
    ready = (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok ?? false;
    if (!ready) await new Promise((r) => setTimeout(r, 250));
  }
  if (!done) process.kill(-p.pid!, "SIGTERM");
  const timer = setTimeout(() => !done && process.kill(-p.pid!, "SIGKILL"), 30_000);
  const exit = await exited;
  clearTimeout(timer);
  return { ready, output, exit };
}

describe("docs are tests", () => {
  it("runs under a newcomer's shell: fresh HOME, the machine's node first on PATH", async () => {
    const r = await run('test ! -e "$HOME/.cache" && node --version && command -v node\n', 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[1]).toBe(machineNode());
  });

  const blocks = COVERED.flatMap((file) => extractBlocks(file, readFileSync(join(ROOT, file), "utf8")));

  for (const file of COVERED) {
    it(`${file}: every command block is tagged`, () => {
      const mine = blocks.filter((b) => b.file === file);
      expect(mine.length, `${file} has no command blocks`).toBeGreaterThan(0);
      expect(tagErrors(mine)).toEqual([]);
    });
  }

  it("the tested blocks run in order, in one shell session, against the test cluster", async () => {
    const { script, used } = buildScript(blocks, substitutions);
    const r = await run(script, 540_000);
    expect(r.code, `block ${failedBlock(r.stderr)} failed (exit ${r.code}):\n${r.stderr.slice(-6000)}\n--- stdout ---\n${r.stdout.slice(-3000)}`).toBe(0);
    const ran = r.stderr.split("\n").filter((l) => l.startsWith(MARKER)).length;
    expect(ran).toBe(blocks.filter((b) => b.tag.kind === "test").length);
    const stale = substitutions.filter((s) => !used.has(s)).map((s) => s.from);
    expect(stale, "substitutions that no longer match the docs").toEqual([]);
    if (process.env.SMARTOPS_DOCTEST_LOG) writeFileSync(process.env.SMARTOPS_DOCTEST_LOG, `${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }, 600_000);
});

describe("the Makefile targets the README names, in the newcomer's shell", () => {
  // `dev` runs as README.md's first block above; `run` also has its own e2e (make-run.e2e.ts) that reconciles a signal.
  it("make install: the CRDs into the cluster of $KUBECONFIG", async () => {
    const r = await run("make install\n", 120_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/remediationactions.smartops.io condition met/);
  });

  it("make generate: regenerates without error", async () => {
    const r = await run("make generate\n", 180_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }, 200_000);

  it("make chart-lint", async () => {
    const r = await run("make chart-lint\n", 300_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }, 320_000);

  it("make image: a full build into a directory of the fresh HOME gives the digest of build/image", async () => {
    const out = join(home, "image");
    // npm ci --omit=dev takes the packages from the machine's npm cache, offline (what `make deps` fetched).
    const npmCache = execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8" }).trim();
    const r = await run(`export npm_config_cache=${npmCache} npm_config_offline=true\nSMARTOPS_IMAGE_DIR=${out} make image\n`, 600_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(existsSync(join(out, "oci/index.json")) && existsSync(join(out, "smartops-operator.tar"))).toBe(true);
    // The build is reproducible: the same checkout gives the same image, whoever builds it.
    expect(readFileSync(join(out, "digest"), "utf8")).toBe(readFileSync(join(buildImage(), "digest"), "utf8"));
  }, 620_000);

  it("make run and make shim start in the foreground against $KUBECONFIG and stop on Ctrl-C", async () => {
    for (const [target, listen] of [["run", "SMARTOPS_LISTEN"], ["shim", "SMARTOPS_SHIM_LISTEN"]] as const) {
      const port = await freePort();
      // The operator's lease namespace of its own, so it does not wait behind the make dev operator's lease.
      const r = await foreground(target, { [listen]: `127.0.0.1:${port}`, SMARTOPS_OPERATOR_NAMESPACE: "smartops-doctest-run" }, port);
      expect(r.ready, `make ${target} never became ready (exit ${r.exit}):\n${r.output}`).toBe(true);
    }
  }, 240_000);

  it("make cluster-up, cluster-status, cluster-down: a control plane of its own, and nothing of it left after down", async () => {
    const dir = join(home, "cluster");
    const clusterEnv = `export SMARTOPS_CLUSTER_DIR=${dir}\n`;
    try {
      const up = await run(`${clusterEnv}make -s cluster-up\n`, 300_000);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout.trim()).toBe(`export KUBECONFIG=${dir}/kubeconfig`);
      const status = await run(`${clusterEnv}make -s cluster-status\n`, 60_000);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^server: +https:\/\/127\.0\.0\.1:\d+$/m);
      expect(processesNaming(dir).length).toBe(5);
      const down = await run(`${clusterEnv}make -s cluster-down\n`, 120_000);
      expect(down.code, down.stderr).toBe(0);
      // make dev's operator and shim run against the suite's cluster, not this one: they stay.
      expect(down.stderr).not.toMatch(/stopped the dev/);
      expect(processesNaming(dir)).toEqual([]);
      const after = await run(`${clusterEnv}make -s cluster-status\n`, 60_000);
      expect(after.code).not.toBe(0);
    } finally {
      if (existsSync(join(dir, "state.json"))) stopCluster(loadState(dir));
    }
  }, 600_000);

  it("make dev-down stops the operator and the shim make dev left running", async () => {
    const pids = ["operator", "shim"].map((c) => Number(readFileSync(join(env.SMARTOPS_DEV_DIR!, `${c}.pid`), "utf8")));
    const r = await run("make dev-down\n", 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stopped operator \(pid \d+\), shim \(pid \d+\)/);
    for (const pid of pids) expect(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, "utf8").length > 0, `pid ${pid}`).toBe(false);
  }, 150_000);
});
