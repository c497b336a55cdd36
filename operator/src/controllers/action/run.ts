// Runs an action's executor (k8s/executors) and sorts its failures: the API
// server's "not now" (429, a PodDisruptionBudget holding an eviction) waits for
// the time it asked; a refusal of the request itself (4xx) is final; a guarded
// write refused because the Deployment moved (409) is "stale" for the caller to
// judge again; anything else is thrown for the queue to retry.
import type { V1Deployment } from "@kubernetes/client-node";
import { ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import type { Intent } from "../../api/v1alpha1/remediation-action.ts";
import { isConflict, isRefused, isTooManyRequests, KubeApiError } from "../../k8s/errors.ts";

const isInvalid = (e: unknown) => e instanceof KubeApiError && e.status === 422;
import { execute, type ExecutionResult } from "../../k8s/executors/index.ts";
import type { ActionContext } from "./context.ts";
import { ref, verb } from "./describe.ts";
import { condition, type Transition, wait } from "./transition.ts";

/** When a 429 names no Retry-After. */
export const THROTTLED_RETRY_MS = 5_000;

export type RunOutcome =
  | { kind: "done"; result: ExecutionResult }
  | { kind: "transition"; transition: Transition }
  /** The Deployment changed since the intent was computed (409 on the guarded write; 422 on a revert's failed test). */
  | { kind: "stale"; error: unknown };

export async function runExecutor(ctx: ActionContext, intent: Intent, dryRun: boolean, d: V1Deployment | undefined): Promise<RunOutcome> {
  const a = ctx.action;
  ctx.deps.guard();
  try {
    return { kind: "done", result: await execute(ctx.deps.api, { action: a, intent, dryRun, deployment: d }) };
  } catch (err) {
    if ((a.spec.type === "scale" || a.spec.type === "patch" || a.spec.type === "revert") && isConflict(err) && intent.resourceVersion) return { kind: "stale", error: err };
    // A revert's JSON patch tests the reading's resourceVersion and every value it restores over: 422 when one no longer holds.
    if (a.spec.type === "revert" && isInvalid(err)) return { kind: "stale", error: err };
    if (isTooManyRequests(err)) {
      const after = (err as KubeApiError).retryAfterSeconds;
      const ms = after === undefined ? THROTTLED_RETRY_MS : after * 1000;
      const note = `API answered 429 (PodDisruptionBudget?): retrying in ${ms / 1000}s`;
      return { kind: "transition", transition: wait(ms, { events: [{ regarding: ref(a), type: "Normal", reason: Reason.EvictionRetry, action: verb(a), note }] }) };
    }
    if (err instanceof KubeApiError && isRefused(err)) {
      return { kind: "transition", transition: { kind: "update", update: {
        phase: "Failed", reason: Reason.ExecutionFailed, message: err.message,
        conditions: [condition(ConditionType.Executed, "False", Reason.ExecutionFailed, err.message)],
      } } };
    }
    throw err;
  }
}
