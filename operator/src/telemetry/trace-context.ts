// W3C traceparent strings ⇄ OpenTelemetry span contexts. The trace context
// crosses process and reconcile boundaries as the smartops.io/traceparent
// annotation, so these are plain string functions with no SDK behind them.
import { createHash } from "node:crypto";
import { type Context, isSpanContextValid, ROOT_CONTEXT, type SpanContext, trace, TraceFlags } from "@opentelemetry/api";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(s: string | undefined): SpanContext | undefined {
  const m = s === undefined ? null : TRACEPARENT.exec(s.trim());
  if (!m) return undefined;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, "0")}`;
}

/** A context whose parent is the annotation's span; undefined when the annotation is absent or malformed. */
export function contextFromTraceparent(s: string | undefined): Context | undefined {
  const sc = parseTraceparent(s);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : undefined;
}

/**
 * A stable stand-in parent for an object that carries no traceparent (applied
 * with kubectl): every reconcile of it lands in one trace, derived from its uid.
 */
export function contextFromUid(uid: string): Context {
  const h = createHash("sha256").update(`smartops/${uid}`).digest("hex");
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: h.slice(0, 32), spanId: h.slice(32, 48), traceFlags: TraceFlags.SAMPLED, isRemote: true });
}
