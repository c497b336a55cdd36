// Alertmanager as a signal source: its webhook payload (version 4) turned into
// AnomalySignal specs, without I/O. Which labels name the namespace and the
// service, and which alerts become which anomaly type and score, come from a
// small validated configuration (defaults below, a file to override them).
//
// Idempotency: a signal's windowId is derived from the alert's fingerprint and
// startsAt only, so Alertmanager re-sending a group (every repeat_interval, or
// after a failed delivery) names the same signals and the API server's
// AlreadyExists answers the repeat. A resolved alert is a window of its own (the
// same plus a "resolved" marker): a normal window (isAnomaly false), which is
// what the effectiveness judgement counts after an action.
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { AnomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import { dnsLabel, dnsSubdomain, probability, SCALAR_MAP_MAX_STRING_LENGTH, timestamp } from "../api/v1alpha1/meta.ts";
import { type FieldIssue, fieldPath, validate } from "../api/v1alpha1/validation.ts";
import { isOwnNotification, ORIGIN_LABEL } from "../notify/notification.ts";
import { KNOWN_ANOMALY_TYPES } from "../remediation/rules.ts";

// ---------------------------------------------------------------------------
// The payload. Objects are not strict: Alertmanager adds fields across releases
// (truncatedAlerts came later than version 4), and a receiver that refused them
// would lose every alert after an upgrade (Alertmanager does not retry a 4xx).

const labelMap = z.record(z.string().min(1).max(1024), z.string().max(4096));

const alertSchema = z.object({
  status: z.enum(["firing", "resolved"]).describe("firing or resolved."),
  labels: labelMap.describe("The alert's labels: they identify it and name its namespace and service."),
  annotations: labelMap.optional(),
  startsAt: timestamp.describe("When the alert started firing; with the fingerprint, it names the signal."),
  endsAt: timestamp.optional().describe("When the alert ended (resolved alerts); 0001-01-01T00:00:00Z while firing."),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z
    .string()
    .regex(/^[0-9A-Za-z]{1,64}$/, "letters and digits, at most 64")
    .describe("Alertmanager's hash of the labels: the same alert has the same fingerprint."),
});

export const alertmanagerPayload = z
  .object({
    version: z.literal("4").describe("The webhook payload version; only 4 exists."),
    groupKey: z.string().max(8192).optional(),
    truncatedAlerts: z.int().min(0).optional().describe("Alerts Alertmanager left out of this payload (webhook_config max_alerts)."),
    status: z.enum(["firing", "resolved"]).describe("firing when at least one alert of the group fires."),
    receiver: z.string().max(1024).optional(),
    groupLabels: labelMap.optional(),
    commonLabels: labelMap.optional(),
    commonAnnotations: labelMap.optional(),
    externalURL: z.string().max(4096).optional(),
    alerts: z.array(alertSchema).max(1000).describe("The group's alerts; each firing one becomes an anomaly window, each resolved one a normal window."),
  })
  .describe("Alertmanager's webhook payload, version 4. Unknown fields are ignored.");

export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;
export type Alert = z.infer<typeof alertSchema>;

// ---------------------------------------------------------------------------
// The configuration.

/** A regular expression matched against the whole label value, as Alertmanager matchers do. */
const anchoredRegex = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => {
    try {
      new RegExp(`^(?:${s})$`);
      return true;
    } catch {
      return false;
    }
  }, "not a valid regular expression");

const anomalyType = z.enum(KNOWN_ANOMALY_TYPES);

const rule = z
  .object({
    alertname: anchoredRegex.optional().describe("Regular expression the alertname label must match in full (case-insensitive)."),
    severity: anchoredRegex.optional().describe("Regular expression the severity label must match in full (case-insensitive)."),
    type: anomalyType.optional().describe("The anomaly type of matching alerts."),
    score: probability.optional().describe("The score of matching alerts; by severity when absent."),
    ignore: z.boolean().optional().describe("Matching alerts make no signal (answered as ignored)."),
  })
  .strict()
  .refine((r) => r.ignore === true || r.type !== undefined, { message: "a rule needs type, or ignore: true", path: ["type"] });

const labelName = z.string().min(1).max(256);

