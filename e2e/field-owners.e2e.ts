// The Deployment's other owners, on the real control plane: Deployments applied
// server-side by managers named as Argo CD, Flux, kubectl and a team's tool,
// with the marks those tools leave. The operator reads managedFields and the
// GitOps marks as the API server recorded them, and either refuses before any
// write (ManagedByGitOps, FieldOwnedByOtherManager) or acts and says whose
// field it changed (status.previousOwners) and that it made drift from Git
// (status.drift, a Warning Event on the Deployment).
import type * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { action, deploymentAvailable, permissive, waitForPhase } from "./support/loop.ts";
import { operatorUnderOwnRbac, type OperatorProcess } from "./support/operator.ts";

const c = clients();
const NS = "e2e-field-owners";
let op: OperatorProcess;
let n = 0;

/** A Deployment applied server-side by `manager`: it owns every field of the manifest. */
async function applied(name: string, manager: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Promise<void> {
  const manifest = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS, labels: { case: name, ...meta.labels }, ...(meta.annotations ? { annotations: meta.annotations } : {}) },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { "example.com/tier": "a" } },
        spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] },
      },
    },
  };
  kubectl(["apply", "--server-side", `--field-manager=${manager}`, "-f", "-"], JSON.stringify(manifest));
  await waitFor(`${NS}/${name} available`, () => deploymentAvailable(c, NS, name), 60_000);
}

/** One policy per Deployment (selected by its case label), so each case is judged by its own policy alone. */
const policyFor = (name: string, extra: Record<string, unknown> = {}) =>
  applySmartops(c, permissive(NS, { targets: { selector: { matchLabels: { case: name } } }, ...extra }, name));

async function act(target: string, spec: Record<string, unknown>) {
  const name = `act-${++n}`;
  await applySmartops(c, action(NS, name, { target: { name: target }, verify: false, ...spec }));
  return waitForPhase(c, NS, name);
}

const read = (name: string): Promise<k8s.V1Deployment> => c.apps.readNamespacedDeployment({ name, namespace: NS });
const PATCH_TIER = { type: "patch", patch: { merge: JSON.stringify({ spec: { template: { metadata: { annotations: { "example.com/tier": "b" } } } } }) } };
const ARGO_TRACKED = { annotations: { "argocd.argoproj.io/tracking-id": "erp:apps/Deployment:e2e-field-owners/argo" } };

beforeAll(async () => {
  await ensureNamespace(c, NS);
  await Promise.all([
    policyFor("argo"),
    policyFor("argo-allow", { gitops: { patch: "Allow" } }),
    policyFor("flux"),
    policyFor("kubectl"),
    policyFor("tuner", { fieldConflicts: { protectedManagers: ["team-tuner"] } }),
    policyFor("tuner-force", { fieldConflicts: { mode: "Force", protectedManagers: ["team-tuner"] } }),
  ]);
  await Promise.all([
    applied("argo", "argocd-controller", ARGO_TRACKED),
    applied("argo-allow", "argocd-controller", { annotations: { "argocd.argoproj.io/tracking-id": "erp:apps/Deployment:e2e-field-owners/argo-allow" } }),
    applied("flux", "kustomize-controller", { labels: { "kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system" } }),
    applied("kubectl", "kubectl"),
    applied("tuner", "team-tuner"),
    applied("tuner-force", "team-tuner"),
  ]);
  op = await operatorUnderOwnRbac(c, "field-owners");
}, 300_000);

afterAll(async () => {
  await op?.stop();
});

