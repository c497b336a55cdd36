// Pending and PendingApproval: judge the action against the Deployment as it is
// (guardrails, approval), then record the concrete intent — before any effect, so
// a crash after this write never acts twice and never acts on a new decision.
import type { V1Deployment } from "@kubernetes/client-node";
import { ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import { readDeployment } from "../../k8s/deployments.ts";
import { failpoint } from "../../k8s/failpoints.ts";
import { evaluateGuardrails } from "../../remediation/guardrails.ts";
import { concreteIntent, preStateFor } from "../intent.ts";
import { policyFor } from "../policies.ts";
import { approvalGate } from "./approval.ts";
import { type ActionContext, history, targetPods } from "./context.ts";
import { describeIntent } from "./describe.ts";
import { dryRun } from "./dry-run.ts";
import { type PatchEffect, patchEffect } from "./patch-effect.ts";
import { admitRevert } from "./revert.ts";
import { condition, type Transition } from "./transition.ts";

/** A judgement again after a guarded write was refused: the fresh reading it read, and why. */
export interface Rejudge {
  fresh: V1Deployment | undefined;
  note: string;
}

export async function admit(ctx: ActionContext, again?: Rejudge): Promise<Transition> {
  const { action: a, now, deps } = ctx;
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
  const changes = effect?.changes;
  const policy = policyFor({ namespace: ns, name: a.spec.target.name, labels: d?.metadata?.labels }, deps.policies, deps.operatorNamespace);
  const decision = evaluateGuardrails({
    action: {
      name: a.metadata.name, namespace: ns, type: a.spec.type, targetNamespace: a.spec.target.namespace,
      ...(a.spec.scale ? { scale: a.spec.scale } : {}),
      ...(changes ? { changes } : {}),
    },
    target: { exists: d !== undefined, replicas: d?.spec?.replicas ?? 0 },
    history: history(ctx),
    policy,
    now,
  });
  const guardrailPolicies = policy.sources.slice(0, 16).map((s) => s.split("/")[1] ?? s);

  if (decision.verdict === "block") {
    return {
      kind: "update",
      update: {
        phase: "Blocked", reason: decision.reason, message: again ? `${decision.message} (${again.note})` : decision.message,
        dropIntent: true, fields: { guardrailPolicies },
        conditions: [condition(ConditionType.GuardrailsPassed, "False", decision.reason, decision.message)],
      },
      measure: [{ metric: "guardrailBlock", reason: decision.reason }],
    };
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
  const gate = approvalGate(ctx, decision.approvalRequired, policy, decision.message, guardrailPolicies);
  if (gate) return gate;
  if (a.spec.dryRun) return dryRun(ctx, d, decision.message, guardrailPolicies, decision.replicas, effect);

  const intent = d ? concreteIntent(a, d, targetPods(ctx, d), now, decision.replicas, changes) : undefined;
  if (!intent?.ok || !d) {
    const reason = intent?.ok === false ? intent.reason : Reason.TargetNotFound;
    const message = intent?.ok === false ? intent.message : `Deployment ${ns}/${a.spec.target.name} not found`;
    return {
      kind: "update",
      update: { phase: "Blocked", reason, message, conditions: [condition(ConditionType.GuardrailsPassed, "False", reason, message)] },
      measure: [{ metric: "guardrailBlock", reason }],
    };
  }
  // The pre-state goes into the intent's own write: recorded before the effect, or not at all.
  const preState = preStateFor(a, intent.intent, d, effect);
  failpoint("before-intent");
  const approval = a.spec.approval;
  // A scale or patch is expected to be reversible; say so when it is not (restart and delete-pod never are).
  const irreversible = !preState.reversible && (a.spec.type === "scale" || a.spec.type === "patch") ? `; not reversible: ${preState.reason}` : "";
  return {
    kind: "update",
    update: {
      phase: "Executing", reason: Reason.IntentRecorded,
      message: `${describeIntent(a, intent.intent)}${irreversible}${again ? ` (${again.note})` : ""}`,
      fields: { intent: intent.intent, preState, startedAt: new Date(now).toISOString(), guardrailPolicies },
      conditions: [
        condition(ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, decision.message),
        ...(approval?.decision === "Approved" ? [condition(ConditionType.Approved, "True", Reason.ApprovedByUser, `approved by ${approval.approvedBy}`)] : []),
      ],
    },
  };
}
