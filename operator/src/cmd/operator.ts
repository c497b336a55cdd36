// Entry point of the `operator` command. Configuration comes from the
// environment (12-factor; the Helm chart sets it), validated up front so a bad
// value stops the process with the variable's name instead of misbehaving later.
import { hostname } from "node:os";
import { z } from "zod";
import { measureCheck, prometheusClientFromEnv, prometheusEnv } from "../k8s/prometheus.ts";
import { FIELD_MANAGER } from "../k8s/client.ts";
import { loadNotifyConfig } from "../notify/config.ts";
import { ARGOCD_TRACKING_MODES } from "../remediation/gitops.ts";
import { renderQuery } from "../remediation/metric-check.ts";
import { runOperator, type OperatorConfig } from "../operator.ts";
import { AuditConfigError, logSink, type OtlpLogsConfig, otlpLogsConfig, otlpSink, teeSink } from "../audit/sink.ts";
import { createLogger } from "../telemetry/logger.ts";
import { startTracing, TracingConfigError } from "../telemetry/tracing.ts";
import { hostPort, listenAddress, parseEnv } from "./env.ts";

const seconds = z.coerce.number().positive();
const env = z.object({
  KUBECONFIG: z.string().optional(),
  SMARTOPS_OPERATOR_NAMESPACE: z.string().min(1).optional(),
  POD_NAMESPACE: z.string().min(1).optional(),
  SMARTOPS_WATCH_NAMESPACE: z.string().optional(),
  SMARTOPS_IDENTITY: z.string().min(1).optional(),
  POD_NAME: z.string().min(1).optional(),
  SMARTOPS_LISTEN: listenAddress("0.0.0.0:8080"),
  SMARTOPS_LEADER_ELECT: z.enum(["true", "false"]).default("true"),
  SMARTOPS_LEASE_NAME: z.string().min(1).default("smartops-operator"),
  SMARTOPS_LEASE_DURATION_SECONDS: seconds.default(15),
  SMARTOPS_RENEW_DEADLINE_SECONDS: seconds.default(10),
  SMARTOPS_RETRY_PERIOD_SECONDS: seconds.default(2),
  SMARTOPS_ACTION_WORKERS: z.coerce.number().int().min(1).max(64).default(4),
  SMARTOPS_SIGNAL_WORKERS: z.coerce.number().int().min(1).max(64).default(4),
  SMARTOPS_POLICY_WORKERS: z.coerce.number().int().min(1).max(16).default(1),
  SMARTOPS_RESYNC_SECONDS: seconds.default(600),
  SMARTOPS_MAX_EVENT_AGE_SECONDS: seconds.default(900),
  // The field manager of every write to a Deployment (managedFields name it), and how Argo CD tracks what it applies.
  SMARTOPS_FIELD_MANAGER: z.string().min(1).max(128).regex(/^[\x21-\x7e][\x20-\x7e]*$/, "must be printable ASCII").default(FIELD_MANAGER),
  SMARTOPS_ARGOCD_TRACKING: z.enum(ARGOCD_TRACKING_MODES).default("annotation"),
  ...prometheusEnv,
  // Retention of terminal objects (docs/deployment.md#retention).
  SMARTOPS_RETENTION_ENABLED: z.enum(["true", "false"]).default("true"),
  SMARTOPS_RETENTION_SIGNAL_TTL_SECONDS: z.coerce.number().int().min(1).default(86_400),
  SMARTOPS_RETENTION_SIGNALS_PER_NAMESPACE: z.coerce.number().int().min(1).default(5_000),
  SMARTOPS_RETENTION_ACTION_TTL_SECONDS: z.coerce.number().int().min(1).default(2_592_000),
  SMARTOPS_RETENTION_ACTIONS_PER_TARGET: z.coerce.number().int().min(1).default(100),
  SMARTOPS_RETENTION_UNDO_WINDOW_SECONDS: z.coerce.number().int().min(0).default(604_800),
  SMARTOPS_RETENTION_INTERVAL_SECONDS: seconds.default(60),
  SMARTOPS_RETENTION_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
  SMARTOPS_RETENTION_DELETES_PER_SECOND: z.coerce.number().positive().max(1_000).default(20),
});

