import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KubeApiError } from "../k8s/errors.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { FakeBackend } from "./fake-backend.ts";
import { signalName } from "./mapping.ts";
import { DEFAULT_CONFIG, type ShimConfig, type ShimServer, startShim } from "./server.ts";

const NS = "smartops-dev";
const USER = "system:serviceaccount:agents:rca";

let backend: FakeBackend;
let shim: ShimServer;
let base: string;

async function start(overrides: Partial<ShimConfig> = {}) {
  await shim?.close();
  shim = await startShim("127.0.0.1", 0, backend, { ...DEFAULT_CONFIG, ...overrides }, silentLogger());
  base = `http://127.0.0.1:${shim.port}`;
}

function fresh() {
  backend = new FakeBackend();
  backend.tokens.set("good", { user: { username: USER, groups: ["system:serviceaccounts"] }, audiences: ["smartops-shim"] });
  backend.tokens.set("other-aud", { user: { username: USER, groups: [] }, audiences: ["https://kubernetes.default.svc"] });
  backend.tokens.set("nobody", { user: { username: "nobody", groups: [] }, audiences: ["smartops-shim"] });
  for (const r of ["anomalysignals", "rcasignals", "remediationactions"]) backend.grant(USER, "create", `smartops.io/${r}`, NS);
  backend.grant(USER, "get", "apps/deployments", NS);
  backend.addDeployment(NS, "smartops-erp-simulator");
  backend.onAction = (a) => { a.status = { phase: "Succeeded" }; };
}

async function post(path: string, body: unknown, token: string | null = "good", headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  fresh();
  await start();
});
beforeEach(async () => {
  fresh();
  await start();
});
afterAll(async () => {
  await shim.close();
});

const anomalyBody = { windowId: "lat-001", service: "erp-simulator", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1", metadata: {} };
const rcaBody = { windowId: "rca-003", service: "erp-simulator", rankedCauses: [{ svc: "erp-simulator", cause: "high_error_rate", probability: 0.94 }], confidence: 0.84 };

describe("signalName", () => {
  it("is a DNS-1123 label of at most 63 characters, deterministic, with the fnv1a32 of the raw windowId", () => {
    expect(signalName("lat-001")).toMatch(/^lat-001-[0-9a-f]{8}$/);
    expect(signalName("lat-001")).toBe(signalName("lat-001"));
    expect(signalName("LAT-001")).not.toBe(signalName("lat-001"));
    expect(signalName("a_b:c.d")).toMatch(/^a-b-c-d-[0-9a-f]{8}$/);
    const long = signalName("x".repeat(253));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(signalName("___")).toMatch(/^[0-9a-f]{8}$/);
    for (const w of ["a", "A.B", "0-_-:", "x".repeat(70) + "-y"]) expect(signalName(w)).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});

describe("signals", () => {
  it("anomaly: seed body → AnomalySignal in the default namespace, seed answer", async () => {
    const r = await post("/v1/signals/anomaly", anomalyBody);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: true, kind: "anomaly", windowId: "lat-001", namespace: NS });
    const s = backend.signals.get(`AnomalySignal/${NS}/${signalName("lat-001")}`);
    expect(s?.spec).toEqual(anomalyBody);
    expect(s?.metadata.annotations?.["smartops.io/traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(s?.metadata.annotations?.["smartops.io/requested-by"]).toBe(USER);
  });

  it("rca: seed body → RcaSignal; body namespace wins over the default", async () => {
    backend.grant(USER, "create", "smartops.io/rcasignals", "other");
    const r = await post("/v1/signals/rca", { ...rcaBody, namespace: "other" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: true, kind: "rca", windowId: "rca-003", namespace: "other" });
    expect(backend.signals.get(`RcaSignal/other/${signalName("rca-003")}`)?.spec).toEqual(rcaBody);
  });

  it("continues the caller's trace id from a traceparent header", async () => {
    const tid = "0af7651916cd43dd8448eb211c80319c";
    await post("/v1/signals/anomaly", anomalyBody, "good", { traceparent: `00-${tid}-b7ad6b7169203331-01` });
    const s = backend.signals.get(`AnomalySignal/${NS}/${signalName("lat-001")}`);
    expect(s?.metadata.annotations?.["smartops.io/traceparent"]).toMatch(new RegExp(`^00-${tid}-[0-9a-f]{16}-01$`));
  });

  it("same windowId and body twice → one CR, 200 duplicate; different body → 409 naming windowId", async () => {
    expect((await post("/v1/signals/anomaly", anomalyBody)).body.duplicate).toBeUndefined();
    const again = await post("/v1/signals/anomaly", { ...anomalyBody, metadata: {}, score: 0.9 });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ accepted: true, duplicate: true, windowId: "lat-001" });
    expect(backend.signals.size).toBe(1);
    const conflict = await post("/v1/signals/anomaly", { ...anomalyBody, score: 0.5 });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: "Conflict", field: "windowId" });
    expect(String(conflict.body.message)).toContain("lat-001");
  });

  it("key order does not make a duplicate a conflict", async () => {
    await post("/v1/signals/rca", rcaBody);
    const reordered = Object.fromEntries(Object.entries(rcaBody).reverse());
    expect((await post("/v1/signals/rca", reordered)).body.duplicate).toBe(true);
  });

  it.each([
    ["unknown field", { ...anomalyBody, colour: "red" }, "colour", /unknown field/],
    ["bad score", { ...anomalyBody, score: 2 }, "score", /./],
    ["missing windowId", { ...anomalyBody, windowId: undefined }, "windowId", /./],
    ["bad windowId", { ...anomalyBody, windowId: "a b" }, "windowId", /./],
    ["bad namespace", { ...anomalyBody, namespace: "Not_A_NS" }, "namespace", /./],
    ["bad service", { ...anomalyBody, service: "ERP" }, "service", /./],
  ])("anomaly %s → 400 naming the field", async (_what, body, field, message) => {
    const r = await post("/v1/signals/anomaly", body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: "BadRequest", field });
    expect(String(r.body.message)).toMatch(message);
    expect(backend.signals.size).toBe(0);
  });

  it("rca errors name nested fields", async () => {
    const r = await post("/v1/signals/rca", { ...rcaBody, rankedCauses: [{ svc: "erp", cause: "x", probability: 1.5 }] });
    expect(r.status).toBe(400);
    expect(r.body.field).toBe("rankedCauses[0].probability");
    const r2 = await post("/v1/signals/rca", { windowId: "w" });
    expect(r2.body.field).toBe("service");
  });
});

