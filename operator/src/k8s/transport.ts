// The one HTTP transport to the API server: every read, write, watch and
// subresource call of the process goes through one instance of it.
//
// client-node builds a new undici Agent for every request (a TLS handshake per
// call, a socket left behind); this keeps one keep-alive pool per TLS identity
// instead, so a rotated client certificate still gets a fresh one. Credentials
// and TLS material come from client-node's KubeConfig through its public
// applyToHTTPSOptions, asked on every request so that rotated tokens (a
// projected ServiceAccount token, an exec plugin) are picked up.
import type { KubeConfig } from "@kubernetes/client-node";
import { LRUCache } from "lru-cache";
import { createHash } from "node:crypto";
import type { RequestOptions } from "node:https";
import { StringDecoder } from "node:string_decoder";
import { Agent, type Dispatcher, ProxyAgent, request } from "undici";
import { scopedSignal } from "../runtime/clock.ts";
import { KubeApiError } from "./errors.ts";

export type Query = Record<string, string | number | boolean | undefined>;

export interface HttpCall {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Query;
  /** Serialised as JSON. */
  body?: unknown;
  /** Default application/json; patches name their patch type. */
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request deadline for json(); time to response headers for stream(). */
  timeoutMs?: number;
}

export interface LineStream {
  /** Complete lines of the response body; throws on a broken connection or abort. */
  lines(): AsyncIterable<string>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** A handful of identities at most (certificate rotation); the least recently used is closed beyond that. */
const MAX_POOLS = 4;

export class KubeTransport {
  readonly #kc: KubeConfig;
  readonly #pools = new LRUCache<string, Dispatcher>({ max: MAX_POOLS, dispose: (pool) => void pool.close().catch(() => undefined) });

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  /** The server's base URL (the current cluster's). */
  get server(): string {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    return cluster.server.replace(/\/+$/, "");
  }

  /** One request whose answer is a JSON object; a non-2xx answer or no answer throws KubeApiError. */
  async json<T>(operation: string, call: HttpCall): Promise<T> {
    const scoped = scopedSignal([call.signal], call.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    let text: string;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#send(operation, call, scoped.signal, {});
      text = await res.body.text();
    } catch (err) {
      throw err instanceof KubeApiError ? err : KubeApiError.noResponse(operation, err);
    } finally {
      scoped.dispose();
    }
    if (res.statusCode < 200 || res.statusCode > 299) throw errorOf(operation, res, text);
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${operation}: malformed JSON in the response: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A streaming GET (a watch): a non-2xx answer throws KubeApiError, then the body arrives line by line. */
  async stream(operation: string, call: HttpCall): Promise<LineStream> {
    const local = new AbortController();
    const scoped = scopedSignal([call.signal, local.signal]);
    const headersTimer = setTimeout(() => local.abort(new DOMException("no response headers in time", "TimeoutError")), call.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    headersTimer.unref();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#send(operation, call, scoped.signal, { bodyTimeout: 0 });
    } catch (err) {
      scoped.dispose();
      throw err instanceof KubeApiError ? err : KubeApiError.noResponse(operation, err);
    } finally {
      clearTimeout(headersTimer);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = await res.body.text().catch(() => "");
      scoped.dispose();
      throw errorOf(operation, res, text);
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

  /** Ends every pooled connection; only the process that made the transport calls this, at exit. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  async #send(operation: string, call: HttpCall, signal: AbortSignal, extra: { bodyTimeout?: number }): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.server + call.path);
    for (const [k, v] of Object.entries(call.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const opts: RequestOptions = {};
    await this.#kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { accept: "application/json" };
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (typeof v === "string") headers[k.toLowerCase()] = v;
    }
    if (opts.auth && !headers.authorization) headers.authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers["content-type"] = call.contentType ?? "application/json";
    }
    return request(url, {
      method: call.method,
      headers,
      body,
      signal,
      dispatcher: this.#pool(operation, opts),
      ...extra,
    });
  }

  /** The keep-alive pool for the TLS identity these options carry. */
  #pool(operation: string, opts: RequestOptions): Dispatcher {
    const cluster = this.#kc.getCurrentCluster();
    const tls = {
      ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase,
      rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername,
    };
    const key = createHash("sha256")
      .update(JSON.stringify([cluster?.server, cluster?.proxyUrl, tls.rejectUnauthorized, tls.servername, ...[tls.ca, tls.cert, tls.key, tls.pfx, tls.passphrase].map((v) => String(v ?? ""))]))
      .digest("hex");
    let pool = this.#pools.get(key);
    if (pool) return pool;
    const plan = this.#kc.createDispatcherOptions(cluster, tls);
    const keepAlive = { keepAlive: true, keepAliveInitialDelay: 30_000 };
    switch (plan.type) {
      case "proxy":
        pool = new ProxyAgent({ uri: plan.uri, requestTls: plan.requestTls, connect: plan.connect });
        break;
      case "socks":
        throw new KubeApiError(operation, 0, { reason: "Unsupported", message: "SOCKS proxies are not supported; use an HTTP proxy" });
      case "agent":
        pool = new Agent({ connect: plan.connect });
        break;
      default:
        pool = new Agent({ connect: keepAlive });
    }
    this.#pools.set(key, pool);
    return pool;
  }
}

function errorOf(operation: string, res: Dispatcher.ResponseData, text: string): KubeApiError {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not a Status: the text itself, redacted like any message.
  }
  const details = typeof body === "object" && body !== null ? (body as { details?: { retryAfterSeconds?: unknown } }).details : undefined;
  const header = Number(res.headers["retry-after"]);
  const retryAfter = typeof details?.retryAfterSeconds === "number" ? details.retryAfterSeconds : Number.isFinite(header) && header >= 0 ? header : undefined;
  return new KubeApiError(operation, res.statusCode, body, retryAfter);
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
