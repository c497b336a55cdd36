// The HTTP shim on the real control plane: its own process under the
// smartops-shim ServiceAccount, callers with real TokenRequest tokens, the
// operator under its own RBAC closing the loop behind it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signalName } from "../operator/src/shim/mapping.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { createDeployment, getAction, permissive, signalStatus, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountToken } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";
import { AGENT_RULES, installAgentRbac } from "./support/agents.ts";

const c = clients();
const NS = "e2e-shim";
let shim: ShimProcess;
let op: OperatorProcess;
let agent: string;
let outsider: string;
let wrongAudience: string;


async function post(path: string, body: unknown, token: string | null = agent, base = shim.url) {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function getSignal(plural: "anomalysignals" | "rcasignals", name: string) {
  return (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural, name })) as { metadata: { annotations?: Record<string, string> }; spec: Record<string, unknown> };
}

beforeAll(async () => {
  await ensureNamespace(c, NS);
  installAgentRbac(NS, AGENT_RULES, { withoutRbac: ["outsider"] });
  await applySmartops(c, permissive(NS, { replicas: { min: 1, max: 10, maxStep: 10 } }));
  await Promise.all([createDeployment(c, NS, "smartops-erp-simulator", 2), createDeployment(c, NS, "loop-erp", 2)]);
  [agent, outsider, wrongAudience] = await Promise.all([
    serviceAccountToken(c, NS, "agent", ["smartops-shim"]),
    serviceAccountToken(c, NS, "outsider", ["smartops-shim"]),
    serviceAccountToken(c, NS, "agent"),
  ]);
  shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "1000", SMARTOPS_SHIM_RATE_LIMIT_BURST: "1000" });
  op = await operatorUnderOwnRbac(c, "shim-loop");
}, 300_000);

afterAll(async () => {
  await shim?.stop();
  await op?.stop();
});

// The agents' request bodies for each route, in the test's namespace.
const seed = {
  anomaly: { windowId: "lat-001", service: "erp-simulator", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1", metadata: {} },
  anomalyRunbook: { windowId: "w123", service: "erp-simulator", isAnomaly: true, score: 0.9, type: "latency" },
  rca: { windowId: "rca-003", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "high_error_rate", probability: 0.94 }], confidence: 0.84 },
  rcaRunbook: { windowId: "rca-001", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "cpu_saturation", probability: 0.91 }], confidence: 0.85 },
  scale: { namespace: NS, deployment: "erp-simulator", replicas: 4, dry_run: false },
  restart: { namespace: NS, deployment: "erp-simulator", dry_run: false },
  patchOp: { namespace: NS, deployment: "erp-simulator", patch: { op: "add", path: "/spec/template/spec.containers[0].image", value: "nginx:1.17.1" } },
  patchMerge: { namespace: NS, deployment: "erp-simulator", patch: { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } }, dry_run: false },
  patchWrapped: { namespace: NS, deployment: "erp-simulator", patch: { patch: { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } } }, dry_run: false },
  executePatch: { type: "patch", dry_run: false, verify: false, target: { kind: "Deployment", namespace: NS, name: "erp-simulator" }, patch: { patch: { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } } } },
  executeScale: { type: "scale", dry_run: false, verify: true, verify_timeout_seconds: 60, target: { kind: "Deployment", namespace: NS, name: "erp-simulator" }, scale: { replicas: 6 } },
  verify: { namespace: NS, deployment: "erp-simulator", timeout_seconds: 60, poll_interval_seconds: 5 },
};

describe("shim: authentication and authorization with real tokens", () => {
  it("no token → 401, token for another audience → 401, caller without the Role → 403", async () => {
    const none = await post("/v1/signals/anomaly", seed.anomaly, null);
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/Bearer/);
    const aud = await post("/v1/signals/anomaly", seed.anomaly, wrongAudience);
    expect(aud.status).toBe(401);
    expect(aud.body.message).toMatch(/audience/);
    const forbidden = await post("/v1/signals/anomaly", seed.anomaly, outsider);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toContain(`system:serviceaccount:${NS}:outsider`);
    const elsewhere = await post("/v1/signals/anomaly", { ...seed.anomaly, namespace: "default" });
    expect(elsewhere.status).toBe(403);
  });
});

