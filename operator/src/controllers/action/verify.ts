// Verifying: kubectl's rollout rules on the watched Deployment and the target's
// own pods. A rollout not complete by its deadline gets VERIFY_MAX_RETRIES more
// windows of verifyTimeoutSeconds, each after the shared backoff; then it is
// RolloutTimedOut. Only the verification is retried, never the mutation: a
// second restart would be a second effect.
import { ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import { podsSince, rolloutStatus } from "../../remediation/rollout.ts";
import { backoffDelay } from "../../runtime/backoff.ts";
import { withFloor } from "./autoscaler.ts";
import { type ActionContext, targetPods } from "./context.ts";
import { ref } from "./describe.ts";
import { condition, type Transition, wait } from "./transition.ts";

export const VERIFY_RETRY_BASE_MS = 5_000;
export const VERIFY_MAX_RETRIES = 2;

export function verify(ctx: ActionContext): Transition {
  const { action: a, now, deps } = ctx;
  const d = deps.deployments.get(a.metadata.namespace, a.spec.target.name);
  const v = a.status!.verification ?? { status: "IN_PROGRESS" as const, attempts: 1 };
  if (!d) {
    return { kind: "update", update: {
      phase: "Failed", reason: Reason.TargetNotFound, message: `Deployment ${a.metadata.namespace}/${a.spec.target.name} disappeared during verification`,
      fields: { verification: { ...v, status: "FAILED", message: "target not found" } },
    } };
  }
  const startedAt = Date.parse(a.status?.startedAt ?? "") || now;
  const pods = targetPods(ctx, d);
  const evicted = a.spec.type === "delete-pod" ? a.status?.intent?.podUID : undefined;
  const rollout = withFloor(a, d, rolloutStatus(d, podsSince(pods, startedAt, evicted)));
  const observed = rollout.observed;
  const seen = { metric: "replicas" as const, desired: observed.desiredReplicas, ready: observed.readyReplicas };
  const seconds = (now - startedAt) / 1000;
  const attempts = v.attempts ?? 1;

  if (rollout.state === "complete" && !pods.some((p) => evicted !== undefined && p.metadata?.uid === evicted)) {
    return { kind: "update", measure: [seen, { metric: "verification", status: "SUCCESS", seconds }], update: {
      phase: "Succeeded", reason: Reason.RolloutComplete, message: `${a.status?.message ?? ""}; verified: ${rollout.message}`.replace(/^; /, ""),
      fields: { verification: { status: "SUCCESS", attempts: v.attempts, message: rollout.message, observed } },
      conditions: [condition(ConditionType.Verified, "True", Reason.RolloutComplete, rollout.message)],
    } };
  }
  if (rollout.state === "failed") {
    return { kind: "update", measure: [seen, { metric: "verification", status: "FAILED", seconds }], update: {
      phase: "Failed", reason: rollout.reason, message: rollout.message,
      fields: { verification: { status: "FAILED", attempts: v.attempts, message: rollout.message, observed } },
      conditions: [condition(ConditionType.Verified, "False", rollout.reason, rollout.message)],
    } };
  }
  const deadline = Date.parse(v.deadline ?? "") || startedAt + a.spec.verifyTimeoutSeconds * 1000;
  if (now < deadline) return wait(deadline - now, { measure: [seen] });

  if (attempts <= VERIFY_MAX_RETRIES) {
    const nextDeadline = now + backoffDelay(attempts, { initialMs: VERIFY_RETRY_BASE_MS, maxMs: Number.POSITIVE_INFINITY, jitter: 0 }) + a.spec.verifyTimeoutSeconds * 1000;
    const message = `rollout not complete after attempt ${attempts} (${rollout.message}); retry ${attempts}/${VERIFY_MAX_RETRIES} waits until ${new Date(nextDeadline).toISOString()}`;
    return {
      kind: "update",
      update: {
        reason: Reason.VerificationRetry, message,
        fields: { verification: { status: "IN_PROGRESS", attempts: attempts + 1, deadline: new Date(nextDeadline).toISOString(), message: rollout.message, observed } },
        conditions: [condition(ConditionType.Verified, "Unknown", Reason.VerificationRetry, message)],
      },
      requeueAfterMs: nextDeadline - now,
      events: [{ regarding: ref(a), type: "Warning", reason: Reason.VerificationRetry, action: "Verify", note: message }],
      measure: [seen, { metric: "verifyRetry" }],
    };
  }
  const message = `rollout did not complete within ${attempts} attempts of ${a.spec.verifyTimeoutSeconds}s: ${rollout.message}`;
  return { kind: "update", measure: [seen, { metric: "verification", status: "TIMED_OUT", seconds }], update: {
    phase: "Failed", reason: Reason.RolloutTimedOut, message,
    fields: { verification: { status: "TIMED_OUT", attempts, message: rollout.message, observed } },
    conditions: [condition(ConditionType.Verified, "False", Reason.RolloutTimedOut, message)],
  } };
}
