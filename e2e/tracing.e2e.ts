// One trace from an agent's HTTP POST to the verified remediation: the shim and
// the operator run as their own processes under their own ServiceAccounts and
// export OTLP/HTTP to a receiver inside this test. The batch delay is set far
// beyond the test's length, so every span the receiver holds was flushed by the
// graceful shutdown.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RemediationAction } from "../operator/src/api/v1alpha1/objects.ts";
import { signalName } from "../operator/src/shim/mapping.ts";
import { parseTraceparent } from "../operator/src/telemetry/trace-context.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { createDeployment, permissive, rca, signalStatus, signalToAction, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountToken } from "./support/operator.ts";
import { OTLP_KIND, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";
import { installAgentRbac } from "./support/agents.ts";

const c = clients();
const NS = "e2e-tracing";
const POSTED = "smartops-erp-simulator";
const APPLIED = "trace-applied";
let receiver: OtlpReceiver;
let shim: ShimProcess;
let op: OperatorProcess;
let agent: string;
let stopped: Promise<void> | undefined;


beforeAll(async () => {
  receiver = await startOtlpReceiver();
  await ensureNamespace(c, NS);
  installAgentRbac(NS, [{ apiGroups: ["smartops.io"], resources: ["rcasignals"], verbs: ["create"] }]);
  await applySmartops(c, permissive(NS));
  await Promise.all([createDeployment(c, NS, POSTED, 2), createDeployment(c, NS, APPLIED, 2)]);
  agent = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: "600000", LOG_LEVEL: "debug" };
  shim = await shimUnderOwnRbac(c, { ...otel, SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS });
  op = await operatorUnderOwnRbac(c, "tracing", otel);
}, 300_000);

afterAll(async () => {
  await stopBoth();
  await receiver?.close();
});

/** SIGTERM both processes once; their shutdown flushes the batch processors. */
function stopBoth(): Promise<void> {
  stopped ??= Promise.all([shim?.stop(), op?.stop()]).then(() => undefined);
  return stopped;
}

const flows: { posted?: { action: RemediationAction; annotation: string }; applied?: { action: RemediationAction; signal: string } } = {};

