import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind, trace } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { OTLP_KIND, OTLP_PROTOCOLS, type OtlpReceiver, startOtlpReceiver } from "../../../e2e/support/otlp.ts";
import { ATTR, inSpan, startTracing, traceExportConfig, tracer, TracingConfigError, tracingConfigured } from "./tracing.ts";

// @grpc/grpc-js itself is loaded by this file's gRPC receiver; the exporter's own modules must not be.
const SDK_MODULES = /@opentelemetry[/\\](sdk-trace-node|sdk-trace-base|exporter-trace-otlp-(http|proto|grpc)|otlp-grpc-exporter-base)[/\\]/;

afterEach(() => {
  for (const v of ["ENDPOINT", "TRACES_ENDPOINT", "PROTOCOL", "TRACES_PROTOCOL", "TIMEOUT", "CERTIFICATE"]) delete process.env[`OTEL_EXPORTER_OTLP_${v}`];
});

/** A server span with the seed's attributes of three types, and a child: what every protocol must carry. */
async function exportTwoSpans() {
  return inSpan("outer", { kind: SpanKind.SERVER, attributes: { [ATTR.actionType]: "scale", [ATTR.dryRun]: true, [ATTR.verificationAttempts]: 3 } }, async (outer) => {
    const inner = await inSpan("inner", {}, async (s) => s.spanContext());
    expect(trace.getActiveSpan()).toBe(outer);
    return { outer: outer.spanContext(), inner };
  });
}

/** Tracing started from the environment as it is now exports two spans that the receiver decodes. */
async function exportsTo(receiver: Parameters<typeof expectDecoded>[0]): Promise<void> {
  const t = await startTracing("smartops-test");
  const ids = await exportTwoSpans();
  await t!.shutdown();
  expectDecoded(receiver, ids);
}

function expectDecoded(receiver: OtlpReceiver, ids: Awaited<ReturnType<typeof exportTwoSpans>>): void {
  expect(receiver.errors).toEqual([]);
  expect(receiver.exports).toBe(1);
  expect(receiver.spans.map((s) => s.name).sort()).toEqual(["inner", "outer"]);
  const outer = receiver.spans.find((s) => s.name === "outer")!;
  const inner = receiver.spans.find((s) => s.name === "inner")!;
  expect(outer).toMatchObject({
    service: "smartops-test", kind: OTLP_KIND.SERVER, traceId: ids.outer.traceId, spanId: ids.outer.spanId, parentSpanId: undefined,
    attributes: { "action.type": "scale", dry_run: true, "verification.attempts": 3 },
  });
  expect(inner).toMatchObject({ service: "smartops-test", kind: OTLP_KIND.INTERNAL, traceId: ids.outer.traceId, spanId: ids.inner.spanId, parentSpanId: ids.outer.spanId });
}

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

const E = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TE = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const P = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TP = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";

