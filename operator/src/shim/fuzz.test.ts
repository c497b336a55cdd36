// Property: whatever body arrives, the real handler (over a real socket, with a
// fake Kubernetes layer) answers a JSON 2xx/4xx — never a 5xx, never a crash.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../telemetry/logger.ts";
import { FakeBackend } from "./fake-backend.ts";
import { DEFAULT_CONFIG, type ShimServer, startShim } from "./server.ts";

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
