// The chart's RBAC, rendered and applied, in both scopes: every permission
// docs/security.md promises (yes) and every one it rules out (no: creating or
// deleting Deployments, touching Secrets, ConfigMaps, RBAC or Nodes, exec),
// checked with `kubectl auth can-i --as=system:serviceaccount:…` exactly as the
// doc prints the commands.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { installKedaCrd, removeKedaCrd } from "./support/keda.ts";
import { parseAllDocuments } from "yaml";
import { kubectlRun, render } from "./support/helm.ts";
import { clients, waitFor } from "./support/kube.ts";
import { serviceAccountKubeconfig, serviceAccountToken, startOperator } from "./support/operator.ts";
import { startShimProcess } from "./support/shim.ts";

type Who = "OPERATOR" | "SHIM" | "APPROVER";
/** Where the check is made: a watched workload namespace, the release's, one not watched, or cluster scope. */
type Where = "APPS" | "RELEASE_NS" | "OTHER" | "";
interface Check {
  who: Who;
  verb: string;
  resource: string;
  sub?: string;
  where: Where;
  yes: boolean;
}

const may = (who: Who, where: Where, verb: string, resource: string, sub?: string): Check => ({ who, verb, resource, sub, where, yes: true });
const mayNot = (who: Who, where: Where, verb: string, resource: string, sub?: string): Check => ({ who, verb, resource, sub, where, yes: false });
const SO = (plural: string) => `${plural}.smartops.io`;

