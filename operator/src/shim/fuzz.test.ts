// Property: whatever body arrives, the real handler (over a real socket, with a
// fake Kubernetes layer) answers a JSON 2xx/4xx — never a 5xx, never a crash.
import fc from "fast-check";
import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../telemetry/logger.ts";
import { FakeBackend } from "./fake-backend.ts";
import { DEFAULT_CONFIG, type ShimConfig, type ShimServer, startShim } from "./server.ts";

const RUNS = Number(process.env.SHIM_FUZZ_RUNS ?? 10_000);
const NS = "smartops-dev";
let shim: ShimServer;
let base: string;

beforeAll(async () => {
  const backend = new FakeBackend();
  backend.tokens.set("t", { user: { username: "fuzzer", groups: [] }, audiences: ["smartops-shim"] });
  for (const ns of [NS, "a", "x"]) {
    for (const r of ["anomalysignals", "rcasignals", "remediationactions"]) backend.grant("fuzzer", "create", `smartops.io/${r}`, ns);
    backend.grant("fuzzer", "get", "apps/deployments", ns);
    backend.addDeployment(ns, "smartops-erp-simulator");
    backend.addDeployment(ns, "a");
  }
  backend.onAction = (a) => { a.status = { phase: "Succeeded" }; };
  shim = await startShim("127.0.0.1", 0, backend, { ...DEFAULT_CONFIG, rateLimit: { ratePerSecond: 1e9, burst: 1e9 }, verifyMarginSeconds: 0 }, silentLogger());
  base = `http://127.0.0.1:${shim.port}`;
});
afterAll(() => shim.close());

const SEEDS: Record<string, Record<string, unknown>> = {
  "/v1/signals/anomaly": { windowId: "lat-001", service: "erp-simulator", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1", metadata: {} },
  "/v1/signals/rca": { windowId: "rca-003", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "high_error_rate", probability: 0.94 }], confidence: 0.84 },
  "/v1/k8s/scale": { namespace: NS, deployment: "erp-simulator", replicas: 4, dry_run: false },
  "/v1/k8s/restart": { namespace: NS, deployment: "erp-simulator", dry_run: false },
  "/v1/k8s/patch": { namespace: NS, deployment: "erp-simulator", patch: { op: "add", path: "/spec/x", value: "y" } },
  "/v1/actions/execute": { type: "scale", dry_run: false, verify: true, verify_timeout_seconds: 1, target: { kind: "Deployment", namespace: NS, name: "erp-simulator" }, scale: { replicas: 6 } },
  "/v1/verify/deployment": { namespace: NS, deployment: "erp-simulator", timeout_seconds: 1, poll_interval_seconds: 0.1 },
};

const keys = fc.constantFrom("windowId", "service", "namespace", "deployment", "replicas", "patch", "type", "target", "scale", "verify", "verify_timeout_seconds", "timeout_seconds", "poll_interval_seconds", "score", "rankedCauses", "metadata", "source", "__proto__", "constructor", "op", "path");
const values = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom("erp-simulator", "a", "x", NS, "", "A", "-", "a".repeat(300), 0, -1, 1e308, 3.5, true, null, [], {}, { op: "add", path: "/a" }, { replicas: 2 }, { kind: "Deployment", name: "a" }),
);

/** A seed body with fields replaced, removed or added, or any JSON at all, or raw bytes. */
const body = (seed: Record<string, unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.dictionary(keys, values, { maxKeys: 4 }), fc.subarray(Object.keys(seed))).map(([over, drop]) => {
      const b: Record<string, unknown> = { ...seed };
      for (const k of drop) delete b[k];
      for (const [k, v] of Object.entries(over)) Object.defineProperty(b, k, { value: v, enumerable: true, writable: true, configurable: true });
      return JSON.stringify(b);
    }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  );

describe("fuzz: no 5xx, no crash", () => {
  for (const [path, seed] of Object.entries(SEEDS)) {
    it(`${path}: ${RUNS} generated bodies`, async () => {
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(body(seed), async (raw) => {
          const res = await fetch(base + path, { method: "POST", headers: { authorization: "Bearer t", "content-type": "application/json" }, body: raw });
          const text = await res.text();
          seen.add(res.status);
          expect(res.status, `${raw} → ${text}`).toBeLessThan(500);
          const json = JSON.parse(text) as { error?: string; message?: string };
          if (res.status >= 400) expect(typeof json.error === "string" && typeof json.message === "string", text).toBe(true);
        }),
        { numRuns: RUNS },
      );
      expect(seen.has(400)).toBe(true);
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
    }, 600_000);
  }
});

