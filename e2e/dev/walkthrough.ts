// `make dev`: the closed loop on the local control plane (or $KUBECONFIG), shown
// step by step. Installs the CRDs, RBAC, the approval admission policy, the
// erp-simulator demo workload, a demo agent identity and the seed guardrail
// policy; starts the operator and the HTTP shim detached, each under its own
// ServiceAccount token (replacing the ones a previous run left); then posts the
// seed chaos scenarios C1–C5 to the shim as the agent would, and shows for each
// signal the action it became, the guardrail decision and the verification.
// Everything is left running; `make dev-down` stops the operator and the shim.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { kubeconfigYaml, loadState, startCluster, stopCluster } from "../controlplane/cluster.ts";
import { cacheDir, reapStale, register, unregister } from "../controlplane/registry.ts";
import { componentManifests, OPERATOR_NAMESPACE, SERVICE_ACCOUNT } from "../support/processes.ts";
import { progress } from "./progress.ts";
import { blockHint, type Outcome, type Post, runId, type Scenario, scenarios, windows } from "./scenarios.ts";
import { devDir, runningPid, startDetached, type StartedProcess, stopDev } from "./supervisor.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const NS = process.env.SMARTOPS_DEV_NAMESPACE ?? "smartops-dev";
const DIR = devDir();
const OPERATOR_PORT = Number(process.env.SMARTOPS_DEV_OPERATOR_PORT ?? 8080);
const SHIM_PORT = Number(process.env.SMARTOPS_DEV_SHIM_PORT ?? 8000);
const RUN = process.env.SMARTOPS_DEV_RUN_ID ?? runId();
const AGENT = "smartops-agent";
const AUDIENCE = "smartops-shim";
const TERMINAL = ["Succeeded", "Failed", "Blocked", "Rejected", "Expired"];

const p = progress();
const { bold, dim, green, yellow, red } = p;

interface Cluster {
  kubeconfig: string;
  kubectl: string;
  /** Started or reused under the cache dir (so `make cluster-down` applies). */
  local: boolean;
}

async function cluster(status: (s: string) => void): Promise<Cluster> {
  if (process.env.KUBECONFIG) {
    status(`using KUBECONFIG=${process.env.KUBECONFIG}`);
    const kubectl = process.env.SMARTOPS_KUBECTL ?? execFileSync(join(ROOT, "e2e/controlplane/build.sh"), { encoding: "utf8" }).trim() + "/kubectl";
    return { kubeconfig: process.env.KUBECONFIG, kubectl, local: false };
  }
  const dir = join(cacheDir(), "local-cluster");
  reapStale(status);
  if (existsSync(join(dir, "state.json"))) {
    const state = loadState(dir);
    try {
      execFileSync(join(state.binDir, "kubectl"), ["--kubeconfig", state.kubeconfig, "get", "--raw", "/readyz"], { stdio: "ignore" });
      status(`already running at ${state.server}`);
      return { kubeconfig: state.kubeconfig, kubectl: join(state.binDir, "kubectl"), local: true };
    } catch {
      // Stale (e.g. after a reboot): stop what is left of it and start afresh, as `make cluster-up` does.
      stopCluster(state);
      unregister(state);
    }
  }
  status("building (first time: about 6 minutes on a quiet 2-core machine, up to half an hour on a busy one) and starting etcd, kube-apiserver, controller-manager, scheduler, KWOK");
  const state = await startCluster({ dir, detached: true, log: (l) => status(l) });
  register(state);
  return { kubeconfig: state.kubeconfig, kubectl: join(state.binDir, "kubectl"), local: true };
}

function fail(err: unknown): never {
  p.line();
  p.line(red(`make dev failed: ${err instanceof Error ? err.message : String(err)}`));
  p.line(`logs: ${join(DIR, "operator.log")}, ${join(DIR, "shim.log")}; stop what was started: make dev-down`);
  process.exit(1);
}

const c = await p.step("local control plane", cluster, (v) => (v.local ? v.kubeconfig : `cluster of ${v.kubeconfig}`)).catch(fail);

