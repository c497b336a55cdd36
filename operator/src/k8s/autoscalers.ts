// Reads and guarded writes of the autoscalers whose floor AdjustAutoscaler
// raises (HorizontalPodAutoscaler spec.minReplicas, KEDA ScaledObject
// spec.minReplicaCount): always from the API server, never the informer's copy,
// since the write tests the value it read.
import type { AutoscalerKind } from "../remediation/autoscaler.ts";
import type { KubeApi } from "./api.ts";
import { isNotFound } from "./errors.ts";
import { HORIZONTAL_POD_AUTOSCALERS, type Resource, SCALED_OBJECTS } from "./resources.ts";

export const AUTOSCALER_RESOURCES: Record<AutoscalerKind, Resource> = {
  HorizontalPodAutoscaler: HORIZONTAL_POD_AUTOSCALERS,
  ScaledObject: SCALED_OBJECTS,
};

/** The autoscaler as stored now, or undefined when it (or its kind) does not exist. */
export async function readAutoscaler<T>(api: KubeApi, kind: AutoscalerKind, namespace: string, name: string): Promise<T | undefined> {
  try {
    return await api.get<T>(AUTOSCALER_RESOURCES[kind], namespace, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * One RFC 6902 JSON patch of the autoscaler, recorded in the action's intent (or
 * built from it) before it is sent: its `test` operations make the API server
 * refuse it (422) when the floor no longer holds what the intent read.
 */
export async function patchAutoscaler<T>(api: KubeApi, kind: AutoscalerKind, namespace: string, name: string, ops: readonly unknown[], dryRun: boolean): Promise<T> {
  return api.patch<T>(AUTOSCALER_RESOURCES[kind], namespace, name, "json", ops, { dryRun });
}

/**
 * Whether the API server serves a resource (a CRD that may not be installed,
 * such as KEDA's ScaledObject): a list of one item answers; 404 means it is not
 * installed. Any other error is thrown, so a start without permission fails
 * loudly instead of silently ignoring the autoscalers.
 */
export async function served(api: KubeApi, r: Resource, namespace: string | undefined): Promise<boolean> {
  try {
    await api.list(r, namespace, { limit: 1 });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
