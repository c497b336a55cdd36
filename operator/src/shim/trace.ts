// The W3C traceparent a CR carries: the request span's context when an SDK
// records it, else the caller's trace continued with a fresh span id, else a
// new random trace — so every CR the shim writes can be correlated.
import { randomBytes } from "node:crypto";
import { type Span, isSpanContextValid } from "@opentelemetry/api";
import { formatTraceparent, parseTraceparent } from "../telemetry/trace-context.ts";

export function traceparentOf(span: Span, incoming?: string): string {
  const ctx = span.spanContext();
  if (span.isRecording() && isSpanContextValid(ctx)) return formatTraceparent(ctx);
  const traceId = parseTraceparent(incoming)?.traceId ?? randomBytes(16).toString("hex");
  return `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
}
