// The notifier's metrics, on the process-wide registry. The webhook label is the
// configured name (a bounded set from the config file), never the URL.
import { Counter } from "prom-client";
import { registry } from "../telemetry/metrics.ts";

export const notificationsTotal = new Counter({
  name: "smartops_notifications_total",
  help: "Webhook notifications by final result: sent, failed (refused, or undelivered after every attempt), dropped (queue full, or the notifier closed first).",
  labelNames: ["webhook", "result"],
  registers: [registry],
});

export const notificationAttemptsTotal = new Counter({
  name: "smartops_notification_attempts_total",
  help: "HTTP requests made to deliver webhook notifications, retries included.",
  labelNames: ["webhook"],
  registers: [registry],
});
