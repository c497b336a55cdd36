// OpenTelemetry tracing, set up once per process. Off unless an OTLP endpoint is
// configured: then the SDK is never even imported and the API's no-op tracer
// answers every call. On: NodeTracerProvider (AsyncLocalStorage context, W3C
// propagator), batch processor, and the official OTLP exporter for the protocol
// OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL names (grpc, http/protobuf, http/json).
// Protocol and URL are decided here, so a bad value stops the process; headers,
// timeout, compression, certificates, batching and sampler are read from the
// standard OTEL_* variables by the SDK itself.
import { type Attributes, type Context, context, diag, DiagLogLevel, propagation, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { RuntimeLogger } from "../runtime/logger.ts";

/** Span attribute names; the dotted ones are the seed orchestrator's (seed 000 §12.5). */
export const ATTR = {
  actionType: "action.type",
  actionName: "action.name",
  actionPhase: "action.phase",
  actionReason: "action.reason",
  signalType: "signal.type",
  signalName: "signal.name",
  signalPhase: "signal.phase",
  targetNamespace: "target.namespace",
  targetName: "target.name",
  verificationStatus: "verification.status",
  verificationAttempts: "verification.attempts",
  dryRun: "dry_run",
  source: "source",
} as const;

export const TRACER_NAME = "smartops";

export interface Tracing {
  /** Exports what is buffered, then stops; call on graceful shutdown. */
  shutdown(): Promise<void>;
}

/** True when the environment asks for traces (OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT set, SDK not disabled). */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((s) => s.trim().toLowerCase());
  if (exporters.includes("none")) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

let installed: Tracing | undefined;

export const OTLP_PROTOCOLS = ["grpc", "http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];
/** The OTLP exporter specification's default, which every OTLP/HTTP receiver accepts. */
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = "http/protobuf";

export interface TraceExportConfig {
  protocol: OtlpProtocol;
  /** http/*: the full URL spans are POSTed to; grpc: scheme://host:port (http:// plaintext, https:// TLS). */
  url: string;
}

const nonEmpty = (env: NodeJS.ProcessEnv, variable: string) => env[variable]?.trim() || undefined;

/**
 * The protocol and URL the trace exporter uses, as the OTLP exporter
 * specification reads them: the _TRACES_ variable wins over the general one, an
 * empty value counts as unset, protocol values are case-insensitive. For
 * http/* the signal path /v1/traces is appended to OTEL_EXPORTER_OTLP_ENDPOINT,
 * and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is; for grpc either is
 * host and port, no path. Anything else throws a TracingConfigError naming the
 * variable: a typo must stop the process, not silently export elsewhere or nowhere.
 */
export function traceExportConfig(env: NodeJS.ProcessEnv = process.env): TraceExportConfig {
  // Both protocol variables are validated: a bad general value is wrong for every signal.
  const protocols = (["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] as const).map((variable) => {
    const value = nonEmpty(env, variable)?.toLowerCase();
    if (value !== undefined && !(OTLP_PROTOCOLS as readonly string[]).includes(value)) {
      throw new TracingConfigError(variable, `must be one of ${OTLP_PROTOCOLS.join(", ")}`);
    }
    return value as OtlpProtocol | undefined;
  });
  const protocol = protocols[0] ?? protocols[1] ?? DEFAULT_OTLP_PROTOCOL;
  for (const variable of ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"] as const) {
    const value = nonEmpty(env, variable);
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) throw new TracingConfigError(variable, "must be an http:// or https:// URL");
    const path = url.pathname.replace(/\/$/, "");
    if (protocol === "grpc") {
      // A path here is almost always an OTLP/HTTP URL left behind when the protocol changed.
      if (path) throw new TracingConfigError(variable, `must be scheme://host:port with no path for protocol grpc (got path ${url.pathname})`);
      return { protocol, url: url.origin };
    }
    return { protocol, url: variable === "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" ? value : `${url.origin}${path}/v1/traces` };
  }
  throw new TracingConfigError("OTEL_EXPORTER_OTLP_ENDPOINT", "is not set");
}

/** The official exporter for `protocol`, imported only when tracing is on and only the one in use. */
async function exporterFor({ protocol, url }: TraceExportConfig): Promise<SpanExporter> {
  switch (protocol) {
    case "grpc":
      return new (await import("@opentelemetry/exporter-trace-otlp-grpc")).OTLPTraceExporter({ url });
    case "http/protobuf":
      return new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter({ url });
    case "http/json":
      return new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter({ url });
  }
}

export class TracingConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.variable = variable;
  }
}

/**
 * Installs the global tracer provider for `serviceName` (smartops-operator,
 * smartops-shim) when configured; undefined otherwise. OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES override the resource. The SDK's own warnings and
 * export failures go to `log`. Idempotent per process.
 */
export async function startTracing(serviceName: string, opts: { env?: NodeJS.ProcessEnv; log?: RuntimeLogger } = {}): Promise<Tracing | undefined> {
  const env = opts.env ?? process.env;
  if (installed) return installed;
  if (!tracingConfigured(env)) return undefined;
  const config = traceExportConfig(env);
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, exporter, { detectResources, envDetector, resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/sdk-trace-base"),
    exporterFor(config),
    import("@opentelemetry/resources"),
  ]);
  const log = opts.log;
  if (log) {
    const to = (level: "warn" | "error") => (message: string, ...args: unknown[]) => log[level](`tracing: ${message}`, args.length ? { detail: args.map(String).join(" ") } : {});
    diag.setLogger({ error: to("error"), warn: to("warn"), info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
  }
  const resource = resourceFromAttributes({ "service.name": serviceName })
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  log?.info("tracing: exporting spans over OTLP", { protocol: config.protocol, endpoint: config.url, service: serviceName });
  const handle: Tracing = {
    shutdown: async () => {
      installed = undefined;
      try {
        await provider.shutdown();
      } catch (err) {
        // A collector that is down must not turn a clean shutdown into a failed one.
        log?.warn("tracing: spans not flushed at shutdown", { err: err instanceof Error ? err.message : String(err) });
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        diag.disable();
      }
    },
  };
  installed = handle;
  return handle;
}

export const tracer = () => trace.getTracer(TRACER_NAME);

export interface SpanOptions {
  /** Parent context; the active context when omitted. */
  parent?: Context;
  kind?: SpanKind;
  attributes?: Attributes;
}

/** Runs `fn` inside a new active span; records a thrown error on the span and rethrows. */
export function inSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes }, opts.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Sets attributes on the active span, if one records. */
export function annotateActiveSpan(attributes: Attributes): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording()) span.setAttributes(attributes);
}
