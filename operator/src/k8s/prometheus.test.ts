// The client against a real HTTP server that answers as Prometheus's API does
// (and as Prometheus does not: proxies, bad JSON, silence, closed ports).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { measureCheck, PrometheusClient, PrometheusError, prometheusClientFromEnv, prometheusEnv } from "./prometheus.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;
let server: Server;
let base: string;
let handler: Handler;
const seen: { url: URL; authorization: string | undefined }[] = [];
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    seen.push({ url, authorization: req.headers.authorization });
    open.add(res);
    res.on("close", () => open.delete(res));
    handler(req, res, url);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  seen.length = 0;
  for (const res of open) res.destroy();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json = (status: number, body: unknown): Handler => (_req, res) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};
const success = (data: unknown, extra: Record<string, unknown> = {}) => json(200, { status: "success", data, ...extra });
const vector = (value: string) => ({ resultType: "vector", result: [{ metric: { __name__: "demo_error_ratio", namespace: "ns" }, value: [1700000000.123, value] }] });

async function failure(p: Promise<unknown>): Promise<PrometheusError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PrometheusError);
    return e as PrometheusError;
  }
  throw new Error("expected a PrometheusError, the query succeeded");
}

describe("PrometheusClient.instantQuery", () => {
  it("GETs /api/v1/query with the query, the time and a timeout, and returns the data", async () => {
    handler = success(vector("0.42"));
    const client = new PrometheusClient({ url: `${base}/`, timeoutMs: 2500 });
    const at = new Date("2026-03-01T12:00:00.250Z");
    await expect(client.instantQuery('max(demo_error_ratio{namespace="ns"})', at)).resolves.toEqual(vector("0.42"));
    const { url, authorization } = seen[0]!;
    expect(url.pathname).toBe("/api/v1/query");
    expect(Object.fromEntries(url.searchParams)).toEqual({ query: 'max(demo_error_ratio{namespace="ns"})', time: "1772366400.250", timeout: "2.5" });
    expect(authorization).toBeUndefined();
  });

  it("keeps a path prefix and leaves out the time when none is given", async () => {
    handler = success({ resultType: "scalar", result: [1, "+Inf"] });
    await expect(new PrometheusClient({ url: `${base}/prometheus` }).instantQuery("vector(1)")).resolves.toEqual({ resultType: "scalar", result: [1, "+Inf"] });
    expect(seen[0]!.url.pathname).toBe("/prometheus/api/v1/query");
    expect(seen[0]!.url.searchParams.has("time")).toBe(false);
  });

  it("passes Prometheus's warnings on", async () => {
    handler = success({ resultType: "vector", result: [] }, { warnings: ["PromQL info: metric might not be a counter"] });
    await expect(new PrometheusClient({ url: base }).instantQuery("rate(x[1m])")).resolves.toEqual({ resultType: "vector", result: [], warnings: ["PromQL info: metric might not be a counter"] });
  });

  it("a Prometheus error answer is a PrometheusError with its status, errorType and message", async () => {
    handler = json(400, { status: "error", errorType: "bad_data", error: 'invalid parameter "query": 1:5: parse error: unexpected end of input' });
    const e = await failure(new PrometheusClient({ url: base }).instantQuery("sum("));
    expect(e).toMatchObject({ status: 400, errorType: "bad_data", message: 'Prometheus answered 400 bad_data: invalid parameter "query": 1:5: parse error: unexpected end of input' });
    handler = json(422, { status: "error", errorType: "execution", error: "vector cannot contain metrics with the same labelset" });
    expect(await failure(new PrometheusClient({ url: base }).instantQuery("x"))).toMatchObject({ status: 422, errorType: "execution" });
  });

  it("an HTTP error that is not a Prometheus answer is errorType http, with the start of the body", async () => {
    handler = (_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>Bad Gateway\n<script>x</script></html>");
    };
    const e = await failure(new PrometheusClient({ url: base }).instantQuery("up"));
    expect(e).toMatchObject({ status: 502, errorType: "http", message: `Prometheus at ${base} answered HTTP 502: <html>Bad Gateway <script>x</script></html>` });
    handler = json(404, { message: "no route" });
    expect(await failure(new PrometheusClient({ url: base }).instantQuery("up"))).toMatchObject({ status: 404, errorType: "http" });
  });

  it("a redirect is not followed (the token would go along): errorType http with a hint", async () => {
    handler = (_req, res) => {
      res.writeHead(302, { location: `${base}/elsewhere` });
      res.end();
    };
    const e = await failure(new PrometheusClient({ url: base, bearerToken: "tok" }).instantQuery("up"));
    expect(e).toMatchObject({ status: 302, errorType: "http", message: expect.stringContaining("redirects are not followed") });
    expect(seen.map((s) => s.url.pathname)).toEqual(["/api/v1/query"]);
  });

  it("a 200 that is not JSON, or not a query answer, is bad_response", async () => {
    handler = json(200, "<html>login</html>");
    expect(await failure(new PrometheusClient({ url: base }).instantQuery("up"))).toMatchObject({ status: 200, errorType: "bad_response", message: expect.stringContaining("not JSON") });
    handler = success({ resultType: "vector", result: [{ metric: {}, value: [1, 2] }] });
    expect(await failure(new PrometheusClient({ url: base }).instantQuery("up"))).toMatchObject({ errorType: "bad_response", message: expect.stringContaining("data.result.0.value.1") });
    handler = success({ resultType: "exemplars", result: [] });
    expect(await failure(new PrometheusClient({ url: base }).instantQuery("up"))).toMatchObject({ errorType: "bad_response" });
    handler = json(200, { status: "success" });
    expect(await failure(new PrometheusClient({ url: base }).instantQuery("up"))).toMatchObject({ errorType: "bad_response" });
  });

  it("an answer larger than the bound is refused, not buffered", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(1024 * 1024, " ");
      for (let i = 0; i < 5; i++) res.write(chunk);
      res.end("{}");
    };
    expect(await failure(new PrometheusClient({ url: base }).instantQuery("up"))).toMatchObject({ errorType: "bad_response", message: expect.stringContaining("larger than") });
  });

  it("no answer in time is errorType timeout with status 0, whether the headers or the body stall", async () => {
    handler = () => undefined;
    const started = Date.now();
    expect(await failure(new PrometheusClient({ url: base, timeoutMs: 300 }).instantQuery("up"))).toMatchObject({ status: 0, errorType: "timeout", message: `Prometheus at ${base} gave no answer within 300 ms` });
    expect(Date.now() - started).toBeLessThan(3000);
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"status":"success",');
    };
    expect(await failure(new PrometheusClient({ url: base, timeoutMs: 300 }).instantQuery("up"))).toMatchObject({ status: 0, errorType: "timeout" });
  });

  it("a closed port is errorType unreachable with the connection error", async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const e = await failure(new PrometheusClient({ url: `http://127.0.0.1:${port}` }).instantQuery("up"));
    expect(e).toMatchObject({ status: 0, errorType: "unreachable", message: expect.stringMatching(new RegExp(`^Prometheus at http://127\\.0\\.0\\.1:${port} is unreachable: .*ECONNREFUSED`)) });
  });

  it("a fetch that throws something odd is still a PrometheusError", async () => {
    const odd = (() => Promise.reject("a string")) as unknown as typeof fetch;
    expect(await failure(new PrometheusClient({ url: base, fetch: odd }).instantQuery("up"))).toMatchObject({ status: 0, errorType: "unreachable", message: `Prometheus at ${base} is unreachable: a string` });
  });
});

