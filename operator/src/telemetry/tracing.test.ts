import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { trace } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { ATTR, inSpan, startTracing, tracer, TracingConfigError, tracingConfigured } from "./tracing.ts";

const SDK_MODULES = /@opentelemetry[/\\](sdk-trace-node|sdk-trace-base|exporter-trace-otlp-http)[/\\]/;

afterEach(() => {
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TIMEOUT;
});

describe("tracingConfigured", () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "" }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }, false],
  ])("%j → %s", (env, expected) => {
    expect(tracingConfigured(env)).toBe(expected);
  });
});

describe("startTracing", () => {
  it("installs nothing without an endpoint: no provider, no exporter, non-recording spans", async () => {
    expect(await startTracing("smartops-operator", { env: {} })).toBeUndefined();
    const span = tracer().startSpan("x");
    expect(span.isRecording()).toBe(false);
    span.end();
    // The SDK and the exporter were never loaded into this process.
    expect(Object.keys((await import("node:module")).createRequire(import.meta.url).cache).filter((k) => SDK_MODULES.test(k))).toEqual([]);
    expect(await inSpan("y", {}, async (s) => s.isRecording())).toBe(false);
  });

  it("with an endpoint, records spans and exports them as OTLP/HTTP JSON on shutdown", async () => {
    const bodies: unknown[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push({ url: req.url, type: req.headers["content-type"], body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const t = await startTracing("smartops-test");
      expect(t).toBeDefined();
      expect(await startTracing("again")).toBe(t);
      const ids = await inSpan("outer", { attributes: { [ATTR.actionType]: "scale" } }, async (outer) => {
        const inner = await inSpan("inner", {}, async (s) => s.spanContext());
        expect(trace.getActiveSpan()).toBe(outer);
        return { outer: outer.spanContext(), inner };
      });
      await t!.shutdown();
      expect(tracer().startSpan("after").isRecording()).toBe(false);
      expect(bodies).toHaveLength(1);
      const { url, type, body } = bodies[0] as { url: string; type: string; body: { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { name: string; traceId: string; spanId: string; parentSpanId?: string; attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[] } };
      expect(url).toBe("/v1/traces");
      expect(type).toBe("application/json");
      const rs = body.resourceSpans[0]!;
      expect(rs.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "smartops-test" } });
      const spans = rs.scopeSpans.flatMap((s) => s.spans);
      const outer = spans.find((s) => s.name === "outer")!;
      const inner = spans.find((s) => s.name === "inner")!;
      expect(outer.spanId).toBe(ids.outer.spanId);
      expect(inner.parentSpanId).toBe(ids.outer.spanId);
      expect(inner.traceId).toBe(ids.outer.traceId);
      expect(outer.attributes).toContainEqual({ key: "action.type", value: { stringValue: "scale" } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("rejects an endpoint that is not an http(s) URL, naming the variable", async () => {
    await expect(startTracing("x", { env: { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" } })).rejects.toThrow(TracingConfigError);
    await expect(startTracing("x", { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" } })).rejects.toThrow(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http/);
    expect(tracer().startSpan("x").isRecording()).toBe(false);
  });

  it("a collector that is down does not fail the shutdown; the failure is logged", async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:1";
    process.env.OTEL_EXPORTER_OTLP_TIMEOUT = "300";
    const warnings: string[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
    const t = await startTracing("smartops-test", { log });
    tracer().startSpan("lost").end();
    await expect(t!.shutdown()).resolves.toBeUndefined();
    expect(warnings.join("\n")).toMatch(/not flushed|export/i);
  });
});
