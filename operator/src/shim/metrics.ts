// The shim's own metrics, on the process-wide registry. Route labels are the
// fixed route templates (or "unmatched"), never the raw URL.
import { Counter, Histogram } from "prom-client";
import { registry } from "../telemetry/metrics.ts";

export { loopSignalsTotal } from "../telemetry/metrics.ts";

export const shimRequestsTotal = new Counter({
  name: "smartops_shim_http_requests_total",
  help: "HTTP requests answered by the shim, by route and status code.",
  labelNames: ["route", "code"],
  registers: [registry],
});

export const shimRequestDuration = new Histogram({
  name: "smartops_shim_http_request_duration_seconds",
  help: "Time to answer an HTTP request, by route and status code.",
  labelNames: ["route", "code"],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const shimAuthDecisionsTotal = new Counter({
  name: "smartops_shim_auth_decisions_total",
  help: "Authentication and authorization decisions, by step, result and whether the cache answered.",
  labelNames: ["step", "result", "cached"],
  registers: [registry],
});

export const shimAlertmanagerAlertsTotal = new Counter({
  name: "smartops_shim_alertmanager_alerts_total",
  help: "Alerts received on /v1/alertmanager, by alert status (firing, resolved) and result (created, existing, ignored).",
  labelNames: ["status", "result"],
  registers: [registry],
});
