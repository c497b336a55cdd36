// The W3C traceparent a CR carries: the request span's context when an SDK
// records it, else the caller's trace continued with a fresh span id, else a
// new random trace — so every CR the shim writes can be correlated.
import { randomBytes } from "node:crypto";
import { type Span, isSpanContextValid } from "@opentelemetry/api";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function traceparentOf(span: Span, incoming?: string): string {
  const ctx = span.spanContext();
  if (span.isRecording() && isSpanContextValid(ctx)) return `00-${ctx.traceId}-${ctx.spanId}-01`;
  const m = incoming ? TRACEPARENT.exec(incoming.trim()) : null;
  const traceId = m?.[1] && !/^0+$/.test(m[1]) ? m[1] : randomBytes(16).toString("hex");
  return `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
}

export function isTraceparent(s: string): boolean {
  return TRACEPARENT.test(s);
}
