// Executing: apply the recorded intent, once. A crash between the intent and the
// effect is recognised on the next pass (controllers/intent.ts alreadyApplied:
// the stamp, the restartedAt value, the evicted pod's uid) and not repeated.
import type { V1Deployment } from "@kubernetes/client-node";
import { ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import type { Intent } from "../../api/v1alpha1/remediation-action.ts";
import { readDeployment } from "../../k8s/deployments.ts";
import { stampOf } from "../../k8s/executors/index.ts";
import { failpoint } from "../../k8s/failpoints.ts";
import { alreadyApplied } from "../intent.ts";
import { admit } from "./admit.ts";
import { executeAutoscaler } from "./autoscaler.ts";
import { type ActionContext, targetPods } from "./context.ts";
import { createdAt, deploymentRef, describeIntent, scaleNote, verb } from "./describe.ts";
import { runExecutor } from "./run.ts";
import { condition, type Transition } from "./transition.ts";

export async function execute(ctx: ActionContext): Promise<Transition> {
  const { action: a, now, deps } = ctx;
  const intent = a.status!.intent!;
  // A raised autoscaler floor, or its revert: the write goes to the autoscaler.
  if (intent.autoscaler) return executeAutoscaler(ctx);
  const cached = deps.deployments.get(a.metadata.namespace, a.spec.target.name);
  // A JSON patch's stamp operation depends on the object it is applied to: use
  // the reading the dry run judged, not an older cached copy.
  const d = a.spec.type === "patch" && intent.resourceVersion && cached?.metadata?.resourceVersion !== intent.resourceVersion
    ? await readDeployment(deps.api, a.metadata.namespace, a.spec.target.name)
    : cached;
  if (alreadyApplied(a, intent, d, targetPods(ctx, d), stampOf(d))) {
    return executed(ctx, d, `${describeIntent(a, intent)} (already applied before a restart)`);
  }
  failpoint("after-intent");
  const outcome = await runExecutor(ctx, intent, false, d);
  if (outcome.kind === "transition") return outcome.transition;
  if (outcome.kind === "stale") return rejudge(ctx, intent, outcome.error);
  failpoint("after-act");
  const created = createdAt(a);
  const t = executed(ctx, d, `${outcome.result.summary}${a.spec.type === "scale" ? scaleNote(a, intent) : ""}`);
  if (Number.isFinite(created) && t.kind === "update") t.measure = [...(t.measure ?? []), { metric: "executed", seconds: (now - created) / 1000 }];
  return t;
}

/** The mutation took effect: record it, then verify (or finish when verify is off). */
export function executed(ctx: ActionContext, d: V1Deployment | undefined, summary: string): Transition {
  const { action: a, now } = ctx;
  // On the Deployment, so that `kubectl describe deployment` says who changed it; the
  // action itself says so in its Executed condition and its final event.
  const events = d ? [{ regarding: deploymentRef(d), type: "Normal" as const, reason: "SmartopsRemediation", action: verb(a), note: `${summary} (RemediationAction ${a.metadata.name})` }] : [];
  if (!a.spec.verify) {
    return { kind: "update", events, update: {
      phase: "Succeeded", reason: Reason.Executed, message: summary,
      conditions: [
        condition(ConditionType.Executed, "True", Reason.Executed, summary),
        condition(ConditionType.Verified, "Unknown", Reason.VerificationSkipped, "verify is false"),
      ],
    } };
  }
  return { kind: "update", events, update: {
    phase: "Verifying", reason: Reason.RolloutInProgress, message: summary,
    fields: { verification: { status: "IN_PROGRESS", attempts: 1, deadline: new Date(now + a.spec.verifyTimeoutSeconds * 1000).toISOString() } },
    conditions: [
      condition(ConditionType.Executed, "True", Reason.Executed, summary),
      condition(ConditionType.Verified, "Unknown", Reason.RolloutInProgress, "waiting for the rollout"),
    ],
  } };
}

/**
 * The guarded write was refused: the Deployment changed after the intent was
 * computed. Our own write may be the change (applied, then the status write
 * failed and the cache still lags): the stamp on a fresh reading says so.
 * Otherwise the action is judged again from that reading, through the
 * guardrails, and recorded before the next attempt — never the old number.
 */
async function rejudge(ctx: ActionContext, intent: Intent, error: unknown): Promise<Transition> {
  const a = ctx.action;
  const fresh = await readDeployment(ctx.deps.api, a.metadata.namespace, a.spec.target.name);
  if (fresh && stampOf(fresh) === a.metadata.uid) return executed(ctx, fresh, `${describeIntent(a, intent)} (already applied)`);
  // A revert refused although the Deployment is still the reading it was computed
  // from: not a guard that failed, so judging again would send the same request.
  if (a.spec.type === "revert" && fresh && fresh.metadata?.resourceVersion === intent.resourceVersion) {
    const message = `the API server refused the revert's patch: ${error instanceof Error ? error.message : String(error)}`;
    return { kind: "update", update: {
      phase: "Failed", reason: Reason.ExecutionFailed, message,
      conditions: [condition(ConditionType.Executed, "False", Reason.ExecutionFailed, message)],
    } };
  }
  const replicas = fresh?.spec?.replicas;
  const note = a.spec.type === "revert"
    ? `judged again: the Deployment changed after the undo was computed${fresh ? "" : " and is gone"}`
    : a.spec.type === "scale"
    ? `recomputed: the Deployment changed after the target was computed from ${intent.fromReplicas} replica(s)${replicas !== undefined ? ` and has ${replicas} now` : " and is gone"}`
    : `judged again: the Deployment changed after the patch's dry run${fresh ? "" : " and is gone"}`;
  return admit(ctx, { fresh, note });
}
