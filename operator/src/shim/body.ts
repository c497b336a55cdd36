// Reading a request body: bounded in size, in time and in nesting depth, so a
// body can cost the shim at most `limit` bytes of memory for at most
// `timeoutMs`, and no body can make a later step recurse out of stack.
import type { IncomingMessage } from "node:http";
import { PATCH_MAX_DEPTH } from "../api/v1alpha1/remediation-action.ts";
import { scanDepth } from "../remediation/patch-document.ts";

/**
 * Deepest JSON nesting a body may have: a patch at its own limit inside the
 * deepest route wrapper ({"patch":{"patch":…}} or {"patch":{"merge":…}}) plus
 * headroom, so a patch one level too deep is refused by the patch parser with a
 * 400 naming the field, and anything deeper than any valid body is refused here
 * before JSON.parse.
 */
export const MAX_JSON_DEPTH = PATCH_MAX_DEPTH + 8;

export interface BodyLimits {
  limitBytes: number;
  timeoutMs: number;
  maxDepth: number;
}

/** The failure of one body read: the server turns it into a 4xx answer. */
export class BodyError extends Error {
  readonly status: 400 | 408 | 413;
  constructor(status: 400 | 408 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

/** The offset where a JSON text first nests deeper than `max`, or undefined. */
export function jsonDepthExceeded(text: string, max: number): number | undefined {
  return scanDepth(text, max).exceededAt;
}

/** Parses a JSON object body within the limits; BodyError (400, 408, 413) otherwise. */
export function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const { limitBytes, timeoutMs, maxDepth } = limits;
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limitBytes) {
      // Not drained: the answer closes the connection.
      reject(new BodyError(413, `request body of ${declared} bytes exceeds the limit of ${limitBytes} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const stop = (err: BodyError | undefined, value?: Record<string, unknown>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off("data", onData);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(() => stop(new BodyError(408, `request body not received within ${timeoutMs / 1000} s`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return stop(new BodyError(413, `request body exceeds the limit of ${limitBytes} bytes`));
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("error", (err) => stop(new BodyError(400, `could not read the request body: ${err.message}`)));
    req.on("end", () => {
      if (done) return;
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return stop(new BodyError(400, "request body must be a JSON object"));
      const at = jsonDepthExceeded(text, maxDepth);
      if (at !== undefined) return stop(new BodyError(400, `malformed JSON: nested deeper than ${maxDepth} levels (at character ${at})`));
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return stop(new BodyError(400, `malformed JSON: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) return stop(new BodyError(400, "request body must be a JSON object"));
      stop(undefined, value as Record<string, unknown>);
    });
  });
}
