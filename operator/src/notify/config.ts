// The notifier's configuration: a JSON or YAML file whose path is in
// SMARTOPS_NOTIFY_CONFIG. It lives in a file mounted from a Secret, not in a
// GuardrailPolicy, because webhook URLs are credentials (a Slack incoming-webhook
// URL is its own secret) and policies live in Git. No variable: notifications off.
//
// A bad file is reported as a list of problems, each naming the field (e.g.
// `webhooks[0].url`) but never echoing a value: the caller logs them and exits 2,
// as parseEnv does for a bad variable.
import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { WEBHOOK_FORMATS } from "./formats.ts";
import { SEVERITIES } from "./notification.ts";

export const NOTIFY_CONFIG_ENV = "SMARTOPS_NOTIFY_CONFIG";

/** A config file larger than this is refused before it is parsed. */
export const CONFIG_MAX_BYTES = 256 * 1024;

// RFC 9110 token: a header name. Values must not hold CR, LF or NUL (header injection).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const HEADER_VALUE = /^[^\r\n\u0000]*$/;
// Set by the sender from the body and the URL; a configured value would contradict them.
const RESERVED_HEADERS = new Set(["content-type", "content-length", "host", "transfer-encoding", "connection"]);

const webhookUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be an absolute http:// or https:// URL" });
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") ctx.addIssue({ code: "custom", message: "must use http or https" });
  else if (url.username !== "" || url.password !== "") ctx.addIssue({ code: "custom", message: "must not hold credentials before the host; put them in headers (e.g. Authorization)" });
});

export const webhookConfigSchema = z.strictObject({
  /** Names the webhook in logs and metrics (the URL never appears there). */
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a lowercase DNS label: a-z, 0-9 and '-'").max(63),
  url: webhookUrl,
  format: z.enum(WEBHOOK_FORMATS),
  headers: z
    .record(z.string().regex(HEADER_NAME, "header names must be HTTP tokens"), z.string().regex(HEADER_VALUE, "header values must not contain CR, LF or NUL"))
    .refine((h) => Object.keys(h).every((k) => !RESERVED_HEADERS.has(k.toLowerCase())), `must not set ${[...RESERVED_HEADERS].join(", ")}`)
    .optional(),
  timeoutSeconds: z.number().positive().max(300).default(5),
  minSeverity: z.enum(SEVERITIES).default("info"),
  /** Attempts per notification, the first included. */
  maxAttempts: z.number().int().min(1).max(20).default(6),
  /** alertmanager format: endsAt = startsAt + this, so an alert the operator never resolves expires. */
  resolveTimeoutSeconds: z.number().int().positive().max(7 * 24 * 3600).default(3600),
});

export const notifyConfigSchema = z
  .strictObject({
    webhooks: z.array(webhookConfigSchema).max(32),
    /** Notifications waiting per webhook; beyond it the oldest is dropped (and counted). */
    maxQueue: z.number().int().min(1).max(100_000).default(1000),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.webhooks.forEach((w, i) => {
      if (seen.has(w.name)) ctx.addIssue({ code: "custom", path: ["webhooks", i, "name"], message: `duplicate name ${JSON.stringify(w.name)}` });
      seen.add(w.name);
    });
  });

export type NotifyConfig = z.infer<typeof notifyConfigSchema>;
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;

export interface ConfigProblem {
  /** The field, e.g. `webhooks[0].url`; the variable or the file itself for problems before parsing. */
  field: string;
  problem: string;
}

export type NotifyConfigResult = { ok: true; config: NotifyConfig | undefined } | { ok: false; problems: ConfigProblem[] };

/** `webhooks[0].url` from zod's path. */
function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out === "" ? "" : "."}${String(p)}`;
  return out === "" ? "(file)" : out;
}

/**
 * Validates an already-parsed document. zod's messages name the expected type or
 * bound, never the value received, so a URL that fails cannot reach a log line.
 */
export function validateNotifyConfig(document: unknown): NotifyConfigResult {
  const parsed = notifyConfigSchema.safeParse(document);
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((i) => ({ field: fieldName(i.path), problem: i.message })) };
}

/**
 * Parses the file's text: JSON when the name ends in .json, YAML otherwise. Parse
 * errors report the position only: the parsers' own messages quote the source
 * line, which may be a webhook URL.
 */
export function parseNotifyConfig(text: string, source: string): NotifyConfigResult {
  let document: unknown;
  if (source.toLowerCase().endsWith(".json")) {
    try {
      document = JSON.parse(text);
    } catch (err) {
      const at = /position (\d+)/.exec(err instanceof Error ? err.message : "")?.[1];
      return { ok: false, problems: [{ field: source, problem: `not valid JSON${at === undefined ? "" : ` (at offset ${at})`}` }] };
    }
  } else {
    try {
      // prettyErrors fills linePos; its message (which quotes the line) is never used.
      document = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 });
    } catch (err) {
      const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : "";
      const code = err instanceof YAMLParseError ? `: ${err.code}` : "";
      return { ok: false, problems: [{ field: source, problem: `not valid YAML${code}${where}` }] };
    }
  }
  return validateNotifyConfig(document);
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => Buffer;
}

/**
 * The configuration named by SMARTOPS_NOTIFY_CONFIG: `{ok: true, config: undefined}`
 * when the variable is unset or empty (notifications off), the validated config,
 * or the problems. Never throws and never exits.
 */
export function loadNotifyConfig(options: LoadOptions = {}): NotifyConfigResult {
  const env = options.env ?? process.env;
  const path = env[NOTIFY_CONFIG_ENV]?.trim();
  if (!path) return { ok: true, config: undefined };
  let bytes: Buffer;
  try {
    bytes = (options.readFile ?? readFileSync)(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { ok: false, problems: [{ field: NOTIFY_CONFIG_ENV, problem: `cannot read ${path}${typeof code === "string" ? ` (${code})` : ""}` }] };
  }
  if (bytes.length > CONFIG_MAX_BYTES) return { ok: false, problems: [{ field: path, problem: `larger than ${CONFIG_MAX_BYTES} bytes` }] };
  return parseNotifyConfig(bytes.toString("utf8"), path);
}
