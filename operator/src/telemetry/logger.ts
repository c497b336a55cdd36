// Structured JSON logs on stdout through winston, one object per line. A line
// logged inside an active span carries trace_id and span_id, so logs and traces
// join on the trace id. Secrets never reach a line: every record is redacted
// (redact.ts) on top of callers logging object references, not credentials.
import type { Writable } from "node:stream";
import { isSpanContextValid, trace } from "@opentelemetry/api";
import winston from "winston";
import { redactRecord } from "./redact.ts";

export type Logger = winston.Logger;

const KEEP = new Set(["level", "timestamp", "component", "trace_id", "span_id"]);

const traceIds = winston.format((info) => {
  const sc = trace.getActiveSpan()?.spanContext();
  if (sc && isSpanContextValid(sc)) {
    info.trace_id = sc.traceId;
    info.span_id = sc.spanId;
  }
  return info;
});

const redaction = winston.format((info) => {
  redactRecord(info as Record<string, unknown>, KEEP);
  return info;
});

export function logFormat(): winston.Logform.Format {
  return winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), traceIds(), redaction(), winston.format.json());
}

export interface LoggerOptions {
  /** Where lines go; stdout when omitted. */
  stream?: Writable;
}

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? "info", opts: LoggerOptions = {}): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: logFormat(),
    transports: [opts.stream ? new winston.transports.Stream({ stream: opts.stream }) : new winston.transports.Console()],
  });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
