// The shim's request span with an SDK installed: a child of the caller's
// traceparent, its context written onto the CR, the seed's attributes set;
// probes and scrapes untraced.
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../telemetry/logger.ts";
import { parseTraceparent } from "../telemetry/trace-context.ts";
import { FakeBackend } from "./fake-backend.ts";
import { signalName } from "./mapping.ts";
import { DEFAULT_CONFIG, type ShimServer, startShim } from "./server.ts";

const NS = "smartops-dev";
const USER = "agent";
const exporter = new InMemorySpanExporter();
let provider: NodeTracerProvider;
let backend: FakeBackend;
let shim: ShimServer;

beforeAll(() => {
  provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
});
afterAll(async () => {
  await shim?.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(async () => {
  await shim?.close();
  exporter.reset();
  backend = new FakeBackend();
  backend.tokens.set("good", { user: { username: USER, groups: [] }, audiences: ["smartops-shim"] });
  for (const r of ["rcasignals", "remediationactions"]) backend.grant(USER, "create", `smartops.io/${r}`, NS);
  backend.addDeployment(NS, "smartops-erp-simulator");
  backend.onAction = (a) => { a.status = { phase: "Succeeded" }; };
  shim = await startShim("127.0.0.1", 0, backend, { ...DEFAULT_CONFIG }, silentLogger());
});

async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${shim.port}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: "Bearer good", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res;
}

const rcaBody = { windowId: "rca-003", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "high_error_rate", probability: 0.94 }], confidence: 0.84 };

describe("shim request spans", () => {
  it("a signal POST is a SERVER span under the caller's traceparent, and the CR carries that span", async () => {
    const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const res = await request("POST", "/v1/signals/rca", rcaBody, { traceparent: caller });
    expect(res.status).toBe(200);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span.name).toBe("POST /v1/signals/rca");
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(span.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(span.attributes).toMatchObject({
      "signal.type": "rca", "signal.name": signalName("rca-003"), "target.namespace": NS, "http.response.status_code": 200,
    });
    const annotation = backend.signals.get(`RcaSignal/${NS}/${signalName("rca-003")}`)?.metadata.annotations?.["smartops.io/traceparent"];
    expect(parseTraceparent(annotation)).toMatchObject({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId });
    expect(res.headers.get("traceparent")).toBe(annotation);
  });

  it("without a traceparent header the request starts a trace; an action POST carries the action attributes", async () => {
    const res = await request("POST", "/v1/k8s/scale", { namespace: NS, deployment: "erp-simulator", replicas: 3, dry_run: true });
    expect(res.status).toBe(200);
    const span = exporter.getFinishedSpans()[0]!;
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes).toMatchObject({ "action.type": "scale", "target.namespace": NS, "target.name": "smartops-erp-simulator", dry_run: true });
    const action = [...backend.actions.values()][0]!;
    expect(parseTraceparent(action.metadata.annotations?.["smartops.io/traceparent"])?.spanId).toBe(span.spanContext().spanId);
  });

  it("probes, scrapes and the OpenAPI document make no spans", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json"]) expect((await request("GET", path)).status).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
