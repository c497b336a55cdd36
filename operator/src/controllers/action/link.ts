// The back link of a revert: once a revert has succeeded, the action it undid
// records status.revertedBy. A second status write, on another object, after the
// revert's own terminal write: idempotent (an original already linked to this
// revert is left alone, one linked to another is never overwritten), and
// repeated from the reconcile of the target until it holds, so a conflict or a
// crash between the two writes only delays it.
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { isNotFound } from "../../k8s/errors.ts";
import { isTransient } from "../reconcile.ts";
import { type ActionDeps, storeStatus } from "./context.ts";

/** A succeeded revert whose original does not name it yet. */
export function needsLink(deps: ActionDeps, revert: RemediationAction): boolean {
  if (revert.spec.type !== "revert" || revert.spec.dryRun || revert.status?.phase !== "Succeeded" || !revert.spec.revertOf) return false;
  const original = deps.actions.get(revert.metadata.namespace, revert.spec.revertOf);
  return original !== undefined && original.status?.revertedBy === undefined;
}

/**
 * Writes the link. The API server's trouble (and a lost lease) is thrown, for the
 * target to be retried; any other refusal is logged and left for the next
 * reconcile, never failing the revert (it is already recorded) nor holding up the
 * target's other actions.
 */
export async function linkRevert(deps: ActionDeps, revert: RemediationAction): Promise<void> {
  try {
    await link(deps, revert);
  } catch (err) {
    if (isTransient(err)) throw err;
    deps.log.warn("could not record revertedBy on the reverted action", {
      action: `${revert.metadata.namespace}/${revert.spec.revertOf}`, revert: revert.metadata.name, err: err instanceof Error ? err.message : String(err),
    });
  }
}

/** One guarded write; a conflict (409) is retried like any, by the target's requeue with the queue's backoff. */
async function link(deps: ActionDeps, revert: RemediationAction): Promise<void> {
  if (!needsLink(deps, revert)) return;
  const original = deps.actions.get(revert.metadata.namespace, revert.spec.revertOf!)!;
  try {
    await storeStatus(deps, original, { ...original.status, revertedBy: revert.metadata.name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
