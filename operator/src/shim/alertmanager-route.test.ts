// POST /v1/alertmanager through the real handler over a socket, the Kubernetes
// layer faked behind ShimBackend: authentication, authorization per namespace,
// created/existing/ignored per alert, nothing created from a bad payload, the
// metrics, and a fuzz that no payload gets a 5xx.
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { KubeApiError } from "../k8s/errors.ts";
import { ORIGIN_LABEL, ORIGIN_VALUE } from "../notify/notification.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { registry } from "../telemetry/metrics.ts";
import { alertWindowId } from "./alertmanager.ts";
import { FakeBackend } from "./fake-backend.ts";
import { signalName } from "./mapping.ts";
import { DEFAULT_CONFIG, type ShimServer, startShim } from "./server.ts";

const USER = "system:serviceaccount:monitoring:alertmanager";
const RUNS = Math.max(1, Math.round(Number(process.env.SHIM_FUZZ_RUNS ?? 10_000) / 5));
let backend: FakeBackend;
let shim: ShimServer | undefined;
let base: string;

async function fresh() {
  await shim?.close();
  backend = new FakeBackend();
  backend.tokens.set("am", { user: { username: USER, groups: [] }, audiences: ["smartops-shim"] });
  backend.tokens.set("nobody", { user: { username: "nobody", groups: [] }, audiences: ["smartops-shim"] });
  for (const ns of ["smartops-dev", "shop", "monitoring"]) backend.grant(USER, "create", "smartops.io/anomalysignals", ns);
  shim = await startShim("127.0.0.1", 0, backend, { ...DEFAULT_CONFIG, rateLimit: { ratePerSecond: 1e9, burst: 1e9 } }, silentLogger());
  base = `http://127.0.0.1:${shim.port}`;
}
beforeEach(fresh);
afterAll(() => shim?.close());

