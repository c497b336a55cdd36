// What of an API server error may be repeated anywhere (status.message, events,
// logs, shim answers): its reason, the fields its causes name, and a bounded
// message with every embedded object cut out. The API server's text is not safe to
// pass on: a merge or JSON patch whose result cannot be decoded is answered 422
// `patch: Invalid value: "<the whole patched object as JSON>": …`, i.e. the full
// Deployment — env values, secrets and all — to a caller who may not even `get` it.
// Pure; every error made from an API answer (k8s/errors.ts KubeApiError) goes through here.

/** The most of the API server's message that is ever repeated. */
export const MAX_MESSAGE_CHARS = 300;
/** A quoted value or a {…}/[…] block longer than this is cut out of the message. */
export const MAX_EMBEDDED_CHARS = 64;
const MAX_FIELDS = 8;
const MAX_FIELD_CHARS = 200;

export interface SafeApiError {
  /** The HTTP status, or the Status body's code when it carries one. */
  code: number;
  /** The Status reason (Invalid, Conflict, …); "" when absent or not a plain word. */
  reason: string;
  /** The fields the Status causes name (spec.replicas, metadata.annotations, patch …). */
  fields: string[];
  /** The message, with embedded values and objects cut out, at most MAX_MESSAGE_CHARS. */
  message: string;
}

interface StatusCause {
  field?: unknown;
  reason?: unknown;
}

interface StatusLike {
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  details?: { causes?: unknown };
}

/** Sanitizes an API server answer: `body` is the parsed Status, or the raw text. */
export function sanitizeApiError(httpStatus: number, body: unknown): SafeApiError {
  const s: StatusLike = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as StatusLike) : {};
  const code = typeof s.code === "number" && Number.isInteger(s.code) && s.code > 0 ? s.code : httpStatus;
  const reason = typeof s.reason === "string" && /^[A-Za-z]{1,64}$/.test(s.reason) ? s.reason : "";
  const causes = Array.isArray(s.details?.causes) ? (s.details.causes as StatusCause[]) : [];
  const fields = [...new Set(causes.map((c) => (typeof c?.field === "string" ? safeField(c.field) : "")).filter((f) => f !== ""))].slice(0, MAX_FIELDS);
  const raw = typeof s.message === "string" ? s.message : typeof body === "string" ? body : "";
  return { code, reason, fields, message: redact(raw) };
}

/**
 * A message safe to repeat: control characters flattened; every {…} block (an
 * object, a Go struct or map dump) replaced by its length; a quoted string replaced
 * when it is longer than MAX_EMBEDDED_CHARS or holds an object; a […] block kept only
 * when it is short and plain (an index such as [0], a list of names), never a
 * Go map dump such as map[key:value]; an unterminated one cut off; the rest
 * bounded to `max` characters.
 */
export function redact(text: string, max = MAX_MESSAGE_CHARS): string {
  // Control characters (newlines that would forge log lines, terminal escapes) become spaces.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ");
  let out = "";
  let i = 0;
  // The scan stops once the output is long enough: what follows is dropped anyway.
  while (i < flat.length && out.length <= max) {
    const ch = flat[i]!;
    const end = ch === "\"" || ch === "`" ? closingQuote(flat, i) : ch === "{" || ch === "[" ? closingBracket(flat, i) : i;
    if (end < 0) {
      out += `${ch}…(cut)`;
      break;
    }
    if (end === i) {
      out += ch;
      i++;
      continue;
    }
    const block = flat.slice(i, end + 1);
    const inner = block.slice(1, -1);
    const keep = ch === "{" ? false
      : ch === "[" ? inner.length <= MAX_EMBEDDED_CHARS && !/[{["`:]/.test(inner)
      : inner.length <= MAX_EMBEDDED_CHARS && !/[{[]/.test(inner);
    out += keep ? block : `${ch}<${inner.length} chars omitted>${flat[end]}`;
    i = end + 1;
  }
  out = out.trim();
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

function closingQuote(s: string, start: number): number {
  const q = s[start];
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === "\\" && q !== "`") i++;
    else if (s[i] === q) return i;
  }
  return -1;
}

/** The matching close of a {…} or […] block, skipping quoted text; -1 when it never closes. */
function closingBracket(s: string, start: number): number {
  const stack: string[] = [];
  for (let i = start; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === "\"") {
      const end = closingQuote(s, i);
      if (end < 0) return -1;
      i = end;
    } else if (ch === "{" || ch === "[") {
      stack.push(ch === "{" ? "}" : "]");
    } else if (ch === "}" || ch === "]") {
      if (stack.pop() !== ch) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** A field path as the causes give it (spec.template.spec.containers[0].image); anything else is dropped. */
function safeField(f: string): string {
  return f.length <= MAX_FIELD_CHARS && /^[A-Za-z0-9_.\-/[\]]+$/.test(f) ? f : "";
}

/** One line for status, events and logs: "<reason>: <message> (fields: a, b)". */
export function describeApiError(e: SafeApiError): string {
  const head = [e.reason, e.message].filter((x) => x !== "").join(": ");
  return `${head || "no message"}${e.fields.length ? ` (fields: ${e.fields.join(", ")})` : ""}`;
}
