// The GitOps and field-owner checks of admission, table-driven against the
// in-memory KubeApi: what ends Blocked (and that the Deployment is untouched),
// what goes on with the drift and the previous owners in status, and the
// Warning Event a drift gets.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { GuardrailPolicy, RemediationAction } from "../../api/v1alpha1/objects.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import { DEPLOYMENTS, GUARDRAIL_POLICIES, PODS, REMEDIATION_ACTIONS, REPLICASETS } from "../../k8s/resources.ts";
import { FakeKubeApi } from "../../k8s/testing/fake-api.ts";
import { silentLogger } from "../../telemetry/logger.ts";
import {
  action, available, cacheOfApi, deployment, dryRun, managedBy, NAMESPACE, type Opt, policy, replicaSet, T0, withAnnotations, withLabels,
  withPatch, withReplicas, withScale, withType,
} from "../testing/builders.ts";
import { ActionController } from "./controller.ts";
import type { OwnershipSettings } from "./field-owners.ts";

const ARGO = withAnnotations({ "argocd.argoproj.io/tracking-id": "erp:apps/Deployment:team-a/web" });
const FLUX = withLabels({ "kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system" });
const replicasOwnedBy = (manager: string, operation: "Apply" | "Update" = "Update") => managedBy({ manager, operation, fields: { "f:spec": { "f:replicas": {} } } });
const annotationsOwnedBy = (manager: string) => managedBy({ manager, operation: "Apply", fields: { "f:spec": { "f:template": { "f:metadata": { "f:annotations": { "f:example.com/tier": {} } } } } } });
const withTier = (d: V1Deployment) => { d.spec!.template!.metadata = { ...d.spec!.template!.metadata, annotations: { "example.com/tier": "a" } }; };
const patchTier = withPatch({ spec: { template: { metadata: { annotations: { "example.com/tier": "b" } } } } });

const gitops = (modes: Partial<GuardrailPolicy["spec"]["gitops"]>): Opt<GuardrailPolicy> => (p) => { (p.spec as Record<string, unknown>).gitops = modes; };
const fieldConflicts = (fc: Partial<GuardrailPolicy["spec"]["fieldConflicts"]>): Opt<GuardrailPolicy> => (p) => { (p.spec as Record<string, unknown>).fieldConflicts = fc; };

function harness(opts: { action: RemediationAction; deployment: V1Deployment; policies?: Opt<GuardrailPolicy>[][]; ownership?: OwnershipSettings }) {
  const now = T0 + 10_000;
  const api = new FakeKubeApi({ now: () => now });
  api.seed(DEPLOYMENTS, opts.deployment);
  api.seed(REPLICASETS, replicaSet(api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!));
  (opts.policies ?? []).forEach((o, i) => api.seed(GUARDRAIL_POLICIES, policy(`p${i}`, ...o)));
  api.seed(REMEDIATION_ACTIONS, opts.action);
  const events: string[] = [];
  const recorder: EventRecorder = { record: (r, type, reason, _action, note) => events.push(`${type} ${reason} ${r.kind}: ${note}`) };
  const ctl = new ActionController({
    api, actions: cacheOfApi(api, REMEDIATION_ACTIONS), deployments: cacheOfApi(api, DEPLOYMENTS), pods: cacheOfApi(api, PODS),
    replicaSets: cacheOfApi(api, REPLICASETS), policies: cacheOfApi(api, GUARDRAIL_POLICIES), events: recorder,
    operatorNamespace: "smartops-system", log: silentLogger(), now: () => now, ...(opts.ownership ? { ownership: opts.ownership } : {}),
  });
  return {
    api, events,
    stored: () => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, opts.action.metadata.name)!,
    target: () => api.stored<V1Deployment>(DEPLOYMENTS, NAMESPACE, "web")!,
    reconcile: async () => { api.reset(); await ctl.reconcile(`${NAMESPACE}/web`); },
    deploymentWrites: () => api.writes().filter((c) => !c.error && c.resource === "deployments" && !c.dryRun),
  };
}

