// Pending and PendingApproval: judge the action against the Deployment as it is
// (guardrails, approval), then record the concrete intent — before any effect, so
// a crash after this write never acts twice and never acts on a new decision.
import type { V1Deployment } from "@kubernetes/client-node";
import { ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import { readDeployment } from "../../k8s/deployments.ts";
import { failpoint } from "../../k8s/failpoints.ts";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import type { RemediationActionStatus } from "../../api/v1alpha1/remediation-action.ts";
import { repeatedFailures, resumedAt } from "../../remediation/escalation.ts";
import { evaluateGuardrails, policyKey } from "../../remediation/guardrails.ts";
import type { EffectivePolicy } from "../../remediation/policy.ts";
import { completedAtOf, outcomeOf } from "../outcomes.ts";
import { concreteIntent, preStateFor } from "../intent.ts";
import { policyFor, policyNames } from "../policies.ts";
import { approvalGate } from "./approval.ts";
import { judgeAutoscaler } from "./autoscaler.ts";
import { type ActionContext, actionsOfTarget, guardrailInput, targetPods } from "./context.ts";
import { describeIntent } from "./describe.ts";
import { dryRun } from "./dry-run.ts";
import { judgeOwners, withOwners } from "./field-owners.ts";
import { type PatchEffect, patchEffect } from "./patch-effect.ts";
import { admitRevert } from "./revert.ts";
import { shadowJudgements } from "./shadow.ts";
import { blocked, condition, intentRecorded, type Transition, withFields } from "./transition.ts";

/** A judgement again after a guarded write was refused: the fresh reading it read, and why. */
export interface Rejudge {
  fresh: V1Deployment | undefined;
  note: string;
}

export async function admit(ctx: ActionContext, again?: Rejudge): Promise<Transition> {
  const { action: a, deps } = ctx;
  if (a.spec.type === "revert") return admitRevert(ctx, again);
  const ns = a.metadata.namespace;
  // A scale's target and a patch's effect depend on the Deployment as it is, so
  // both are read from the API server: the informer's copy may lag behind.
  const fresh = a.spec.type === "scale" || a.spec.type === "patch";
  const d = again ? again.fresh
    : fresh ? await readDeployment(deps.api, ns, a.spec.target.name)
    : deps.deployments.get(ns, a.spec.target.name);
  let effect: PatchEffect | undefined;
  if (a.spec.type === "patch" && d) {
    const e = await patchEffect(ctx, d);
    if ("transition" in e) return e.transition;
    effect = e;
  }
  const policy = policyFor({ namespace: ns, name: a.spec.target.name, labels: d?.metadata?.labels }, deps.policies, deps.operatorNamespace);
  const judgedBy = judgedByOf(policy, a);
  const shadows = shadowJudgements(ctx, d, effect?.changes);
  return withFields(await judge(ctx, policy, d, effect, again), { judgedBy, ...(shadows.length > 0 ? { shadowDecisions: shadows } : {}) });
}

async function judge(ctx: ActionContext, policy: EffectivePolicy, d: V1Deployment | undefined, effect: PatchEffect | undefined, again?: Rejudge): Promise<Transition> {
  const { action: a, now } = ctx;
  const ns = a.metadata.namespace;
  const changes = effect?.changes;
  const stop = a.spec.source === "manual" ? undefined : stopped(ctx, policy, d);
  const guardrailPolicies = policyNames(policy);
  if (stop) return blocked(Reason.RepeatedFailures, stop, { dropIntent: true, guardrailPolicies });
  const decision = evaluateGuardrails({ ...guardrailInput(ctx, d, changes), policy });
  if (decision.verdict === "block") {
    return blocked(decision.reason, again ? `${decision.message} (${again.note})` : decision.message, { dropIntent: true, guardrailPolicies });
  }
  if (decision.verdict === "unchanged") {
    return {
      kind: "update",
      update: {
        phase: "Succeeded", reason: Reason.NoChange, message: decision.message, dropIntent: true,
        fields: { guardrailPolicies, ...(a.spec.dryRun ? { dryRunResult: { summary: "nothing to change" } } : {}) },
        conditions: [
          condition(ConditionType.GuardrailsPassed, "True", Reason.NoChange, decision.message),
          condition(ConditionType.Executed, "True", Reason.NoChange, "nothing to change: no write"),
          condition(ConditionType.Verified, "Unknown", Reason.VerificationSkipped, "nothing changed to verify"),
        ],
      },
    };
  }
  // Who else owns the Deployment and the fields it changes: judged before a human is asked to approve.
  const owners = judgeOwners(ctx, policy, d, decision.replicas, changes);
  if (owners.verdict === "block") return owners.transition;
  // A Deployment an autoscaler scales: blocked, or its floor raised instead (controllers/action/autoscaler.ts).
  const autoscaled = await judgeAutoscaler(ctx, { policy, d, replicas: decision.replicas, approvalRequired: decision.approvalRequired, guardrailMessage: decision.message, changes, guardrailPolicies, ...(again ? { again } : {}) });
  if (autoscaled) return autoscaled;
  const gate = approvalGate(ctx, decision.approvalRequired, policy, decision.message, guardrailPolicies);
  if (gate) return gate;
  if (a.spec.dryRun) return withOwners(await dryRun(ctx, d, decision.message, guardrailPolicies, decision.replicas, effect), owners);

  const intent = d ? concreteIntent(a, d, targetPods(ctx, d), now, decision.replicas, changes) : undefined;
  if (!intent?.ok || !d) {
    const reason = intent?.ok === false ? intent.reason : Reason.TargetNotFound;
    const message = intent?.ok === false ? intent.message : `Deployment ${ns}/${a.spec.target.name} not found`;
    return blocked(reason, message);
  }
  // The pre-state goes into the intent's own write: recorded before the effect, or not at all.
  const preState = preStateFor(a, intent.intent, d, effect);
  failpoint("before-intent");
  // A scale or patch is expected to be reversible; say so when it is not (restart and delete-pod never are).
  const irreversible = !preState.reversible && (a.spec.type === "scale" || a.spec.type === "patch") ? `; not reversible: ${preState.reason}` : "";
  return withOwners(intentRecorded(ctx, `${describeIntent(a, intent.intent)}${irreversible}${again ? ` (${again.note})` : ""}`, decision.message, { intent: intent.intent, preState, guardrailPolicies }), owners);
}

/**
 * Automatic actions stop on a target whose last actions failed or did not work,
 * N in a row (humans' own actions and undos go on: a human is what the block
 * waits for, and undo must stay possible).
 */
function stopped(ctx: ActionContext, policy: EffectivePolicy, d: V1Deployment | undefined): string | undefined {
  const a = ctx.action;
  const completed = actionsOfTarget(ctx.deps, a.metadata.namespace, a.spec.target.name)
    .filter((o) => o.metadata.name !== a.metadata.name)
    .flatMap((o) => {
      const outcome = outcomeOf(o);
      return outcome === undefined ? [] : [{ name: o.metadata.name, completedAt: completedAtOf(o), outcome }];
    });
  const decision = repeatedFailures({
    completed,
    maxConsecutiveFailures: policy.escalation.maxConsecutiveFailures,
    ...(policy.escalation.blockExpirySeconds !== undefined ? { blockExpirySeconds: policy.escalation.blockExpirySeconds } : {}),
    ...withResume(resumedAt(d?.metadata?.annotations)),
    now: ctx.now,
  });
  return decision.blocked ? decision.message : undefined;
}

const withResume = (t: number | undefined) => (t === undefined ? {} : { resumedAt: t });

/** The policy values that judge this action, for its audit record. */
export function judgedByOf(policy: EffectivePolicy, a: RemediationAction): NonNullable<RemediationActionStatus["judgedBy"]> {
  const type = a.spec.type;
  const key = type === "revert" ? undefined : policyKey(type);
  return {
    policies: policy.sources.slice(0, 16),
    ...(key ? { cooldownSeconds: policy.cooldownSeconds[key], approvalTier: policy.approval[key] } : { approvalTier: policy.approval.revert }),
    replicas: policy.replicas,
    maxActionsPerHour: policy.rateLimits.maxActionsPerHour,
    maxScaleIncreasePer15Minutes: policy.rateLimits.maxScaleIncreasePer15Minutes,
    ...(type === "scale" || type === "patch" ? { onFailure: policy.onFailure[type] } : {}),
    effectivenessWindowSeconds: policy.effectiveness.windowSeconds,
  };
}