const MATRIX: Check[] = [
  // operator: what the closed loop needs
  ...["get", "list", "watch", "patch"].map((v) => may("OPERATOR", "APPS", v, "deployments.apps")),
  ...["get", "list", "watch"].map((v) => may("OPERATOR", "APPS", v, "pods")),
  ...["get", "list", "watch"].map((v) => may("OPERATOR", "APPS", v, "replicasets.apps")),
  may("OPERATOR", "APPS", "create", "pods", "eviction"),
  // autoscalers: read to know which Deployments are autoscaled; patch only to raise and restore a floor (AdjustAutoscaler)
  ...["get", "list", "watch", "patch"].map((v) => may("OPERATOR", "APPS", v, "horizontalpodautoscalers.autoscaling")),
  ...["get", "list", "watch", "patch"].map((v) => may("OPERATOR", "APPS", v, "scaledobjects.keda.sh")),
  ...["get", "list", "watch"].map((v) => may("OPERATOR", "APPS", v, "events")),
  may("OPERATOR", "APPS", "create", "events.events.k8s.io"), may("OPERATOR", "APPS", "patch", "events.events.k8s.io"),
  ...["anomalysignals", "rcasignals", "guardrailpolicies", "remediationactions"].flatMap((p) => [
    may("OPERATOR", "APPS", "watch", SO(p)), may("OPERATOR", "APPS", "update", SO(p), "status"), may("OPERATOR", "APPS", "patch", SO(p), "status"),
  ]),
  may("OPERATOR", "APPS", "create", SO("remediationactions")), may("OPERATOR", "APPS", "closed-loop", SO("remediationactions")),
  // retention: terminal signals and actions, with uid + resourceVersion preconditions
  ...["remediationactions", "anomalysignals", "rcasignals"].map((p) => may("OPERATOR", "APPS", "delete", SO(p))),
  may("OPERATOR", "RELEASE_NS", "update", "leases.coordination.k8s.io"), may("OPERATOR", "RELEASE_NS", "create", "leases.coordination.k8s.io"),
  // operator: never creates or deletes workloads, touches Secrets, RBAC or Nodes, approves or rewrites an action
  mayNot("OPERATOR", "APPS", "create", "deployments.apps"), mayNot("OPERATOR", "APPS", "delete", "deployments.apps"),
  mayNot("OPERATOR", "APPS", "update", "deployments.apps"),
  ...["create", "update", "delete"].map((v) => mayNot("OPERATOR", "APPS", v, "horizontalpodautoscalers.autoscaling")),
  mayNot("OPERATOR", "APPS", "create", "scaledobjects.keda.sh"), mayNot("OPERATOR", "APPS", "delete", "scaledobjects.keda.sh"),
  mayNot("OPERATOR", "APPS", "get", "deployments.apps", "scale"), mayNot("OPERATOR", "APPS", "patch", "deployments.apps", "scale"),
  mayNot("OPERATOR", "APPS", "patch", "replicasets.apps"), mayNot("OPERATOR", "APPS", "delete", "replicasets.apps"),
  ...["create", "update", "patch", "delete"].map((v) => mayNot("OPERATOR", "APPS", v, "configmaps")),
  ...["get", "list", "create", "update", "patch", "delete"].map((v) => mayNot("OPERATOR", "APPS", v, "secrets")),
  mayNot("OPERATOR", "APPS", "create", "roles.rbac.authorization.k8s.io"), mayNot("OPERATOR", "APPS", "create", "rolebindings.rbac.authorization.k8s.io"),
  mayNot("OPERATOR", "", "create", "clusterroles.rbac.authorization.k8s.io"), mayNot("OPERATOR", "", "create", "clusterrolebindings.rbac.authorization.k8s.io"),
  mayNot("OPERATOR", "", "escalate", "clusterroles.rbac.authorization.k8s.io"), mayNot("OPERATOR", "", "bind", "clusterroles.rbac.authorization.k8s.io"),
  mayNot("OPERATOR", "", "patch", "nodes"), mayNot("OPERATOR", "", "update", "nodes"), mayNot("OPERATOR", "", "delete", "nodes"),
  mayNot("OPERATOR", "APPS", "create", "pods", "exec"), mayNot("OPERATOR", "APPS", "create", "pods", "attach"),
  mayNot("OPERATOR", "APPS", "create", "pods"), mayNot("OPERATOR", "APPS", "delete", "pods"),
  mayNot("OPERATOR", "APPS", "patch", SO("remediationactions")), mayNot("OPERATOR", "APPS", "update", SO("remediationactions")),
  mayNot("OPERATOR", "APPS", "approve", SO("remediationactions")),
  mayNot("OPERATOR", "APPS", "create", SO("anomalysignals")), mayNot("OPERATOR", "APPS", "patch", SO("guardrailpolicies")),
  mayNot("OPERATOR", "APPS", "create", "serviceaccounts", "token"), mayNot("OPERATOR", "", "impersonate", "users"),
  mayNot("OPERATOR", "APPS", "update", "leases.coordination.k8s.io"),
  // shim: the seed API over the CRDs, authenticating and authorizing its callers
  ...["anomalysignals", "rcasignals", "remediationactions"].flatMap((p) => ["create", "get", "list", "watch"].map((v) => may("SHIM", "APPS", v, SO(p)))),
  may("SHIM", "", "create", "tokenreviews.authentication.k8s.io"), may("SHIM", "", "create", "subjectaccessreviews.authorization.k8s.io"),
  may("SHIM", "APPS", "get", "deployments.apps"), may("SHIM", "APPS", "list", "deployments.apps"),
  mayNot("SHIM", "APPS", "patch", "deployments.apps"), mayNot("SHIM", "APPS", "patch", "deployments.apps", "scale"),
  mayNot("SHIM", "APPS", "delete", "deployments.apps"), mayNot("SHIM", "APPS", "create", "pods", "eviction"),
  mayNot("SHIM", "APPS", "patch", SO("remediationactions")), mayNot("SHIM", "APPS", "approve", SO("remediationactions")),
  mayNot("SHIM", "APPS", "closed-loop", SO("remediationactions")),
  mayNot("SHIM", "APPS", "update", SO("remediationactions"), "status"), mayNot("SHIM", "APPS", "delete", SO("anomalysignals")),
  mayNot("SHIM", "APPS", "create", SO("guardrailpolicies")), mayNot("SHIM", "APPS", "get", "secrets"),
  mayNot("SHIM", "APPS", "create", "configmaps"), mayNot("SHIM", "APPS", "create", "pods", "exec"),
  // an approver: the ClusterRole bound by a RoleBinding in one namespace
  ...["get", "list", "watch", "patch", "approve"].map((v) => may("APPROVER", "APPS", v, SO("remediationactions"))),
  mayNot("APPROVER", "OTHER", "approve", SO("remediationactions")), mayNot("APPROVER", "APPS", "create", SO("remediationactions")),
  mayNot("APPROVER", "APPS", "delete", SO("remediationactions")), mayNot("APPROVER", "APPS", "patch", SO("remediationactions"), "status"),
  mayNot("APPROVER", "APPS", "patch", "deployments.apps"), mayNot("APPROVER", "APPS", "closed-loop", SO("remediationactions")),
];

