// A dry-run action: the same judgement and intent as a real one, the executor's
// request sent with dryRun=All, and the result recorded with the pre-state a real
// run would record; nothing is changed.
import type { V1Deployment } from "@kubernetes/client-node";
import { ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import type { Intent, PreState } from "../../api/v1alpha1/remediation-action.ts";
import { concreteIntent, preStateFor } from "../intent.ts";
import { type ActionContext, targetPods } from "./context.ts";
import { MOVED_RETRY_MS, type PatchEffect } from "./patch-effect.ts";
import { runExecutor } from "./run.ts";
import { condition, type Transition, wait } from "./transition.ts";

export async function dryRun(ctx: ActionContext, d: V1Deployment | undefined, guardrailMessage: string, sources: string[], replicas: number | undefined, effect: PatchEffect | undefined): Promise<Transition> {
  const a = ctx.action;
  if (!d) {
    return { kind: "update", update: { phase: "Blocked", reason: Reason.TargetNotFound, message: `Deployment ${a.metadata.namespace}/${a.spec.target.name} not found` } };
  }
  const intent = concreteIntent(a, d, targetPods(ctx, d), ctx.now, replicas, effect?.changes);
  if (!intent.ok) return { kind: "update", update: { phase: "Blocked", reason: intent.reason, message: intent.message } };
  // The pre-state is part of what a human reviews: what a real run would replace, and whether it could be undone.
  return dryRunOutcome(ctx, d, intent.intent, guardrailMessage, sources, preStateFor(a, intent.intent, d, effect));
}

/** Sends the executor's request with dryRun=All and records its result: the one ending of every dry run. */
export async function dryRunOutcome(ctx: ActionContext, d: V1Deployment, intent: Intent, guardrailMessage: string, sources: string[], preState: PreState): Promise<Transition> {
  const outcome = await runExecutor(ctx, intent, true, d);
  if (outcome.kind === "transition") return outcome.transition;
  // A dry run that met a moving Deployment just runs again shortly.
  if (outcome.kind === "stale") return wait(MOVED_RETRY_MS);
  const result = outcome.result;
  return {
    kind: "update",
    update: {
      phase: "Succeeded", reason: Reason.DryRunSucceeded, message: result.summary,
      fields: {
        guardrailPolicies: sources, preState,
        dryRunResult: { summary: result.summary, fromReplicas: result.fromReplicas, toReplicas: result.toReplicas },
      },
      conditions: [
        condition(ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, guardrailMessage),
        condition(ConditionType.Executed, "True", Reason.DryRunSucceeded, result.summary),
        condition(ConditionType.Verified, "Unknown", Reason.VerificationSkipped, "dry run: nothing changed to verify"),
      ],
    },
  };
}