describe("shim: every seed request example", () => {
  it("signals (§3.4, §6.4, runbook §10.3) → CRs named from the windowId, answered {accepted, kind, windowId}", async () => {
    for (const [kind, body] of [["anomaly", seed.anomaly], ["anomaly", seed.anomalyRunbook], ["rca", seed.rca], ["rca", seed.rcaRunbook]] as const) {
      const r = await post(`/v1/signals/${kind}`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ accepted: true, kind, windowId: body.windowId });
      const s = await getSignal(kind === "anomaly" ? "anomalysignals" : "rcasignals", signalName(body.windowId));
      expect(s.spec).toEqual(body);
      expect(s.metadata.annotations?.["smartops.io/traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    }
  });

  // The answers themselves are golden-tested in seed-contract.e2e.ts; here, the RemediationActions behind them.
  it("k8s routes and execute (§3.2, §3.3, §6.2, §6.3) → a RemediationAction on the resolved Deployment, answered once it has its outcome", async () => {
    for (const [path, body] of [
      ["/v1/k8s/scale", seed.scale], ["/v1/k8s/restart", seed.restart], ["/v1/k8s/patch", seed.patchOp],
      ["/v1/k8s/patch", seed.patchMerge], ["/v1/k8s/patch", seed.patchWrapped], ["/v1/actions/execute", seed.executePatch],
    ] as const) {
      const r = await post(path, body);
      expect([200, 400], `${path} ${JSON.stringify(r.body)}`).toContain(r.status);
      expect(r.body).toMatchObject({ namespace: NS, success: r.status === 200 });
      const a = await getAction(c, NS, String(r.body.action));
      // The answer was given at the outcome: the action already has it.
      expect(a.status?.phase).toBe(r.body.phase);
      expect(a.spec.target.name).toBe("smartops-erp-simulator");
      expect(a.spec.source).toBe("manual");
      expect(a.metadata.annotations?.["smartops.io/traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    }
  });

  it("execute scale with verify:true (§3.3.1) → the seed's ActionResult after the rollout is verified", async () => {
    const gets = async () => {
      const m = await (await fetch(`${shim.url}/metrics`)).text();
      return Number(/^smartops_k8s_api_calls_total\{operation="shim_get_remediationaction"\} (\d+)$/m.exec(m)?.[1] ?? 0);
    };
    const getsBefore = await gets();
    const r = await post("/v1/actions/execute", seed.executeScale);
    // The wait watches the action: it costs no re-reads (a poll would GET at least once).
    expect((await gets()) - getsBefore).toBe(0);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      success: true,
      message: expect.stringContaining(`SCALE Deployment ${NS}/smartops-erp-simulator -> 6`),
      dry_run: false,
      details: { runner: { status: "success", result: { name: "smartops-erp-simulator", namespace: NS, replicas: 6 }, error: null } },
      verification: { status: "SUCCESS", observed: { ready_replicas: 6, desired_replicas: 6 } },
    });
    expect((await c.apps.readNamespacedDeployment({ name: "smartops-erp-simulator", namespace: NS })).spec?.replicas).toBe(6);
  });

  it("verify/deployment (§3.5.1) → SUCCESS with observed counts", async () => {
    const r = await post("/v1/verify/deployment", seed.verify);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "SUCCESS", message: "Deployment healthy", observed: { updated_replicas: 6, ready_replicas: 6 } });
  });

  it("a guardrail block answers 400 with the reason (replica cap)", async () => {
    const r = await post("/v1/k8s/scale", { deployment: "erp-simulator", replicas: 50, verify: true });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body).toMatchObject({ error: "GuardrailBlocked", reason: "MaxReplicasExceeded", field: "replicas", success: false });
  });
});

