import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { renderCrds } from "../api/crd/render.ts";
import { guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import { CHART_CRD_DIR, CHART_DIR, CHART_SOURCES, chartCrdTemplates, chartRulesTemplate, renderChart } from "./templates.ts";

const root = resolve(import.meta.dirname, "../../..");
const read = (p: string) => readFileSync(resolve(root, p), "utf8");
const sources = new Map(CHART_SOURCES.map((p) => [p, read(p)]));

/** The named templates of a _rules.tpl, parsed. */
function defines(tpl: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const m of tpl.matchAll(/\{\{- define "([^"]+)" -\}\}\n([\s\S]*?)\{\{- end \}\}/g)) out.set(m[1]!, parse(m[2]!));
  return out;
}

const rbacDoc = (file: string, kind: string, name: string) =>
  parseAllDocuments(read(file)).map((d) => d.toJS()).find((o) => o?.kind === kind && o.metadata?.name === name);

describe("chart CRD templates", () => {
  it("are crds/ inside `if crd.enabled`, with the keep annotation under `if crd.keep`", () => {
    const crds = renderCrds();
    for (const [path, text] of chartCrdTemplates()) {
      const plain = crds.get(path.slice(CHART_CRD_DIR.length + 1));
      expect(plain, path).toBeDefined();
      expect(text).toMatch(/^\{\{- \/\*.*\*\/\}\}\n\{\{- if \.Values\.crd\.enabled \}\}\n/);
      expect(text).toContain("  {{- if .Values.crd.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n  {{- end }}\n");
      const stripped = text.split("\n").filter((l) => !/^\s*\{\{/.test(l) && !l.includes("annotations:") && !l.includes("resource-policy")).join("\n");
      expect(stripped).toBe(plain!.split("\n").filter((l) => !l.startsWith("#")).join("\n"));
    }
  });
});

describe("chart RBAC rules", () => {
  const tpl = defines(chartRulesTemplate(sources));

  it.each([
    ["config/rbac/operator.yaml", "ClusterRole", "smartops-operator", "operator"],
    ["config/rbac/operator.yaml", "Role", "smartops-operator-leader-election", "operator-leader-election"],
    ["config/rbac/shim.yaml", "ClusterRole", "smartops-shim", "shim"],
    ["config/rbac/approver.yaml", "ClusterRole", "smartops-approver", "approver"],
  ])("%s %s %s: the chart's rules are exactly config/'s, and the scoped halves add up to them", (file, kind, name, key) => {
    const rules = rbacDoc(file, kind, name).rules as unknown[];
    expect(tpl.get(`smartops-operator.rules.${key}`)).toEqual(rules);
    const halves = [...(tpl.get(`smartops-operator.rules.${key}.namespaced`) as unknown[]), ...(tpl.get(`smartops-operator.rules.${key}.cluster`) as unknown[])];
    expect(halves).toHaveLength(rules.length);
    expect(halves).toEqual(expect.arrayContaining(rules));
  });

  it("keeps the shim's token and access reviews out of the namespaced half", () => {
    expect(JSON.stringify(tpl.get("smartops-operator.rules.shim.namespaced"))).not.toMatch(/tokenreviews|subjectaccessreviews/);
    expect(JSON.stringify(tpl.get("smartops-operator.rules.shim.cluster"))).toMatch(/tokenreviews.*subjectaccessreviews/);
    expect(tpl.get("smartops-operator.rules.operator.cluster")).toEqual([]);
  });

  it("refuses a resource whose scope it does not know", () => {
    const role = (rules: string) => new Map(sources).set("config/rbac/approver.yaml", `kind: ClusterRole\nmetadata: {name: x}\nrules:\n${rules}`);
    expect(() => chartRulesTemplate(role("  - {apiGroups: [''], resources: [secrets], verbs: [get]}"))).toThrow(/\/secrets is neither known namespaced nor known cluster-scoped/);
  });
});

describe("generated chart files", () => {
  it("are what the generator writes (run `make generate` after changing operator/src/api or config/)", () => {
    for (const [file, text] of renderChart(sources)) expect(read(file), file).toBe(text);
  });

  it("print `{{` literally instead of letting Helm parse it", () => {
    const approver = "kind: ClusterRole\nmetadata: {name: x}\nrules:\n  - {apiGroups: [smartops.io], resources: [remediationactions], verbs: ['{{get}}']}";
    expect(chartRulesTemplate(new Map(sources).set("config/rbac/approver.yaml", approver))).toContain(`{{ "{{" }}get}}`);
  });
});

describe("chart values", () => {
  const values = parse(read(`${CHART_DIR}/values.yaml`));

  it("hold the seed GuardrailPolicy of samples/valid/guardrailpolicy-default.yaml, valid for the API", () => {
    const sample = parse(read("samples/valid/guardrailpolicy-default.yaml"));
    expect(values.guardrailPolicy.spec).toEqual(sample.spec);
    expect(guardrailPolicySpec.safeParse(values.guardrailPolicy.spec).success).toBe(true);
  });

  it("run two operator replicas with leader election and a PodDisruptionBudget of maxUnavailable 1", () => {
    expect(values.operator.replicas).toBe(2);
    expect(values.operator.leaderElection.enabled).toBe(true);
    expect(values.operator.podDisruptionBudget).toEqual({ enabled: true, maxUnavailable: 1 });
  });
});