describe("authentication and authorization", () => {
  it("no token → 401; wrong audience → 401; unknown token → 401; each with a message", async () => {
    for (const token of [null, "other-aud", "garbage"]) {
      const r = await post("/v1/signals/anomaly", anomalyBody, token);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe("Unauthorized");
      expect(String(r.body.message).length).toBeGreaterThan(10);
    }
    expect(backend.signals.size).toBe(0);
  });

  it("authenticated without permission → 403 naming the resource and namespace", async () => {
    const r = await post("/v1/signals/anomaly", anomalyBody, "nobody");
    expect(r.status).toBe(403);
    expect(String(r.body.message)).toContain("anomalysignals.smartops.io in namespace smartops-dev");
    const r2 = await post("/v1/signals/rca", { ...rcaBody, namespace: "elsewhere" });
    expect(r2.status).toBe(403);
  });

  it("caches TokenReview and SubjectAccessReview decisions", async () => {
    for (let i = 0; i < 5; i++) await post("/v1/signals/anomaly", { ...anomalyBody, windowId: `w${i}` });
    expect(backend.calls.tokenReviews).toBe(1);
    expect(backend.calls.accessReviews).toBe(1);
  });

  it("anonymous mode accepts requests without a token but still checks tokens that are sent", async () => {
    await start({ allowAnonymous: true });
    expect((await post("/v1/signals/anomaly", anomalyBody, null)).status).toBe(200);
    expect(backend.signals.get(`AnomalySignal/${NS}/${signalName("lat-001")}`)?.metadata.annotations?.["smartops.io/requested-by"]).toBe("system:anonymous");
    expect((await post("/v1/signals/anomaly", anomalyBody, "garbage")).status).toBe(401);
  });

  it("an API-server failure during the TokenReview is a 503, not a 401", async () => {
    backend.failNext = new KubeApiError("tokenreview", 0, { reason: "NetworkError", message: "connection refused" });
    const r = await post("/v1/signals/anomaly", anomalyBody);
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("1");
  });

  it("a ResourceQuota that refuses the signal is a 429 naming the quota, never a 5xx", async () => {
    expect((await post("/v1/signals/anomaly", anomalyBody)).status).toBe(200);
    backend.failNext = new KubeApiError("create_anomalysignal", 403, {
      kind: "Status", code: 403, reason: "Forbidden",
      message: 'anomalysignals.smartops.io "x" is forbidden: exceeded quota: smartops-signals, requested: count/anomalysignals.smartops.io=1, used: count/anomalysignals.smartops.io=2, limited: count/anomalysignals.smartops.io=2',
    });
    const r = await post("/v1/signals/anomaly", { ...anomalyBody, windowId: "lat-002" });
    expect(r.status).toBe(429);
    expect(r.body.error).toBe("TooManyRequests");
    expect(String(r.body.message)).toContain("exceeded quota: smartops-signals");
    expect(r.headers.get("retry-after")).toBe("30");
    backend.failNext = new KubeApiError("create_anomalysignal", 403, { kind: "Status", code: 403, reason: "Forbidden", message: "status unknown for quota: smartops-signals, resource: count/anomalysignals.smartops.io" });
    const uncounted = await post("/v1/signals/anomaly", { ...anomalyBody, windowId: "lat-003" });
    expect(uncounted.status).toBe(503);
    expect(uncounted.headers.get("retry-after")).toBe("1");
  });
});