/** kubectl as the admin, without blocking the event loop (the spinner keeps turning). */
function k(args: string[], input?: string): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(c.kubectl, ["--kubeconfig", c.kubeconfig, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", rej);
    child.on("close", (code) => (code === 0 ? res(out) : rej(new Error(`kubectl ${args.join(" ")}: ${err.trim() || `exit ${code}`}`))));
    child.stdin.end(input ?? "");
  });
}
const apply = (yaml: string, force = false) => k(["apply", "--server-side", ...(force ? ["--force-conflicts"] : []), "-f", "-"], yaml);
const demo = (file: string) => readFileSync(join(ROOT, file), "utf8").replaceAll("smartops-dev", NS);

try {
  await p.step("CRDs, operator and shim RBAC, approval admission policy", async (status) => {
    status("CRDs");
    await k(["apply", "--server-side", "-f", join(ROOT, "crds")]);
    await k(["wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=smartops", "--timeout=60s"]);
    status("RBAC");
    for (const m of [...componentManifests("operator"), ...componentManifests("shim")]) await apply(m);
  });

  await p.step(`demo workload ${NS}/erp-simulator, agent ${AGENT}, seed guardrail policy`, async (status) => {
    // Forced: a previous run's scale owns spec.replicas; the demo starts again from 2.
    await apply(demo("samples/demo/erp-simulator.yaml"), true);
    await apply(demo("samples/demo/agent.yaml"));
    // Re-created, not applied: apply would keep fields the tour or a runbook patched in (rules, pause, approval).
    await k(["delete", "guardrailpolicies.smartops.io", "default", "-n", NS, "--ignore-not-found"]);
    await apply(demo("samples/valid/guardrailpolicy-default.yaml"));
    status("waiting for the rollout");
    await k(["-n", NS, "rollout", "status", "deployment/erp-simulator", "--timeout=120s"]);
  }, () => "2 replicas ready on the KWOK node");

  const tokens = await p.step("ServiceAccount tokens (TokenRequest API)", async () => {
    mkdirSync(DIR, { recursive: true });
    const admin = JSON.parse(await k(["config", "view", "--raw", "--minify", "-o", "json"])) as { clusters: { cluster: { server: string; "certificate-authority-data"?: string } }[] };
    const server = admin.clusters[0]!.cluster.server;
    const ca = Buffer.from(admin.clusters[0]!.cluster["certificate-authority-data"] ?? "", "base64").toString("utf8");
    const kubeconfigs: Record<string, string> = {};
    for (const comp of ["operator", "shim"] as const) {
      const token = (await k(["create", "token", SERVICE_ACCOUNT[comp], "-n", OPERATOR_NAMESPACE, "--duration=24h"])).trim();
      kubeconfigs[comp] = join(DIR, `${comp}.kubeconfig`);
      writeFileSync(kubeconfigs[comp], kubeconfigYaml(server, ca, token, SERVICE_ACCOUNT[comp]), { mode: 0o600 });
    }
    const agent = (await k(["create", "token", AGENT, "-n", NS, `--audience=${AUDIENCE}`, "--duration=24h"])).trim();
    writeFileSync(join(DIR, "agent.token"), agent, { mode: 0o600 });
    return { operator: kubeconfigs.operator!, shim: kubeconfigs.shim!, agent };
  }, () => `operator as ${OPERATOR_NAMESPACE}/${SERVICE_ACCOUNT.operator}, shim as ${OPERATOR_NAMESPACE}/${SERVICE_ACCOUNT.shim}, agent ${NS}/${AGENT} for audience ${AUDIENCE}`);

  if (runningPid(DIR, "operator") || runningPid(DIR, "shim")) {
    await p.step("stopping the operator and shim of the previous run", () => stopDev(DIR), (stopped) => stopped.join(", "));
  }
  const operator = await p.step("operator", async (status) => {
    const started = await startDetached("operator", {
      kubeconfig: tokens.operator, port: OPERATOR_PORT, env: { SMARTOPS_IDENTITY: `dev-${hostname()}`, LOG_LEVEL: "info" },
    }, DIR);
    // Ready means caches synced; it acts only once it holds the lease.
    await poll("the operator to hold the lease", async () => {
      const detail = ((await (await fetch(`http://127.0.0.1:${OPERATOR_PORT}/readyz`)).json()) as { detail?: string }).detail ?? "";
      if (detail.includes("leader")) return true;
      const holder = await k(["get", "lease", "smartops-operator", "-n", OPERATOR_NAMESPACE, "-o", "jsonpath={.spec.holderIdentity}"]).catch(() => "?");
      status(`standby: lease ${OPERATOR_NAMESPACE}/smartops-operator is held by ${holder || "nobody"}`);
      return undefined;
    }, 45_000);
    return started;
  }, describe);
  const shim = await p.step("shim", () => startDetached("shim", {
    kubeconfig: tokens.shim, port: SHIM_PORT, env: { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_AUDIENCE: AUDIENCE, LOG_LEVEL: "info" },
  }, DIR), describe);

  p.line();
  p.line(bold(`Seed chaos scenarios C1–C5, posted to the shim as ${NS}/${AGENT} (run ${RUN})`));
  p.line(dim(`policy ${NS}/default (samples/valid/guardrailpolicy-default.yaml): 300 s cooldowns, max 8 replicas, unverified signals → dry run`));
  const results: { s: Scenario; outcomes: (Outcome & { action?: string; type?: string })[] }[] = [];
  for (const s of scenarios(RUN)) results.push({ s, outcomes: await walk(s, tokens.agent) });

  summary(results, operator, shim);
  process.exit(0);
} catch (err) {
  fail(err);
}

