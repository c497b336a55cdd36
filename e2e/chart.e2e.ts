// The Helm chart on the real control plane: everything it renders passes
// server-side dry-run (ServiceMonitor and PrometheusRule included, against the
// Prometheus Operator's CRDs), its pods are admitted by a namespace enforcing the
// restricted Pod Security Standard and run (KWOK), and `helm install`, `upgrade`
// and `uninstall` handle the CRDs and the seed policy as docs/deployment.md says.
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { clients, waitFor } from "./support/kube.ts";
import { CHART, helm, helmTools, kubectlRun, render } from "./support/helm.ts";

const c = clients();
const NS = "e2e-chart";
const RELEASE = "chart";
const FULLNAME = "chart-smartops-operator";
const EVERYTHING = { "networkPolicy.enabled": true, "serviceMonitor.enabled": true, "prometheusRule.enabled": true, "dashboard.enabled": true };

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as Obj).filter(Boolean);

function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout + r.stderr;
}

function restrictedNamespace(name: string): void {
  ok(kubectlRun(["apply", "--server-side", "-f", "-"], stringify({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest", "pod-security.kubernetes.io/warn": "restricted" } },
  })), `namespace ${name}`);
}

/** The chart with every smartops.io replaced by `group`, in a temporary directory. */
function chartCopy(group: string): string {
  const dir = mkdtempSync(join(tmpdir(), "smartops-chart-"));
  cpSync(CHART, dir, { recursive: true });
  for (const f of readdirSync(join(dir, "templates"), { recursive: true, encoding: "utf8" })) {
    if (!/\.(yaml|tpl)$/.test(f)) continue;
    const path = join(dir, "templates", f);
    writeFileSync(path, readFileSync(path, "utf8").replaceAll("smartops.io", group));
  }
  return dir;
}

async function readyReplicas(name: string): Promise<number> {
  const d = await c.apps.readNamespacedDeployment({ name, namespace: NS });
  return d.status?.readyReplicas ?? 0;
}

beforeAll(() => {
  const { monitoringCrds } = helmTools();
  ok(kubectlRun(["apply", "--server-side", "-f", monitoringCrds]), "monitoring.coreos.com CRDs");
  ok(kubectlRun(["wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com", "--timeout=60s"]), "CRDs established");
  restrictedNamespace(NS);
}, 900_000);

afterAll(() => {
  kubectlRun(["delete", "namespace", NS, "e2e-chart-helm", "--wait=false", "--ignore-not-found"]);
  for (const release of [RELEASE, "chart-helm"]) {
    kubectlRun(["delete", "clusterrole,clusterrolebinding,validatingadmissionpolicy,validatingadmissionpolicybinding", "-l", `app.kubernetes.io/instance=${release}`, "--ignore-not-found"]);
  }
});

