// Request bodies for the three webhook formats, built without I/O. Each body is
// bounded (every free-form field is cut to a fixed length, so a body stays under
// BODY_MAX_BYTES whatever the notification holds) and carries the origin mark.
//
// - generic: every Notification field, plus `origin` and `labels.smartops_origin`.
// - slack: what Slack incoming webhooks accept: `text` (the notification's
//   fallback line) and mrkdwn section blocks, each within Slack's 3000-character
//   section limit.
// - alertmanager: the body of Alertmanager's API v2 `POST /api/v2/alerts`: an
//   array of one alert. `endsAt` is startsAt + the resolve timeout: the operator
//   never resolves these alerts, so they expire by themselves.
import { ORIGIN_LABEL, ORIGIN_VALUE, type Notification } from "./notification.ts";

export const WEBHOOK_FORMATS = ["generic", "slack", "alertmanager"] as const;

export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Upper bound on the UTF-8 size of any body built here. */
export const BODY_MAX_BYTES = 32 * 1024;

/** Field lengths, in UTF-16 code units; a longer value is cut and ends with "…". */
export const FIELD_LIMITS = {
  reason: 128,
  namespace: 253,
  target: 253,
  action: 253,
  summary: 256,
  message: 2000,
  at: 64,
} as const;

/** Default lifetime of an Alertmanager alert the operator posts. */
export const DEFAULT_RESOLVE_TIMEOUT_MS = 60 * 60 * 1000;

export interface FormatOptions {
  /** Alertmanager: endsAt = startsAt + this; default one hour. */
  resolveTimeoutMs?: number;
  /** Alertmanager: the alert's generatorURL, when there is a page to link to. */
  generatorURL?: string;
}

const SLACK_SECTION_MAX = 3000;
const MIN_RFC3339_MS = Date.parse("0000-01-01T00:00:00.000Z");
const MAX_RFC3339_MS = Date.parse("9999-12-31T23:59:59.999Z");
const ELLIPSIS = "…";

// Lone surrogates are not UTF-8: a receiver decoding the body would reject or
// mangle them. Control characters other than tab and newline have no place in a
// human message and would each cost six bytes escaped.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F]/g;

/** `s` made well-formed and free of control characters, cut to `max` code units on a code point boundary. */
export function clean(s: string | undefined, max: number): string {
  const text = String(s ?? "").replace(LONE_SURROGATE, "\uFFFD").replace(CONTROL, "");
  if (text.length <= max) return text;
  let cut = Math.max(0, max - ELLIPSIS.length);
  // Do not split a surrogate pair.
  if (cut > 0 && /[\uD800-\uDBFF]/.test(text[cut - 1]!)) cut -= 1;
  return text.slice(0, cut) + ELLIPSIS;
}

/** The notification with every field cleaned and bounded. */
function bounded(n: Notification): Notification {
  const out: Notification = {
    reason: clean(n.reason, FIELD_LIMITS.reason),
    severity: n.severity,
    namespace: clean(n.namespace, FIELD_LIMITS.namespace),
    target: clean(n.target, FIELD_LIMITS.target),
    summary: clean(n.summary, FIELD_LIMITS.summary),
    message: clean(n.message, FIELD_LIMITS.message),
    at: clean(n.at, FIELD_LIMITS.at),
  };
  const action = clean(n.action, FIELD_LIMITS.action);
  if (action !== "") out.action = action;
  return out;
}

export interface GenericBody extends Notification {
  origin: typeof ORIGIN_VALUE;
  labels: { [ORIGIN_LABEL]: typeof ORIGIN_VALUE };
}

export function genericBody(n: Notification): GenericBody {
  return { ...bounded(n), origin: ORIGIN_VALUE, labels: { [ORIGIN_LABEL]: ORIGIN_VALUE } };
}

export interface SlackBody {
  text: string;
  blocks: Array<{ type: "section"; text: { type: "mrkdwn"; text: string } } | { type: "context"; elements: Array<{ type: "mrkdwn"; text: string }> }>;
}

