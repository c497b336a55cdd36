// Applies a merge, strategic or JSON patch that already passed the safelist, with
// the stamp in the same request so "applied" and "stamped" cannot come apart.
import type { V1Deployment } from "@kubernetes/client-node";
import { ANNOTATIONS } from "../../api/v1alpha1/objects.ts";
import { k8sPatchTotal } from "../../telemetry/metrics.ts";
import { call, FIELD_MANAGER, jsonPatch, type KubeClients, mergePatch, strategicPatch } from "../client.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";

type Json = Record<string, unknown>;

function withStamp(patch: Json, uid: string): Json {
  const metadata = (patch.metadata as Json | undefined) ?? {};
  const annotations = (metadata.annotations as Json | undefined) ?? {};
  return { ...patch, metadata: { ...metadata, annotations: { ...annotations, [ANNOTATIONS.lastAction]: uid } } };
}

function jsonPatchWithStamp(ops: unknown[], uid: string, target: V1Deployment | undefined): unknown[] {
  const key = ANNOTATIONS.lastAction.replace(/~/g, "~0").replace(/\//g, "~1");
  const stamp = target?.metadata?.annotations
    ? { op: "add", path: `/metadata/annotations/${key}`, value: uid }
    : { op: "add", path: "/metadata/annotations", value: { [ANNOTATIONS.lastAction]: uid } };
  return [...ops, stamp];
}

export async function patch(c: KubeClients, { action, dryRun, deployment }: ExecutorInput): Promise<ExecutionResult> {
  const { namespace, name } = { namespace: action.metadata.namespace, name: action.spec.target.name };
  const p = action.spec.patch!;
  const uid = action.metadata.uid!;
  const common = { name, namespace, fieldManager: FIELD_MANAGER, ...(dryRun ? { dryRun: "All" } : {}) };
  let kind: string;
  if (p.json) {
    kind = "JSON patch";
    await call("patch_deployment", () => c.apps.patchNamespacedDeployment({ ...common, body: jsonPatchWithStamp(p.json!, uid, deployment) }, jsonPatch()));
  } else if (p.strategic) {
    kind = "strategic merge patch";
    await call("patch_deployment", () => c.apps.patchNamespacedDeployment({ ...common, body: withStamp(p.strategic!, uid) }, strategicPatch()));
  } else {
    kind = "merge patch";
    await call("patch_deployment", () => c.apps.patchNamespacedDeployment({ ...common, body: withStamp(p.merge!, uid) }, mergePatch()));
  }
  if (!dryRun) k8sPatchTotal.inc({ namespace, deployment: name });
  return { summary: `${dryRun ? "would apply" : "applied"} ${kind} to Deployment ${namespace}/${name}` };
}
