// Is a Deployment managed from Git, and by which tool and application? Argo CD
// and Flux both mark the objects they apply, so the mark on the Deployment
// itself says who will re-apply it on the next sync. A scale or patch of such a
// Deployment is drift: the next sync reverts it unless it is committed to Git;
// a restart or an eviction is not (no field Git holds changes), but the
// Deployment's owners still hear of it. Pure.
import type { ActionType } from "../api/v1alpha1/remediation-action.ts";

/** Argo CD's resource tracking: its tracking-id annotation (the default), or the instance label. */
export const ARGOCD_TRACKING_MODES = ["annotation", "label", "annotation+label"] as const;
export type ArgoCdTracking = (typeof ARGOCD_TRACKING_MODES)[number];

export const ARGOCD_TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id";
export const ARGOCD_INSTANCE_LABEL = "app.kubernetes.io/instance";
export const FLUX_LABELS = {
  kustomization: { name: "kustomize.toolkit.fluxcd.io/name", namespace: "kustomize.toolkit.fluxcd.io/namespace" },
  helmRelease: { name: "helm.toolkit.fluxcd.io/name", namespace: "helm.toolkit.fluxcd.io/namespace" },
} as const;

export type GitOpsTool = "ArgoCD" | "Flux";

export interface GitOpsManagement {
  tool: GitOpsTool;
  /** The Argo CD Application, or the Flux Kustomization / HelmRelease (namespace/name) that applies the Deployment. */
  app: string;
  /** The annotation or label that says so. */
  via: string;
}

interface Meta {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * The GitOps tool that manages an object, from its own metadata. Argo CD's
 * tracking-id annotation (`<app>:<group>/<kind>:<namespace>/<name>`) is always
 * recognised; the `app.kubernetes.io/instance` label only when Argo CD is said
 * to track by label, since Helm charts and many manifests set that label too.
 * Flux's kustomize-controller and helm-controller label what they apply with
 * the name and namespace of their Kustomization or HelmRelease.
 */
export function gitOpsManagement(meta: Meta | undefined, tracking: ArgoCdTracking = "annotation"): GitOpsManagement | undefined {
  const annotations = meta?.annotations ?? {};
  const labels = meta?.labels ?? {};
  const trackingId = annotations[ARGOCD_TRACKING_ANNOTATION];
  if (trackingId) {
    const app = trackingId.split(":")[0] || trackingId;
    return { tool: "ArgoCD", app, via: `annotation ${ARGOCD_TRACKING_ANNOTATION}` };
  }
  const instance = labels[ARGOCD_INSTANCE_LABEL];
  if (instance && tracking !== "annotation") return { tool: "ArgoCD", app: instance, via: `label ${ARGOCD_INSTANCE_LABEL}` };
  for (const [kind, keys] of [["Kustomization", FLUX_LABELS.kustomization], ["HelmRelease", FLUX_LABELS.helmRelease]] as const) {
    const name = labels[keys.name];
    if (!name) continue;
    const ns = labels[keys.namespace];
    return { tool: "Flux", app: `${kind} ${ns ? `${ns}/` : ""}${name}`, via: `label ${keys.name}` };
  }
  return undefined;
}

export type GitOpsMode = "Block" | "Allow";
export interface GitOpsPolicy {
  scale: GitOpsMode;
  restart: GitOpsMode;
  patch: GitOpsMode;
  deletePod: GitOpsMode;
}

/** What the status records when an action is allowed on a GitOps-managed Deployment. */
export interface Drift {
  tool: GitOpsTool;
  app: string;
  /** True for a scale or patch: the next sync sets the fields back to what Git holds. */
  revertedBySync: boolean;
  message: string;
}

export type GitOpsDecision =
  | { verdict: "unmanaged" }
  | { verdict: "block"; message: string }
  | { verdict: "drift"; drift: Drift };

const TOOL_NAME: Record<GitOpsTool, string> = { ArgoCD: "Argo CD", Flux: "Flux" };
const key = (type: ActionType): keyof GitOpsPolicy => (type === "delete-pod" ? "deletePod" : type);

/**
 * The policy's answer for this action type on a managed Deployment: Block, or
 * Allow with the drift described. Scale and patch change fields Git holds;
 * restart and delete-pod do not.
 */
export function judgeGitOps(m: GitOpsManagement | undefined, type: ActionType, policy: GitOpsPolicy, target: string): GitOpsDecision {
  if (!m) return { verdict: "unmanaged" };
  const who = `${TOOL_NAME[m.tool]} ${m.tool === "ArgoCD" ? "application " : ""}${m.app}`;
  const revertedBySync = type === "scale" || type === "patch";
  if (policy[key(type)] === "Block") {
    return {
      verdict: "block",
      message: `Deployment ${target} is managed from Git by ${who} (${m.via}): a ${type} would be drift the next sync ${revertedBySync ? "reverts" : "does not record"}; change it in Git, or allow it with gitops.${key(type)}: Allow`,
    };
  }
  const message = revertedBySync
    ? `drift from Git: Deployment ${target} is managed by ${who}; this ${type} will be reverted by the next sync unless it is committed to Git`
    : `drift from Git: Deployment ${target} is managed by ${who}; this ${type} is not recorded in Git (a sync does not undo it)`;
  return { verdict: "drift", drift: { tool: m.tool, app: m.app, revertedBySync, message } };
}