const log = createLogger("operator");
const e = parseEnv(env, log);
if (e.SMARTOPS_RENEW_DEADLINE_SECONDS >= e.SMARTOPS_LEASE_DURATION_SECONDS) {
  log.error("invalid configuration", { variable: "SMARTOPS_RENEW_DEADLINE_SECONDS", problem: "must be shorter than SMARTOPS_LEASE_DURATION_SECONDS" });
  process.exit(2);
}
const { host, port } = hostPort(e.SMARTOPS_LISTEN);
const notify = loadNotifyConfig();
if (!notify.ok) {
  for (const p of notify.problems) log.error("invalid configuration", { variable: p.field, problem: p.problem });
  process.exit(2);
}
const prometheus = prometheusClientFromEnv(e);
let otlpAudit: OtlpLogsConfig | undefined;
try {
  otlpAudit = otlpLogsConfig();
} catch (err) {
  log.error("invalid configuration", { variable: err instanceof AuditConfigError ? err.variable : "OTEL_*", problem: err instanceof Error ? err.message : String(err) });
  process.exit(2);
}

const config: OperatorConfig = {
  kubeconfig: e.KUBECONFIG,
  operatorNamespace: e.SMARTOPS_OPERATOR_NAMESPACE ?? e.POD_NAMESPACE ?? "smartops-system",
  watchNamespace: e.SMARTOPS_WATCH_NAMESPACE || undefined,
  identity: e.SMARTOPS_IDENTITY ?? e.POD_NAME ?? `${hostname()}-${process.pid}`,
  listenHost: host || "0.0.0.0",
  listenPort: port,
  leaderElection: {
    enabled: e.SMARTOPS_LEADER_ELECT === "true",
    leaseName: e.SMARTOPS_LEASE_NAME,
    leaseDurationSeconds: e.SMARTOPS_LEASE_DURATION_SECONDS,
    renewDeadlineSeconds: e.SMARTOPS_RENEW_DEADLINE_SECONDS,
    retryPeriodSeconds: e.SMARTOPS_RETRY_PERIOD_SECONDS,
  },
  workers: { actions: e.SMARTOPS_ACTION_WORKERS, signals: e.SMARTOPS_SIGNAL_WORKERS, policies: e.SMARTOPS_POLICY_WORKERS },
  resyncPeriodMs: e.SMARTOPS_RESYNC_SECONDS * 1000,
  maxEventAgeMs: e.SMARTOPS_MAX_EVENT_AGE_SECONDS * 1000,
  ownership: { fieldManager: e.SMARTOPS_FIELD_MANAGER, argoCdTracking: e.SMARTOPS_ARGOCD_TRACKING },
  ...(notify.config ? { notifications: notify.config } : {}),
  ...(e.SMARTOPS_RETENTION_ENABLED === "true"
    ? {
      retention: {
        signals: { ttlSeconds: e.SMARTOPS_RETENTION_SIGNAL_TTL_SECONDS, maxPerNamespace: e.SMARTOPS_RETENTION_SIGNALS_PER_NAMESPACE },
        actions: { ttlSeconds: e.SMARTOPS_RETENTION_ACTION_TTL_SECONDS, maxPerTarget: e.SMARTOPS_RETENTION_ACTIONS_PER_TARGET },
        undoWindowSeconds: e.SMARTOPS_RETENTION_UNDO_WINDOW_SECONDS,
        intervalSeconds: e.SMARTOPS_RETENTION_INTERVAL_SECONDS,
        batch: e.SMARTOPS_RETENTION_BATCH,
        ratePerSecond: e.SMARTOPS_RETENTION_DELETES_PER_SECOND,
      },
    }
    : {}),
  ...(prometheus
    ? {
      measure: async (check, vars) => {
        const reading = await measureCheck(prometheus, check, vars);
        const query = (() => {
          try {
            return renderQuery(check.query, vars);
          } catch {
            return check.query;
          }
        })();
        // A status holds JSON numbers only: NaN and the infinities are reported, not stored.
        return reading.kind === "value" && Number.isFinite(reading.value)
          ? { query, value: reading.value }
          : { query, message: reading.kind === "value" ? `the query returned ${reading.value}` : reading.message };
      },
    }
    : {}),
};

// Before the operator starts, so every span of this process has the provider.
const tracing = await startTracing("smartops-operator", { log }).catch((err: unknown) => {
  log.error("invalid configuration", { variable: err instanceof TracingConfigError ? err.variable : "OTEL_*", problem: err instanceof Error ? err.message : String(err) });
  process.exit(2);
});

// Audit records: the log stream always; OTLP log records too when configured.
if (otlpAudit) config.audit = teeSink([logSink(), await otlpSink(otlpAudit, "smartops-operator", log)]);

const operator = await runOperator(config, log).catch((err: unknown) => {
  log.error("operator failed to start", { err: err instanceof Error ? err.stack : String(err) });
  process.exit(1);
});

let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), 20_000);
    timer.unref();
    // Flushed after the drain, so the last reconciles' spans are exported too.
    const flush = () => tracing?.shutdown() ?? Promise.resolve();
    operator.stop().then(() => flush().then(() => process.exit(0)), () => flush().then(() => process.exit(1)));
  });
}
