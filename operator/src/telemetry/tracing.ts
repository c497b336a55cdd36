// OpenTelemetry tracing, set up once per process. Off unless an OTLP endpoint is
// configured: then the SDK is never even imported and the API's no-op tracer
// answers every call. On: NodeTracerProvider (AsyncLocalStorage context, W3C
// propagator), batch processor, OTLP/HTTP JSON exporter; the exporter, batching
// and sampler read the standard OTEL_* variables themselves.
import { type Attributes, type Context, context, diag, DiagLogLevel, propagation, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
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

/** The configured endpoint, validated: a typo must stop the process, not silently export to localhost. */
function endpointOf(env: NodeJS.ProcessEnv): string {
  for (const variable of ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"]) {
    const value = env[variable]?.trim();
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) throw new TracingConfigError(variable, "must be an http:// or https:// URL");
    return url.origin + url.pathname.replace(/\/$/, "");
  }
  throw new TracingConfigError("OTEL_EXPORTER_OTLP_ENDPOINT", "is not set");
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
  const endpoint = endpointOf(env);
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { detectResources, envDetector, resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const log = opts.log;
  if (log) {
    const to = (level: "warn" | "error") => (message: string, ...args: unknown[]) => log[level](`tracing: ${message}`, args.length ? { detail: args.map(String).join(" ") } : {});
    diag.setLogger({ error: to("error"), warn: to("warn"), info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
  }
  const resource = resourceFromAttributes({ "service.name": serviceName })
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  provider.register();
  log?.info("tracing: exporting spans over OTLP/HTTP", { endpoint, service: serviceName });
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
