// Approval of an action the guardrails allowed: rejected ends it, a missing
// approval holds it in PendingApproval until its policy's timeout, then Expired.
import type { EffectivePolicy } from "../../remediation/policy.ts";
import { ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import type { ActionContext } from "./context.ts";
import { createdAt, ref } from "./describe.ts";
import { condition, type Transition, wait } from "./transition.ts";

/** A transition when approval decides what happens now; undefined when the action may go on. */
export function approvalGate(ctx: ActionContext, approvalRequired: boolean, policy: EffectivePolicy, guardrailMessage: string, sources: string[]): Transition | undefined {
  const { action: a, now } = ctx;
  const approval = a.spec.approval;
  if (approval?.decision === "Rejected") {
    const message = `rejected by ${approval.approvedBy}${approval.reason ? `: ${approval.reason}` : ""}`;
    return { kind: "update", update: {
      phase: "Rejected", reason: Reason.RejectedByUser, message,
      conditions: [condition(ConditionType.Approved, "False", Reason.RejectedByUser, `rejected by ${approval.approvedBy}`)],
    } };
  }
  if (!approvalRequired || approval?.decision === "Approved") return undefined;

  const deadline = (createdAt(a) || now) + policy.approval.timeoutSeconds * 1000;
  if (now >= deadline) {
    return { kind: "update", update: {
      phase: "Expired", reason: Reason.ApprovalExpired, message: `no approval within ${policy.approval.timeoutSeconds}s`,
      conditions: [condition(ConditionType.Approved, "False", Reason.ApprovalExpired, "approval timed out")],
    } };
  }
  // Already waiting: nothing to write until the approval or the deadline comes.
  if (a.status?.phase === "PendingApproval") return wait(deadline - now);
  const message = `${a.spec.type} needs approval under policy ${policy.sources.join(", ") || "defaults"}: set spec.approval before ${new Date(deadline).toISOString()}`;
  return {
    kind: "update",
    update: {
      phase: "PendingApproval", reason: Reason.ApprovalRequired, message,
      fields: { guardrailPolicies: sources },
      conditions: [
        condition(ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, guardrailMessage),
        condition(ConditionType.Approved, "False", Reason.ApprovalRequired, message),
        condition(ConditionType.Ready, "False", Reason.ApprovalRequired, message),
      ],
    },
    requeueAfterMs: deadline - now,
    events: [{ regarding: ref(a), type: "Normal", reason: Reason.ApprovalRequired, action: "Approve", note: message }],
  };
}