const scale = (...o: Opt<RemediationAction>[]) => action("act", withScale({ replicas: 3 }), ...o);
const patch = (...o: Opt<RemediationAction>[]) => action("act", patchTier, ...o);

describe("admission blocks on the Deployment's other owners, before anything is written", () => {
  const cases: Array<{ name: string; action: RemediationAction; deployment: V1Deployment; policies?: Opt<GuardrailPolicy>[][]; ownership?: OwnershipSettings; reason: string; message: RegExp }> = [
    {
      name: "a patch of an Argo CD-tracked Deployment: ManagedByGitOps first, naming the application",
      action: patch(), deployment: deployment("web", withTier, ARGO, annotationsOwnedBy("argocd-controller"), available()),
      reason: "ManagedByGitOps", message: /managed from Git by Argo CD application erp \(annotation argocd.argoproj.io\/tracking-id\)/,
    },
    {
      name: "the same patch with gitops.patch Allow: the field's protected owner blocks it",
      action: patch(), deployment: deployment("web", withTier, ARGO, annotationsOwnedBy("argocd-controller"), available()),
      policies: [[gitops({ patch: "Allow" })]],
      reason: "FieldOwnedByOtherManager", message: /\/spec\/template\/metadata\/annotations\/example.com~1tier is owned by field manager "argocd-controller" \(Apply\)/,
    },
    {
      name: "a scale of a Flux-labelled Deployment",
      action: scale(), deployment: deployment("web", withReplicas(2), FLUX, available()),
      reason: "ManagedByGitOps", message: /Flux Kustomization flux-system\/apps/,
    },
    {
      name: "a scale of a Deployment labelled with the Argo CD instance when Argo CD tracks by label",
      action: scale(), deployment: deployment("web", withReplicas(2), withLabels({ "app.kubernetes.io/instance": "erp" }), available()),
      ownership: { argoCdTracking: "label", fieldManager: "smartops-operator" },
      reason: "ManagedByGitOps", message: /Argo CD application erp \(label app.kubernetes.io\/instance\)/,
    },
    {
      name: "a scale of replicas Helm owns",
      action: scale(), deployment: deployment("web", withReplicas(2), replicasOwnedBy("helm"), available()),
      reason: "FieldOwnedByOtherManager", message: /\/spec\/replicas is owned by field manager "helm" \(Update\)/,
    },
    {
      name: "a scale of replicas a manager the policy protects owns",
      action: scale(), deployment: deployment("web", withReplicas(2), replicasOwnedBy("team-tuner"), available()),
      policies: [[fieldConflicts({ protectedManagers: ["team-tuner"] })]],
      reason: "FieldOwnedByOtherManager", message: /"team-tuner"/,
    },
    {
      name: "Block wins over another covering policy's Force",
      action: scale(), deployment: deployment("web", withReplicas(2), replicasOwnedBy("team-tuner"), available()),
      policies: [[fieldConflicts({ mode: "Force", protectedManagers: ["team-tuner"] })], [fieldConflicts({ mode: "Block" })]],
      reason: "FieldOwnedByOtherManager", message: /"team-tuner"/,
    },
    {
      name: "a dry run says it would be blocked",
      action: scale(dryRun()), deployment: deployment("web", withReplicas(2), replicasOwnedBy("kustomize-controller", "Apply"), available()),
      reason: "FieldOwnedByOtherManager", message: /^would be blocked: FieldOwnedByOtherManager: \/spec\/replicas is owned by field manager "kustomize-controller"/,
    },
  ];
  it.each(cases)("$name", async (c) => {
    const h = harness(c);
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Blocked", reason: c.reason });
    expect(h.stored().status?.message).toMatch(c.message);
    expect(h.stored().status?.intent).toBeUndefined();
    expect(h.deploymentWrites()).toEqual([]);
    expect(h.target().spec?.replicas).toBe(c.deployment.spec?.replicas);
  });
});

