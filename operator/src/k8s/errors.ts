// The one error every Kubernetes API call fails with: the HTTP status (0 when no
// response arrived), the Status reason, the fields its causes name and the
// Retry-After the server asked for. The message is always redacted
// (runtime/api-errors.ts): API server text can embed the whole object (a 422 on a
// patch does), and this message reaches status.message, events, logs and shim answers.
import { describeApiError, sanitizeApiError } from "../runtime/api-errors.ts";

export class KubeApiError extends Error {
  /** The HTTP status, or 0 when no response arrived (network, timeout, abort). */
  readonly status: number;
  /** The Status reason (NotFound, Conflict, AlreadyExists, Invalid …); "" when absent. */
  readonly reason: string;
  /** Seconds the server asked us to wait (Retry-After header or Status details). */
  readonly retryAfterSeconds: number | undefined;
  /** The fields the Status causes named. */
  readonly fields: readonly string[];

  /** `body` is the parsed Status the server answered, or its raw text. */
  constructor(operation: string, status: number, body: unknown, retryAfterSeconds?: number) {
    const safe = sanitizeApiError(status, body);
    super(`${operation}: ${status || "no response"} ${describeApiError(safe)}`);
    this.name = "KubeApiError";
    this.status = safe.code;
    this.reason = safe.reason;
    this.retryAfterSeconds = retryAfterSeconds;
    this.fields = safe.fields;
  }

  /** A request that got no answer: the cause's message (never an object) is kept, redacted. */
  static noResponse(operation: string, cause: unknown): KubeApiError {
    const text = cause instanceof Error ? `${cause.name === "Error" ? "" : `${cause.name}: `}${cause.message}` : String(cause);
    return new KubeApiError(operation, 0, { reason: "NetworkError", message: text });
  }
}

const statusOf = (e: unknown) => (e instanceof KubeApiError ? e.status : undefined);

export const isNotFound = (e: unknown) => statusOf(e) === 404;
export const isConflict = (e: unknown) => statusOf(e) === 409;
export const isAlreadyExists = (e: unknown) => isConflict(e) && (e as KubeApiError).reason === "AlreadyExists";
export const isTooManyRequests = (e: unknown) => statusOf(e) === 429;
/**
 * A create the API server refused because a ResourceQuota of the namespace is
 * spent: 403 Forbidden whose message says "exceeded quota: <name>, requested: …".
 * Not a permission problem, and retrying at once cannot help.
 */
export const isQuotaExceeded = (e: unknown) => statusOf(e) === 403 && /exceeded quota/i.test((e as KubeApiError).message);
/** 410 Gone: a resourceVersion or continue token older than etcd's compaction. */
export const isGone = (e: unknown) => statusOf(e) === 410;
/** A 4xx the request itself caused (not throttling, not a race): retrying the same request cannot help. */
export const isRefused = (e: unknown) => {
  const s = statusOf(e);
  return s !== undefined && s >= 400 && s < 500 && s !== 409 && s !== 429;
};
/** No answer, throttled, raced or the server's own trouble: the same request may succeed later. */
export const isRetriable = (e: unknown) => {
  const s = statusOf(e);
  return s !== undefined && (s === 0 || s === 409 || s === 429 || s >= 500);
};