describe("helm template", () => {
  it("renders every object the chart promises, restricted settings on every container", () => {
    const objs = docs(render(RELEASE, NS, EVERYTHING));
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining([
      "CustomResourceDefinition/anomalysignals.smartops.io", "CustomResourceDefinition/remediationactions.smartops.io",
      `Deployment/${FULLNAME}`, `Deployment/${FULLNAME}-shim`, `Service/${FULLNAME}-shim`, `Service/${FULLNAME}-metrics`,
      `PodDisruptionBudget/${FULLNAME}`, `ServiceAccount/${FULLNAME}`, `ServiceAccount/${FULLNAME}-shim`,
      `ClusterRole/${FULLNAME}`, `ClusterRole/${FULLNAME}-shim`, `ClusterRole/${FULLNAME}-approver`, `Role/${FULLNAME}-leader-election`,
      `ValidatingAdmissionPolicy/${FULLNAME}-approval`, "GuardrailPolicy/default",
      `NetworkPolicy/${FULLNAME}`, `ServiceMonitor/${FULLNAME}`, `PrometheusRule/${FULLNAME}`, `ConfigMap/${FULLNAME}-dashboard`,
    ]));
    const operator = objs.find((o) => o.kind === "Deployment" && o.metadata.name === FULLNAME)!;
    expect(operator.spec!.replicas).toBe(2);
    expect(objs.find((o) => o.kind === "PodDisruptionBudget" && o.metadata.name === FULLNAME)!.spec!.maxUnavailable).toBe(1);
    for (const d of objs.filter((o) => o.kind === "Deployment")) {
      const pod = (d.spec!.template as { spec: { securityContext: Record<string, unknown>; containers: { securityContext: Record<string, unknown> }[] } }).spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      for (const ctr of pod.containers) {
        expect(ctr.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
      }
    }
    for (const crd of objs.filter((o) => o.kind === "CustomResourceDefinition")) expect(crd.metadata.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
  });

  it("tracing: the OTLP endpoint reaches both processes when set, and nothing when unset", () => {
    const env = (values: Record<string, string>) =>
      docs(render(RELEASE, NS, values)).filter((o) => o.kind === "Deployment").map((d) =>
        (d.spec!.template as { spec: { containers: { env?: { name: string; value?: string }[] }[] } }).spec.containers[0]!.env?.find((e) => e.name === "OTEL_EXPORTER_OTLP_ENDPOINT")?.value);
    expect(env({ "tracing.otlpEndpoint": "http://otel-collector.observability:4318" })).toEqual(["http://otel-collector.observability:4318", "http://otel-collector.observability:4318"]);
    expect(env({})).toEqual([undefined, undefined]);
    expect(() => render(RELEASE, NS, { "tracing.otlpEndpoint": "otel-collector:4317" })).toThrow(/otlpEndpoint/);
  });

  it("tracing: the OTLP protocol reaches both processes when set; a grpc endpoint with a path and an unknown protocol are refused", () => {
    const protocol = (values: Record<string, string>) =>
      docs(render(RELEASE, NS, values)).filter((o) => o.kind === "Deployment").map((d) =>
        (d.spec!.template as { spec: { containers: { env?: { name: string; value?: string }[] }[] } }).spec.containers[0]!.env?.find((e) => e.name === "OTEL_EXPORTER_OTLP_PROTOCOL")?.value);
    expect(protocol({ "tracing.otlpEndpoint": "http://otel-collector.observability:4317", "tracing.otlpProtocol": "grpc" })).toEqual(["grpc", "grpc"]);
    expect(protocol({ "tracing.otlpEndpoint": "http://otel-collector.observability:4318", "tracing.otlpProtocol": "http/json" })).toEqual(["http/json", "http/json"]);
    expect(protocol({ "tracing.otlpEndpoint": "http://otel-collector.observability:4318" })).toEqual([undefined, undefined]);
    expect(() => render(RELEASE, NS, { "tracing.otlpProtocol": "http" })).toThrow(/otlpProtocol/);
    expect(() => render(RELEASE, NS, { "tracing.otlpEndpoint": "http://otel-collector:4318/v1/traces", "tracing.otlpProtocol": "grpc" })).toThrow(/no path when tracing.otlpProtocol is grpc/);
  });

  it("refuses values outside values.schema.json and contradictory settings", () => {
    expect(() => render(RELEASE, NS, { "rbac.scope": "everywhere" })).toThrow(/rbac\/scope|rbac\.scope|scope/);
    expect(() => render(RELEASE, NS, { "operator.workers.actions": 0 })).toThrow(/actions/);
    expect(() => render(RELEASE, NS, { "operator.leaderElection.enabled": false })).toThrow(/needs operator.leaderElection.enabled/);
  });
});

describe("on the control plane", () => {
  it("every rendered object passes server-side dry-run, in both RBAC scopes and with every option on", () => {
    for (const values of [EVERYTHING, { ...EVERYTHING, "rbac.scope": "namespace" }]) {
      const out = ok(kubectlRun(["apply", "--server-side", "--dry-run=server", "--field-manager=e2e-chart", "-f", "-"], render(RELEASE, NS, values)), "dry-run");
      expect(out).toMatch(/servicemonitor.monitoring.coreos.com\/chart-smartops-operator serverside-applied \(server dry run\)/);
      expect(out).toMatch(/guardrailpolicy.smartops.io\/default serverside-applied \(server dry run\)/);
      expect(out).not.toMatch(/Warning/i);
    }
  });

  it("its pods are admitted under Pod Security `restricted` and become ready", async () => {
    const out = ok(kubectlRun(["apply", "--server-side", "--field-manager=e2e-chart", "-f", "-"], render(RELEASE, NS)), "apply");
    expect(out).not.toMatch(/PodSecurity/);
    await waitFor("operator and shim Deployments ready", async () => (await readyReplicas(FULLNAME)) === 2 && (await readyReplicas(`${FULLNAME}-shim`)) === 2, 90_000);
    const pods = await c.core.listNamespacedPod({ namespace: NS, labelSelector: `app.kubernetes.io/instance=${RELEASE}` });
    expect(pods.items.map((p) => p.metadata?.labels?.["app.kubernetes.io/component"]).sort()).toEqual(["operator", "operator", "shim", "shim"]);
    const policy = ok(kubectlRun(["get", "guardrailpolicies.smartops.io", "default", "-n", NS, "-o", "jsonpath={.spec.replicas.max} {.spec.cooldownSeconds.restart}"]), "policy");
    expect(policy).toBe("8 300");
  });

  it("and the namespace really enforces it: without seccomp and with privilege escalation no pod is created", async () => {
    const operator = docs(render(RELEASE, NS)).find((o) => o.kind === "Deployment" && o.metadata.name === FULLNAME)!;
    const name = `${FULLNAME}-unrestricted`;
    const bad = structuredClone(operator) as Obj & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { securityContext: Record<string, unknown>; containers: { securityContext: Record<string, unknown> }[] } } } };
    bad.metadata.name = name;
    bad.spec.selector.matchLabels["app.kubernetes.io/component"] = "unrestricted";
    bad.spec.template.metadata.labels["app.kubernetes.io/component"] = "unrestricted";
    delete bad.spec.template.spec.securityContext.seccompProfile;
    bad.spec.template.spec.containers[0]!.securityContext = { allowPrivilegeEscalation: true };
    const out = ok(kubectlRun(["apply", "--server-side", "--field-manager=e2e-chart", "-f", "-"], stringify(bad)), "apply unrestricted");
    expect(out).toMatch(/would violate PodSecurity "restricted:latest"/);
    const failure = await waitFor("ReplicaFailure", async () => {
      const rs = await c.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: "app.kubernetes.io/component=unrestricted" });
      return rs.items[0]?.status?.conditions?.find((cond) => cond.type === "ReplicaFailure")?.message;
    });
    expect(failure).toMatch(/violates PodSecurity "restricted:latest"/);
    expect(await readyReplicas(name)).toBe(0);
  });

  it("`helm install`: CRDs, the release, then the seed policy by its hook; `helm upgrade` updates the CRDs; `helm uninstall` keeps them", () => {
    const ns = "e2e-chart-helm";
    restrictedNamespace(ns);
    // A copy of the chart under its own API group: a first install really creates
    // its CRDs, and the suite's smartops.io CRDs are never touched.
    const group = "e2e-chart.smartops.io";
    const chart = chartCopy(group);
    const crds = ["anomalysignals", "rcasignals", "remediationactions", "guardrailpolicies"].map((p) => `customresourcedefinition/${p}.${group}`);
    const policy = () => ok(kubectlRun(["get", `guardrailpolicies.${group}`, "default", "-n", ns, "-o", "jsonpath={.spec.rateLimits.maxActionsPerHour}"]), "policy");
    const description = () => ok(kubectlRun(["get", crds[3]!, "-o", "jsonpath={.spec.versions[0].schema.openAPIV3Schema.description}"]), "CRD");
    const args = ["chart-helm", chart, "--namespace", ns, "--wait", "--timeout", "120s"];
    try {
      ok(helm(["install", ...args]), "helm install");
      expect(policy()).toBe("6");

      const crdFile = join(chart, "templates/crd/smartops.io_guardrailpolicies.yaml");
      writeFileSync(crdFile, readFileSync(crdFile, "utf8").replace(/(openAPIV3Schema:\n\s+type: object\n\s+description: ")/, "$1Upgraded. "));
      ok(helm(["upgrade", ...args, "--set", "guardrailPolicy.spec.rateLimits.maxActionsPerHour=4"]), "helm upgrade");
      expect(description()).toMatch(/^Upgraded\. Limits for automated remediation/);
      expect(policy()).toBe("4");

      expect(ok(helm(["uninstall", "chart-helm", "--namespace", ns, "--wait"]), "helm uninstall")).toMatch(/kept due to the resource policy/);
      expect(ok(kubectlRun(["get", "deployments,services,roles", "-n", ns, "-o", "name"]), "objects")).toBe("");
      expect(ok(kubectlRun(["get", ...crds, "-o", "name"]), "CRDs kept").trim().split("\n")).toHaveLength(4);
    } finally {
      // Gone before the next file runs: its kinds share names with smartops.io's.
      kubectlRun(["delete", ...crds, "--ignore-not-found", "--timeout=60s"]);
    }
  }, 300_000);
});
