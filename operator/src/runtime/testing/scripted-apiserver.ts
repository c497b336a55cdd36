// A local HTTP server that plays the API server's list and watch protocol from a
// per-test script, for informer and elector tests. Not used in production code.
import { KubeConfig } from "@kubernetes/client-node";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  watch: boolean;
  body: string;
}

export interface Reply {
  status?: number;
  body: unknown;
}

export interface WatchConn {
  readonly query: URLSearchParams;
  /** Sends the 200 headers (implicit on the first event). */
  open(): void;
  event(type: string, object: unknown): void;
  raw(text: string): void;
  /** Ends the stream normally, as the server does when timeoutSeconds passes. */
  end(): void;
  /** Answers with a non-200 status instead of a stream. */
  fail(status: number, body?: unknown): void;
  /** Cuts the TCP connection. */
  destroy(): void;
  /** Resolves when the client goes away or the stream ends. */
  readonly closed: Promise<void>;
}

export type WatchScript = (w: WatchConn) => void | Promise<void>;
export type RequestHandler = (req: RecordedRequest) => Reply | Promise<Reply>;

export function statusBody(code: number, reason: string, message = reason): unknown {
  return { kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message };
}

export class ScriptedApiServer {
  readonly requests: RecordedRequest[] = [];
  /** Answers every non-watch request. */
  handler: RequestHandler = () => ({ status: 404, body: statusBody(404, "NotFound") });
  /** Consumed one per watch request; with none left a watch stays open and idle. */
  readonly watches: WatchScript[] = [];
  /** TCP connections accepted so far (connection-pool tests). */
  connections = 0;
  #server: Server;
  #sockets = new Set<Socket>();
  #port = 0;

  constructor() {
    this.#server = createServer((req, res) => void this.#serve(req, res));
    this.#server.on("connection", (s: Socket) => {
      this.connections++;
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, "127.0.0.1", () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  openConnections(): number {
    return this.#sockets.size;
  }

  lists(): RecordedRequest[] {
    return this.requests.filter((r) => !r.watch && r.method === "GET");
  }

  watchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.watch);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const watch = url.searchParams.get("watch") === "1" || url.searchParams.get("watch") === "true";
    const recorded: RecordedRequest = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams, watch, body };
    this.requests.push(recorded);
    if (!watch) {
      const reply = await this.handler(recorded);
      res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
      res.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body));
      return;
    }
    const script = this.watches.shift();
    const conn = watchConn(url.searchParams, req, res);
    if (script) await script(conn);
    else conn.open();
  }
}

function watchConn(query: URLSearchParams, req: IncomingMessage, res: ServerResponse): WatchConn {
  let opened = false;
  const closed = new Promise<void>((resolve) => {
    res.on("close", () => resolve());
    req.socket.on("close", () => resolve());
  });
  const open = () => {
    if (opened) return;
    opened = true;
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
  };
  return {
    query,
    closed,
    open,
    event(type, object) {
      open();
      res.write(`${JSON.stringify({ type, object })}\n`);
    },
    raw(text) {
      open();
      res.write(text);
    },
    end() {
      open();
      res.end();
    },
    fail(status, body = statusBody(status, "Failure")) {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    },
    destroy() {
      req.socket.destroy();
    },
  };
}

/** A KubeConfig for the scripted server: plain HTTP, no credentials. */
export function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "scripted", server, skipTLSVerify: true }],
    users: [{ name: "nobody" }],
    contexts: [{ name: "scripted", cluster: "scripted", user: "nobody" }],
    currentContext: "scripted",
  });
  return kc;
}

/** A port that was free a moment ago (for "connection refused" tests). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
