// OpenTelemetry tracing, set up once per process. Off unless an OTLP endpoint is
// configured: then the SDK is never even imported and the API's no-op tracer
// answers every call. On: NodeTracerProvider (AsyncLocalStorage context, W3C
// propagator), batch processor, OTLP/HTTP JSON exporter; the exporter, batching
// and sampler read the standard OTEL_* variables themselves.
import { type Attributes, type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

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

/**
 * Installs the global tracer provider for `serviceName` (smartops-operator,
 * smartops-shim) when configured; undefined otherwise. OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES override the resource. Idempotent per process.
 */
export async function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (installed) return installed;
  if (!tracingConfigured(env)) return undefined;
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { detectResources, envDetector, resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const resource = resourceFromAttributes({ "service.name": serviceName })
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  provider.register();
  const handle: Tracing = {
    shutdown: async () => {
      installed = undefined;
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
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
