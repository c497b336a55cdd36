// Entry point of the `shim` command: the orchestrator's HTTP API (docs/shim.md) in front
// of the CRDs. Configuration comes from the environment, validated up front so a
// bad value stops the process with the variable's name.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { connect, loadKubeConfig } from "../k8s/client.ts";
import { kubeShimBackend, SHIM_FIELD_MANAGER } from "../k8s/shim-backend.ts";
import { DEFAULT_ALERTMANAGER_CONFIG, parseAlertmanagerConfig } from "../shim/alertmanager.ts";
import { DEFAULT_CONFIG, type ShimConfig, startShim } from "../shim/server.ts";
import { createLogger } from "../telemetry/logger.ts";
import { startTracing, TracingConfigError } from "../telemetry/tracing.ts";
import { hostPort, listenAddress, parseEnv } from "./env.ts";

const env = z.object({
  KUBECONFIG: z.string().optional(),
  SMARTOPS_SHIM_LISTEN: listenAddress("0.0.0.0:8000"),
  SMARTOPS_SHIM_DEFAULT_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a namespace name").max(63).default(DEFAULT_CONFIG.defaultNamespace),
  SMARTOPS_SHIM_AUDIENCE: z.string().min(1).default(DEFAULT_CONFIG.audience),
  SMARTOPS_SHIM_ALLOW_ANONYMOUS: z.enum(["true", "false"]).default("false"),
  SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(DEFAULT_CONFIG.rateLimit.ratePerSecond),
  SMARTOPS_SHIM_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(DEFAULT_CONFIG.rateLimit.burst),
  SMARTOPS_SHIM_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(DEFAULT_CONFIG.bodyLimitBytes),
  SMARTOPS_SHIM_AUTH_CACHE_SECONDS: z.coerce.number().min(0).max(300).default(DEFAULT_CONFIG.authCacheTtlMs / 1000),
  SMARTOPS_SHIM_SHUTDOWN_SECONDS: z.coerce.number().positive().default(30),
  SMARTOPS_SHIM_HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(1).max(300).default(DEFAULT_CONFIG.headersTimeoutMs / 1000),
  SMARTOPS_SHIM_BODY_TIMEOUT_SECONDS: z.coerce.number().min(1).max(300).default(DEFAULT_CONFIG.bodyTimeoutMs / 1000),
  SMARTOPS_SHIM_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_CONFIG.maxInFlight),
  SMARTOPS_SHIM_MAX_IN_FLIGHT_PER_IDENTITY: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_CONFIG.maxInFlightPerIdentity),
  SMARTOPS_SHIM_UNAUTHENTICATED_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(DEFAULT_CONFIG.unauthenticatedRateLimit.ratePerSecond),
  SMARTOPS_SHIM_UNAUTHENTICATED_RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(DEFAULT_CONFIG.unauthenticatedRateLimit.burst),
  SMARTOPS_SHIM_VERIFY_READS_PER_SECOND: z.coerce.number().positive().default(DEFAULT_CONFIG.verifyReadBudget.ratePerSecond),
  SMARTOPS_SHIM_ACTION_WAIT_SECONDS: z.coerce.number().int().min(0).max(600).default(DEFAULT_CONFIG.actionWaitSeconds),
  SMARTOPS_SHIM_ALERTMANAGER_CONFIG: z.string().min(1).optional(),
});

const log = createLogger("shim");
const e = parseEnv(env, log);
const listen = hostPort(e.SMARTOPS_SHIM_LISTEN);
const [host, port] = [listen.host || "0.0.0.0", listen.port];