// Regression suite for the resource-exhaustion findings: each case is an attack
// that held sockets, API-server calls or memory on the shim before it was fixed.
describe("regression: a caller cannot exhaust the shim", () => {
  const NOBODY = "nobody-token";
  let b: FakeBackend;
  let s: ShimServer | undefined;
  let port = 0;

  async function start(overrides: Partial<ShimConfig> = {}) {
    b = new FakeBackend();
    b.tokens.set("t", { user: { username: "agent", groups: [] }, audiences: ["smartops-shim"] });
    b.tokens.set("t2", { user: { username: "agent-2", groups: [] }, audiences: ["smartops-shim"] });
    b.tokens.set("t3", { user: { username: "agent-3", groups: [] }, audiences: ["smartops-shim"] });
    b.tokens.set(NOBODY, { user: { username: "system:serviceaccount:x:nobody", groups: [] }, audiences: ["smartops-shim"] });
    for (const u of ["agent", "agent-2", "agent-3"]) {
      for (const r of ["anomalysignals", "rcasignals", "remediationactions"]) b.grant(u, "create", `smartops.io/${r}`, NS);
      b.grant(u, "get", "apps/deployments", NS);
    }
    b.addDeployment(NS, "smartops-erp-simulator");
    s = await startShim("127.0.0.1", 0, b, { ...DEFAULT_CONFIG, verifyMarginSeconds: 0, ...overrides }, silentLogger());
    port = s.port;
  }
  afterEach(async () => {
    const closing = s?.close();
    s?.server.closeAllConnections();
    await closing;
    s = undefined;
  });

  /** A raw HTTP/1.1 exchange: `headers` go out at once, then `feed` writes the body at its own pace. */
  function raw(head: string, feed: (write: (chunk: string | Buffer) => boolean, closed: () => boolean) => Promise<void> = async () => {}) {
    const sock = connect(port, "127.0.0.1");
    let text = "";
    let closed = false;
    let written = 0;
    sock.on("data", (d: Buffer) => { text += d.toString("latin1"); });
    sock.on("error", () => {});
    const ended = new Promise<void>((r) => sock.once("close", () => { closed = true; r(); }));
    const write = (chunk: string | Buffer) => {
      if (closed || sock.destroyed) return false;
      written += Buffer.byteLength(chunk);
      return sock.write(chunk);
    };
    sock.once("connect", () => {
      write(head);
      void feed(write, () => closed).catch(() => {});
    });
    return {
      sock,
      ended,
      response: () => text,
      written: () => written,
      status: () => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
    };
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const within = <T>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([p, sleep(ms).then(() => { throw new Error(`${what} not within ${ms} ms`); })]);

  it("a never-ending chunked body from a token without RBAC gets 403 before any body byte is read, and the connection is closed", async () => {
    await start();
    const conns = Array.from({ length: 20 }, () =>
      raw(`POST /v1/k8s/scale HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${NOBODY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`, async (write, closed) => {
        while (!closed()) {
          await sleep(200);
          if (!closed()) write("1\r\n \r\n");
        }
      }),
    );
    await within(Promise.all(conns.map((c) => c.ended)), 10_000, "all slowloris connections closed by the shim");
    for (const c of conns) {
      expect(c.status(), c.response()).toBe(403);
      expect(c.response()).toMatch(/connection: close/i);
    }
    expect(b.calls.tokenReviews).toBe(1); // one review, then the cache
  }, 30_000);

  it("a never-ending chunked body from an authorized token is cut with 408 at the body deadline", async () => {
    await start({ bodyTimeoutMs: 500 });
    const started = Date.now();
    const c = raw(`POST /v1/k8s/scale HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`, async (write, closed) => {
      while (!closed()) {
        await sleep(100);
        if (!closed()) write("1\r\n \r\n");
      }
    });
    await within(c.ended, 10_000, "slow body cut");
    expect(c.status(), c.response()).toBe(408);
    expect(c.response()).toMatch(/"error":"RequestTimeout"/);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 30_000);

  it("1,000 random tokens from one address cost a bounded number of TokenReviews; a cached good token still passes", async () => {
    await start({ unauthenticatedRateLimit: { ratePerSecond: 5, burst: 20 } });
    const good = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, { method: "POST", headers: { authorization: "Bearer t" }, body: JSON.stringify(SEEDS["/v1/signals/anomaly"]) });
    expect(good.status).toBe(200);
    const started = Date.now();
    const codes = new Map<number, number>();
    let retryAfter: string | null = null;
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        const r = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, { method: "POST", headers: { authorization: `Bearer random-${i + j}-${Math.random()}` }, body: "{}" });
        await r.text();
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        if (r.status === 429) retryAfter = r.headers.get("retry-after");
      }));
    }
    const elapsed = (Date.now() - started) / 1000;
    // The cached good token was reviewed once, before the flood.
    expect(b.calls.tokenReviews - 1).toBeLessThanOrEqual(20 + Math.ceil(5 * elapsed) + 1);
    // Every random token is either reviewed (401) or refused before its review (429).
    expect((codes.get(401) ?? 0) + (codes.get(429) ?? 0)).toBe(1000);
    expect(codes.get(401) ?? 0).toBe(b.calls.tokenReviews - 1);
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    const again = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, { method: "POST", headers: { authorization: "Bearer t" }, body: JSON.stringify({ ...SEEDS["/v1/signals/anomaly"], windowId: "after-flood" }) });
    expect(again.status).toBe(200);
  }, 30_000);

  it("the same bad token again and again is reviewed once (negative answers are cached)", async () => {
    await start({ unauthenticatedRateLimit: { ratePerSecond: 1e9, burst: 1e9 } });
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, { method: "POST", headers: { authorization: "Bearer bad" }, body: "{}" });
      expect(r.status).toBe(401);
      await r.text();
    }
    expect(b.calls.tokenReviews).toBe(1);
  }, 30_000);

  it("a 100 MiB body after a 401 is not drained: the shim answers and closes the connection", async () => {
    await start();
    const total = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const c = raw(`POST /v1/signals/anomaly HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-a-token\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`, async (write, closed) => {
      let sent = 0;
      while (!closed() && sent < total) {
        sent += chunk.length;
        if (!write(chunk)) await new Promise((r) => setTimeout(r, 1));
      }
    });
    await within(c.ended, 10_000, "connection closed by the shim");
    expect(c.status(), c.response().slice(0, 300)).toBe(401);
    expect(c.written()).toBeLessThan(16 * 1024 * 1024);
  }, 30_000);

  it("concurrent requests are bounded per identity (429) and in total (503), both with Retry-After", async () => {
    await start({ maxInFlightPerIdentity: 2, maxInFlight: 3, waitSliceMs: 200 });
    // Actions that never finish: requests waiting for their outcome (with verify:true or
    // without) hold their slot until the client goes away.
    const controllers: AbortController[] = [];
    const hold = (token: string, path = "/v1/actions/execute", body: unknown = { ...SEEDS["/v1/actions/execute"], verify_timeout_seconds: 30 }) => {
      const ac = new AbortController();
      controllers.push(ac);
      return fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", signal: ac.signal, headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).catch(() => undefined);
    };
    const waitForActions = async (n: number) => { while (b.actions.size < n) await sleep(20); };
    const held = [hold("t"), hold("t")];
    await within(waitForActions(2), 10_000, "two held requests");
    const third = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, { method: "POST", headers: { authorization: "Bearer t" }, body: JSON.stringify(SEEDS["/v1/signals/anomaly"]) });
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(((await third.json()) as { error: string }).error).toBe("TooManyRequests");
    held.push(hold("t2", "/v1/k8s/restart", SEEDS["/v1/k8s/restart"]));
    await within(waitForActions(3), 10_000, "a third held request");
    const over = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, { method: "POST", headers: { authorization: "Bearer t3" }, body: JSON.stringify(SEEDS["/v1/signals/anomaly"]) });
    expect(over.status).toBe(503);
    expect(over.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(((await over.json()) as { error: string }).error).toBe("ServiceUnavailable");
    for (const ac of controllers) ac.abort();
    await Promise.all(held);
    // Slots are given back once the held handlers see their clients gone (within a wait slice).
    const after = async () => {
      for (;;) {
        const r = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, { method: "POST", headers: { authorization: "Bearer t3" }, body: JSON.stringify({ ...SEEDS["/v1/signals/anomaly"], windowId: "after-hold" }) });
        await r.text();
        if (r.status !== 503) return r.status;
        await sleep(50);
      }
    };
    expect(await within(after(), 10_000, "a slot after the held clients left")).toBe(200);
  }, 30_000);

  it("deeply nested JSON gets 400 naming the depth limit, never a 5xx", async () => {
    await start();
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    for (const [path, body] of [
      ["/v1/k8s/patch", `{"deployment":"erp-simulator","patch":${deep(10_000)}}`],
      ["/v1/actions/execute", `{"type":"patch","target":{"name":"erp-simulator"},"patch":{"patch":${deep(2_000)}}}`],
      ["/v1/signals/anomaly", `{"windowId":"w","service":"erp-simulator","isAnomaly":true,"score":0.5,"type":"latency","metadata":${deep(5_000)}}`],
      ["/v1/signals/rca", `${"[".repeat(20_000)}${"]".repeat(20_000)}`],
    ] as const) {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", headers: { authorization: "Bearer t" }, body });
      const json = (await r.json()) as { error: string; message: string };
      expect(r.status, `${path}: ${json.message}`).toBe(400);
      expect(json.message).toMatch(/nested deeper than \d+ levels/);
    }
  }, 30_000);

  it("verify/deployment on a stuck Deployment reads it at most about once a second, however many callers poll how fast", async () => {
    await start();
    b.addDeployment(NS, "stuck", { status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 0, availableReplicas: 0 } });
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () =>
      fetch(`http://127.0.0.1:${port}/v1/verify/deployment`, { method: "POST", headers: { authorization: "Bearer t" }, body: JSON.stringify({ namespace: NS, deployment: "stuck", timeout_seconds: 3, poll_interval_seconds: 0.1 }) })
        .then(async (r) => ({ status: r.status, body: (await r.json()) as { status: string } })),
    ));
    const elapsed = (Date.now() - started) / 1000;
    for (const a of answers) expect(a).toMatchObject({ status: 200, body: { status: "TIMED_OUT" } });
    expect(elapsed).toBeLessThan(15);
    expect(b.calls.deploymentReads).toBeLessThanOrEqual(Math.ceil(elapsed) + 2);
  }, 30_000);
});