/** Slack's mrkdwn reserves &, < and >; each becomes its entity. */
function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** `text` escaped for mrkdwn and cut to `max` characters without splitting an entity or a surrogate pair. */
function mrkdwn(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  let cut = max - ELLIPSIS.length;
  const amp = escaped.lastIndexOf("&", cut);
  if (amp >= 0 && amp > cut - 5 && escaped.indexOf(";", amp) >= cut) cut = amp;
  if (cut > 0 && /[\uD800-\uDBFF]/.test(escaped[cut - 1]!)) cut -= 1;
  return escaped.slice(0, cut) + ELLIPSIS;
}

const SLACK_ICON: Record<Notification["severity"], string> = { info: ":information_source:", warning: ":warning:", critical: ":rotating_light:" };

export function slackBody(n: Notification): SlackBody {
  const b = bounded(n);
  const where = `${b.namespace}/${b.target}${b.action ? ` (action ${b.action})` : ""}`;
  const text = `[${b.severity}] ${b.reason}: ${b.summary} — ${where}`;
  const context = [`*reason* ${b.reason}`, `*severity* ${b.severity}`, `*target* ${b.namespace}/${b.target}`, ...(b.action ? [`*action* ${b.action}`] : []), `*at* ${b.at}`, `${ORIGIN_LABEL}=${ORIGIN_VALUE}`];
  const blocks: SlackBody["blocks"] = [{ type: "section", text: { type: "mrkdwn", text: mrkdwn(`${SLACK_ICON[b.severity]} *${b.summary}*`, SLACK_SECTION_MAX) } }];
  if (b.message !== "") blocks.push({ type: "section", text: { type: "mrkdwn", text: mrkdwn(b.message, SLACK_SECTION_MAX) } });
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: mrkdwn(context.join(" · "), SLACK_SECTION_MAX) }] });
  return { text: escapeMrkdwn(text), blocks };
}

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

/** `SmartOps<Reason>`, keeping only characters that make a plain identifier. */
export function alertName(reason: string): string {
  const word = reason.replace(/[^A-Za-z0-9]/g, "");
  return `SmartOps${word === "" ? "Notification" : word.charAt(0).toUpperCase() + word.slice(1)}`;
}

export function alertmanagerBody(n: Notification, options: FormatOptions = {}): AlertmanagerAlert[] {
  const b = bounded(n);
  // Alertmanager refuses a label with an empty value (it means "absent"): only present values become labels.
  const labels: Record<string, string> = {};
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "") labels[name] = value;
  };
  put("alertname", alertName(b.reason));
  put("severity", b.severity);
  put("namespace", b.namespace);
  put("deployment", b.target);
  put("action", b.action);
  put("reason", b.reason);
  labels[ORIGIN_LABEL] = ORIGIN_VALUE;
  const annotations: Record<string, string> = {};
  if (b.summary !== "") annotations.summary = b.summary;
  if (b.message !== "") annotations.description = b.message;
  const alert: AlertmanagerAlert = { labels, annotations };
  // An unreadable time is left to Alertmanager, which then starts the alert now and ends it after its resolve_timeout.
  // So is a time outside years 0000–9999, which RFC 3339 cannot write.
  const start = Date.parse(b.at);
  const ttl = options.resolveTimeoutMs !== undefined && options.resolveTimeoutMs > 0 ? options.resolveTimeoutMs : DEFAULT_RESOLVE_TIMEOUT_MS;
  if (Number.isFinite(start) && start >= MIN_RFC3339_MS && start + ttl <= MAX_RFC3339_MS) {
    alert.startsAt = new Date(start).toISOString();
    alert.endsAt = new Date(start + ttl).toISOString();
  }
  if (options.generatorURL) alert.generatorURL = clean(options.generatorURL, 2048);
  return [alert];
}

/** The serialized request body of `format`; always JSON within BODY_MAX_BYTES. */
export function renderBody(format: WebhookFormat, n: Notification, options: FormatOptions = {}): string {
  switch (format) {
    case "generic":
      return JSON.stringify(genericBody(n));
    case "slack":
      return JSON.stringify(slackBody(n));
    case "alertmanager":
      return JSON.stringify(alertmanagerBody(n, options));
  }
}