async function post(body: unknown, token: string | null = "am", query = "") {
  const res = await fetch(`${base}/v1/alertmanager${query}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { alerts?: Record<string, unknown>[] } };
}

const STARTS = "2026-03-01T10:00:00Z";
const alert = (fingerprint: string, labels: Record<string, string> = {}, status: "firing" | "resolved" = "firing") => ({
  status,
  labels: { alertname: "CheckoutHighLatency", severity: "warning", namespace: "shop", service: "checkout", ...labels },
  annotations: {},
  startsAt: STARTS,
  endsAt: status === "resolved" ? "2026-03-01T10:05:00Z" : "0001-01-01T00:00:00Z",
  generatorURL: "",
  fingerprint,
});
const payload = (alerts: unknown[]) => ({ version: "4", groupKey: "{}:{}", truncatedAlerts: 0, status: "firing", receiver: "smartops", groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: "", alerts });

const stored = () => [...backend.signals.values()];
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as { labels: Record<string, string | number>; value: number }[] | undefined)?.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

describe("POST /v1/alertmanager", () => {
  it("each firing alert becomes an AnomalySignal in the namespace its labels name; the answer lists each", async () => {
    const r = await post(payload([alert("aa01"), alert("aa02", { alertname: "CheckoutErrors", namespace: "monitoring", service: "api" })]));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: true, created: 2, existing: 0, ignored: 0 });
    const id = alertWindowId("aa01", STARTS, "firing");
    expect(r.body.alerts![0]).toEqual({ index: 0, fingerprint: "aa01", status: "firing", result: "created", windowId: id, name: signalName(id), namespace: "shop", isAnomaly: true });
    const s = backend.signals.get(`AnomalySignal/shop/${signalName(id)}`);
    expect(s?.spec).toMatchObject({ windowId: id, service: "checkout", isAnomaly: true, type: "latency", score: 0.8, modelVersion: "alertmanager", confidence: 1 });
    expect(s?.metadata.annotations?.["smartops.io/requested-by"]).toBe(USER);
    expect(stored().map((x) => x.metadata.namespace).sort()).toEqual(["monitoring", "shop"]);
  });

  it("a re-sent group is idempotent: the same signals, answered existing, nothing new", async () => {
    const before = await metric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "existing" });
    await post(payload([alert("aa01")]));
    const again = await post(payload([alert("aa01"), alert("aa01")]));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: 0, existing: 2 });
    expect(again.body.alerts!.map((a) => a.result)).toEqual(["existing", "existing"]);
    expect(stored()).toHaveLength(1);
    expect(await metric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "existing" })).toBe(before + 2);
  });

  it("a resolved alert is a normal window of its own beside the firing one", async () => {
    await post(payload([alert("aa01")]));
    const r = await post(payload([alert("aa01", {}, "resolved")]));
    expect(r.body.alerts![0]).toMatchObject({ result: "created", isAnomaly: false, windowId: `${alertWindowId("aa01", STARTS, "firing")}-resolved` });
    expect(stored().map((s) => [s.spec.windowId, (s.spec as { isAnomaly: boolean }).isAnomaly])).toEqual([
      [alertWindowId("aa01", STARTS, "firing"), true],
      [alertWindowId("aa01", STARTS, "resolved"), false],
    ]);
  });

  it("the operator's own notifications are ignored and counted, not errors", async () => {
    const before = await metric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "ignored" });
    const r = await post(payload([alert("aa01", { [ORIGIN_LABEL]: ORIGIN_VALUE }), { ...alert("aa02"), labels: { alertname: "X", [ORIGIN_LABEL]: ORIGIN_VALUE } }, alert("aa03")]));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ created: 1, ignored: 2 });
    expect(r.body.alerts!.slice(0, 2).map((a) => [a.result, a.reason])).toEqual([["ignored", "OwnNotification"], ["ignored", "OwnNotification"]]);
    expect(stored().map((s) => (s.spec.metadata as Record<string, string>).fingerprint)).toEqual(["aa03"]);
    expect(await metric("smartops_shim_alertmanager_alerts_total", { status: "firing", result: "ignored" })).toBe(before + 2);
  });

  it("a bad alert is a 400 naming its field, and nothing of the payload is created", async () => {
    const r = await post(payload([alert("aa01"), alert("aa02"), { ...alert("aa03"), labels: { alertname: "X", service: "s" } }]));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: "BadRequest", field: "alerts[2].labels.namespace" });
    expect(r.body.message).toContain("alerts[2].labels.namespace");
    expect(stored()).toEqual([]);
  });

  it("authenticated: no token 401; authorized per alert namespace: a forbidden one is a 403 naming the alert's label, nothing created", async () => {
    expect((await post(payload([alert("aa01")]), null)).status).toBe(401);
    expect((await post(payload([alert("aa01")]), "nobody")).status).toBe(403);
    const r = await post(payload([alert("aa01"), alert("aa02", { namespace: "kube-system" })]));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: "Forbidden", field: "alerts[1].labels.namespace" });
    expect(r.body.message).toContain("kube-system");
    expect(stored()).toEqual([]);
  });

  it("?namespace= binds the request: an alert elsewhere is a 400 naming its label", async () => {
    const r = await post(payload([alert("aa01", { namespace: "monitoring" })]), "am", "?namespace=shop");
    expect(r.status).toBe(400);
    expect(r.body.field).toBe("alerts[0].labels.namespace");
    expect((await post(payload([alert("aa01")]), "am", "?namespace=shop")).status).toBe(200);
  });

  it("the API server unavailable is a 503 (Alertmanager retries; the retry is idempotent)", async () => {
    backend.failNext = new KubeApiError("create", 503, { reason: "ServiceUnavailable", message: "etcd down" });
    const r = await post(payload([alert("aa01")]));
    expect(r.status).toBe(503);
    const retry = await post(payload([alert("aa01")]));
    expect(retry.body).toMatchObject({ created: 1 });
  });

  it("counts requests under its route label", async () => {
    const before = await metric("smartops_shim_http_requests_total", { route: "/v1/alertmanager", code: "200" });
    await post(payload([]));
    expect(await metric("smartops_shim_http_requests_total", { route: "/v1/alertmanager", code: "200" })).toBe(before + 1);
  });
});

describe("fuzz: no payload gets a 5xx", () => {
  const labelKeys = fc.constantFrom("alertname", "severity", "namespace", "service", "deployment", "job", ORIGIN_LABEL, "__proto__", "constructor", "");
  const labelValues = fc.oneof(fc.constantFrom("shop", "checkout", "", "Shop", "a/b", ORIGIN_VALUE, "Watchdog", "x".repeat(300)), fc.jsonValue({ maxDepth: 1 }));
  const alertKeys = fc.constantFrom("status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint", "extra");
  const alertValues = fc.oneof(fc.constantFrom("firing", "resolved", STARTS, "0001-01-01T00:00:00Z", "nope", "", "ab12", "../x", 0, null, [], {}), fc.dictionary(labelKeys, labelValues, { maxKeys: 4 }), fc.jsonValue({ maxDepth: 2 }));
  const mutatedAlert = fc.tuple(fc.constantFrom("aa01", "aa02", "bb"), fc.constantFrom<"firing" | "resolved">("firing", "resolved"), fc.dictionary(labelKeys, labelValues, { maxKeys: 3 }), fc.dictionary(alertKeys, alertValues, { maxKeys: 2 }), fc.subarray(["labels", "startsAt", "endsAt", "fingerprint", "status"])).map(([fp, status, labels, over, drop]) => {
    const a: Record<string, unknown> = alert(fp, {}, status);
    a.labels = { ...(a.labels as object) };
    for (const [k, v] of Object.entries(labels)) Object.defineProperty(a.labels, k, { value: v, enumerable: true, writable: true, configurable: true });
    for (const k of drop) delete a[k];
    for (const [k, v] of Object.entries(over)) Object.defineProperty(a, k, { value: v, enumerable: true, writable: true, configurable: true });
    return a;
  });
  const bodies = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.array(mutatedAlert, { maxLength: 4 }), fc.dictionary(fc.constantFrom("version", "status", "alerts", "groupLabels", "truncatedAlerts"), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 1 })).map(([alerts, over]) => JSON.stringify({ ...payload(alerts), ...over })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  );

  it(`${RUNS} generated payloads: a JSON 2xx or 4xx, every 4xx with error and message`, async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(bodies, async (raw) => {
        const res = await fetch(`${base}/v1/alertmanager`, { method: "POST", headers: { authorization: "Bearer am", "content-type": "application/json" }, body: raw });
        const text = await res.text();
        seen.add(res.status);
        expect(res.status, `${raw} → ${text}`).toBeLessThan(500);
        const json = JSON.parse(text) as { error?: string; message?: string };
        if (res.status >= 400) expect(typeof json.error === "string" && typeof json.message === "string", text).toBe(true);
      }),
      { numRuns: RUNS },
    );
    expect(seen.has(200) && seen.has(400)).toBe(true);
  }, 600_000);
});