describe("traceExportConfig: protocol and URL as the OTLP exporter specification reads them", () => {
  it.each([
    // The specification's default protocol; the signal path is appended to the general endpoint.
    [{ [E]: "http://c:4318" }, { protocol: "http/protobuf", url: "http://c:4318/v1/traces" }],
    [{ [E]: "http://c:4318/", [P]: "http/json" }, { protocol: "http/json", url: "http://c:4318/v1/traces" }],
    [{ [E]: "https://c.example/otlp/", [P]: "http/protobuf" }, { protocol: "http/protobuf", url: "https://c.example/otlp/v1/traces" }],
    // The traces endpoint is used as it is, and wins over the general one.
    [{ [TE]: "http://t:4318/custom/traces", [E]: "http://c:4318" }, { protocol: "http/protobuf", url: "http://t:4318/custom/traces" }],
    [{ [TE]: "http://t:4318" }, { protocol: "http/protobuf", url: "http://t:4318" }],
    // gRPC: scheme, host and port; no path is appended. http:// is plaintext, https:// TLS.
    [{ [E]: "http://c:4317", [P]: "grpc" }, { protocol: "grpc", url: "http://c:4317" }],
    [{ [E]: "https://c:4317/", [P]: "grpc" }, { protocol: "grpc", url: "https://c:4317" }],
    [{ [TE]: "http://t:4317", [P]: "grpc" }, { protocol: "grpc", url: "http://t:4317" }],
    // The traces protocol wins over the general one; an empty value counts as unset; values are case-insensitive.
    [{ [E]: "http://c:4317", [P]: "http/json", [TP]: "grpc" }, { protocol: "grpc", url: "http://c:4317" }],
    [{ [E]: "http://c:4318", [P]: "http/json", [TP]: " " }, { protocol: "http/json", url: "http://c:4318/v1/traces" }],
    [{ [E]: "http://c:4318", [P]: " HTTP/JSON " }, { protocol: "http/json", url: "http://c:4318/v1/traces" }],
  ])("%j → %j", (env, expected) => {
    expect(traceExportConfig(env)).toEqual(expected);
  });

  it.each([
    [{ [E]: "http://c:4318", [P]: "http" }, P, /must be one of grpc, http\/protobuf, http\/json/],
    [{ [E]: "http://c:4318", [P]: "grpc", [TP]: "json" }, TP, /must be one of grpc, http\/protobuf, http\/json/],
    [{ [E]: "http://c:4318", [TP]: "grpc", [P]: "bogus" }, P, /must be one of/],
    [{ [E]: "collector:4317", [P]: "grpc" }, E, /must be an http:\/\/ or https:\/\/ URL/],
    [{ [E]: "http://c:4317/v1/traces", [P]: "grpc" }, E, /no path/],
    [{ [TE]: "http://c:4318/v1/traces", [TP]: "grpc" }, TE, /no path/],
    [{}, E, /is not set/],
  ])("%j → TracingConfigError naming %s", (env, variable, problem) => {
    let err: unknown;
    try {
      traceExportConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TracingConfigError);
    expect((err as TracingConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(new RegExp(`^${variable} `));
    expect((err as Error).message).toMatch(problem);
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

  it.each(OTLP_PROTOCOLS)("OTEL_EXPORTER_OTLP_PROTOCOL=%s: real spans reach a receiver of that protocol on shutdown, decoded", async (protocol) => {
    const receiver = await startOtlpReceiver(protocol);
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
      const t = await startTracing("smartops-test");
      expect(t).toBeDefined();
      expect(await startTracing("again")).toBe(t);
      const ids = await exportTwoSpans();
      await t!.shutdown();
      expect(tracer().startSpan("after").isRecording()).toBe(false);
      expectDecoded(receiver, ids);
    } finally {
      await receiver.close();
    }
  });

  it("grpc: https:// is TLS (verified against OTEL_EXPORTER_OTLP_CERTIFICATE), http:// is plaintext, which a TLS receiver never decodes", async () => {
    // A self-signed certificate for 127.0.0.1, its own CA; Node makes keys but not certificates.
    const dir = mkdtempSync(join(tmpdir(), "smartops-otlp-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
      "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    const receiver = await startOtlpReceiver("grpc", { tls: { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) } });
    try {
      expect(receiver.endpoint).toMatch(/^https:\/\//);
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint.replace(/^https:/, "http:");
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "grpc";
      process.env.OTEL_EXPORTER_OTLP_TIMEOUT = "1000";
      const plaintext = await startTracing("smartops-test");
      await exportTwoSpans();
      await plaintext!.shutdown();
      expect(receiver.exports).toBe(0);

      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
      process.env.OTEL_EXPORTER_OTLP_CERTIFICATE = join(dir, "cert.pem");
      await exportsTo(receiver);
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without a protocol variable, exports http/protobuf (the specification's default)", async () => {
    const receiver = await startOtlpReceiver("http/protobuf");
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
      await exportsTo(receiver);
    } finally {
      await receiver.close();
    }
  });

  it("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins over OTEL_EXPORTER_OTLP_PROTOCOL; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is", async () => {
    const receiver = await startOtlpReceiver("grpc");
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:1";
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
      process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = receiver.endpoint;
      process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = "grpc";
      await exportsTo(receiver);
    } finally {
      await receiver.close();
    }
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http" }, "OTEL_EXPORTER_OTLP_PROTOCOL"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc/json" }, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"],
  ])("an unknown protocol stops start-up naming the variable, and installs nothing: %j", async (env, variable) => {
    const err = await startTracing("x", { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TracingConfigError);
    expect((err as TracingConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(/must be one of grpc, http\/protobuf, http\/json/);
    expect(tracer().startSpan("x").isRecording()).toBe(false);
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
