// May this action be reverted at all? Judged from the action to undo (its type,
// whether it was a dry run, whether it changed the Deployment, its recorded
// pre-state) and from the other reverts of it — before the Deployment is read.
// Whether the fields still hold what it set is inverse.ts's question. Pure.
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { BlockReason, type BlockReasonName, ConditionType } from "../api/v1alpha1/reasons.ts";
import type { PreState } from "../api/v1alpha1/remediation-action.ts";
import { NOT_REVERSIBLE } from "./pre-state.ts";

export interface RevertRefusal {
  reason: BlockReasonName;
  message: string;
}

const executed = (a: RemediationAction) => a.status?.conditions?.some((c) => c.type === ConditionType.Executed && c.status === "True") ?? false;
const inFlight = (a: RemediationAction) => a.status?.phase === "Executing" || a.status?.phase === "Verifying";

/**
 * Why `revert` (type revert) may not undo `original`, or undefined when it may.
 * `others` are the actions of the same target; a revert of `original` other than
 * this one that has changed the Deployment, or is changing it now, makes this
 * one a second undo.
 */
export function revertRefusal(revert: RemediationAction, original: RemediationAction, others: readonly RemediationAction[]): RevertRefusal | undefined {
  const name = `action ${original.metadata.name}`;
  const targetOf = (a: RemediationAction) => `${a.spec.target.namespace ?? a.metadata.namespace}/${a.spec.target.name}`;
  if (targetOf(original) !== targetOf(revert)) {
    return { reason: BlockReason.RevertTargetMismatch, message: `${name} acted on Deployment ${targetOf(original)}, not on ${targetOf(revert)}: a revert's target must be the target of the action it undoes` };
  }
  const type = original.spec.type;
  if (type === "revert") return refuse(BlockReason.NotReversible, `${name} is itself a revert: to redo the change, run the original action again`);
  if (type === "restart" || type === "delete-pod") return refuse(BlockReason.NotReversible, `${name} is a ${type}: ${NOT_REVERSIBLE[type]}`);
  if (original.spec.dryRun) return refuse(BlockReason.NotReversible, `${name} was a dry run: it changed nothing to undo`);
  if (!executed(original)) {
    return refuse(BlockReason.NotExecuted, `${name} has not changed the Deployment (phase ${original.status?.phase ?? "Pending"}${original.status?.reason ? `, ${original.status.reason}` : ""}): there is nothing to undo`);
  }
  if (original.status?.revertedBy && original.status.revertedBy !== revert.metadata.name) {
    return refuse(BlockReason.AlreadyReverted, `${name} was already reverted by ${original.status.revertedBy}`);
  }
  const other = others.find((o) => o.metadata.name !== revert.metadata.name && o.spec.type === "revert" && o.spec.revertOf === original.metadata.name && !o.spec.dryRun && (executed(o) || inFlight(o)));
  if (other) return refuse(BlockReason.AlreadyReverted, `${name} ${executed(other) ? "was already reverted" : "is being reverted"} by ${other.metadata.name}`);
  const pre = original.status?.preState;
  if (!pre) return refuse(BlockReason.NotReversible, `${name} recorded no pre-state (it ran before pre-states were recorded): what it replaced is unknown`);
  if (!pre.reversible) return refuse(BlockReason.NotReversible, `${name} is not reversible: ${pre.reason ?? "its pre-state says so"}`);
  return undefined;
}

const refuse = (reason: BlockReasonName, message: string): RevertRefusal => ({ reason, message });

/** The replicas a revert restores, when the action it undoes changed spec.replicas. */
export function replicasRestored(pre: PreState): number | undefined {
  const f = pre.fields?.find((x) => x.path === "/spec/replicas");
  if (f?.before === undefined) return undefined;
  const v: unknown = JSON.parse(f.before);
  return typeof v === "number" ? v : undefined;
}

/** The replicas the undone action set, when it changed spec.replicas. */
export function replicasSet(pre: PreState): number | undefined {
  const f = pre.fields?.find((x) => x.path === "/spec/replicas");
  if (f?.after === undefined) return undefined;
  const v: unknown = JSON.parse(f.after);
  return typeof v === "number" ? v : undefined;
}