describe("limits and protocol errors", () => {
  it("body over 64 KiB → 413", async () => {
    const r = await post("/v1/signals/anomaly", { ...anomalyBody, metadata: { blob: "x".repeat(70_000) } });
    expect(r.status).toBe(413);
    expect(r.body.error).toBe("PayloadTooLarge");
  });

  it("malformed JSON, empty body, and non-object JSON → 400", async () => {
    for (const raw of ["{not json", "", "[1,2]", "42", "null"]) {
      const r = await post("/v1/signals/anomaly", raw);
      expect(r.status, raw).toBe(400);
      expect(r.body.error).toBe("BadRequest");
    }
  });

  it("wrong method → 405 with Allow; unknown route → 404; both JSON", async () => {
    const r = await fetch(`${base}/v1/signals/anomaly`);
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("POST");
    expect(((await r.json()) as { error: string }).error).toBe("MethodNotAllowed");
    const r2 = await fetch(`${base}/healthz`, { method: "DELETE" });
    expect(r2.status).toBe(405);
    const r3 = await fetch(`${base}/v2/nothing`, { method: "POST" });
    expect(r3.status).toBe(404);
    expect(((await r3.json()) as { error: string }).error).toBe("NotFound");
  });

  it("rate limit per identity → 429 with Retry-After; other identities unaffected", async () => {
    await start({ rateLimit: { ratePerSecond: 1, burst: 3 } });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await post("/v1/signals/anomaly", { ...anomalyBody, windowId: `r${i}` })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const r = await post("/v1/signals/anomaly", { ...anomalyBody, windowId: "r9" });
    expect(r.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(r.body.error).toBe("TooManyRequests");
    expect((await post("/v1/signals/anomaly", anomalyBody, "nobody")).status).toBe(403);
  });
});

describe("GET routes", () => {
  it("healthz answers the seed's shape; readyz; openapi lists every route; metrics count requests and signals", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok", service: "orchestrator" });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, { post?: { requestBody: { content: { "application/json": { schema: { properties: Record<string, unknown> } } } } } }> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/signals/anomaly", "/v1/signals/rca", "/v1/k8s/scale", "/v1/k8s/restart", "/v1/k8s/patch", "/v1/actions/execute", "/v1/verify/deployment"]));
    expect(Object.keys(doc.paths["/v1/signals/anomaly"]?.post?.requestBody.content["application/json"].schema.properties ?? {})).toEqual(expect.arrayContaining(["windowId", "namespace", "score"]));
    await post("/v1/signals/rca", rcaBody);
    await post("/v1/signals/rca", rcaBody);
    await post("/v1/signals/rca", { junk: 1 });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/orchestrator_closed_loop_signals_total\{kind="rca",result="accepted"\} [1-9]/);
    expect(text).toMatch(/orchestrator_closed_loop_signals_total\{kind="rca",result="duplicate"\} [1-9]/);
    expect(text).toMatch(/orchestrator_closed_loop_signals_total\{kind="rca",result="rejected"\} [1-9]/);
    expect(text).toMatch(/smartops_shim_http_requests_total\{route="\/v1\/signals\/rca",code="200"\}/);
    expect(text).toMatch(/smartops_shim_http_request_duration_seconds_bucket\{le="0.005",route="\/v1\/signals\/rca",code="400"\}/);
    expect(text).not.toContain("good"); // no token in any label
  });
});

