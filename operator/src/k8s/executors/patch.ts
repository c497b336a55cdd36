// Applies a merge, strategic or JSON patch with the stamp in the same request, so
// "applied" and "stamped" cannot come apart, guarded by the resourceVersion the
// safelist's dry run saw: the effect that was judged is the effect applied, and a
// Deployment that changed since answers 409 (the caller judges the patch again).
import type { V1Deployment } from "@kubernetes/client-node";
import { ANNOTATIONS } from "../../api/v1alpha1/objects.ts";
import { k8sPatchTotal } from "../../telemetry/metrics.ts";
import type { KubeApi } from "../api.ts";
import { DEPLOYMENTS } from "../resources.ts";
import { type PatchDocument, PatchTextError, parsePatch } from "../../remediation/patch-document.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";

type Json = Record<string, unknown>;

function withStampAndVersion(patch: Json, uid: string, resourceVersion: string | undefined): Json {
  const metadata = (patch.metadata as Json | undefined) ?? {};
  const annotations = (metadata.annotations as Json | undefined) ?? {};
  return {
    ...patch,
    metadata: { ...metadata, ...(resourceVersion ? { resourceVersion } : {}), annotations: { ...annotations, [ANNOTATIONS.lastAction]: uid } },
  };
}

/** The JSON patch operation that writes the stamp on `target` (which may have no annotations yet). */
export function jsonStampOp(uid: string, target: V1Deployment | undefined): { op: "add"; path: string; value: unknown } {
  const key = ANNOTATIONS.lastAction.replace(/~/g, "~0").replace(/\//g, "~1");
  return target?.metadata?.annotations
    ? { op: "add", path: `/metadata/annotations/${key}`, value: uid }
    : { op: "add", path: "/metadata/annotations", value: { [ANNOTATIONS.lastAction]: uid } };
}

/** Setting resourceVersion in the patched object makes the API server refuse (409) a Deployment that moved on. */
function jsonPatchWithStampAndVersion(ops: unknown[], uid: string, target: V1Deployment | undefined, resourceVersion: string | undefined): unknown[] {
  return [...ops, jsonStampOp(uid, target), ...(resourceVersion ? [{ op: "replace", path: "/metadata/resourceVersion", value: resourceVersion }] : [])];
}

const KIND = { json: "JSON patch", strategic: "strategic merge patch", merge: "merge patch" } as const;

/**
 * The one request a patch action sends, for the dry run and for real: the same
 * body (with the stamp, so the dry run sees exactly what will be written) and the
 * same resourceVersion precondition.
 */
async function send(api: KubeApi, namespace: string, name: string, p: PatchDocument, uid: string, target: V1Deployment | undefined, resourceVersion: string | undefined, dryRun: boolean): Promise<V1Deployment> {
  // Strict: a field the Deployment does not have (a misspelt path, or a dotted
  // path such as "spec.containers[0].image" sent as one key) is refused rather than silently dropped,
  // so such a patch ends Blocked InvalidPatch instead of "changing nothing".
  // (KubeApi sends every write with fieldValidation=Strict.)
  if (p.json) return api.patch(DEPLOYMENTS, namespace, name, "json", jsonPatchWithStampAndVersion(p.json, uid, target, resourceVersion), { dryRun });
  if (p.strategic) return api.patch(DEPLOYMENTS, namespace, name, "strategic", withStampAndVersion(p.strategic, uid, resourceVersion), { dryRun });
  return api.patch(DEPLOYMENTS, namespace, name, "merge", withStampAndVersion(p.merge!, uid, resourceVersion), { dryRun });
}

/**
 * The API server's own answer to "what would this patch do to `before`?": a
 * server-side dry run guarded by before's resourceVersion, so the object returned
 * is exactly `before` with the patch applied (409 if it moved in between).
 */
export function previewPatch(api: KubeApi, action: ExecutorInput["action"], before: V1Deployment): Promise<V1Deployment> {
  return send(api, action.metadata.namespace, action.spec.target.name, document(action), action.metadata.uid!, before, before.metadata?.resourceVersion, true);
}

/**
 * The action's stored patch text as the document to send (remediation/patch-document.ts:
 * bounded depth, finite numbers, the right shape). Text that does not parse throws
 * PatchTextError naming the field; nothing is sent.
 */
function document(action: ExecutorInput["action"]): PatchDocument {
  const parsed = parsePatch(action.spec.patch);
  if (!parsed.ok) throw new PatchTextError(parsed.problem);
  return parsed.value;
}

export async function patch(api: KubeApi, { action, intent, dryRun, deployment }: ExecutorInput): Promise<ExecutionResult> {
  const { namespace, name } = { namespace: action.metadata.namespace, name: action.spec.target.name };
  const p = document(action);
  await send(api, namespace, name, p, action.metadata.uid!, deployment, intent.resourceVersion, dryRun);
  if (!dryRun) k8sPatchTotal.inc({ namespace, deployment: name });
  const kind = p.json ? KIND.json : p.strategic ? KIND.strategic : KIND.merge;
  const what = intent.changedPaths?.length ? ` (${intent.changedPaths.slice(0, 8).join(", ")}${intent.changedPaths.length > 8 ? ", …" : ""})` : "";
  return { summary: `${dryRun ? "would apply" : "applied"} ${kind} to Deployment ${namespace}/${name}${what}` };
}
