// Secrets never reach a log line. Two nets: values under a sensitive key are
// replaced whole, and every string (message and metadata) is scrubbed of what
// looks like a credential — bearer tokens, JWTs (ServiceAccount tokens are
// JWTs), PEM blocks, kubeconfig credential fields, key=value secrets.
export const REDACTED = "[REDACTED]";

const SENSITIVE_KEY = /authorization|token|secret|passw(or)?d|credential|kubeconfig|cookie|api[-_]?key|private[-_]?key|client[-_]?key|bearer|certificate-data|key-data/i;

const PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g, REDACTED],
  [/\b([Bb]earer|BEARER|Basic)\s+[A-Za-z0-9\-._~+/]+=*/g, `$1 ${REDACTED}`],
  [/(\/\/)[^/\s:@]+:[^/\s@]+@/g, `$1${REDACTED}@`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b([a-z0-9]{6})\.[a-z0-9]{16}\b/g, REDACTED],
  [/\b(token|id-token|refresh-token|password|client-key-data|client-certificate-data|secret)(["']?\s*[:=]\s*["']?)(?!\[REDACTED\])[^\s"',;&}]+/gi, `$1$2${REDACTED}`],
];

// One cheap scan first: most log strings hold none of the patterns' anchors.
const MAYBE = /bearer|basic|eyJ|-----BEGIN|token|passw|secret|key-data|certificate-data|@|\.[a-z0-9]{16}/i;

/** The string with every credential-looking part replaced. */
export function redactString(s: string): string {
  if (!MAYBE.test(s)) return s;
  let out = s;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** A copy of `value` with secrets removed; never mutates its argument. */
export function redactValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return redactString(value.stack ?? value.message);
  if (depth >= 8) return "[too deep]";
  if (seen.has(value)) return "[circular]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactKey(k, v, depth + 1, seen);
  return out;
}

function redactKey(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (SENSITIVE_KEY.test(key) && value !== null && value !== undefined && typeof value !== "boolean" && typeof value !== "number") return REDACTED;
  return redactValue(value, depth, seen);
}

/** Redacts the fields of one log record in place (the record is the logger's own object). */
export function redactRecord(record: Record<string, unknown>, keep: ReadonlySet<string>): void {
  for (const [k, v] of Object.entries(record)) {
    if (keep.has(k)) continue;
    record[k] = redactKey(k, v, 0, new WeakSet());
  }
}