describe("the bearer token", () => {
  const TOKEN = "s3cr3t-token-value-0123456789";
  const echo: Handler = (req, res) => json(401, { status: "error", errorType: "unauthorized", error: `bad header ${req.headers.authorization}` })(req, res, new URL("http://x"));

  it("is sent as Authorization: Bearer and never appears in an error, the client's inspection or its JSON", async () => {
    handler = echo;
    const client = new PrometheusClient({ url: base, bearerToken: TOKEN });
    const e = await failure(client.instantQuery("up"));
    expect(seen[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    expect(e.message).toBe("Prometheus answered 401 unauthorized: bad header Bearer [redacted]");
    for (const text of [e.message, e.stack ?? "", inspect(e, { depth: 5 }), JSON.stringify(e), inspect(client, { depth: 5, showHidden: true }), JSON.stringify(client)]) expect(text).not.toContain(TOKEN);
    handler = (_req, res) => {
      res.writeHead(500);
      res.end(`proxy saw ${TOKEN}`);
    };
    expect((await failure(client.instantQuery("up"))).message).toBe(`Prometheus at ${base} answered HTTP 500: proxy saw [redacted]`);
  });

  it("a token file is read at each query, so a rotated token is used; an unreadable one is errorType config", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prom-token-"));
    try {
      const file = join(dir, "token");
      writeFileSync(file, "first\n");
      handler = success(vector("1"));
      const client = new PrometheusClient({ url: base, bearerTokenFile: file });
      await client.instantQuery("up");
      writeFileSync(file, "second");
      await client.instantQuery("up");
      expect(seen.map((s) => s.authorization)).toEqual(["Bearer first", "Bearer second"]);
      rmSync(file);
      expect(await failure(client.instantQuery("up"))).toMatchObject({ status: 0, errorType: "config", message: `cannot read the Prometheus bearer token file ${file}: ENOENT` });
      expect(seen).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("configuration", () => {
  const schema = z.object(prometheusEnv);

  it("a URL with credentials, a query or another scheme is refused at construction", () => {
    expect(() => new PrometheusClient({ url: "http://u:p@prom:9090" })).toThrow("Prometheus URL must not carry user:password; use a bearer token file");
    expect(() => new PrometheusClient({ url: "ftp://prom" })).toThrow(PrometheusError);
    expect(() => new PrometheusClient({ url: "prom:9090/x" })).toThrow(PrometheusError);
    expect(() => new PrometheusClient({ url: "http://prom:9090/?a=1" })).toThrow(/query or fragment/);
    expect(() => new PrometheusClient({ url: base, timeoutMs: 0 })).toThrow(/positive/);
  });

  it("the env fragment: unset or empty means no checks; bad values name the variable", () => {
    expect(schema.parse({})).toEqual({});
    expect(schema.parse({ SMARTOPS_PROMETHEUS_URL: "", SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE: "" })).toEqual({ SMARTOPS_PROMETHEUS_URL: undefined, SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE: undefined });
    expect(prometheusClientFromEnv(schema.parse({}))).toBeUndefined();
    const bad = schema.safeParse({ SMARTOPS_PROMETHEUS_URL: "https://user:pw@prom", SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE: "/nonexistent/token" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["SMARTOPS_PROMETHEUS_URL", "must not carry user:password; use a bearer token file"],
      ["SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE", "must name a readable file (the bearer token sent to Prometheus)"],
    ]);
  });

  it("prometheusClientFromEnv builds a client that uses the token file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "prom-token-"));
    try {
      writeFileSync(join(dir, "token"), "from-file");
      const client = prometheusClientFromEnv(schema.parse({ SMARTOPS_PROMETHEUS_URL: base, SMARTOPS_PROMETHEUS_BEARER_TOKEN_FILE: join(dir, "token") }))!;
      expect(client.url).toBe(base);
      handler = success(vector("1"));
      await client.instantQuery("up");
      expect(seen[0]!.authorization).toBe("Bearer from-file");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("measureCheck", () => {
  const vars = { namespace: "ns", deployment: "web", service: "web" };
  const check = { query: 'max(demo_error_ratio{namespace="$namespace",deployment="$deployment"})', comparison: "<" as const, threshold: 0.05 };

  it("renders the query with the action's names and reads one number", async () => {
    handler = success(vector("0.4"));
    await expect(measureCheck(new PrometheusClient({ url: base }), check, vars)).resolves.toEqual({ kind: "value", value: 0.4 });
    expect(seen[0]!.url.searchParams.get("query")).toBe('max(demo_error_ratio{namespace="ns",deployment="web"})');
  });

  it("never throws: a bad name or a failed query is an error reading with the reason", async () => {
    handler = success(vector("0.4"));
    await expect(measureCheck(new PrometheusClient({ url: base }), check, { ...vars, deployment: 'web"}' })).resolves.toEqual({ kind: "error", message: expect.stringMatching(/^\$deployment .* is not a DNS-1123 name/) });
    expect(seen).toHaveLength(0);
    handler = json(400, { status: "error", errorType: "bad_data", error: "parse error" });
    await expect(measureCheck(new PrometheusClient({ url: base }), check, vars)).resolves.toEqual({ kind: "error", message: "Prometheus answered 400 bad_data: parse error" });
  });
});
