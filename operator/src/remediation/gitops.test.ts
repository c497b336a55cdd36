import { describe, expect, it } from "vitest";
import { type ArgoCdTracking, gitOpsManagement, type GitOpsPolicy, judgeGitOps } from "./gitops.ts";

const DEFAULTS: GitOpsPolicy = { scale: "Block", restart: "Allow", patch: "Block", deletePod: "Allow" };

describe("gitOpsManagement: which tool applies a Deployment from Git", () => {
  const cases: Array<{ name: string; labels?: Record<string, string>; annotations?: Record<string, string>; tracking?: ArgoCdTracking; want: ReturnType<typeof gitOpsManagement> }> = [
    {
      name: "Argo CD's tracking-id annotation: the application before the first colon",
      annotations: { "argocd.argoproj.io/tracking-id": "erp:apps/Deployment:team-a/erp" },
      want: { tool: "ArgoCD", app: "erp", via: "annotation argocd.argoproj.io/tracking-id" },
    },
    { name: "the instance label alone, under annotation tracking: not Argo CD (Helm charts set it too)", labels: { "app.kubernetes.io/instance": "erp" }, want: undefined },
    {
      name: "the instance label under label tracking",
      labels: { "app.kubernetes.io/instance": "erp" }, tracking: "label",
      want: { tool: "ArgoCD", app: "erp", via: "label app.kubernetes.io/instance" },
    },
    {
      name: "the instance label under annotation+label tracking",
      labels: { "app.kubernetes.io/instance": "erp" }, tracking: "annotation+label",
      want: { tool: "ArgoCD", app: "erp", via: "label app.kubernetes.io/instance" },
    },
    {
      name: "Flux kustomize-controller labels: Kustomization namespace/name",
      labels: { "kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system" },
      want: { tool: "Flux", app: "Kustomization flux-system/apps", via: "label kustomize.toolkit.fluxcd.io/name" },
    },
    {
      name: "Flux helm-controller labels: HelmRelease namespace/name",
      labels: { "helm.toolkit.fluxcd.io/name": "erp", "helm.toolkit.fluxcd.io/namespace": "team-a" },
      want: { tool: "Flux", app: "HelmRelease team-a/erp", via: "label helm.toolkit.fluxcd.io/name" },
    },
    { name: "nothing: unmanaged", labels: { app: "erp" }, want: undefined },
  ];
  it.each(cases)("$name", ({ labels, annotations, tracking, want }) => {
    expect(gitOpsManagement({ labels, annotations }, tracking)).toEqual(want);
  });
});

describe("judgeGitOps: the policy per action type", () => {
  const argo = { tool: "ArgoCD" as const, app: "erp", via: "annotation argocd.argoproj.io/tracking-id" };
  it("blocks scale and patch by default, naming the tool and the application", () => {
    for (const type of ["scale", "patch"] as const) {
      const d = judgeGitOps(argo, type, DEFAULTS, "team-a/erp");
      expect(d.verdict).toBe("block");
      expect(d.verdict === "block" && d.message).toMatch(/managed from Git by Argo CD application erp/);
    }
  });
  it("allows restart and delete-pod by default, as drift a sync does not undo", () => {
    for (const type of ["restart", "delete-pod"] as const) {
      const d = judgeGitOps(argo, type, DEFAULTS, "team-a/erp");
      expect(d).toMatchObject({ verdict: "drift", drift: { tool: "ArgoCD", app: "erp", revertedBySync: false } });
    }
  });
  it("a scale allowed by policy is drift the next sync reverts", () => {
    const d = judgeGitOps({ tool: "Flux", app: "Kustomization flux-system/apps", via: "x" }, "scale", { ...DEFAULTS, scale: "Allow" }, "team-a/erp");
    expect(d).toMatchObject({ verdict: "drift", drift: { tool: "Flux", revertedBySync: true } });
    expect(d.verdict === "drift" && d.drift.message).toMatch(/drift from Git.*will be reverted by the next sync unless it is committed to Git/);
  });
  it("a restart blocked by policy is blocked", () => {
    expect(judgeGitOps(argo, "restart", { ...DEFAULTS, restart: "Block" }, "team-a/erp").verdict).toBe("block");
  });
  it("an unmanaged Deployment is never judged", () => {
    expect(judgeGitOps(undefined, "patch", DEFAULTS, "team-a/erp")).toEqual({ verdict: "unmanaged" });
  });
});
