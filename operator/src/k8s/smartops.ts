// Reads and writes of our own kinds: create an action, write a status guarded by
// resourceVersion so a stale writer (a deposed leader, a crashed-and-restarted
// operator) cannot overwrite newer state.
import { GROUP, VERSION } from "../api/v1alpha1/meta.ts";
import { kindDefinition } from "../api/v1alpha1/validation.ts";
import type { RemediationAction, SmartopsObject } from "../api/v1alpha1/objects.ts";
import { call, FIELD_MANAGER, type KubeClients } from "./client.ts";

function plural(kind: string): string {
  const def = kindDefinition(kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return def.plural;
}

export async function createAction(c: KubeClients, action: RemediationAction): Promise<RemediationAction> {
  return (await call("create_remediationaction", () =>
    c.custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace: action.metadata.namespace, plural: "remediationactions",
      body: action, fieldManager: FIELD_MANAGER, fieldValidation: "Strict",
    }),
  )) as RemediationAction;
}

/**
 * Replaces the whole status of `obj` with `status` (PUT on the status
 * subresource), only if the object is still at obj.metadata.resourceVersion —
 * the API server answers 409 otherwise. Returns the stored object.
 */
export async function writeStatus<T extends SmartopsObject>(c: KubeClients, obj: T, status: NonNullable<T["status"]>): Promise<T> {
  return (await call(`status_${obj.kind.toLowerCase()}`, () =>
    c.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP, version: VERSION, namespace: obj.metadata.namespace, plural: plural(obj.kind),
      name: obj.metadata.name, body: { ...obj, status }, fieldManager: FIELD_MANAGER, fieldValidation: "Strict",
    }),
  )) as T;
}
