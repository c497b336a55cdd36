// What one phase of an action decides, as data: nothing to write yet (wait), or
// a status update with the events and measurements it implies. The phase
// modules (admit, dry-run, execute, verify) return these; commit.ts is the one
// place that writes the status and then tells metrics, events and tracing, so a
// phase can be tested by what it returns and what reached the API.
import { ConditionType, type ConditionTypeName, type ReasonName } from "../../api/v1alpha1/reasons.ts";
import type { ActionPhase, RemediationActionStatus } from "../../api/v1alpha1/remediation-action.ts";
import type { EventTarget } from "../../k8s/events.ts";

export interface ConditionNote {
  type: ConditionTypeName;
  status: "True" | "False" | "Unknown";
  reason: ReasonName;
  message: string;
}

export interface EventNote {
  regarding: EventTarget;
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
}

/** Measurements a transition implies, taken only once its status is stored. */
export type Measurement =
  | { metric: "guardrailBlock"; reason: string }
  /** Seconds from the action's creation to its mutation. */
  | { metric: "executed"; seconds: number }
  | { metric: "verification"; status: "SUCCESS" | "FAILED" | "TIMED_OUT"; seconds: number }
  | { metric: "verifyRetry" }
  /** The target's replicas as verification observed them. */
  | { metric: "replicas"; desired: number; ready: number };

/** Status fields a transition sets besides phase, reason, message and conditions. */
export type StatusFields = Partial<Pick<RemediationActionStatus, "intent" | "preState" | "startedAt" | "guardrailPolicies" | "verification" | "dryRunResult" | "judgedBy" | "shadowDecisions" | "drift" | "previousOwners">>;

export interface StatusUpdate {
  /** Unset: the phase stays (a retry recorded within Verifying). */
  phase?: ActionPhase;
  reason: ReasonName;
  message: string;
  fields?: StatusFields;
  /** The intent (and the pre-state recorded with it) is dropped when a judgement ends the action before it acted. */
  dropIntent?: boolean;
  conditions?: ConditionNote[];
}

export type Transition =
  /** Nothing to write: come back after this long (or when something it watches changes). */
  | { kind: "wait"; requeueAfterMs?: number; events?: EventNote[]; measure?: Measurement[] }
  | {
    kind: "update";
    update: StatusUpdate;
    /** Set: stop advancing and come back after this long; unset: take the next phase now. */
    requeueAfterMs?: number;
    events?: EventNote[];
    measure?: Measurement[];
  };

export const wait = (requeueAfterMs?: number, more: { events?: EventNote[]; measure?: Measurement[] } = {}): Transition => ({ kind: "wait", requeueAfterMs, ...more });

/**
 * An action refused before it changed anything: Blocked with `reason`, the
 * GuardrailsPassed condition False with the same words, counted as a guardrail
 * block. `dropIntent` when an intent recorded by an earlier judgement must go.
 */
export function blocked(reason: ReasonName, message: string, opts: { guardrailPolicies?: string[]; dropIntent?: boolean } = {}): Transition {
  return {
    kind: "update",
    update: {
      phase: "Blocked", reason, message,
      ...(opts.dropIntent ? { dropIntent: true } : {}),
      ...(opts.guardrailPolicies ? { fields: { guardrailPolicies: opts.guardrailPolicies } } : {}),
      conditions: [condition(ConditionType.GuardrailsPassed, "False", reason, message)],
    },
    measure: [{ metric: "guardrailBlock", reason }],
  };
}

/**
 * The intent write: Executing with the concrete change recorded before any
 * effect (invariant 3), the guardrails' verdict, and the approval that let it run.
 */
export function intentRecorded(ctx: { action: { spec: { approval?: { decision: string; approvedBy: string } } }; now: number }, message: string, guardrailMessage: string, fields: StatusFields): Transition {
  const approval = ctx.action.spec.approval;
  return {
    kind: "update",
    update: {
      phase: "Executing", reason: "IntentRecorded", message,
      fields: { ...fields, startedAt: new Date(ctx.now).toISOString() },
      conditions: [
        condition(ConditionType.GuardrailsPassed, "True", "GuardrailsPassed", guardrailMessage),
        ...(approval?.decision === "Approved" ? [condition(ConditionType.Approved, "True", "ApprovedByUser", `approved by ${approval.approvedBy}`)] : []),
      ],
    },
  };
}

export const condition = (type: ConditionTypeName, status: ConditionNote["status"], reason: ReasonName, message: string): ConditionNote => ({ type, status, reason, message });

/** `t` with more status fields (a wait stays a wait). */
export function withFields(t: Transition, fields: StatusFields): Transition {
  return t.kind === "wait" ? t : { ...t, update: { ...t.update, fields: { ...t.update.fields, ...fields } } };
}