/** The command as docs/security.md prints it, with shell variables for the names. */
function command(c: Check): string {
  return `kubectl auth can-i ${c.verb} ${c.resource}${c.sub ? ` --subresource=${c.sub}` : ""} --as=$${c.who}${c.where ? ` -n $${c.where}` : ""}`;
}

interface Mode {
  scope: "cluster" | "namespace";
  release: string;
  ns: string;
  apps: string;
  other: string;
}

function ok(r: { status: number | null; stdout: string; stderr: string }): string {
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

function canIArgs(c: Check, m: Mode, vars: Record<Who, string>): string[] {
  const ns = { APPS: m.apps, RELEASE_NS: m.ns, OTHER: m.other, "": "" }[c.where];
  return ["auth", "can-i", c.verb, c.resource, ...(c.sub ? [`--subresource=${c.sub}`] : []), `--as=${vars[c.who]}`, ...(ns ? ["-n", ns] : [])];
}

const run = promisify(execFile);
async function askCanI(args: string[]): Promise<boolean> {
  try {
    const { stdout } = await run(inject("kubectl"), ["--kubeconfig", inject("kubeconfig"), ...args], { timeout: 60_000 });
    if (stdout.trim() === "yes") return true;
  } catch (err) {
    // can-i exits 1 when the answer is no.
    if (String((err as { stdout?: string }).stdout ?? "").trim() === "no") return false;
    throw err;
  }
  throw new Error(`kubectl ${args.join(" ")}: neither yes nor no`);
}

const MODES: Mode[] = [
  { scope: "cluster", release: "rbac-cw", ns: "e2e-chart-rbac-cw", apps: "e2e-chart-rbac-apps", other: "e2e-chart-rbac-other" },
  { scope: "namespace", release: "rbac-ns", ns: "e2e-chart-rbac-ns", apps: "e2e-chart-rbac-watched", other: "e2e-chart-rbac-other" },
];

// can-i answers no for a kind the API server does not serve: the scaledobjects.keda.sh checks need its CRD.
beforeAll(() => {
  installKedaCrd();
});

afterAll(() => {
  kubectlRun(["delete", "namespace", MODES[0]!.other, "--wait=false", "--ignore-not-found"]);
  removeKedaCrd();
});

it("docs/security.md prints every command this suite runs", () => {
  const doc = readFileSync(resolve(import.meta.dirname, "../docs/security.md"), "utf8");
  const missing = MATRIX.map(command).filter((cmd) => !doc.includes(cmd));
  expect(missing).toEqual([]);
});

describe.each(MODES)("chart RBAC, rbac.scope=$scope", (m) => {
  const fullname = `${m.release}-smartops-operator`;
  const vars: Record<Who, string> = {
    OPERATOR: `system:serviceaccount:${m.ns}:${fullname}`,
    SHIM: `system:serviceaccount:${m.ns}:${fullname}-shim`,
    APPROVER: `approver-${m.release}`,
  };

  let rendered = "";
  const outside = (c: Check): Check => ({ ...c, where: "OTHER" });
  const grantedInApps = MATRIX.filter((c) => c.yes && c.where === "APPS" && c.who !== "APPROVER");
  // Asked all at once (a few kubectl at a time) once the RBAC is applied; each test reads its answer.
  const answers = new Map<string, Promise<boolean>>();
  const canI = (c: Check) => answers.get(canIArgs(c, m, vars).join(" "))!;

  beforeAll(async () => {
    const nsYaml = [m.ns, m.apps, m.other].map((n) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${n}}\n`).join("---\n");
    rendered = render(m.release, m.ns, { "rbac.scope": m.scope, ...(m.scope === "namespace" ? { watchNamespace: m.apps } : {}) });
    // Only what grants or binds permissions (and the ServiceAccounts): the pods are another suite's concern.
    const rbac = rendered.split(/^---$/m).filter((d) => /^kind: (ServiceAccount|Role|RoleBinding|ClusterRole|ClusterRoleBinding)$/m.test(d)).join("---\n");
    const binding = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${vars.APPROVER}, namespace: ${m.apps}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${fullname}-approver}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ${vars.APPROVER}}]
`;
    const r = kubectlRun(["apply", "--server-side", "--field-manager=e2e-chart", "-f", "-"], `${nsYaml}---\n${rbac}---\n${binding}`);
    if (r.status !== 0) throw new Error(r.stderr);
    const queue = [...MATRIX, ...grantedInApps.map(outside)].map((c) => canIArgs(c, m, vars));
    const workers = Array.from({ length: 6 }, async () => {
      for (let args = queue.shift(); args; args = queue.shift()) {
        const answer = askCanI(args);
        answers.set(args.join(" "), answer);
        await answer.catch(() => {});
      }
    });
    await Promise.all(workers);
  });

  afterAll(() => {
    kubectlRun(["delete", "namespace", m.ns, m.apps, "--wait=false", "--ignore-not-found"]);
    kubectlRun(["delete", "clusterrole,clusterrolebinding", "-l", `app.kubernetes.io/instance=${m.release}`, "--ignore-not-found"]);
  });

  it.each(MATRIX.map((c) => [command(c), c.yes ? "yes" : "no", c] as const))("%s → %s", async (_cmd, _answer, c) => {
    expect(await canI(c)).toBe(c.yes);
  });

  it.each(grantedInApps.map((c) => [command(outside(c)), m.scope === "namespace" ? "no (not watched)" : "yes (cluster-wide)", c] as const))(
    "%s → %s",
    async (_cmd, _answer, c) => {
      expect(await canI(outside(c))).toBe(m.scope === "cluster");
    },
  );

  it("the operator and the shim run under exactly this RBAC with the chart's environment: a signal sent through the shim is processed", async () => {
    const c = clients();
    const env = (deployment: string): Record<string, string> => {
      const d = parseAllDocuments(rendered).map((x) => x.toJS()).find((o) => o?.kind === "Deployment" && o.metadata.name === deployment);
      const vars = d.spec.template.spec.containers[0].env as { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
      const pod = { "metadata.name": `${deployment}-0`, "metadata.namespace": m.ns } as Record<string, string>;
      // The listen address is the harness's (a free loopback port); everything else as the pod gets it.
      return Object.fromEntries(vars.filter((v) => !v.name.endsWith("_LISTEN")).map((v) => [v.name, v.value ?? pod[v.valueFrom!.fieldRef.fieldPath]!]));
    };
    const opEnv = env(fullname);
    expect(opEnv.SMARTOPS_WATCH_NAMESPACE).toBe(m.scope === "namespace" ? m.apps : "");
    const op = await startOperator({
      kubeconfig: await serviceAccountKubeconfig(c, m.ns, fullname),
      identity: `${m.release}-0`,
      // The harness names the operator namespace itself; in the pod it comes from POD_NAMESPACE.
      env: { ...opEnv, SMARTOPS_OPERATOR_NAMESPACE: m.ns },
    });
    const shim = await startShimProcess(await serviceAccountKubeconfig(c, m.ns, `${fullname}-shim`), env(`${fullname}-shim`));
    try {
      await waitFor("the operator leads", async () => /^smartops_leader 1$/m.test(await op.metrics()), 30_000);
      ok(kubectlRun(["apply", "--server-side", "-f", "-"], `apiVersion: v1
kind: ServiceAccount
metadata: {name: agent, namespace: ${m.apps}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: agent-signals, namespace: ${m.apps}}
rules: [{apiGroups: [smartops.io], resources: [anomalysignals], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: agent-signals, namespace: ${m.apps}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: agent-signals}
subjects: [{kind: ServiceAccount, name: agent, namespace: ${m.apps}}]
`));
      const token = await serviceAccountToken(c, m.apps, "agent", ["smartops-shim"]);
      const windowId = `chart-${m.scope}`;
      const res = await fetch(`${shim.url}/v1/signals/anomaly`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ namespace: m.apps, windowId, service: "erp-simulator", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1" }),
      });
      const body = (await res.json()) as { accepted?: boolean; name?: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      const phase = await waitFor("the operator records what became of the signal", async () => {
        const s = (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: m.apps, plural: "anomalysignals", name: body.name! })) as { status?: { phase?: string } };
        return s.status?.phase;
      }, 30_000);
      expect(phase).toBeTruthy();
      expect(op.logs()).not.toMatch(/forbidden/i);
      expect(shim.logs()).not.toMatch(/forbidden/i);
    } finally {
      await Promise.all([op.stop(), shim.stop()]);
    }
  });
});
