// `make dev`: the closed loop on the local control plane (or $KUBECONFIG), shown
// step by step. Installs the CRDs, RBAC, admission policy, the erp-simulator demo
// workload and the seed guardrail policy, starts the operator under its own
// ServiceAccount token, then walks the seed chaos scenarios C1–C5 and prints
// each signal, the action it became, the guardrail decision and the verification.
// Everything is left running afterwards.
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { kubeconfigYaml, loadState, startCluster } from "../controlplane/cluster.ts";
import { cacheDir, register } from "../controlplane/registry.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const NS = "smartops-dev";
const OPERATOR_NS = "smartops-system";
const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const yellow = (s: string) => (tty ? `\x1b[33m${s}\x1b[0m` : s);
const red = (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s);

async function cluster(): Promise<{ kubeconfig: string; kubectlBin: string }> {
  if (process.env.KUBECONFIG) {
    console.log(`using the cluster of KUBECONFIG=${process.env.KUBECONFIG}`);
    return { kubeconfig: process.env.KUBECONFIG, kubectlBin: execFileSync(join(ROOT, "e2e/controlplane/build.sh"), { encoding: "utf8" }).trim() + "/kubectl" };
  }
  const dir = join(cacheDir(), "local-cluster");
  if (existsSync(join(dir, "state.json"))) {
    const state = loadState(dir);
    try {
      execFileSync(join(state.binDir, "kubectl"), ["--kubeconfig", state.kubeconfig, "get", "--raw", "/readyz"], { stdio: "ignore" });
      console.log(`local control plane already running at ${state.server}`);
      return { kubeconfig: state.kubeconfig, kubectlBin: join(state.binDir, "kubectl") };
    } catch {
      /* stale: start a new one below */
    }
  }
  console.log(bold("▶ building (first time: several minutes) and starting the local control plane"));
  const state = await startCluster({ dir, detached: true, log: (l) => console.log(`  ${l}`) });
  register(state);
  return { kubeconfig: state.kubeconfig, kubectlBin: join(state.binDir, "kubectl") };
}

const { kubeconfig, kubectlBin } = await cluster();
const k = (args: string[], input?: string) =>
  execFileSync(kubectlBin, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
const apply = (obj: unknown) => k(["apply", "--server-side", "--force-conflicts", "-f", "-"], stringify(obj));
const get = (kind: string, name: string) => JSON.parse(k(["get", kind, name, "-n", NS, "-o", "json"])) as { status?: Record<string, unknown>; spec: Record<string, unknown> };

console.log(bold("▶ installing CRDs, RBAC, the approval admission policy, demo workload and the seed guardrail policy"));
k(["apply", "--server-side", "-f", join(ROOT, "crds")]);
k(["wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=smartops", "--timeout=60s"]);
k(["apply", "--server-side", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${OPERATOR_NS}\n`);
k(["apply", "--server-side", "-f", join(ROOT, "config/rbac/operator.yaml")]);
k(["apply", "--server-side", "-f", join(ROOT, "config/rbac/approver.yaml")]);
k(["apply", "--server-side", "-f", join(ROOT, "config/admission/approval-policy.yaml")]);
k(["apply", "--server-side", "-f", join(ROOT, "samples/demo/erp-simulator.yaml")]);
k(["apply", "--server-side", "-f", join(ROOT, "samples/valid/guardrailpolicy-default.yaml")]);
k(["-n", NS, "rollout", "status", "deployment/erp-simulator", "--timeout=120s"]);

// The operator runs as its own ServiceAccount, as in a cluster.
const token = k(["create", "token", "smartops-operator", "-n", OPERATOR_NS, "--duration=24h"]).trim();
const admin = JSON.parse(k(["config", "view", "--raw", "--minify", "-o", "json"])) as { clusters: { cluster: { server: string; "certificate-authority-data"?: string } }[] };
const devDir = join(cacheDir(), "dev");
mkdirSync(devDir, { recursive: true });
const opKubeconfig = join(devDir, "operator.kubeconfig");
const ca = Buffer.from(admin.clusters[0]!.cluster["certificate-authority-data"] ?? "", "base64").toString("utf8");
writeFileSync(opKubeconfig, kubeconfigYaml(admin.clusters[0]!.cluster.server, ca, token, "smartops-operator"), { mode: 0o600 });

const pidFile = join(devDir, "operator.pid");
if (existsSync(pidFile)) {
  const old = Number(readFileSync(pidFile, "utf8"));
  try {
    if (readFileSync(`/proc/${old}/cmdline`, "utf8").includes("operator.ts")) process.kill(old, "SIGTERM");
  } catch {
    /* not running */
  }
}
const logFile = join(devDir, "operator.log");
const fd = openSync(logFile, "a");
const operator = spawn(process.execPath, [join(ROOT, "operator/src/cmd/operator.ts")], {
  detached: true,
  stdio: ["ignore", fd, fd],
  env: { ...process.env, KUBECONFIG: opKubeconfig, SMARTOPS_OPERATOR_NAMESPACE: OPERATOR_NS, SMARTOPS_LISTEN: "127.0.0.1:8080", SMARTOPS_IDENTITY: "dev" },
});
closeSync(fd);
operator.unref();
writeFileSync(pidFile, String(operator.pid));
console.log(bold(`▶ operator started (pid ${operator.pid}, logs ${logFile}, metrics http://127.0.0.1:8080/metrics)`));
await until("operator ready", async () => (await fetch("http://127.0.0.1:8080/readyz").catch(() => undefined))?.ok === true, 60_000);

const scenarios: { id: string; what: string; kind: "AnomalySignal" | "RcaSignal"; name: string; spec: Record<string, unknown> }[] = [
  { id: "C1", what: "memory leak", kind: "RcaSignal", name: "c1-memory-leak", spec: { windowId: "c1-memory-leak", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "memory_leak", probability: 0.95 }], confidence: 0.88, modelVersion: "v1" } },
  { id: "C2", what: "CPU spike", kind: "RcaSignal", name: "c2-cpu-spike", spec: { windowId: "c2-cpu-spike", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "cpu_saturation", probability: 0.91 }], confidence: 0.9, modelVersion: "v1" } },
  { id: "C3", what: "latency jitter", kind: "AnomalySignal", name: "c3-latency-jitter", spec: { windowId: "c3-latency-jitter", service: "erp-simulator", isAnomaly: true, score: 0.94, type: "jitter", modelVersion: "v1" } },
  { id: "C4", what: "error burst", kind: "AnomalySignal", name: "c4-error-burst", spec: { windowId: "c4-error-burst", service: "erp-simulator", isAnomaly: true, score: 0.97, type: "error", modelVersion: "v1" } },
  { id: "C5", what: "unverified signal (no modelVersion)", kind: "RcaSignal", name: "c5-unverified", spec: { windowId: "c5-unverified", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "cpu_saturation", probability: 0.8 }], confidence: 0.7 } },
];

