// A thin HTTP client for the API server that the runtime needs and client-node's
// generated clients do not give: streaming watches whose HTTP status and malformed
// lines are reported (not swallowed), request timeouts through AbortSignal, and one
// connection pool per client instead of a new undici Agent per request.
// Authentication and TLS come from client-node's KubeConfig.
import { HttpMethod, type KubeConfig, RequestContext } from "@kubernetes/client-node";
import { StringDecoder } from "node:string_decoder";
import { Agent, type Dispatcher, request } from "undici";
import { MAX_MESSAGE_CHARS, redact, sanitizeApiError } from "./api-errors.ts";
import { scopedSignal } from "./clock.ts";

/**
 * A non-2xx answer of the API server: its status, reason and the fields its causes
 * name. The body itself is not kept and the message is redacted
 * (runtime/api-errors.ts): API server text can embed whole objects.
 */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  readonly fields: readonly string[];

  constructor(status: number, message: string, reason?: string, fields: readonly string[] = []) {
    super(redact(message, 2 * MAX_MESSAGE_CHARS));
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
    this.fields = fields;
  }
}

export function httpStatusOf(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.status : undefined;
}

/** 410 Gone: a resourceVersion or continue token older than etcd's compaction. */
export function isGone(err: unknown): boolean {
  return httpStatusOf(err) === 410;
}

export interface KubeStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

export function errorFromStatus(status: number, context: string, body: unknown): KubeApiError {
  const safe = sanitizeApiError(status, body);
  return new KubeApiError(safe.code, `${context}: ${safe.code}${safe.reason ? ` ${safe.reason}` : ""}${safe.message ? `: ${safe.message}` : ""}${safe.fields.length ? ` (fields: ${safe.fields.join(", ")})` : ""}`,
    safe.reason || undefined, safe.fields);
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Whole-request deadline for json(); time to response headers for stream(). */
  timeoutMs?: number;
}

export interface KubeStream {
  /** Complete lines of the response body; throws on a broken connection or abort. */
  lines(): AsyncIterable<string>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class KubeHttp {
  readonly #kc: KubeConfig;
  #dispatcher: Dispatcher | undefined;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  async json<T>(path: string, options: KubeRequestOptions = {}): Promise<T> {
    const method = options.method ?? "GET";
    const scoped = scopedSignal([options.signal], options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    let text: string;
    let status: number;
    try {
      const res = await this.#send(path, method, options, scoped.signal, {});
      status = res.statusCode;
      text = await res.body.text();
    } finally {
      scoped.dispose();
    }
    if (status < 200 || status > 299) {
      throw errorFromStatus(status, `${method} ${path}`, parseJsonOr(text));
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${method} ${path}: malformed JSON in the response: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Opens a streaming GET (a watch); a non-2xx answer throws KubeApiError. */
  async stream(path: string, options: KubeRequestOptions = {}): Promise<KubeStream> {
    const local = new AbortController();
    const scoped = scopedSignal([options.signal, local.signal]);
    const headersTimer = setTimeout(() => local.abort(new DOMException("no response headers in time", "TimeoutError")), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    headersTimer.unref();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#send(path, "GET", options, scoped.signal, { bodyTimeout: 0 });
    } catch (err) {
      scoped.dispose();
      throw err;
    } finally {
      clearTimeout(headersTimer);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = await res.body.text().catch(() => "");
      scoped.dispose();
      throw errorFromStatus(res.statusCode, `GET ${path}`, parseJsonOr(text));
    }
    const body = res.body;
    return {
      lines: () => splitLines(body),
      close: () => {
        local.abort();
        body.destroy();
        scoped.dispose();
      },
    };
  }

  /** Ends every connection of this client; a later request opens a new pool. */
  async close(): Promise<void> {
    const d = this.#dispatcher;
    this.#dispatcher = undefined;
    if (d) await d.destroy().catch(() => {});
  }

  async #send(path: string, method: string, options: KubeRequestOptions, signal: AbortSignal, extra: { bodyTimeout?: number }): Promise<Dispatcher.ResponseData> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    const url = new URL(cluster.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const ctx = new RequestContext(url.toString(), HttpMethod[method as keyof typeof HttpMethod]);
    await this.#kc.applySecurityAuthentication(ctx);
    // The KubeConfig builds a fresh undici Agent on every call; keep the first so
    // that requests share one pool (and one TLS session) and close() can end it.
    this.#dispatcher ??= ctx.getDispatcher() ?? new Agent({ connect: { keepAlive: true, keepAliveInitialDelay: 30_000 } });
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: "application/json" };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] = "application/json";
    }
    return request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      signal,
      dispatcher: this.#dispatcher,
      ...extra,
    });
  }
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function* splitLines(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  for await (const chunk of body) {
    pending += typeof chunk === "string" ? chunk : decoder.write(chunk);
    let start = 0;
    let nl = pending.indexOf("\n", start);
    while (nl >= 0) {
      const line = pending.slice(start, nl).trim();
      start = nl + 1;
      if (line) yield line;
      nl = pending.indexOf("\n", start);
    }
    pending = pending.slice(start);
  }
  const rest = (pending + decoder.end()).trim();
  if (rest) yield rest;
}