// Seed 000 §3.4.2's RCA body; modelVersion makes it a verified signal, so the
// action executes and verifies instead of being forced to a dry run.
const seedRca = { windowId: "rca-003", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "high_error_rate", probability: 0.94 }], confidence: 0.84, modelVersion: "v1" };

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe("tracing: shim → signal reconcile → action reconciles → verification", () => {
  it("a seed RCA signal POSTed to the shim becomes a verified restart", async () => {
    const res = await fetch(`${shim.url}/v1/signals/rca`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${agent}` }, body: JSON.stringify(seedRca) });
    expect(res.status, await res.clone().text()).toBe(200);
    const name = signalName("rca-003");
    const actionName = await waitFor("the signal's action", async () => ((await signalStatus(c, "RcaSignal", NS, name)) as { actionRef?: { name: string } } | undefined)?.actionRef?.name, 60_000, 100);
    const action = await waitForPhase(c, NS, actionName);
    expect(action.status?.phase, action.status?.message).toBe("Succeeded");
    expect(action.status?.verification?.status).toBe("SUCCESS");
    flows.posted = { action, annotation: action.metadata.annotations?.["smartops.io/traceparent"] ?? "" };
  });

  it("an RcaSignal applied with kubectl (no traceparent) becomes a verified restart", async () => {
    const signal = rca(NS, "applied-err", APPLIED, "high_error_rate");
    const actionName = await signalToAction(c, signal, 60_000);
    const action = await waitForPhase(c, NS, actionName);
    expect(action.status?.phase, action.status?.message).toBe("Succeeded");
    flows.applied = { action, signal: signal.metadata.name };
  });

  it("graceful shutdown flushes the spans of both processes", async () => {
    await stopBoth();
    expect(await shim.exited).toBe(0);
    expect(await op.exited).toBe(0);
    expect(receiver.errors).toEqual([]);
    const services = new Set(receiver.spans.map((s) => s.service));
    expect(services).toEqual(new Set(["smartops-shim", "smartops-operator"]));
    // The last spans of each action ended moments before SIGTERM, far inside the batch delay.
    for (const a of [flows.posted!.action, flows.applied!.action]) {
      expect(byName(receiver.spans, "terminal").filter((s) => s.attributes["action.name"] === a.metadata.name)).toHaveLength(1);
    }
  });

  it("one trace: shim span → signal reconcile → action reconciles → verify → terminal, parent links intact, the seed's attributes set", () => {
    const { action, annotation } = flows.posted!;
    const spans = receiver.spans;
    const shimSpan = spans.find((s) => s.service === "smartops-shim" && s.name === "POST /v1/signals/rca" && s.attributes["signal.name"] === signalName("rca-003"));
    expect(shimSpan, "the shim's request span").toBeDefined();
    const traceId = shimSpan!.traceId;
    const trace = spans.filter((s) => s.traceId === traceId);
    const ids = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => (s.parentSpanId ? ids.get(s.parentSpanId) : undefined);

    // The shim's span is the root (the agent sent no traceparent); every other span hangs off a span of this trace.
    expect(shimSpan!.parentSpanId).toBeUndefined();
    expect(shimSpan!.kind).toBe(OTLP_KIND.SERVER);
    expect(shimSpan!.attributes).toMatchObject({ "signal.type": "rca", "target.namespace": NS, "http.response.status_code": 200 });
    for (const s of trace) if (s !== shimSpan) expect(parentOf(s), `parent of ${s.service} ${s.name}`).toBeDefined();
    // Every span about this action, in any process, is in this one trace.
    expect(spans.filter((s) => s.attributes["action.name"] === action.metadata.name && s.traceId !== traceId)).toEqual([]);

    // Signal reconcile: a child of the shim span; the action carries its context.
    const signalSpans = byName(trace, "reconcile RcaSignal");
    expect(signalSpans.length).toBeGreaterThanOrEqual(1);
    for (const s of signalSpans) expect(s.parentSpanId).toBe(shimSpan!.spanId);
    const creator = signalSpans.find((s) => s.spanId === parseTraceparent(annotation)?.spanId);
    expect(creator, "the action's traceparent is a signal-reconcile span").toBeDefined();
    expect(creator!.attributes).toMatchObject({
      "signal.type": "rca", "signal.name": signalName("rca-003"), "target.namespace": NS, "target.name": POSTED,
      "action.type": "restart", "action.name": action.metadata.name, dry_run: false, "signal.phase": "ActionCreated",
    });
    expect(trace.some((s) => s.name === "k8s create_remediationaction" && s.kind === OTLP_KIND.CLIENT && s.parentSpanId === creator!.spanId)).toBe(true);

    // Action reconciles: children of the creating signal reconcile, with the seed's attributes.
    const actionSpans = byName(trace, "reconcile RemediationAction");
    expect(actionSpans.length).toBeGreaterThanOrEqual(1);
    for (const s of actionSpans) {
      expect(s.parentSpanId).toBe(creator!.spanId);
      expect(s.attributes).toMatchObject({ "action.type": "restart", "action.name": action.metadata.name, "target.namespace": NS, "target.name": POSTED, "signal.type": "rca", dry_run: false, source: "closed-loop" });
    }
    const phaseSpans = (name: string) => byName(trace, name).filter((s) => parentOf(s)?.name === "reconcile RemediationAction");
    expect(phaseSpans("guardrails").length).toBeGreaterThanOrEqual(1);
    const execute = phaseSpans("execute");
    expect(execute).toHaveLength(1);
    // The restart itself: one API call, a child of the execute span.
    expect(trace.filter((s) => s.name === "k8s patch_deployment" && s.parentSpanId === execute[0]!.spanId)).toHaveLength(1);

    // Verification: the last verify span saw SUCCESS and holds the terminal span.
    const verifies = phaseSpans("verify");
    expect(verifies.length).toBeGreaterThanOrEqual(1);
    for (const v of verifies) expect(["IN_PROGRESS", "SUCCESS"]).toContain(v.attributes["verification.status"]);
    const done = verifies.filter((v) => v.attributes["verification.status"] === "SUCCESS");
    expect(done).toHaveLength(1);
    expect(done[0]!.attributes).toMatchObject({ "action.phase": "Succeeded", "action.type": "restart", "target.name": POSTED, "target.namespace": NS });
    const terminal = byName(trace, "terminal");
    expect(terminal).toHaveLength(1);
    expect(terminal[0]!.parentSpanId).toBe(done[0]!.spanId);
    expect(terminal[0]!.attributes).toMatchObject({ "action.phase": "Succeeded", "action.reason": "RolloutComplete", "verification.status": "SUCCESS", "action.type": "restart", "target.name": POSTED });
  });

  it("a kubectl-applied signal starts its own root trace, which its action continues", () => {
    const { action, signal } = flows.applied!;
    const spans = receiver.spans;
    const signalSpans = byName(spans, "reconcile RcaSignal").filter((s) => s.attributes["signal.name"] === signal);
    expect(signalSpans.length).toBeGreaterThanOrEqual(1);
    for (const s of signalSpans) expect(s.parentSpanId).toBeUndefined();
    const creator = signalSpans.find((s) => s.spanId === parseTraceparent(action.metadata.annotations?.["smartops.io/traceparent"])?.spanId);
    expect(creator).toBeDefined();
    const actionSpans = byName(spans, "reconcile RemediationAction").filter((s) => s.attributes["action.name"] === action.metadata.name);
    expect(actionSpans.length).toBeGreaterThanOrEqual(1);
    for (const s of actionSpans) expect([s.traceId, s.parentSpanId]).toEqual([creator!.traceId, creator!.spanId]);
    expect(byName(spans, "terminal").find((s) => s.attributes["action.name"] === action.metadata.name)?.traceId).toBe(creator!.traceId);
    expect(creator!.traceId).not.toBe(spans.find((s) => s.service === "smartops-shim")?.traceId);
  });

  it("log lines inside spans carry the trace's ids; no token reaches a log", () => {
    const { action } = flows.posted!;
    const lines = op.logs().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = lines.find((l) => l.message === "action finished" && l.action === `${NS}/${action.metadata.name}`);
    const terminal = byName(receiver.spans, "terminal").find((s) => s.attributes["action.name"] === action.metadata.name)!;
    expect(finished).toMatchObject({ trace_id: terminal.traceId, span_id: terminal.spanId });
    const shimLines = shim.logs().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const shimSpan = receiver.spans.find((s) => s.name === "POST /v1/signals/rca")!;
    expect(shimLines.find((l) => l.message === "request" && l.route === "/v1/signals/rca")).toMatchObject({ trace_id: shimSpan.traceId, span_id: shimSpan.spanId });
    for (const log of [op.logs(), shim.logs()]) expect(log).not.toContain(agent);
  });
});