export const alertmanagerConfig = z
  .object({
    namespaceLabels: z.array(labelName).min(1).max(8).default(["namespace"]).describe("Labels naming the signal's namespace, first present wins."),
    serviceLabels: z.array(labelName).min(1).max(8).default(["deployment", "service", "job"]).describe("Labels naming the service (resolved to a Deployment as signals are), first present wins."),
    rules: z.array(rule).max(256).optional().describe("alertname/severity → type and score, first match wins; replaces the default rules."),
    defaultType: anomalyType.default("other").describe("The type of an alert no rule matches."),
    severityScores: z.record(z.string().min(1).max(64), probability).default({ critical: 0.95, error: 0.9, warning: 0.8, info: 0.5 }).describe("Score by severity label (lower-case) when the matching rule sets none."),
    defaultScore: probability.default(0.7).describe("Score when neither the rule nor the severity gives one."),
    verified: z.boolean().default(true).describe("Signals carry modelVersion and confidence (a verified signal; its action really runs). false: unverified, every action a dry run."),
    confidence: probability.default(1).describe("The confidence of verified signals: an alert is a rule that held, not a model's guess."),
  })
  .strict();

export type AlertmanagerConfig = z.output<typeof alertmanagerConfig>;
export type AlertRule = z.output<typeof rule>;

/**
 * The rules used when the configuration sets none: by the alertname's words,
 * case-insensitive. Always-firing meta alerts (Watchdog, InfoInhibitor) make no signal.
 */
export const DEFAULT_RULES: readonly AlertRule[] = [
  { alertname: "Watchdog|InfoInhibitor", ignore: true },
  { alertname: ".*(latency|slow|duration).*", type: "latency" },
  { alertname: ".*jitter.*", type: "jitter" },
  { alertname: ".*(error|errors|5xx|fail|failing|failure|crashloop).*", type: "error" },
  { alertname: ".*(cpu|memory|oom|throttl|saturat|resource|quota|disk).*", type: "resource" },
];

export const DEFAULT_ALERTMANAGER_CONFIG: AlertmanagerConfig = alertmanagerConfig.parse({});

/** The configuration from a file's text (YAML, or JSON), or the fields at fault. An empty file is the defaults. */
export function parseAlertmanagerConfig(text: string): ReturnType<typeof validate<typeof alertmanagerConfig>> {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, issues: [{ field: "", message: `not YAML: ${err instanceof Error ? err.message : String(err)}` }] };
  }
  return validate(alertmanagerConfig, value ?? {});
}

// ---------------------------------------------------------------------------
// The mapping.

/** Where the windowId says which signal of the alert this is. */
export const RESOLVED_MARKER = "resolved";
export const MODEL_VERSION = "alertmanager";

/**
 * The windowId of an alert's firing window: its fingerprint and startsAt (in
 * milliseconds), the two things Alertmanager keeps the same when it re-sends the
 * alert. A new firing of the same alert has a new startsAt, so a new window.
 */
export function alertWindowId(fingerprint: string, startsAt: string, status: Alert["status"]): string {
  const id = `am-${fingerprint.toLowerCase()}-${Date.parse(startsAt)}`;
  return status === "resolved" ? `${id}-${RESOLVED_MARKER}` : id;
}

export type AlertResult = "created" | "existing" | "ignored";
export type IgnoreReason = "OwnNotification" | "IgnoredByRule";

interface PlannedBase {
  index: number;
  fingerprint: string;
  status: Alert["status"];
}
export type PlannedAlert =
  | (PlannedBase & { kind: "ignore"; reason: IgnoreReason; message: string })
  | (PlannedBase & { kind: "signal"; namespace: string; namespaceField: string; spec: AnomalySignalSpec });

export type Plan = { ok: true; alerts: PlannedAlert[] } | { ok: false; issues: FieldIssue[] };

const ci = (pattern: string) => new RegExp(`^(?:${pattern})$`, "i");

/** The first rule whose matchers all match (an absent label matches as ""), or undefined. */
export function matchRule(labels: Record<string, string>, rules: readonly AlertRule[]): AlertRule | undefined {
  return rules.find((r) => (r.alertname === undefined || ci(r.alertname).test(labels.alertname ?? "")) && (r.severity === undefined || ci(r.severity).test(labels.severity ?? "")));
}

