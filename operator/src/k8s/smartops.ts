// Reads and writes of our own kinds: create an action, write a status guarded by
// resourceVersion so a stale writer (a deposed leader, a crashed-and-restarted
// operator) cannot overwrite newer state.
import type { RemediationAction, SmartopsObject } from "../api/v1alpha1/objects.ts";
import type { KubeApi } from "./api.ts";
import { REMEDIATION_ACTIONS, resourceOfKind } from "./resources.ts";

export function createAction(api: KubeApi, action: RemediationAction): Promise<RemediationAction> {
  return api.create<RemediationAction>(REMEDIATION_ACTIONS, action.metadata.namespace, action);
}

/**
 * Replaces the whole status of `obj` with `status` (PUT on the status
 * subresource), only if the object is still at obj.metadata.resourceVersion —
 * the API server answers 409 otherwise. Returns the stored object.
 */
export function writeStatus<T extends SmartopsObject>(api: KubeApi, obj: T, status: NonNullable<T["status"]>): Promise<T> {
  return api.replace<T>(resourceOfKind(obj.kind), obj.metadata.namespace, obj.metadata.name, { ...obj, status }, { subresource: "status" });
}
