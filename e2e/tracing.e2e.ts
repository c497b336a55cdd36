// One trace from an agent's HTTP POST to the verified remediation: the shim and
// the operator run as their own processes under their own ServiceAccounts and
// export OTLP to receivers inside this test — the operator with no protocol set
// (http/protobuf, the default), the shim with OTEL_EXPORTER_OTLP_PROTOCOL=grpc to
// a gRPC receiver; the trace is read from both. The batch delay is set far
// beyond the test's length, so every span a receiver holds was flushed by the
// graceful shutdown.
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RemediationAction } from "../operator/src/api/v1alpha1/objects.ts";
import { signalName } from "../operator/src/shim/mapping.ts";
import { parseTraceparent } from "../operator/src/telemetry/trace-context.ts";
import { freePort } from "./controlplane/cluster.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { createDeployment, permissive, rca, signalStatus, signalToAction, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountToken } from "./support/operator.ts";
import { OTLP_KIND, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./support/otlp.ts";
import { launch } from "./support/processes.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";
import { installAgentRbac } from "./support/agents.ts";

const c = clients();
const NS = "e2e-tracing";
const POSTED = "smartops-erp-simulator";
const APPLIED = "trace-applied";
let opReceiver: OtlpReceiver;
let shimReceiver: OtlpReceiver;
/** Every span both processes exported. */
const received = () => [...shimReceiver.spans, ...opReceiver.spans];
let shim: ShimProcess;
let op: OperatorProcess;
let agent: string;
let stopped: Promise<void> | undefined;


beforeAll(async () => {
  [opReceiver, shimReceiver] = await Promise.all([startOtlpReceiver("http/protobuf"), startOtlpReceiver("grpc")]);
  await ensureNamespace(c, NS);
  installAgentRbac(NS, [{ apiGroups: ["smartops.io"], resources: ["rcasignals"], verbs: ["create"] }]);
  await applySmartops(c, permissive(NS));
  await Promise.all([createDeployment(c, NS, POSTED, 2), createDeployment(c, NS, APPLIED, 2)]);
  agent = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
  const otel = { OTEL_BSP_SCHEDULE_DELAY: "600000", LOG_LEVEL: "debug" };
  shim = await shimUnderOwnRbac(c, { ...otel, OTEL_EXPORTER_OTLP_ENDPOINT: shimReceiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS });
  op = await operatorUnderOwnRbac(c, "tracing", { ...otel, OTEL_EXPORTER_OTLP_ENDPOINT: opReceiver.endpoint });
}, 300_000);

afterAll(async () => {
  await stopBoth();
  await Promise.all([opReceiver?.close(), shimReceiver?.close()]);
});

/** SIGTERM both processes once; their shutdown flushes the batch processors. */
function stopBoth(): Promise<void> {
  stopped ??= Promise.all([shim?.stop(), op?.stop()]).then(() => undefined);
  return stopped;
}

const flows: { posted?: { action: RemediationAction; annotation: string }; applied?: { action: RemediationAction; signal: string } } = {};

// An RCA body as agents send it; modelVersion makes it a verified signal, so the
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
    expect([opReceiver.errors, shimReceiver.errors]).toEqual([[], []]);
    // Each process spoke its own protocol: the gRPC receiver holds the shim's spans only, the HTTP one the operator's.
    expect(new Set(shimReceiver.spans.map((s) => s.service))).toEqual(new Set(["smartops-shim"]));
    expect(new Set(opReceiver.spans.map((s) => s.service))).toEqual(new Set(["smartops-operator"]));
    expect(shim.logs()).toMatch(/tracing: exporting spans over OTLP.*"protocol":"grpc"/);
    expect(op.logs()).toMatch(/tracing: exporting spans over OTLP.*"protocol":"http\/protobuf"/);
    // The last spans of each action ended moments before SIGTERM, far inside the batch delay.
    for (const a of [flows.posted!.action, flows.applied!.action]) {
      expect(byName(received(), "terminal").filter((s) => s.attributes["action.name"] === a.metadata.name)).toHaveLength(1);
    }
  });

  it("one trace: shim span → signal reconcile → action reconciles → verify → terminal, parent links intact, the seed's attributes set", () => {
    const { action, annotation } = flows.posted!;
    const spans = received();
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
    const spans = received();
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
    const terminal = byName(received(), "terminal").find((s) => s.attributes["action.name"] === action.metadata.name)!;
    expect(finished).toMatchObject({ trace_id: terminal.traceId, span_id: terminal.spanId });
    const shimLines = shim.logs().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    const shimSpan = shimReceiver.spans.find((s) => s.name === "POST /v1/signals/rca")!;
    expect(shimLines.find((l) => l.message === "request" && l.route === "/v1/signals/rca")).toMatchObject({ trace_id: shimSpan.traceId, span_id: shimSpan.spanId });
    for (const log of [op.logs(), shim.logs()]) expect(log).not.toContain(agent);
  });
});

describe("an unknown OTLP protocol stops each process at start-up", () => {
  it.each(["operator", "shim"] as const)("%s: exit code 2 and an invalid configuration line naming the variable", async (component) => {
    const logFile = join(tmpdir(), "smartops-e2e-tracing", `${component}-bad-protocol-${Date.now()}.log`);
    const proc = launch(component, {
      kubeconfig: join(tmpdir(), "no-such-kubeconfig"),
      port: await freePort(),
      logFile,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc+json" },
    });
    const code = await new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
    const lines = readFileSync(logFile, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(code, lines.map((l) => JSON.stringify(l)).join("\n")).toBe(2);
    const line = lines.find((l) => l.message === "invalid configuration");
    expect(line).toMatchObject({ level: "error", variable: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" });
    expect(String(line!.problem)).toMatch(/must be one of grpc, http\/protobuf, http\/json/);
  });
});