describe("authorization before the body is read", () => {
  const Z_USER = "system:serviceaccount:agents:z";
  beforeEach(() => {
    backend.tokens.set("z", { user: { username: Z_USER, groups: [] }, audiences: ["smartops-shim"] });
    backend.tokens.set("own-ns", { user: { username: "system:serviceaccount:team-a:agent", groups: [] }, audiences: ["smartops-shim"] });
    backend.grant(Z_USER, "create", "smartops.io/anomalysignals", "team-z");
    backend.grant("system:serviceaccount:team-a:agent", "create", "smartops.io/anomalysignals", "team-a");
  });

  it("a caller allowed only elsewhere is refused before the body, and told to name the namespace with ?namespace=", async () => {
    const r = await post("/v1/signals/anomaly", { ...anomalyBody, namespace: "team-z" }, "z");
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: "Forbidden", field: "namespace" });
    expect(String(r.body.message)).toContain(`in namespace ${NS} or agents`);
    expect(String(r.body.message)).toContain("?namespace=");
    expect(backend.signals.size).toBe(0);
  });

  it("?namespace= names the namespace to authorize; the body must then act there", async () => {
    expect((await post("/v1/signals/anomaly?namespace=team-z", { ...anomalyBody, namespace: "team-z" }, "z")).status).toBe(200);
    const other = await post("/v1/signals/anomaly?namespace=team-z", { ...anomalyBody, windowId: "w2" }, "z");
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ error: "BadRequest", field: "namespace" });
    expect(String(other.body.message)).toContain(`namespace ${NS} differs from ?namespace=team-z`);
    const bad = await post("/v1/signals/anomaly?namespace=Not_A_NS", anomalyBody, "z");
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe("namespace");
  });

  it("a ServiceAccount allowed in its own namespace needs no ?namespace=", async () => {
    const r = await post("/v1/signals/anomaly", { ...anomalyBody, namespace: "team-a" }, "own-ns");
    expect(r.status).toBe(200);
    expect(r.body.namespace).toBe("team-a");
  });
});

describe("GET /openapi.json", () => {
  type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const doc = async () => (await (await fetch(`${base}/openapi.json`)).json()) as Json;
  const schemaOf = (d: Json, path: string, code: string) => d.paths[path].post.responses[code]?.content["application/json"].schema as Json;

  it("answers each status code with its own body schema: 202 the accepted answer or a pending ActionResult, 200 the ActionResult, errors the error body", async () => {
    const d = await doc();
    for (const path of ["/v1/k8s/scale", "/v1/k8s/restart", "/v1/k8s/patch", "/v1/actions/execute"]) {
      expect(schemaOf(d, path, "202").oneOf.map((s: Json) => s.required)).toEqual([["accepted", "action", "namespace", "target", "dry_run"], expect.arrayContaining(["accepted", "success", "phase", "details"])]);
      expect(d.paths[path].post.parameters.map((p: Json) => p.name)).toEqual(["namespace", "Prefer"]);
      expect(d.paths[path].post.responses["400"].description).toContain("PatchPathForbidden");
      expect(schemaOf(d, path, "200").required).toContain("success");
      expect(schemaOf(d, path, "401").required).toEqual(["error", "message"]);
      expect(schemaOf(d, path, "409").oneOf).toHaveLength(2);
    }
    expect(schemaOf(d, "/v1/verify/deployment", "200").properties.status.enum).toEqual(["SUCCESS", "TIMED_OUT", "FAILED"]);
    expect(schemaOf(d, "/v1/verify/deployment", "202")).toBeUndefined();
    expect(schemaOf(d, "/v1/signals/rca", "200").required).toContain("windowId");
    for (const code of ["429", "503"]) expect(d.paths["/v1/signals/anomaly"].post.responses[code].headers["Retry-After"]).toBeDefined();
    expect(Object.keys(d.paths["/v1/signals/anomaly"].post.responses)).toEqual(expect.arrayContaining(["400", "401", "403", "408", "413", "429", "503"]));
    expect(d.paths["/v1/k8s/scale"].post.parameters[0]).toMatchObject({ name: "namespace", in: "query" });
  });

  it("documents the execute cross-field rules, and they agree with what the route accepts", async () => {
    const body = (await doc()).paths["/v1/actions/execute"].post.requestBody.content["application/json"].schema as Json;
    expect(body["x-cross-field-rules"]).toContain("type scale requires scale.replicas; scale is only allowed with type scale");
    expect(body.description).toMatch(/Cross-field rules/);
    // A tiny evaluator for the constructs the rules use: if/then/else with const, required and not.
    const holds = (s: Json, v: Json): boolean => {
      if (s.not) return !holds(s.not, v);
      if (s.required && !s.required.every((k: string) => k in v)) return false;
      for (const [k, p] of Object.entries((s.properties ?? {}) as Record<string, Json>)) if (k in v && "const" in p && v[k] !== p.const) return false;
      return true;
    };
    const documented = (v: Json) => (body.allOf as Json[]).every((r) => (holds(r.if, v) ? !r.then || holds(r.then, v) : !r.else || holds(r.else, v)));
    const sections = { scale: { replicas: 2 }, patch: { patch: { spec: { paused: false } } }, delete_pod: {} } as const;
    for (const type of ["scale", "restart", "patch", "delete-pod"]) {
      for (let mask = 0; mask < 8; mask++) {
        const v: Json = { type, target: { name: "erp-simulator" }, dry_run: true };
        Object.entries(sections).forEach(([k, s], i) => { if (mask & (1 << i)) v[k] = s; });
        const r = await post("/v1/actions/execute", v);
        expect(r.status === 200, `${JSON.stringify(v)} → ${r.status} ${JSON.stringify(r.body)}`).toBe(documented(v));
      }
    }
  });
});