console.log(bold(`▶ walking the seed chaos scenarios against ${NS}/erp-simulator (policy: samples/valid/guardrailpolicy-default.yaml)`));
for (const s of scenarios) {
  console.log(`\n${bold(`${s.id} ${s.what}`)}: ${s.kind} ${s.name}`);
  apply({ apiVersion: "smartops.io/v1alpha1", kind: s.kind, metadata: { name: s.name, namespace: NS }, spec: s.spec });
  const signal = await until(`${s.name} decided`, () => {
    const st = get(s.kind.toLowerCase(), s.name).status;
    return st?.phase ? st : undefined;
  }, 30_000);
  const actionName = (signal.actionRef as { name?: string } | undefined)?.name;
  console.log(`  signal   → ${signal.phase}: ${signal.message}`);
  if (!actionName) continue;
  const action = await until(`${actionName} terminal`, () => {
    const a = get("remediationaction", actionName);
    const phase = a.status?.phase as string | undefined;
    if (tty) process.stdout.write(`\r  action   … ${phase ?? "Pending"}          `);
    return ["Succeeded", "Failed", "Blocked", "Rejected", "Expired"].includes(phase ?? "") ? a : undefined;
  }, 120_000);
  if (tty) process.stdout.write("\r");
  const st = action.status as { phase: string; reason: string; message: string; conditions?: { type: string; status: string; message: string }[]; verification?: { status: string; observed?: Record<string, number> }; dryRunResult?: { summary: string } };
  const guard = st.conditions?.find((c) => c.type === "GuardrailsPassed");
  const paint = st.phase === "Succeeded" ? green : st.phase === "Blocked" ? yellow : red;
  console.log(`  action   → ${actionName} (${String(action.spec.type)}${action.spec.dryRun ? ", dry run" : ""})`);
  console.log(`  guardrail→ ${guard?.status === "True" ? green("passed") : yellow(`blocked: ${st.reason}`)} — ${guard?.message ?? st.message}`);
  if (st.dryRunResult) console.log(`  dry run  → ${st.dryRunResult.summary}`);
  if (st.verification) console.log(`  verified → ${st.verification.status} ${JSON.stringify(st.verification.observed ?? {})}`);
  console.log(`  result   → ${paint(`${st.phase} (${st.reason})`)}`);
}

console.log(`
${bold("Everything is still running. Try:")}
  export KUBECONFIG=${kubeconfig}
  kubectl get remediationactions -n ${NS}            # the audit trail
  kubectl get anomalysignals,rcasignals -n ${NS}
  kubectl describe remediationaction -n ${NS} <name> # conditions and events
  kubectl apply -f samples/valid/remediationaction-scale-erp-simulator.yaml
  curl -s http://127.0.0.1:8080/metrics | grep -E 'smartops_|orchestrator_'
  tail -f ${logFile}
Stop: make cluster-down (stops the operator too)`);

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}; operator logs: ${logFile}`);
}