function describe(s: StartedProcess): string {
  return `pid ${s.pid}, http://127.0.0.1:${s.port}, log ${s.logFile}`;
}

async function post(x: Post, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${SHIM_PORT}${x.route}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(x.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface SignalStatus { phase?: string; reason?: string; message?: string; verified?: boolean; actionRef?: { name: string } }
interface ActionView {
  spec: { type: string; dryRun?: boolean; scale?: { replicas?: number; by?: number } };
  status?: {
    phase?: string; reason?: string; message?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    verification?: { status: string; message?: string; observed?: Record<string, number> };
    dryRunResult?: { summary: string; toReplicas?: number };
    intent?: { replicas?: number };
  };
}

/** Fully qualified: another API group may serve a kind of the same name. */
async function getJson<T>(plural: string, name: string): Promise<T> {
  return JSON.parse(await k(["get", `${plural}.smartops.io`, name, "-n", NS, "-o", "json"])) as T;
}

async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function walk(s: Scenario, token: string): Promise<(Outcome & { action?: string; type?: string })[]> {
  p.line();
  p.line(`${bold(`${s.id} ${s.chaos}`)} ${dim(`— seed: ${s.seedAction}; ${s.source}`)}`);
  // Combined chaos arrives at once: a scenario's posts are concurrent; retries follow.
  const answers = new Map<Post, Awaited<ReturnType<typeof post>>>();
  await Promise.all(s.posts.filter((x) => !x.retry).map(async (x) => answers.set(x, await post(x, token))));
  for (const x of s.posts.filter((x) => x.retry)) answers.set(x, await post(x, token));
  s.posts.forEach((x) => {
    const a = answers.get(x)!;
    const b = x.body as { windowId: string; type?: string; rankedCauses?: { cause: string }[]; modelVersion?: string };
    const what = x.route.endsWith("anomaly") ? `${b.type} anomaly` : `rca ${b.rankedCauses?.[0]?.cause}`;
    const paint = a.status < 300 ? green : red;
    const answer = a.status < 300 ? `${a.body.duplicate ? "duplicate (no new signal)" : "accepted"} → ${a.body.name}` : `${a.body.error}: ${a.body.message}`;
    p.line(`  POST ${x.route}  ${what} ${b.windowId}${b.modelVersion ? "" : dim(" (no modelVersion)")}${x.note ? dim(` — ${x.note}`) : ""}`);
    p.line(`    ${paint(String(a.status))} ${answer}`);
    if (a.status >= 300) throw new Error(`the shim answered ${a.status} to ${x.route}: ${JSON.stringify(a.body)}`);
  });

  const outcomes: (Outcome & { action?: string; type?: string })[] = [];
  const plans = windows(s);
  for (const [i, x] of plans.entries()) {
    const name = String(answers.get(x)!.body.name);
    const plural = x.route.endsWith("anomaly") ? "anomalysignals" : "rcasignals";
    const label = `${s.id} ${x.body.windowId as string}`;
    const out = await p.step(label, async (status) => {
      status("signal Pending");
      const sig = await poll(`signal ${name}`, async () => {
        const st = (await getJson<{ status?: SignalStatus }>(plural, name)).status;
        return st?.phase && st.phase !== "Pending" ? st : undefined;
      }, 30_000);
      const actionName = sig.actionRef?.name;
      if (!actionName) return { sig, actionName, action: undefined };
      status(`action ${actionName} Pending`);
      const action = await poll(`action ${actionName}`, async () => {
        const a = await getJson<ActionView>("remediationactions", actionName);
        status(`action ${actionName} ${a.status?.phase ?? "Pending"}${a.status?.reason ? ` (${a.status.reason})` : ""}`);
        return TERMINAL.includes(a.status?.phase ?? "") ? a : undefined;
      }, 180_000);
      return { sig, actionName, action };
    }, (v) => (v.action ? paintPhase(`${v.action.status?.phase} (${v.action.status?.reason})`, v.action.status?.phase) : `${v.sig.phase} (${v.sig.reason})`));

    p.line(`    signal    ${out.sig.phase}${out.sig.verified === false ? yellow(" unverified") : ""}: ${out.sig.message ?? ""}`);
    if (!out.action || !out.actionName) {
      outcomes.push({ phase: out.sig.phase ?? "", reason: out.sig.reason ?? "" });
      continue;
    }
    const a = out.action;
    const st = a.status ?? {};
    const guard = st.conditions?.find((x) => x.type === "GuardrailsPassed");
    const to = st.intent?.replicas ?? st.dryRunResult?.toReplicas ?? a.spec.scale?.replicas;
    const scale = a.spec.scale ? (to !== undefined ? ` → ${to} replicas` : ` by ${a.spec.scale.by}`) : "";
    const kind = `${a.spec.type}${scale}${a.spec.dryRun ? ", dry run" : ""}`;
    p.line(`    action    ${out.actionName} (${kind})`);
    p.line(`    guardrail ${guard?.status === "True" ? green("passed") : yellow(`blocked: ${st.reason}`)} — ${guard?.message ?? st.message ?? ""}`);
    if (st.dryRunResult) p.line(`    dry run   ${st.dryRunResult.summary}`);
    if (st.verification) p.line(`    verified  ${st.verification.status} ${dim(JSON.stringify(st.verification.observed ?? {}))}`);
    else if (st.phase === "Blocked") p.line(`    verified  ${dim("— (nothing was changed)")}`);
    const hint = st.phase === "Blocked" ? blockHint(st.reason ?? "", a.spec.type) : undefined;
    if (hint) p.line(`    ${yellow("why")}       ${hint}`);
    const expected = s.expected[i];
    if (expected && (expected.phase !== st.phase || expected.reason !== st.reason)) {
      p.line(dim(`    (on a fresh start this is ${expected.phase} (${expected.reason}); earlier runs' actions on erp-simulator still count against the cooldown and rate limits)`));
    }
    outcomes.push({ phase: st.phase ?? "", reason: st.reason ?? "", action: out.actionName, type: kind });
  }
  return outcomes;
}

function paintPhase(text: string, phase: string | undefined): string {
  return phase === "Succeeded" ? green(text) : phase === "Blocked" ? yellow(text) : red(text);
}

function summary(results: { s: Scenario; outcomes: (Outcome & { action?: string; type?: string })[] }[], operator: StartedProcess, shim: StartedProcess): void {
  const kubectl = commandOnPath("kubectl") ? "kubectl" : c.kubectl;
  p.line();
  p.line(bold("Summary"));
  for (const { s, outcomes } of results) {
    for (const o of outcomes) p.line(`  ${s.id}  ${s.chaos.padEnd(15)} ${(o.type ?? "no action").padEnd(28)} ${paintPhase(`${o.phase} (${o.reason})`, o.phase)}`);
  }
  const blocked = results.some((r) => r.outcomes.some((o) => o.reason === "CooldownActive"));
  if (blocked) {
    p.line();
    p.line(`${yellow("Blocked (CooldownActive)")} is the seed's restart-loop guardrail at work (seed §9.4.2): after an executed`);
    p.line("restart or scale of erp-simulator, the next one of the same type waits cooldownSeconds (300 s in the seed");
    p.line("policy). A re-run within 5 minutes therefore blocks C1 and C2 as well. See docs/runbooks/restart-loops.md.");
  }
  if (results.some((r) => r.outcomes.some((o) => o.reason === "EscalatedToHuman" || o.reason === "Escalated"))) {
    p.line();
    p.line(`${yellow("Notified (EscalatedToHuman)")}: the same problem came back within the effectiveness window, so the`);
    p.line("last action for it did not work; the escalation ladder (restart → scale-up → notify) takes the next step");
    p.line("instead of repeating it, and past scale-up it acts no more and tells a human (an Event on the Deployment,");
    p.line("and the webhooks when configured). See docs/guardrails.md#escalation.");
  }
  const shimUrl = `http://127.0.0.1:${shim.port}`;
  p.line();
  p.line(bold("Still running"));
  p.line(`  operator  pid ${operator.pid}  metrics http://127.0.0.1:${operator.port}/metrics  readyz /readyz  log ${operator.logFile}`);
  p.line(`  shim      pid ${shim.pid}  ${shimUrl} (seed API)  metrics ${shimUrl}/metrics  log ${shim.logFile}`);
  p.line(`  ${c.local ? "control plane: make cluster-status" : `cluster: ${c.kubeconfig}`}`);
  p.line();
  p.line(bold("Try next"));
  p.line(`  export KUBECONFIG=${c.kubeconfig}`);
  if (kubectl !== "kubectl") p.line(`  alias kubectl=${kubectl}            # the control plane's own kubectl`);
  p.line(`  kubectl get remediationactions -A                 # the audit trail`);
  p.line(`  kubectl get anomalysignals,rcasignals -n ${NS}`);
  p.line(`  kubectl describe remediationaction -n ${NS} <name>  # conditions and events`);
  p.line(`  TOKEN=$(kubectl -n ${NS} create token ${AGENT} --audience ${AUDIENCE})`);
  p.line(`  curl -s -X POST ${shimUrl}/v1/signals/anomaly -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`);
  p.line(`    -d '{"windowId":"try-001","service":"erp-simulator","isAnomaly":true,"score":0.9,"type":"latency","modelVersion":"v1"}'`);
  p.line(`  curl -s -X POST ${shimUrl}/v1/verify/deployment -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`);
  p.line(`    -d '{"deployment":"erp-simulator"}'`);
  p.line(`  curl -s http://127.0.0.1:${operator.port}/metrics | grep -E '^(orchestrator_closed_loop_(signals|actions|guardrail_blocks)_total|smartops_k8s_(restart|scale)_total|smartops_leader)'`);
  p.line(`  curl -s ${shimUrl}/metrics | grep -E '^smartops_shim_'`);
  p.line(`  README.md "Five-minute tour" · docs/runbooks/`);
  p.line();
  p.line(`${bold("Stop")}: make dev-down (operator and shim)${c.local ? " · make cluster-down (those and the control plane)" : ""}`);
}

function commandOnPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => d !== "" && existsSync(join(d, cmd)));
}
