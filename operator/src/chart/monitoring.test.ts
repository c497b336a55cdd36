// The chart's alert rules and Grafana dashboard may only use metrics (and labels)
// that the operator and the shim really export: a renamed metric fails here,
// not silently in someone's Prometheus.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import "../shim/metrics.ts";
import { registry } from "../telemetry/metrics.ts";
import { CHART_DIR } from "./templates.ts";
import { baseMetric, promqlRefs } from "./promql.ts";

const root = resolve(import.meta.dirname, "../../..");
const file = (p: string) => readFileSync(resolve(root, CHART_DIR, p), "utf8");

// Labels Prometheus adds to every scraped series, and the ones it has itself.
const TARGET_LABELS = ["job", "instance", "namespace", "pod", "service", "container", "endpoint"];
const PROMETHEUS_METRICS = new Map([["up", { type: "gauge", labels: [] as string[] }]]);

const exported = new Map<string, { type: string; labels: string[] }>(PROMETHEUS_METRICS);
for (const m of registry.getMetricsAsArray()) {
  const metric = m as unknown as { name: string; type: string; labelNames?: string[] };
  exported.set(metric.name, { type: metric.type, labels: metric.labelNames ?? [] });
}

/** files/alerts.yaml without Helm's template actions: {{`x`}} is x, any other action a number. */
function alertRules(): { alert: string; expr: string }[] {
  const text = file("files/alerts.yaml").replace(/\{\{`(.*?)`\}\}/g, "$1").replace(/\{\{[^}]*\}\}/g, (m) => (m.includes("$labels") || m.includes("$value") ? m : "1"));
  return (parse(text) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
}

function dashboardExprs(): { title: string; expr: string }[] {
  const d = JSON.parse(file("files/dashboard.json")) as { panels: { title: string; targets: { expr: string }[] }[] };
  return d.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
}

function unknownRefs(expr: string): string[] {
  const refs = promqlRefs(expr);
  const problems: string[] = [];
  const labels = new Set(TARGET_LABELS);
  for (const sample of refs.metrics) {
    const base = baseMetric(sample, exported);
    if (!base) {
      problems.push(`metric ${sample} is not exported`);
      continue;
    }
    for (const l of exported.get(base)!.labels) labels.add(l);
    if (sample.endsWith("_bucket")) labels.add("le");
  }
  for (const l of refs.labels) if (!labels.has(l)) problems.push(`label ${l} is on none of ${refs.metrics.join(", ")}`);
  return problems;
}

describe("promqlRefs", () => {
  it("finds metrics and labels, not functions, keywords, strings or durations", () => {
    expect(promqlRefs('sum by (action_type, status) (increase(smartops_orchestrator_actions_total{status=~"fail|x"}[$__rate_interval])) > 3')).toEqual({
      metrics: ["smartops_orchestrator_actions_total"],
      labels: ["action_type", "status"],
    });
    expect(promqlRefs('absent(up{job="a-metrics"} == 1) unless on() max(min_over_time(q_depth[30m])) > 0').metrics).toEqual(["q_depth", "up"]);
    expect(promqlRefs("histogram_quantile(0.95, sum by (le) (rate(x_seconds_bucket[5m])))")).toEqual({ metrics: ["x_seconds_bucket"], labels: ["le"] });
  });
});

describe("chart monitoring uses only exported metrics", () => {
  it("the check itself fails on an unknown metric or label", () => {
    expect(unknownRefs("sum(rate(smartops_no_such_metric_total[5m]))")).toEqual(["metric smartops_no_such_metric_total is not exported"]);
    expect(unknownRefs("sum by (reasn) (orchestrator_closed_loop_guardrail_blocks_total)")).toEqual(["label reasn is on none of orchestrator_closed_loop_guardrail_blocks_total"]);
    expect(unknownRefs("smartops_orchestrator_actions_total_bucket")).toEqual(["metric smartops_orchestrator_actions_total_bucket is not exported"]);
  });

  it.each(alertRules().map((r) => [r.alert, r.expr]))("alert %s", (_name, expr) => {
    expect(unknownRefs(expr)).toEqual([]);
  });

  it.each(dashboardExprs().map((t) => [t.title, t.expr]))("dashboard panel %s: %s", (_title, expr) => {
    expect(unknownRefs(expr)).toEqual([]);
  });

  it("alerts on operator down, no leader, verification failures, guardrail storms and a loop that does not react", () => {
    expect(alertRules().map((r) => r.alert)).toEqual(expect.arrayContaining([
      "SmartOpsOperatorDown", "SmartOpsNoLeader", "SmartOpsVerificationFailures", "SmartOpsGuardrailStorm", "SmartOpsClosedLoopNotReacting",
    ]));
  });

  it("the dashboard shows actions, guardrail blocks, latency, verification, queue depth and MTTR", () => {
    const titles = dashboardExprs().map((t) => t.title);
    for (const t of ["Actions by type and result", "Guardrail blocks by reason", "Signal → action latency", "Verification outcomes", "Queue depth", "MTTR (mean signal → recovery)"]) {
      expect(titles).toContain(t);
    }
  });
});