/** POST /v1/alertmanager's label names and alert rules: a YAML file (a mounted ConfigMap), checked before the shim listens. */
function alertmanagerConfig(path: string | undefined) {
  if (path === undefined) return DEFAULT_ALERTMANAGER_CONFIG;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    log.error("invalid configuration", { variable: "SMARTOPS_SHIM_ALERTMANAGER_CONFIG", problem: `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}` });
    process.exit(2);
  }
  const v = parseAlertmanagerConfig(text);
  if (v.ok) return v.value;
  for (const i of v.issues) log.error("invalid configuration", { variable: "SMARTOPS_SHIM_ALERTMANAGER_CONFIG", file: path, field: i.field, problem: i.message });
  process.exit(2);
}

const config: ShimConfig = {
  ...DEFAULT_CONFIG,
  defaultNamespace: e.SMARTOPS_SHIM_DEFAULT_NAMESPACE,
  audience: e.SMARTOPS_SHIM_AUDIENCE,
  allowAnonymous: e.SMARTOPS_SHIM_ALLOW_ANONYMOUS === "true",
  bodyLimitBytes: e.SMARTOPS_SHIM_BODY_LIMIT_BYTES,
  rateLimit: { ratePerSecond: e.SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND, burst: e.SMARTOPS_SHIM_RATE_LIMIT_BURST },
  authCacheTtlMs: e.SMARTOPS_SHIM_AUTH_CACHE_SECONDS * 1000,
  headersTimeoutMs: e.SMARTOPS_SHIM_HEADERS_TIMEOUT_SECONDS * 1000,
  bodyTimeoutMs: e.SMARTOPS_SHIM_BODY_TIMEOUT_SECONDS * 1000,
  maxInFlight: e.SMARTOPS_SHIM_MAX_IN_FLIGHT,
  maxInFlightPerIdentity: Math.min(e.SMARTOPS_SHIM_MAX_IN_FLIGHT_PER_IDENTITY, e.SMARTOPS_SHIM_MAX_IN_FLIGHT),
  unauthenticatedRateLimit: { ratePerSecond: e.SMARTOPS_SHIM_UNAUTHENTICATED_RATE_LIMIT_PER_SECOND, burst: e.SMARTOPS_SHIM_UNAUTHENTICATED_RATE_LIMIT_BURST },
  verifyReadBudget: { ratePerSecond: e.SMARTOPS_SHIM_VERIFY_READS_PER_SECOND, burst: Math.max(1, Math.ceil(e.SMARTOPS_SHIM_VERIFY_READS_PER_SECOND)) },
  actionWaitSeconds: e.SMARTOPS_SHIM_ACTION_WAIT_SECONDS,
  alertmanager: alertmanagerConfig(e.SMARTOPS_SHIM_ALERTMANAGER_CONFIG),
};
if (config.allowAnonymous) {
  log.warn("SMARTOPS_SHIM_ALLOW_ANONYMOUS=true: requests WITHOUT a token are accepted and NOT authorized. For local development only; never run this in a shared cluster.");
}

const tracing = await startTracing("smartops-shim", { log }).catch((err: unknown) => {
  log.error("invalid configuration", { variable: err instanceof TracingConfigError ? err.variable : "OTEL_*", problem: err instanceof Error ? err.message : String(err) });
  process.exit(2);
});

const kube = connect(loadKubeConfig(e.KUBECONFIG), SHIM_FIELD_MANAGER, "shim_");
const shim = await startShim(host, port, kubeShimBackend(kube.api), config, log).catch((err: unknown) => {
  log.error("shim failed to start", { err: err instanceof Error ? err.stack : String(err) });
  process.exit(1);
});
log.info("shim listening", { host, port: shim.port, defaultNamespace: config.defaultNamespace, audience: config.audience });

let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down: no new connections, finishing in-flight requests", { signal: sig });
    const timer = setTimeout(() => process.exit(1), e.SMARTOPS_SHIM_SHUTDOWN_SECONDS * 1000);
    timer.unref();
    // Flushed after in-flight requests finish, so their spans are exported too.
    const flush = () => tracing?.shutdown() ?? Promise.resolve();
    const done = (code: number) => () => kube.transport.close().then(flush).then(() => process.exit(code));
    shim.close().then(done(0), done(1));
  });
}