/** The first of `names` that the labels carry (non-empty), with its value. */
function firstLabel(labels: Record<string, string>, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = Object.hasOwn(labels, name) ? labels[name] : undefined;
    if (value !== undefined && value !== "") return { name, value };
  }
  return undefined;
}

const short = (s: string) => s.slice(0, SCALAR_MAP_MAX_STRING_LENGTH);

/**
 * Every alert of a payload, planned: ignored (with why) or the signal it makes.
 * Checks everything before anything is created, so a bad payload is one 400
 * listing each field at fault (alerts[2].labels.namespace) and creates nothing.
 */
export function planAlerts(body: unknown, config: AlertmanagerConfig): Plan {
  const v = validate(alertmanagerPayload, body);
  if (!v.ok) return v;
  const rules = config.rules ?? DEFAULT_RULES;
  const issues: FieldIssue[] = [];
  const alerts: PlannedAlert[] = [];
  v.value.alerts.forEach((a, index) => {
    const at = (...path: (string | number)[]) => fieldPath(["alerts", index, ...path]);
    const base = { index, fingerprint: a.fingerprint, status: a.status };
    // First: the operator's own notifications, whatever else they carry, never come back.
    if (isOwnNotification(a.labels)) {
      alerts.push({ ...base, kind: "ignore", reason: "OwnNotification", message: `carries ${ORIGIN_LABEL}: the operator's own notification` });
      return;
    }
    const r = matchRule(a.labels, rules);
    if (r?.ignore) {
      alerts.push({ ...base, kind: "ignore", reason: "IgnoredByRule", message: `alertname ${a.labels.alertname ?? ""} is ignored by rule ${rules.indexOf(r)}` });
      return;
    }
    const ns = firstLabel(a.labels, config.namespaceLabels);
    const svc = firstLabel(a.labels, config.serviceLabels);
    if (!ns) issues.push({ field: at("labels", config.namespaceLabels[0]!), message: `required: the alert needs one of the labels ${config.namespaceLabels.join(", ")} naming its namespace` });
    else if (!dnsLabel.safeParse(ns.value).success) issues.push({ field: at("labels", ns.name), message: "must be a namespace name (DNS-1123 label)" });
    if (!svc) issues.push({ field: at("labels", config.serviceLabels[0]!), message: `required: the alert needs one of the labels ${config.serviceLabels.join(", ")} naming its service` });
    else if (!dnsSubdomain.safeParse(svc.value).success) issues.push({ field: at("labels", svc.name), message: "must be a Deployment or service name (DNS-1123 subdomain)" });
    if (a.status === "resolved" && a.endsAt === undefined) issues.push({ field: at("endsAt"), message: "required for a resolved alert" });
    if (!ns || !svc) return;
    const severity = (a.labels.severity ?? "").toLowerCase();
    const resolved = a.status === "resolved";
    const end = a.endsAt !== undefined && Date.parse(a.endsAt) >= Date.parse(a.startsAt) ? a.endsAt : undefined;
    const spec: AnomalySignalSpec = {
      windowId: alertWindowId(a.fingerprint, a.startsAt, a.status),
      service: svc.value,
      isAnomaly: !resolved,
      score: resolved ? 0 : (r?.score ?? (Object.hasOwn(config.severityScores, severity) ? config.severityScores[severity]! : config.defaultScore)),
      type: r?.type ?? config.defaultType,
      ...(config.verified ? { modelVersion: MODEL_VERSION, confidence: config.confidence } : {}),
      ...(resolved && end !== undefined ? { tsRange: { start: a.startsAt, end } } : {}),
      metadata: {
        source: "alertmanager",
        fingerprint: a.fingerprint,
        alertStatus: a.status,
        startsAt: a.startsAt,
        ...(a.labels.alertname !== undefined ? { alertname: short(a.labels.alertname) } : {}),
        ...(severity !== "" ? { severity: short(severity) } : {}),
      },
    };
    alerts.push({ ...base, kind: "signal", namespace: ns.value, namespaceField: at("labels", ns.name), spec });
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, alerts };
}
