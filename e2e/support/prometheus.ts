// prometheus and promtool (built by tools/prometheus/build.sh into the cache),
// the chart's alert rules and dashboard queries as a release renders them, and a
// real Prometheus process scraping local targets, for the monitoring suites.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { freePort } from "../controlplane/cluster.ts";
import { render } from "./helm.ts";
import { tail } from "./processes.ts";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * The release the alert tests and the e2e render: its fullname is
 * smartops-operator, so the ServiceMonitor's jobs (the scraped Services' names)
 * are smartops-operator-metrics (operator) and smartops-operator-shim (shim).
 */
export const RELEASE = "smartops-operator";
export const RELEASE_NAMESPACE = "smartops-system";
export const JOBS = { operator: `${RELEASE}-metrics`, shim: `${RELEASE}-shim` } as const;

let toolDir: string | undefined;
/** bin/prometheus and bin/promtool (a no-op after `make prometheus`; a cold build takes minutes). */
export function prometheusTools(): { prometheus: string; promtool: string } {
  toolDir ??= execFileSync(join(ROOT, "tools/prometheus/build.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 1_800_000 }).trim();
  return { prometheus: join(toolDir, "bin/prometheus"), promtool: join(toolDir, "bin/promtool") };
}

export interface Rule {
  alert: string;
  expr: string;
  for?: string;
}
export interface RuleGroups {
  groups: { name: string; rules: Rule[] }[];
}

function renderMonitoring(): Record<string, unknown>[] {
  const out = render(RELEASE, RELEASE_NAMESPACE, { "prometheusRule.enabled": true, "dashboard.enabled": true });
  return parseAllDocuments(out).map((d) => d.toJS() as Record<string, unknown>).filter(Boolean);
}

/** The rule groups of the chart's PrometheusRule (its spec is a Prometheus rule file). */
export function renderedRules(): RuleGroups {
  const rule = renderMonitoring().find((d) => d.kind === "PrometheusRule") as { spec: RuleGroups } | undefined;
  if (!rule) throw new Error("the chart rendered no PrometheusRule with prometheusRule.enabled=true");
  return rule.spec;
}

export interface PanelQuery {
  panel: string;
  expr: string;
}
/** Every target expression of every panel of the dashboard ConfigMap's JSON. */
export function dashboardQueries(): PanelQuery[] {
  const cm = renderMonitoring().find((d) => d.kind === "ConfigMap" && (d.metadata as { name: string }).name === `${RELEASE}-dashboard`) as { data: Record<string, string> } | undefined;
  if (!cm) throw new Error("the chart rendered no dashboard ConfigMap with dashboard.enabled=true");
  const dashboard = JSON.parse(Object.values(cm.data)[0]!) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

export interface Run {
  status: number | null;
  output: string;
}

export function promtool(args: string[], cwd?: string): Run {
  const r = spawnSync(prometheusTools().promtool, args, { encoding: "utf8", cwd, timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface Target {
  job: string;
  /** host:port serving /metrics */
  address: string;
  labels?: Record<string, string>;
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusProcess {
  url: string;
  proc: ChildProcess;
  logs(): string;
  /** An instant query through the HTTP API; throws on a query error. */
  query(expr: string): Promise<Sample[]>;
  /** GET an API path, returning `data`. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus on a free loopback port with its TSDB in a temp dir,
 * scraping the targets every second (honor_labels, as the chart's ServiceMonitor
 * sets) and evaluating the rule file every second.
 */
export async function startPrometheus(targets: Target[], rules?: RuleGroups): Promise<PrometheusProcess> {
  const dir = mkdtempSync(join(tmpdir(), "smartops-prometheus-"));
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    ...(rules ? { rule_files: [join(dir, "rules.yaml")] } : {}),
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      honor_labels: true,
      static_configs: [{ targets: [t.address], labels: t.labels ?? {} }],
    })),
  };
  if (rules) writeFileSync(join(dir, "rules.yaml"), stringify(rules));
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, "prometheus.log");
  const fd = openSync(logFile, "a");
  const proc = spawn(prometheusTools().prometheus, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const logs = () => readFileSync(logFile, "utf8");
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`prometheus exited before it was ready:\n${tail(logFile)}`);
    if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok) break;
    if (Date.now() > deadline) throw new Error(`prometheus was not ready on :${port} within 60 s:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    proc,
    logs,
    api,
    query: async (expr) => (await api<{ resultType: string; result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
