// A rule's PromQL metric check against a real Prometheus (built from its Go
// module by tools/prometheus/build.sh) scraping, every second, a small exporter
// this test controls: the baseline and outcome the effectiveness window takes,
// judged effective or not; a query Prometheus refuses; answers that are not one
// number (several series, none, NaN, a range vector); an unreachable server.
// Needs no Kubernetes: the client talks to Prometheus only.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureCheck, PrometheusClient, PrometheusError } from "../operator/src/k8s/prometheus.ts";
import { judgeMetric, type MetricCheck, type MetricReading, renderQuery } from "../operator/src/remediation/metric-check.ts";
import { freePort } from "./controlplane/cluster.ts";
import { type PrometheusProcess, startPrometheus } from "./support/prometheus.ts";

const VARS = { namespace: "ns", deployment: "web", service: "web" };
const ERROR_RATIO: MetricCheck = { query: 'max(demo_error_ratio{namespace="$namespace",deployment="$deployment"})', comparison: "<", threshold: 0.05 };

/** The exporter's series (labels in exposition syntax -> value as written), and how often it was scraped. */
const series = new Map<string, string>();
let scrapes = 0;
let exporter: Server;
let prom: PrometheusProcess;
let client: PrometheusClient;

function exposition(): string {
  const lines = ["# HELP demo_error_ratio Share of requests that failed.", "# TYPE demo_error_ratio gauge"];
  for (const [labels, value] of series) lines.push(`demo_error_ratio{${labels}} ${value}`);
  return `${lines.join("\n")}\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${prom.logs().slice(-2000)}`);
    await sleep(200);
  }
}

/** Sets the exporter's values, then waits until Prometheus has scraped them twice (the first is then surely stored). */
async function exporterServes(values: Record<string, string>): Promise<void> {
  series.clear();
  for (const [k, v] of Object.entries(values)) series.set(k, v);
  const from = scrapes;
  await until("two scrapes of the new values", async () => (scrapes >= from + 2 ? true : undefined), 15_000);
}

const WEB = 'namespace="ns",deployment="web"';
const API = 'namespace="ns",deployment="api"';

beforeAll(async () => {
  series.set(WEB, "0.4");
  exporter = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    scrapes++;
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(exposition());
  });
  await new Promise<void>((r) => exporter.listen(0, "127.0.0.1", r));
  prom = await startPrometheus([{ job: "demo", address: `127.0.0.1:${(exporter.address() as AddressInfo).port}` }]);
  client = new PrometheusClient({ url: prom.url });
  // The first value: Prometheus has scraped the exporter and answers the check's query.
  await until("the first scraped value", async () => {
    const r = await measureCheck(client, ERROR_RATIO, VARS);
    return r.kind === "value" ? r : undefined;
  });
}, 1_800_000);

afterAll(async () => {
  await prom?.stop();
  exporter?.closeAllConnections();
  await new Promise((r) => exporter?.close(r));
});

