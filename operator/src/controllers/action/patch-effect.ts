// What a patch would change on the Deployment, asked of the API server: a
// server-side dry run guarded by the reading's resourceVersion, diffed against
// that reading (remediation/change.ts). The guardrails judge that effect.
import type { V1Deployment } from "@kubernetes/client-node";
import { Reason } from "../../api/v1alpha1/reasons.ts";
import { isConflict, isRefused } from "../../k8s/errors.ts";
import { previewPatch } from "../../k8s/executors/patch.ts";
import { diffObjects, type FieldChange } from "../../remediation/change.ts";
import { PatchTextError } from "../../remediation/patch-document.ts";
import type { ActionContext } from "./context.ts";
import { blocked, type Transition, wait } from "./transition.ts";

/** A Deployment that moved between the reading and the dry run is read again this soon. */
export const MOVED_RETRY_MS = 100;

/**
 * The changes, or the transition when there is nothing to judge: a patch whose
 * stored text does not parse, or that the API server refuses, ends Blocked with
 * InvalidPatch; a Deployment that moved meanwhile is read again shortly.
 */
export interface PatchEffect {
  changes: FieldChange[];
  /** The Deployment as the dry run says the patch leaves it: the values the patch sets. */
  after: V1Deployment;
}

export async function patchEffect(ctx: ActionContext, d: V1Deployment): Promise<PatchEffect | { transition: Transition }> {
  ctx.deps.guard();
  try {
    const after = await previewPatch(ctx.deps.api, ctx.action, d);
    return { changes: diffObjects(d, after), after };
  } catch (err) {
    if (isConflict(err)) return { transition: wait(MOVED_RETRY_MS) };
    if (!isRefused(err) && !(err instanceof PatchTextError)) throw err;
    const message = err instanceof PatchTextError
      ? err.message
      : `the API server refused the patch: ${(err as { reason?: string }).reason || (err as { status?: number }).status}: ${(err as Error).message}`;
    return { transition: blocked(Reason.InvalidPatch, message) };
  }
}