describe("Argo CD: a Deployment argocd-controller applied with the tracking annotation", () => {
  it("a patch of a field it owns is blocked as ManagedByGitOps: the GitOps check comes first and names the application", async () => {
    const before = await read("argo");
    const a = await act("argo", PATCH_TIER);
    expect(a.status, a.status?.message).toMatchObject({ phase: "Blocked", reason: "ManagedByGitOps" });
    expect(a.status?.message).toContain("managed from Git by Argo CD application erp");
    const after = await read("argo");
    expect(after.spec?.template?.metadata?.annotations?.["example.com/tier"]).toBe("a");
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
  });

  it("with gitops.patch Allow, the field's owner argocd-controller still blocks it: FieldOwnedByOtherManager", async () => {
    const a = await act("argo-allow", PATCH_TIER);
    expect(a.status, a.status?.message).toMatchObject({ phase: "Blocked", reason: "FieldOwnedByOtherManager" });
    expect(a.status?.message).toContain('/spec/template/metadata/annotations/example.com~1tier is owned by field manager "argocd-controller" (Apply)');
    expect((await read("argo-allow")).spec?.template?.metadata?.annotations?.["example.com/tier"]).toBe("a");
  });

  it("a restart is allowed; its status and a Warning Event on the Deployment say it is drift from Git", async () => {
    const a = await act("argo", { type: "restart" });
    expect(a.status, a.status?.message).toMatchObject({ phase: "Succeeded", drift: { tool: "ArgoCD", app: "erp", revertedBySync: false } });
    expect(a.status?.drift?.message).toMatch(/^drift from Git: Deployment e2e-field-owners\/argo is managed by Argo CD application erp/);
    expect((await read("argo")).spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBeDefined();
    await waitFor("the GitOpsDrift Event on the Deployment", () =>
      kubectl(["get", "events", "-n", NS, "--field-selector", "reason=GitOpsDrift,involvedObject.kind=Deployment", "-o", "jsonpath={.items[*].involvedObject.name}"]).split(" ").includes("argo") || undefined, 15_000);
  });
});

describe("Flux: a Deployment with the kustomize-controller labels", () => {
  it("a scale is blocked as ManagedByGitOps; a dry run says it would be", async () => {
    const dry = await act("flux", { type: "scale", scale: { replicas: 3 }, dryRun: true });
    expect(dry.status, dry.status?.message).toMatchObject({ phase: "Blocked", reason: "ManagedByGitOps" });
    expect(dry.status?.message).toMatch(/^would be blocked: ManagedByGitOps: .*Flux Kustomization flux-system\/apps/);
    const a = await act("flux", { type: "scale", scale: { replicas: 3 } });
    expect(a.status, a.status?.message).toMatchObject({ phase: "Blocked", reason: "ManagedByGitOps" });
    expect((await read("flux")).spec?.replicas).toBe(2);
  });
});

describe("field managers", () => {
  it("replicas kubectl applied: scaled, and kubectl named as the previous owner", async () => {
    const a = await act("kubectl", { type: "scale", scale: { replicas: 3 } });
    expect(a.status, a.status?.message).toMatchObject({ phase: "Succeeded" });
    expect(a.status?.previousOwners).toEqual([expect.objectContaining({ path: "/spec/replicas", manager: "kubectl", operation: "Apply" })]);
    const d = await read("kubectl");
    expect(d.spec?.replicas).toBe(3);
    // The write carries the operator's own field manager: managedFields now name it as the owner of spec.replicas.
    const owner = d.metadata?.managedFields?.find((m) => (m.fieldsV1 as { "f:spec"?: Record<string, unknown> })?.["f:spec"]?.["f:replicas"]);
    expect(owner?.manager).toBe("smartops-operator");
  });

  it("replicas a manager the policy protects owns: blocked, naming the manager and the field", async () => {
    const a = await act("tuner", { type: "scale", scale: { replicas: 3 } });
    expect(a.status, a.status?.message).toMatchObject({ phase: "Blocked", reason: "FieldOwnedByOtherManager" });
    expect(a.status?.message).toContain('/spec/replicas is owned by field manager "team-tuner" (Apply)');
    expect((await read("tuner")).spec?.replicas).toBe(2);
  });

  it("fieldConflicts.mode Force lets it through and records the protected owner", async () => {
    const a = await act("tuner-force", { type: "scale", scale: { replicas: 3 } });
    expect(a.status, a.status?.message).toMatchObject({ phase: "Succeeded" });
    expect(a.status?.previousOwners).toEqual([expect.objectContaining({ path: "/spec/replicas", manager: "team-tuner", protected: true })]);
    expect((await read("tuner-force")).spec?.replicas).toBe(3);
  });
});
