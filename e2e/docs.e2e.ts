// Docs are tests: every command block a user is told to run, in each covered
// file, runs in order against the test cluster (see e2e/support/doctest.ts and
// "Docs are tests" in docs/development.md). The shell is a newcomer's: a fresh
// HOME (no ~/.cache, nothing in it), the machine's node first on PATH (Node 20
// here, so the Makefile's own Node 22 is what runs the project), no .tools on PATH.
// SMARTOPS_CACHE points at the already-built control plane so nothing rebuilds.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { attachedDir, freePort, loadState } from "./controlplane/cluster.ts";
import { cacheDir } from "./controlplane/registry.ts";
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
  "docs/shim.md",
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
  // make dev-down, as the README tells the user, with the same environment.
  if (env) await run("make dev-down\n", 120_000);
  if (home) rmSync(home, { recursive: true, force: true });
}, 180_000);

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
