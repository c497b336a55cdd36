// The chart's alerts under promtool: the PrometheusRule a release renders is a
// valid rule file (`promtool check rules`), and every alert has unit tests
// (charts/smartops-operator/tests/alerts.test.yaml, `promtool test rules`) in
// which it fires on the failure it names, stays silent when healthy, and fires
// only after its `for:`. No cluster needed: helm renders, promtool evaluates.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { CHART } from "./support/helm.ts";
import { promtool, renderedRules, type RuleGroups } from "./support/prometheus.ts";

const TESTS = join(CHART, "tests/alerts.test.yaml");
let dir: string;
let rules: RuleGroups;

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}
interface TestFile {
  tests: { name: string; alert_rule_test?: AlertTest[] }[];
}

/** Go duration → seconds (the subset unit tests use: h, m, s). */
function seconds(d: string): number {
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)([hms])/g)) total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"];
  return total;
}

beforeAll(() => {
  rules = renderedRules();
  dir = mkdtempSync(join(tmpdir(), "smartops-alerts-"));
  writeFileSync(join(dir, "rules.yaml"), stringify(rules));
  copyFileSync(TESTS, join(dir, "alerts.test.yaml"));
}, 1_800_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("chart alerts under promtool", () => {
  it("promtool check rules accepts the rendered PrometheusRule, lint included", () => {
    const r = promtool(["check", "rules", "--lint=all", "--lint-fatal", join(dir, "rules.yaml")]);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("every alert has a test where it fires, one where it stays silent, and, with a for:, one just before it elapses", () => {
    const tests = (parse(readFileSync(TESTS, "utf8")) as TestFile).tests.flatMap((t) => t.alert_rule_test ?? []);
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(6);
    for (const rule of alerts) {
      const mine = tests.filter((t) => t.alertname === rule.alert);
      const firing = mine.filter((t) => (t.exp_alerts ?? []).length > 0);
      const silent = mine.filter((t) => (t.exp_alerts ?? []).length === 0);
      expect(firing.length, `${rule.alert}: a test where it fires`).toBeGreaterThan(0);
      expect(silent.length, `${rule.alert}: a test where it stays silent`).toBeGreaterThan(0);
      if (rule.for) {
        // Silent at some point less than `for:` after the first firing test's
        // condition could have started, i.e. before the earliest firing time.
        const earliestFiring = Math.min(...firing.map((t) => seconds(t.eval_time)));
        expect(silent.some((t) => seconds(t.eval_time) < earliestFiring && earliestFiring - seconds(t.eval_time) <= seconds(rule.for!)), `${rule.alert}: silent before its for: ${rule.for} elapses`).toBe(true);
      }
    }
    // No test names an alert the chart does not have (a renamed alert).
    const names = new Set(alerts.map((r) => r.alert));
    for (const t of tests) expect(names.has(t.alertname), `test names unknown alert ${t.alertname}`).toBe(true);
  });

  it("promtool test rules: every alert test passes", () => {
    const r = promtool(["test", "rules", "alerts.test.yaml"], dir);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
  });
});
