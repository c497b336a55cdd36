// The undo of a failed action (remediation/auto-revert.ts decides): the revert
// is created first — its name is derived from the failed action, so a second
// create meets AlreadyExists — then status.autoRevert is written on the failed
// action through the one status writer, then a Warning event names both. Called
// after the failed action's terminal write and again from every reconcile of
// the target until autoRevert is recorded, so a crash or a refused write
// between the terminal write and the create only delays the undo, never loses
// or doubles it. The revert then takes the normal path of any revert.
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { Reason } from "../../api/v1alpha1/reasons.ts";
import { isAlreadyExists, isNotFound } from "../../k8s/errors.ts";
import { failpoint } from "../../k8s/failpoints.ts";
import { createAction } from "../../k8s/smartops.ts";
import { type AutoRevertDecision, decideAutoRevert, mayNeedAutoRevert } from "../../remediation/auto-revert.ts";
import { isTransient } from "../reconcile.ts";
import { policyFor } from "../policies.ts";
import { type ActionDeps, actionsOfTarget, storeStatus } from "./context.ts";
import { ref } from "./describe.ts";

/** The decision for `a` as the caches show it now. */
export function autoRevertDecision(deps: ActionDeps, a: RemediationAction): AutoRevertDecision {
  // The cheap refusals first: most actions a reconcile sweeps are not failed scales or patches.
  if (!mayNeedAutoRevert(a, deps.now())) return { create: false, why: "not a recently failed, reversible scale or patch without its undo" };
  const ns = a.metadata.namespace;
  const d = deps.deployments.get(ns, a.spec.target.name);
  const policy = policyFor({ namespace: ns, name: a.spec.target.name, labels: d?.metadata?.labels }, deps.policies, deps.operatorNamespace);
  const reverts = actionsOfTarget(deps, ns, a.spec.target.name)
    .filter((o) => o.spec.type === "revert" && o.spec.revertOf === a.metadata.name && !o.spec.dryRun)
    .map((o) => o.metadata.name);
  return decideAutoRevert({ action: a, onFailure: policy.onFailure, now: deps.now(), reverts });
}

/** Whether the sweep has an undo to create for `a`. */
export function needsAutoRevert(deps: ActionDeps, a: RemediationAction): boolean {
  return autoRevertDecision(deps, a).create;
}

/**
 * Creates the undo of `failed` when the policy asks for one. The API server's
 * trouble (and a lost lease) is thrown, for the target to be retried; any other
 * refusal is logged and left for the next reconcile of the target.
 */
export async function autoRevert(deps: ActionDeps, failed: RemediationAction): Promise<void> {
  try {
    await undo(deps, failed);
  } catch (err) {
    if (isTransient(err)) throw err;
    deps.log.warn("could not create the automatic undo of a failed action", {
      action: `${failed.metadata.namespace}/${failed.metadata.name}`, err: err instanceof Error ? err.message : String(err),
    });
  }
}

async function undo(deps: ActionDeps, failed: RemediationAction): Promise<void> {
  const decision = autoRevertDecision(deps, failed);
  if (!decision.create) return;
  failpoint("before-auto-revert");
  deps.guard();
  try {
    await createAction(deps.api, decision.revert);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const createdAt = new Date(deps.now()).toISOString();
  try {
    await storeStatus(deps, failed, { ...failed.status, autoRevert: { action: decision.name, createdAt } });
  } catch (err) {
    // The failed action is gone: its undo still runs, and names it in revertOf.
    if (!isNotFound(err)) throw err;
  }
  const { namespace, name } = failed.metadata;
  deps.events.record(ref(failed), "Warning", Reason.AutoRevertCreated, "Revert",
    `verification failed (${failed.status?.reason}); the policy's onFailure for ${failed.spec.type} is Revert: created ${decision.name} to undo it`);
  deps.log.info("automatic undo created", { action: `${namespace}/${name}`, revert: decision.name, reason: failed.status?.reason });
}
