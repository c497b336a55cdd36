// Request → custom resource, without I/O: the names, the specs and the patch
// forms. Everything here is deterministic so it can be tested exhaustively.
import { randomBytes } from "node:crypto";
import { API_VERSION } from "../api/v1alpha1/meta.ts";
import { ANNOTATIONS, type AnomalySignal, type RcaSignal, type RemediationAction } from "../api/v1alpha1/objects.ts";
import type { RemediationActionSpec } from "../api/v1alpha1/remediation-action.ts";
import type { AnomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import type { RcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import type { FieldIssue } from "../api/v1alpha1/validation.ts";
import { type JsonPatchOp, type PatchDocument, patchToText } from "../remediation/patch-document.ts";
import { fnv1a32 } from "../remediation/names.ts";
import type { ExecuteRequest, PatchRequest, RestartRequest, RevertRequest, ScaleRequest } from "./requests.ts";

export const SHIM_ANNOTATIONS = {
  /** Who asked the shim, from the TokenReview (the API server records the shim as the creator). */
  requestedBy: "smartops.io/requested-by",
} as const;

/** Signal names stay within 63 characters: actions carry them in a label value. */
const MAX_SIGNAL_NAME = 63;

/**
 * The CR name of a windowId: its DNS-1123 form plus the fnv1a32 of the raw
 * windowId, so windowIds that differ only in case or punctuation never collide
 * and every replica of the shim derives the same name.
 */
export function signalName(windowId: string): string {
  const hash = fnv1a32(windowId);
  const stem = windowId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, MAX_SIGNAL_NAME - hash.length - 1)
    .replace(/^-+|-+$/g, "");
  return stem === "" ? hash : `${stem}-${hash}`;
}

export interface RequestMeta {
  namespace: string;
  traceparent: string;
  requestedBy: string;
}

function annotations(meta: RequestMeta): Record<string, string> {
  return { [ANNOTATIONS.traceparent]: meta.traceparent, [SHIM_ANNOTATIONS.requestedBy]: meta.requestedBy.slice(0, 253) };
}

export function anomalySignalObject(spec: AnomalySignalSpec, meta: RequestMeta): AnomalySignal {
  return { apiVersion: API_VERSION, kind: "AnomalySignal", metadata: { name: signalName(spec.windowId), namespace: meta.namespace, annotations: annotations(meta) }, spec };
}

export function rcaSignalObject(spec: RcaSignalSpec, meta: RequestMeta): RcaSignal {
  return { apiVersion: API_VERSION, kind: "RcaSignal", metadata: { name: signalName(spec.windowId), namespace: meta.namespace, annotations: annotations(meta) }, spec };
}

/** JSON with object keys sorted: equal documents compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export type PatchForm = NonNullable<RemediationActionSpec["patch"]>;

/**
 * The seed accepts three shapes: one RFC 6902 op ({op, path, ...}), a list of
 * ops, or a merge-patch object. A lone {patch: X} wrapper (seed §6.2.3) is
 * unwrapped: a Deployment has no field named patch. The action stores the patch
 * as JSON text, checked here with the limits the operator parses it with
 * (depth, finite numbers, size, each operation), so a bad patch is a 400 naming
 * its field rather than an action that ends Blocked.
 */
export function patchForm(body: unknown, field: string): { ok: true; patch: PatchForm } | { ok: false; issues: FieldIssue[] } {
  let p = body;
  let at = field;
  if (isObject(p) && Object.keys(p).length === 1 && (isObject(p.patch) || Array.isArray(p.patch))) {
    p = p.patch;
    at = `${field}.patch`;
  }
  const loneOp = isObject(p) && typeof p.op === "string" && "path" in p;
  const doc: PatchDocument = Array.isArray(p) ? { json: p as JsonPatchOp[] } : loneOp ? { json: [p as JsonPatchOp] } : { merge: p as Record<string, unknown> };
  const text = patchToText(doc, at);
  if (text.ok) return { ok: true, patch: text.value };
  const { field: f, message } = text.problem;
  return { ok: false, issues: [{ field: loneOp && f.startsWith(`${at}[0]`) ? `${at}${f.slice(at.length + 3)}` : f, message }] };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** What any action route asks for, before the Deployment name is resolved. */
export interface ActionIntent {
  type: RemediationActionSpec["type"];
  namespace: string;
  deployment: string;
  /** The request field that names the deployment, for error bodies. */
  deploymentField: string;
  replicas?: number;
  patch?: PatchForm;
  deletePod?: { podName?: string; notReadyThresholdSeconds?: number };
  /** For a revert: the action it undoes. */
  revertOf?: string;
  dryRun: boolean;
  verify: boolean;
  verifyTimeoutSeconds?: number;
  reason?: string;
  source: RemediationActionSpec["source"];
}

type Mapped = { ok: true; intent: ActionIntent } | { ok: false; issues: FieldIssue[] };

function base(r: ScaleRequest | RestartRequest | PatchRequest | Omit<RevertRequest, "deployment"> & { deployment: string }, defaultNamespace: string) {
  return {
    namespace: r.namespace ?? defaultNamespace,
    deployment: r.deployment,
    deploymentField: "deployment",
    dryRun: r.dry_run ?? false,
    verify: r.verify ?? false,
    verifyTimeoutSeconds: r.verify_timeout_seconds,
    reason: r.reason,
    source: r.source ?? "manual",
  };
}

export function scaleIntent(r: ScaleRequest, defaultNamespace: string): Mapped {
  return { ok: true, intent: { ...base(r, defaultNamespace), type: "scale", replicas: r.replicas } };
}

/** A revert of the action `name`, whose target is `deployment` (the action's own). */
export function revertIntent(r: RevertRequest, name: string, deployment: string, defaultNamespace: string): Mapped {
  return { ok: true, intent: { ...base({ ...r, deployment }, defaultNamespace), deploymentField: "name", type: "revert", revertOf: name } };
}

export function restartIntent(r: RestartRequest, defaultNamespace: string): Mapped {
  return { ok: true, intent: { ...base(r, defaultNamespace), type: "restart" } };
}

export function patchIntent(r: PatchRequest, defaultNamespace: string): Mapped {
  const p = patchForm(r.patch, "patch");
  if (!p.ok) return p;
  return { ok: true, intent: { ...base(r, defaultNamespace), type: "patch", patch: p.patch } };
}

export function executeIntent(r: ExecuteRequest, defaultNamespace: string): Mapped {
  let patch: PatchForm | undefined;
  if (r.patch) {
    const p = patchForm(r.patch.patch, "patch.patch");
    if (!p.ok) return p;
    patch = p.patch;
  }
  return {
    ok: true,
    intent: {
      type: r.type,
      namespace: r.target.namespace ?? defaultNamespace,
      deployment: r.target.name,
      deploymentField: "target.name",
      replicas: r.scale?.replicas,
      patch,
      deletePod: r.delete_pod ? { podName: r.delete_pod.pod_name, notReadyThresholdSeconds: r.delete_pod.not_ready_threshold_seconds } : undefined,
      dryRun: r.dry_run ?? false,
      verify: r.verify ?? false,
      verifyTimeoutSeconds: r.verify_timeout_seconds,
      reason: r.reason,
      source: r.source ?? "manual",
    },
  };
}

/** A fresh action name: type and target for humans, random suffix for uniqueness. */
export function actionName(type: string, deployment: string): string {
  const suffix = randomBytes(5).toString("hex");
  const stem = `${type}-${deployment}`.replace(/[^a-z0-9-]+/g, "-").slice(0, 63 - suffix.length - 1).replace(/-+$/, "");
  return `${stem}-${suffix}`;
}

export function actionObject(intent: ActionIntent, resolvedName: string, meta: RequestMeta): RemediationAction {
  const spec: RemediationActionSpec = {
    type: intent.type,
    target: { kind: "Deployment", namespace: intent.namespace, name: resolvedName },
    ...(intent.type === "scale" && intent.replicas !== undefined ? { scale: { replicas: intent.replicas } } : {}),
    ...(intent.type === "patch" && intent.patch ? { patch: intent.patch } : {}),
    ...(intent.type === "delete-pod"
      ? { deletePod: { notReadyThresholdSeconds: intent.deletePod?.notReadyThresholdSeconds ?? 120, ...(intent.deletePod?.podName ? { podName: intent.deletePod.podName } : {}) } }
      : {}),
    ...(intent.type === "revert" && intent.revertOf ? { revertOf: intent.revertOf } : {}),
    dryRun: intent.dryRun,
    verify: intent.verify,
    verifyTimeoutSeconds: intent.verifyTimeoutSeconds ?? 60,
    source: intent.source,
    ...(intent.reason !== undefined ? { reason: intent.reason } : {}),
  };
  return {
    apiVersion: API_VERSION,
    kind: "RemediationAction",
    metadata: { name: actionName(intent.type, resolvedName), namespace: intent.namespace, annotations: annotations(meta) },
    spec,
  };
}
