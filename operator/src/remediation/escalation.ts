// Escalation: what to do when actions do not work. Two pure decisions.
//
// The ladder: when the last action for a service and signal class did not work
// (it failed, or it succeeded but the problem came back), the next signal of
// that class takes the ladder's next step instead of repeating the same action
// after its cooldown forever; past the last step, or at a notify step, nothing
// acts and a human is told.
//
// The block: after N failed or ineffective actions in a row on one target,
// automatic actions on it stop (RepeatedFailures) until a human resumes it —
// by annotating the Deployment with the time from which failures count again —
// or until the policy's optional expiry has passed since the last failure.
import type { LadderStep } from "../api/v1alpha1/guardrail-policy.ts";
import type { SpecActionType } from "../api/v1alpha1/remediation-action.ts";
import type { RuleAction } from "./rules.ts";

/** The annotation on a Deployment that resumes automation: failures completed at or before its time no longer count. */
export const RESUME_ANNOTATION = "smartops.io/resumed-at";

/** How an executed action turned out, for the ladder and the block. */
export type Outcome = "failed" | "ineffective" | "effective" | "pending";

/** An earlier action on the target, for the same signal class. */
export interface PreviousAction {
  name: string;
  type: SpecActionType;
  outcome: Outcome;
  /** Its step index, when it was itself chosen by the ladder. */
  step?: number;
}

export type StepDecision =
  | { kind: "act"; step: Exclude<LadderStep, "notify">; index: number; escalatedFrom?: string; message: string }
  | { kind: "notify"; index: number; escalatedFrom: string; message: string };

/** The ladder step an action type stands for. */
export function stepOfType(type: SpecActionType): LadderStep | undefined {
  if (type === "scale") return "scale-up";
  if (type === "restart" || type === "delete-pod") return type;
  return undefined;
}

/**
 * The step for a new signal: the rule's action, unless the previous action for
 * the same class did not work — then the step after the previous one's.
 */
export function nextStep(rule: Exclude<RuleAction, "none">, ladder: readonly LadderStep[], previous: PreviousAction | undefined): StepDecision {
  const ruleIndex = ladder.indexOf(rule);
  if (!previous || (previous.outcome !== "failed" && previous.outcome !== "ineffective")) {
    return { kind: "act", step: rule, index: ruleIndex, message: `${rule} (rule)` };
  }
  const prevStep = stepOfType(previous.type);
  const prevIndex = previous.step ?? (prevStep === undefined ? -1 : ladder.indexOf(prevStep));
  // A previous action off the ladder: start at its first step that is not what already failed.
  const index = prevIndex >= 0 ? prevIndex + 1 : ladder[0] === prevStep ? 1 : 0;
  const why = `the previous action ${previous.name} (${previous.type}) was ${previous.outcome}`;
  const step = ladder[index];
  if (step === undefined || step === "notify") {
    return { kind: "notify", index: Math.min(index, ladder.length), escalatedFrom: previous.name, message: `${why}; the ladder ${ladder.join(" → ")} reached ${step ?? "its end"}: no action, a human is told` };
  }
  return { kind: "act", step, index, escalatedFrom: previous.name, message: `${why}: escalated to ${step} (step ${index + 1} of ${ladder.join(" → ")})` };
}

/** An executed action on the target, for counting failures in a row. */
export interface CompletedAction {
  name: string;
  completedAt: number;
  outcome: Outcome;
}

export interface BlockInput {
  /** Executed forward actions on the target (not reverts, not dry runs), any order. */
  completed: readonly CompletedAction[];
  maxConsecutiveFailures: number;
  blockExpirySeconds?: number;
  /** The resume annotation's time (ms), when set and valid. */
  resumedAt?: number;
  now: number;
}

export type BlockDecision = { blocked: false } | { blocked: true; failures: string[]; lastFailureAt: number; message: string };

/**
 * Failed or ineffective actions in a row, newest first: an effective one ends the
 * run; one still in its window neither counts nor ends it; those completed at or
 * before a resume no longer count.
 */
export function failuresInARow(completed: readonly CompletedAction[], resumedAt?: number): CompletedAction[] {
  const run: CompletedAction[] = [];
  const newestFirst = [...completed].sort((x, y) => y.completedAt - x.completedAt || x.name.localeCompare(y.name));
  for (const a of newestFirst) {
    if (resumedAt !== undefined && a.completedAt <= resumedAt) break;
    if (a.outcome === "effective") break;
    if (a.outcome === "pending") continue;
    run.push(a);
  }
  return run;
}

export function repeatedFailures(input: BlockInput): BlockDecision {
  const run = failuresInARow(input.completed, input.resumedAt);
  if (run.length < input.maxConsecutiveFailures) return { blocked: false };
  const lastFailureAt = run[0]!.completedAt;
  if (input.blockExpirySeconds !== undefined && input.now >= lastFailureAt + input.blockExpirySeconds * 1000) return { blocked: false };
  const names = run.slice(0, input.maxConsecutiveFailures).map((a) => a.name);
  const expiry = input.blockExpirySeconds !== undefined
    ? `, or wait until ${new Date(lastFailureAt + input.blockExpirySeconds * 1000).toISOString()} (the policy's blockExpirySeconds)`
    : "";
  return {
    blocked: true,
    failures: names,
    lastFailureAt,
    message: `${run.length} failed or ineffective actions in a row (${names.join(", ")}; limit ${input.maxConsecutiveFailures}): automatic actions on this Deployment are stopped until a human resumes them — annotate the Deployment ${RESUME_ANNOTATION}=<now, RFC 3339>${expiry}`,
  };
}

/** The resume annotation's time, or undefined when absent or not a timestamp. */
export function resumedAt(annotations: Record<string, string> | undefined): number | undefined {
  const raw = annotations?.[RESUME_ANNOTATION];
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  return Number.isFinite(t) ? t : undefined;
}