describe("admission lets the action on and records who else owned what", () => {
  it("a scale of replicas kubectl applied: scaled, the previous owner in status", async () => {
    const h = harness({ action: scale(), deployment: deployment("web", withReplicas(2), replicasOwnedBy("kubectl-client-side-apply"), available()) });
    await h.reconcile();
    expect(h.stored().status?.phase).toBe("Verifying");
    expect(h.target().spec?.replicas).toBe(3);
    expect(h.stored().status?.previousOwners).toEqual([{ path: "/spec/replicas", manager: "kubectl-client-side-apply", operation: "Update", time: new Date(T0).toISOString() }]);
    expect(h.stored().status?.drift).toBeUndefined();
  });

  it("Force changes a protected manager's field and marks it", async () => {
    const h = harness({
      action: scale(), deployment: deployment("web", withReplicas(2), replicasOwnedBy("team-tuner"), available()),
      policies: [[fieldConflicts({ mode: "Force", protectedManagers: ["team-tuner"] })]],
    });
    await h.reconcile();
    expect(h.target().spec?.replicas).toBe(3);
    expect(h.stored().status?.previousOwners).toMatchObject([{ path: "/spec/replicas", manager: "team-tuner", protected: true }]);
  });

  it("the operator's own field manager (as configured) is not another owner, even when a policy lists it", async () => {
    const setup = (fieldManager: string) => harness({
      action: scale(), deployment: deployment("web", withReplicas(2), replicasOwnedBy("ops-bot"), available()),
      policies: [[fieldConflicts({ protectedManagers: ["ops-bot"] })]],
      ownership: { argoCdTracking: "annotation", fieldManager },
    });
    const other = setup("smartops-operator");
    await other.reconcile();
    expect(other.stored().status?.reason).toBe("FieldOwnedByOtherManager");
    const self = setup("ops-bot");
    await self.reconcile();
    expect(self.target().spec?.replicas).toBe(3);
    expect(self.stored().status?.previousOwners).toBeUndefined();
  });

  it("a restart of an Argo CD-tracked Deployment: allowed, the drift in status and a Warning Event on the Deployment", async () => {
    const h = harness({ action: action("act", withType("restart")), deployment: deployment("web", ARGO, available()) });
    await h.reconcile();
    expect(h.stored().status?.phase).toBe("Verifying");
    expect(h.stored().status?.drift).toMatchObject({ tool: "ArgoCD", app: "erp", revertedBySync: false, message: expect.stringMatching(/^drift from Git/) });
    expect(h.events).toContainEqual(expect.stringMatching(/^Warning GitOpsDrift Deployment: action act: drift from Git: Deployment team-a\/web is managed by Argo CD application erp/));
  });

  it("a scale allowed by gitops.scale Allow is drift the next sync reverts", async () => {
    const h = harness({ action: scale(), deployment: deployment("web", withReplicas(2), FLUX, available()), policies: [[gitops({ scale: "Allow" })]] });
    await h.reconcile();
    expect(h.target().spec?.replicas).toBe(3);
    expect(h.stored().status?.drift).toMatchObject({ tool: "Flux", revertedBySync: true });
    expect(h.events.filter((e) => e.includes("GitOpsDrift"))).toHaveLength(1);
  });

  it("a dry run on a GitOps-managed Deployment records the drift it would make, with no Event", async () => {
    const h = harness({ action: action("act", withType("restart"), dryRun()), deployment: deployment("web", ARGO, available()) });
    await h.reconcile();
    expect(h.stored().status).toMatchObject({ phase: "Succeeded", reason: "DryRunSucceeded", drift: { tool: "ArgoCD" } });
    expect(h.events.filter((e) => e.includes("GitOpsDrift"))).toEqual([]);
  });
});