describe("a metric check against a real Prometheus", () => {
  it("effective: the error ratio falls under the threshold between baseline and outcome", async () => {
    await exporterServes({ [WEB]: "0.4" });
    const baseline = await measureCheck(client, ERROR_RATIO, VARS);
    expect(baseline).toEqual({ kind: "value", value: 0.4 });
    await exporterServes({ [WEB]: "0.01" });
    const outcome = await measureCheck(client, ERROR_RATIO, VARS);
    expect(judgeMetric(ERROR_RATIO, baseline, outcome)).toEqual({
      effective: true,
      message: 'max(demo_error_ratio{namespace="$namespace",deployment="$deployment"}) 0.4 -> 0.01 (< 0.05)',
    });
  });

  it("not effective: the error ratio stays over the threshold", async () => {
    await exporterServes({ [WEB]: "0.4" });
    const baseline = await measureCheck(client, ERROR_RATIO, VARS);
    await exporterServes({ [WEB]: "0.3" });
    const outcome = await measureCheck(client, ERROR_RATIO, VARS);
    expect(judgeMetric(ERROR_RATIO, baseline, outcome)).toEqual({
      effective: false,
      message: 'max(demo_error_ratio{namespace="$namespace",deployment="$deployment"}) 0.4 -> 0.3 (not < 0.05)',
    });
  });

  it("a measurement at a past time reads the value Prometheus had then", async () => {
    await exporterServes({ [WEB]: "0.25" });
    // A moment before the change: a scrape stamped just before the change but served after it cannot count.
    const then = new Date(Date.now() - 200);
    await exporterServes({ [WEB]: "0.02" });
    expect(await measureCheck(client, ERROR_RATIO, VARS, then)).toEqual({ kind: "value", value: 0.25 });
    expect(await measureCheck(client, ERROR_RATIO, VARS)).toEqual({ kind: "value", value: 0.02 });
  });

  it("several series are refused with their count; aggregated in the query they are one number", async () => {
    await exporterServes({ [WEB]: "0.2", [API]: "0.1" });
    const perDeployment: MetricCheck = { ...ERROR_RATIO, query: 'demo_error_ratio{namespace="$namespace"}' };
    const many = await measureCheck(client, perDeployment, VARS);
    expect(many).toMatchObject({ kind: "manySeries", count: 2, message: "the query returned 2 series differing in deployment; aggregate it to one, e.g. max(...) or sum(...)" });
    expect(judgeMetric(perDeployment, many, many)).toMatchObject({ effective: undefined });
    expect(await measureCheck(client, { ...perDeployment, query: 'sum(demo_error_ratio{namespace="$namespace"})' }, VARS)).toMatchObject({ kind: "value", value: expect.closeTo(0.3, 12) });
  });

  it("no series, NaN and a range vector leave the outcome unknown, with the reason", async () => {
    await exporterServes({ [WEB]: "NaN" });
    const absent = await measureCheck(client, ERROR_RATIO, { ...VARS, deployment: "absent" });
    expect(absent).toEqual({ kind: "noData", message: "the query returned no series" });
    expect(judgeMetric(ERROR_RATIO, absent, absent)).toEqual({ effective: undefined, message: expect.stringMatching(/ no data -> no data \(< 0\.05 unknown: the query returned no series\)$/) });
    const nan = await measureCheck(client, ERROR_RATIO, VARS);
    expect(nan.kind === "value" && Number.isNaN(nan.value)).toBe(true);
    expect(judgeMetric(ERROR_RATIO, 0.4, nan)).toMatchObject({ effective: undefined, message: expect.stringContaining("0.4 -> NaN (< 0.05 unknown: the outcome is NaN)") });
    const range = await measureCheck(client, { ...ERROR_RATIO, query: 'demo_error_ratio{deployment="$deployment"}[30s]' }, VARS);
    expect(range).toMatchObject({ kind: "notANumber", message: expect.stringContaining("range vector") });
  });

  it("a query Prometheus refuses is a typed error naming Prometheus's message", async () => {
    const query = renderQuery('sum(rate(demo_error_ratio{namespace="$namespace"}[1m]', VARS);
    let err: unknown;
    await client.instantQuery(query).catch((e: unknown) => (err = e));
    expect(err).toBeInstanceOf(PrometheusError);
    expect(err).toMatchObject({ status: 400, errorType: "bad_data", message: expect.stringMatching(/^Prometheus answered 400 bad_data: .*parse error/) });
    const reading: MetricReading = await measureCheck(client, { ...ERROR_RATIO, query: "sum(" }, VARS);
    expect(reading).toMatchObject({ kind: "error", message: expect.stringContaining("parse error") });
    expect(judgeMetric(ERROR_RATIO, 0.4, reading)).toMatchObject({ effective: undefined, message: expect.stringContaining("0.4 -> error (< 0.05 unknown: Prometheus answered 400 bad_data") });
  });

  it("an unreachable Prometheus is a typed error, and an unknown outcome", async () => {
    const port = await freePort();
    const down = new PrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 5000 });
    let err: unknown;
    await down.instantQuery("up").catch((e: unknown) => (err = e));
    expect(err).toBeInstanceOf(PrometheusError);
    expect(err).toMatchObject({ status: 0, errorType: "unreachable", message: expect.stringContaining(`Prometheus at http://127.0.0.1:${port} is unreachable: `) });
    const outcome = await measureCheck(down, ERROR_RATIO, VARS);
    expect(judgeMetric(ERROR_RATIO, 0.4, outcome)).toMatchObject({ effective: undefined, message: expect.stringContaining("unreachable") });
  });
});
