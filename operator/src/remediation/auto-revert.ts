// Automatic undo: when a scale or a patch changed the Deployment and its
// verification then failed, and the policy's onFailure says Revert, the operator
// creates a revert of it (type revert, spec.revertOf) that runs the normal path
// of any revert: pause, the caps, approval.revert, the check that the fields
// still hold what the action set. Restarts and evictions are never undone: they
// have no state before to go back to. Pure: what to create, or why nothing.
import { ANNOTATIONS, LABELS, type RemediationAction } from "../api/v1alpha1/objects.ts";
import { Reason } from "../api/v1alpha1/reasons.ts";
import type { EffectivePolicy } from "./policy.ts";
import { labelValueOf, undoName } from "./names.ts";

/** Verification failures that undo: the change is in place and the rollout it started does not work. */
export const AUTO_REVERT_REASONS: readonly string[] = [Reason.RolloutTimedOut, Reason.CrashLoopDetected, Reason.ProgressDeadlineExceeded];

/**
 * How long after the failure an undo is still created. A crash between the
 * failure and the undo is recovered in seconds; a failure older than this (one
 * recorded before automatic undo existed, or while the operator was down for
 * long) is left to a human: the Deployment may have moved on in ways nobody
 * would expect an automatic change to follow.
 */
export const AUTO_REVERT_MAX_AGE_MS = 15 * 60_000;

const MAX_REASON = 1024;

export type AutoRevertDecision =
  | { create: false; why: string }
  | { create: true; name: string; revert: RemediationAction };

export interface AutoRevertInput {
  /** The failed action as stored. */
  action: RemediationAction;
  /** The target's effective policy, as it is now. */
  onFailure: EffectivePolicy["onFailure"];
  now: number;
  /** Names of the reverts of this action that exist (spec.revertOf names it), dry runs excluded. */
  reverts?: readonly string[];
}

/**
 * A failed action that may still be owed its undo, judged from the action alone
 * (the policy is the controller's to read): its target is reconciled when the
 * operator starts, as a target with an open action is, so an undo lost to a
 * crash is not left waiting for the next event on that target.
 */
export function mayNeedAutoRevert(a: RemediationAction, now: number): boolean {
  const st = a.status;
  return (a.spec.type === "scale" || a.spec.type === "patch") && !a.spec.dryRun && st?.phase === "Failed" && AUTO_REVERT_REASONS.includes(st.reason ?? "")
    && !st.autoRevert && !st.revertedBy && st.preState?.reversible === true && now - Date.parse(st.completedAt ?? "") <= AUTO_REVERT_MAX_AGE_MS;
}

/** Whether `action` gets an undo now, and if so the revert action to create. */
export function decideAutoRevert({ action: a, onFailure, now, reverts = [] }: AutoRevertInput): AutoRevertDecision {
  const st = a.status ?? {};
  const type = a.spec.type;
  if (type !== "scale" && type !== "patch") return no(`a ${type} is never undone automatically`);
  if (a.spec.dryRun) return no("a dry run changed nothing");
  if (st.phase !== "Failed") return no(`phase ${st.phase ?? "Pending"} is not Failed`);
  if (!AUTO_REVERT_REASONS.includes(st.reason ?? "")) return no(`${st.reason ?? "no reason"} is not a failed verification`);
  if (st.autoRevert) return no(`its undo ${st.autoRevert.action} was already created`);
  if (st.revertedBy) return no(`already reverted by ${st.revertedBy}`);
  if (!st.preState?.reversible) return no(st.preState ? `not reversible: ${st.preState.reason ?? "its pre-state says so"}` : "no pre-state recorded");
  if (onFailure[type] !== "Revert") return no(`onFailure for ${type} is ${onFailure[type]}`);
  const failedAt = Date.parse(st.completedAt ?? "");
  if (!Number.isFinite(failedAt)) return no("no completion time recorded");
  if (now - failedAt > AUTO_REVERT_MAX_AGE_MS) return no(`failed ${Math.round((now - failedAt) / 1000)}s ago, more than ${AUTO_REVERT_MAX_AGE_MS / 1000}s`);
  const name = undoName(a.metadata.name, a.metadata.uid ?? `${a.metadata.namespace}/${a.metadata.name}`);
  const other = reverts.find((r) => r !== name);
  if (other) return no(`a revert of it exists: ${other}`);
  return { create: true, name, revert: undoOf(a, name) };
}

/** The revert the operator creates for `a`: same target, same verification, the original's trace. */
function undoOf(a: RemediationAction, name: string): RemediationAction {
  const traceparent = a.metadata.annotations?.[ANNOTATIONS.traceparent];
  const failure = `${a.status?.reason}${a.status?.message ? `: ${a.status.message}` : ""}`;
  return {
    apiVersion: "smartops.io/v1alpha1",
    kind: "RemediationAction",
    metadata: {
      name,
      namespace: a.metadata.namespace,
      labels: { [LABELS.target]: labelValueOf(a.spec.target.name) },
      ...(traceparent ? { annotations: { [ANNOTATIONS.traceparent]: traceparent } } : {}),
    },
    spec: {
      type: "revert",
      revertOf: a.metadata.name,
      target: { ...a.spec.target },
      dryRun: false,
      verify: true,
      verifyTimeoutSeconds: a.spec.verifyTimeoutSeconds,
      source: "policy-engine",
      reason: `automatic undo: verification failed (${failure})`.slice(0, MAX_REASON),
    },
  };
}

const no = (why: string): AutoRevertDecision => ({ create: false, why });
