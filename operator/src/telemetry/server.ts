// One small HTTP server per process: /metrics (Prometheus), /healthz (liveness)
// and /readyz (readiness), each backed by a check the caller supplies.
import { createServer, type Server } from "node:http";
import { registry } from "./metrics.ts";

export interface HealthChecks {
  /** Liveness: false when the process is wedged (e.g. an informer stopped receiving events). */
  live(): { ok: boolean; detail: string };
  /** Readiness: caches synced. */
  ready(): { ok: boolean; detail: string };
}

export function startTelemetryServer(host: string, port: number, checks: HealthChecks): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end("method not allowed\n");
      return;
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    if (path === "/healthz" || path === "/readyz") {
      const r = path === "/healthz" ? checks.live() : checks.ready();
      res.writeHead(r.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ status: r.ok ? "ok" : "unavailable", detail: r.detail }));
      return;
    }
    res.writeHead(404).end("not found\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
