// How an action turned out, read from its status: what the escalation ladder,
// the RepeatedFailures block and the effectiveness controller share.
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { Reason } from "../api/v1alpha1/reasons.ts";
import { problemOf, type ProblemKey } from "../remediation/effectiveness.ts";
import type { Outcome } from "../remediation/escalation.ts";

/** A forward action (not a revert, not a dry run) that changed its Deployment and has finished. */
export function executedAndFinished(a: RemediationAction): boolean {
  const phase = a.status?.phase;
  return !a.spec.dryRun && a.spec.type !== "revert" && a.status?.intent?.recordedAt !== undefined
    && (phase === "Succeeded" || phase === "Failed") && a.status?.reason !== Reason.NoChange;
}

/** The outcome of an executed, finished action; undefined for any other. */
export function outcomeOf(a: RemediationAction): Outcome | undefined {
  if (!executedAndFinished(a)) return undefined;
  if (a.status!.phase === "Failed") return "failed";
  const state = a.status?.effectiveness?.state;
  if (state === "Ineffective") return "ineffective";
  if (state === "Effective") return "effective";
  return "pending";
}

/** When it finished (ms), or NaN. */
export const completedAtOf = (a: RemediationAction) => Date.parse(a.status?.completedAt ?? "");

export const problemOfAction = (a: RemediationAction): ProblemKey => problemOf(a.spec.signalRef?.kind, a.spec.recommendation);

export function sameProblem(x: ProblemKey, y: ProblemKey): boolean {
  return x.kind === y.kind && x.anomalyType === y.anomalyType && x.cause === y.cause;
}
