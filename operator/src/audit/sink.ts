// Where audit records go: always one line on the log stream (a dedicated
// logger at info, whatever LOG_LEVEL says, with the fixed message "audit"), and,
// when configured, one OpenTelemetry log record over OTLP/HTTP. The OTLP side
// is imported only when configured, like tracing.
import type { Logger } from "../telemetry/logger.ts";
import { createLogger } from "../telemetry/logger.ts";
import type { RuntimeLogger } from "../runtime/logger.ts";
import { AUDIT_MARKER, type AuditRecord } from "./record.ts";

export interface AuditSink {
  emit(record: AuditRecord): void;
  /** Sends what is batched (OTLP); bounded by the caller. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The log stream: `{"message":"audit","component":"audit","audit_id":…,"audit":{…}}`. */
export function logSink(log: Logger = createLogger("audit", "info")): AuditSink {
  return {
    emit: (record) => log.info(AUDIT_MARKER, { audit_id: record.id, audit: record }),
    flush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

export function teeSink(sinks: readonly AuditSink[]): AuditSink {
  return {
    emit: (r) => {
      for (const s of sinks) s.emit(r);
    },
    flush: async () => {
      await Promise.all(sinks.map((s) => s.flush()));
    },
    shutdown: async () => {
      await Promise.all(sinks.map((s) => s.shutdown()));
    },
  };
}

export class AuditConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.variable = variable;
  }
}

export interface OtlpLogsConfig {
  protocol: "http/protobuf" | "http/json";
  url: string;
}

/**
 * Audit records go over OTLP when OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set (used
 * as it is), or when OTEL_LOGS_EXPORTER=otlp and OTEL_EXPORTER_OTLP_ENDPOINT is
 * set (/v1/logs appended). Opt-in on purpose: a collector configured for traces
 * alone does not start receiving logs. Protocol from
 * OTEL_EXPORTER_OTLP_LOGS_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf
 * (default) or http/json.
 */
export function otlpLogsConfig(env: NodeJS.ProcessEnv = process.env): OtlpLogsConfig | undefined {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return undefined;
  const exporters = (env.OTEL_LOGS_EXPORTER ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (exporters.includes("none")) return undefined;
  const own = env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT?.trim();
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!own && !(exporters.includes("otlp") && general)) return undefined;
  const protocolVar = env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL?.trim() ? "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const protocol = (env[protocolVar]?.trim().toLowerCase() || "http/protobuf");
  if (protocol !== "http/protobuf" && protocol !== "http/json") throw new AuditConfigError(protocolVar, `must be http/protobuf or http/json for audit log records (got ${protocol})`);
  const variable = own ? "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  let url: URL;
  try {
    url = new URL((own ?? general)!);
  } catch {
    throw new AuditConfigError(variable, "must be an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new AuditConfigError(variable, "must be an http:// or https:// URL");
  return { protocol, url: own ? url.href : `${url.origin}${url.pathname.replace(/\/$/, "")}/v1/logs` };
}

/** OTLP log records: the record's JSON as the body, its id and event as attributes, batched. */
export async function otlpSink(cfg: OtlpLogsConfig, serviceName: string, log?: RuntimeLogger): Promise<AuditSink> {
  const [{ LoggerProvider, BatchLogRecordProcessor }, { OTLPExporterBase }, { createOtlpHttpExportDelegate, convertLegacyHttpOptions }, transformer, { resourceFromAttributes, detectResources, envDetector }] = await Promise.all([
    import("@opentelemetry/sdk-logs"),
    import("@opentelemetry/otlp-exporter-base"),
    import("@opentelemetry/otlp-exporter-base/node-http"),
    import("@opentelemetry/otlp-transformer"),
    import("@opentelemetry/resources"),
  ]);
  // What @opentelemetry/exporter-logs-otlp-{proto,http} do, from the same packages at the same version.
  const json = cfg.protocol === "http/json";
  const delegate = createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({ url: cfg.url }, "LOGS", "v1/logs", { "Content-Type": json ? "application/json" : "application/x-protobuf" }),
    json ? transformer.JsonLogsSerializer : transformer.ProtobufLogsSerializer,
    json ? "otlp_http_json_log_exporter" : "otlp_http_log_exporter",
    transformer.LogsExporterMetricsHelper,
    undefined,
  );
  const exporter = new OTLPExporterBase(delegate);
  const resource = resourceFromAttributes({ "service.name": serviceName }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter })] });
  const logger = provider.getLogger("smartops.audit");
  log?.info("audit: exporting records as OTLP log records", { protocol: cfg.protocol, endpoint: cfg.url });
  return {
    emit: (record) => logger.emit({
      severityNumber: 9,
      severityText: "INFO",
      eventName: "smartops.audit",
      body: JSON.stringify(record),
      attributes: { "smartops.audit.id": record.id, "smartops.audit.schema": record.schema, "smartops.audit.event": record.event },
      timestamp: Date.parse(record.time) || Date.now(),
    }),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
