// Scale as one merge patch of the Deployment: spec.replicas and the crash-safety
// stamp in the same write, so "scaled" and "stamped" cannot come apart, guarded
// by the resourceVersion the target was computed from. A Deployment that changed
// since answers 409 and the caller computes the target again: a number decided
// for another replica count is never applied.
import { ANNOTATIONS } from "../../api/v1alpha1/objects.ts";
import { k8sScaleTotal } from "../../telemetry/metrics.ts";
import type { V1Deployment } from "@kubernetes/client-node";
import type { KubeApi } from "../api.ts";
import { DEPLOYMENTS } from "../resources.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";

export function scaleBody(to: number, uid: string | undefined, resourceVersion: string | undefined) {
  return {
    metadata: { ...(resourceVersion ? { resourceVersion } : {}), ...(uid ? { annotations: { [ANNOTATIONS.lastAction]: uid } } : {}) },
    spec: { replicas: to },
  };
}

export async function scale(api: KubeApi, { action, intent, dryRun }: ExecutorInput): Promise<ExecutionResult> {
  const { namespace, name } = { namespace: action.metadata.namespace, name: action.spec.target.name };
  const to = intent.replicas!;
  const result = await api.patch<V1Deployment>(DEPLOYMENTS, namespace, name, "merge", scaleBody(to, dryRun ? undefined : action.metadata.uid, intent.resourceVersion), { dryRun });
  if (!dryRun) k8sScaleTotal.inc({ namespace, deployment: name });
  const from = intent.fromReplicas;
  return {
    summary: `${dryRun ? "would scale" : "scaled"} Deployment ${namespace}/${name} ${from ?? "?"} -> ${result.spec?.replicas ?? to}`,
    fromReplicas: from,
    toReplicas: result.spec?.replicas ?? to,
  };
}