describe("shim: the closed loop from an HTTP POST", () => {
  it("RCA memory_leak over HTTP → RcaSignal → restart action → verified, carrying the request's traceparent", async () => {
    const r = await post("/v1/signals/rca", { windowId: "loop-mem-1", service: "loop-erp", rankedCauses: [{ svc: "loop-erp", cause: "memory_leak", probability: 0.93 }], confidence: 0.9, modelVersion: "v1" });
    expect(r.status).toBe(200);
    const name = signalName("loop-mem-1");
    const actionName = await waitFor("signal's action", async () => ((await signalStatus(c, "RcaSignal", NS, name)) as { actionRef?: { name: string } } | undefined)?.actionRef?.name, 60_000, 100);
    const a = await waitForPhase(c, NS, actionName);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    expect(a.spec).toMatchObject({ type: "restart", source: "closed-loop", target: { name: "loop-erp" } });
    expect(a.status?.verification?.status).toBe("SUCCESS");
    const signal = await getSignal("rcasignals", name);
    expect(a.metadata.annotations?.["smartops.io/traceparent"]).toBe(signal.metadata.annotations?.["smartops.io/traceparent"]);
  });
});

describe("shim: idempotency and input errors", () => {
  it("same windowId twice → one CR and duplicate:true; different body → 409", async () => {
    const body = { windowId: "dup-1", service: "erp-simulator", isAnomaly: false, score: 0.1, type: "latency" };
    expect((await post("/v1/signals/anomaly", body)).body.duplicate).toBeUndefined();
    const again = await post("/v1/signals/anomaly", body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ accepted: true, duplicate: true });
    const conflict = await post("/v1/signals/anomaly", { ...body, score: 0.2 });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: "Conflict", field: "windowId" });
    expect((await getSignal("anomalysignals", signalName("dup-1"))).spec.score).toBe(0.1);
  });

  it("oversized → 413, malformed JSON → 400, unknown field → 400 naming it", async () => {
    expect((await post("/v1/signals/anomaly", { ...seed.anomaly, metadata: { blob: "x".repeat(70_000) } })).status).toBe(413);
    const bad = await post("/v1/signals/anomaly", "{\"windowId\": ");
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/malformed JSON/);
    const unknown = await post("/v1/signals/rca", { ...seed.rca, severity: "high" });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: "BadRequest", field: "severity" });
  });

  it("a burst over the per-identity limit → 429 with Retry-After", async () => {
    const limited = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "1", SMARTOPS_SHIM_RATE_LIMIT_BURST: "3" });
    try {
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await post("/v1/signals/anomaly", { windowId: `rl-${i}`, service: "erp-simulator", isAnomaly: false, score: 0.1, type: "latency" }, agent, limited.url));
      expect(answers.slice(0, 3).map((a) => a.status)).toEqual([200, 200, 200]);
      const last = answers[5]!;
      expect(last.status).toBe(429);
      expect(Number(last.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.stop();
    }
  });
});

describe("shim: SIGKILL and restart under load", () => {
  it("every request answered 2xx has its CR in the cluster", async () => {
    let current = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "1000", SMARTOPS_SHIM_RATE_LIMIT_BURST: "1000" });
    const port = current.port;
    const acked: string[] = [];
    let failed = 0;
    let stop = false;
    let seq = 0;
    const worker = async () => {
      while (!stop) {
        const windowId = `load-${seq++}`;
        try {
          const r = await post("/v1/signals/anomaly", { windowId, service: "erp-simulator", isAnomaly: false, score: 0.1, type: "latency" }, agent, `http://127.0.0.1:${port}`);
          if (r.status === 200) acked.push(windowId);
          else failed++;
        } catch {
          failed++;
          await new Promise((res) => setTimeout(res, 20));
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 1500));
    await current.kill9();
    current = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "1000", SMARTOPS_SHIM_RATE_LIMIT_BURST: "1000" }, port);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(workers);
    await current.stop();
    expect(acked.length).toBeGreaterThan(20);
    expect(failed).toBeGreaterThan(0);
    const list = (await c.custom.listNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural: "anomalysignals" })) as { items: { metadata: { name: string } }[] };
    const names = new Set(list.items.map((i) => i.metadata.name));
    const missing = acked.filter((w) => !names.has(signalName(w)));
    expect(missing).toEqual([]);
  });
});
