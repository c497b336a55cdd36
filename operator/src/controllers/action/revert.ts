// Pending and PendingApproval of a revert: may the action it names be undone
// (remediation/revert.ts), do the fields it changed still hold what it set
// (remediation/inverse.ts; when not, which field manager changed them), and do
// the guardrails allow the undo (pause, the undone type allowed, replica caps,
// the hourly limit, approval.revert; no cooldown). Then the inverse JSON patch,
// with the stamp, is recorded as the intent before it is sent — the same
// write-ahead as every action, so a crash never undoes twice.
import type { V1Deployment } from "@kubernetes/client-node";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { type BlockReasonName, Reason } from "../../api/v1alpha1/reasons.ts";
import type { Intent } from "../../api/v1alpha1/remediation-action.ts";
import { readDeployment } from "../../k8s/deployments.ts";
import { isConflict, isRefused, KubeApiError } from "../../k8s/errors.ts";
import { DEPLOYMENTS } from "../../k8s/resources.ts";
import { diffObjects } from "../../remediation/change.ts";
import { checkPatchPaths } from "../../remediation/patch-paths.ts";
import type { EffectivePolicy } from "../../remediation/policy.ts";
import { jsonStampOp } from "../../k8s/executors/patch.ts";
import { failpoint } from "../../k8s/failpoints.ts";
import { describeOwners, fieldOwners } from "../../remediation/field-manager.ts";
import { evaluateGuardrails } from "../../remediation/guardrails.ts";
import { inversePatch } from "../../remediation/inverse.ts";
import { NOT_REVERSIBLE, notReversible, parsePointer } from "../../remediation/pre-state.ts";
import { replicasRestored, replicasSet, revertRefusal } from "../../remediation/revert.ts";
import { policyFor, policyNames } from "../policies.ts";
import type { Rejudge } from "./admit.ts";
import { approvalGate } from "./approval.ts";
import { admitAutoscalerRevert } from "./autoscaler.ts";
import { type ActionContext, actionsOfTarget, history } from "./context.ts";
import { describeIntent } from "./describe.ts";
import { dryRunOutcome } from "./dry-run.ts";
import { MOVED_RETRY_MS } from "./patch-effect.ts";
import { blocked as blockedTransition, intentRecorded, type Transition, wait } from "./transition.ts";

function blocked(reason: BlockReasonName, message: string, again: Rejudge | undefined, guardrailPolicies?: string[]): Transition {
  return blockedTransition(reason, again ? `${message} (${again.note})` : message, { dropIntent: true, ...(guardrailPolicies ? { guardrailPolicies } : {}) });
}

export async function admitRevert(ctx: ActionContext, again?: Rejudge): Promise<Transition> {
  const { action: a, now, deps } = ctx;
  const ns = a.metadata.namespace;
  const of = a.spec.revertOf!;
  const original: RemediationAction | undefined = deps.actions.get(ns, of);
  if (!original) return blocked(Reason.RevertTargetMissing, `action ${ns}/${of} to revert does not exist`, again);
  const refusal = revertRefusal(a, original, actionsOfTarget(deps, ns, a.spec.target.name));
  if (refusal) return blocked(refusal.reason, refusal.message, again);
  const pre = original.status!.preState!;
  // A raised autoscaler floor: the fields belong to the autoscaler, not the Deployment.
  if (pre.object) return admitAutoscalerRevert(ctx, original, pre, again);

  // Whether the fields still hold what the action set is a question about the Deployment as it is now.
  const d = again ? again.fresh : await readDeployment(deps.api, ns, a.spec.target.name);
  if (!d) return blocked(Reason.TargetNotFound, `Deployment ${ns}/${a.spec.target.name} not found`, again);
  const inverse = inversePatch(pre, d);
  if (!inverse.ok) {
    if (inverse.reason === "NotReversible") return blocked(Reason.NotReversible, `action ${of} is not reversible: ${inverse.message}`, again);
    const owners = fieldOwners(d.metadata?.managedFields, d, parsePointer(inverse.field.path));
    const by = owners.length > 0 ? `last changed by field manager ${describeOwners(owners.slice(0, 1))}${owners.length > 1 ? ` (also managed by ${describeOwners(owners.slice(1, 4))})` : ""}` : describeOwners(owners);
    return blocked(Reason.TargetChangedSinceAction, `${inverse.field.path} changed since action ${of}: ${inverse.message}; ${by}. Nothing was undone`, again);
  }

  const policy = policyFor({ namespace: ns, name: a.spec.target.name, labels: d.metadata?.labels }, deps.policies, deps.operatorNamespace);
  const guardrailPolicies = policyNames(policy);
  const intent = revertIntent(a, d, inverse.patch, pre, now);
  // The undo of a patch passes today's patch safelist on its effect, like a patch:
  // the pre-state lives in a status, and a forged one must not become a way to
  // write a denied field (an image) through a revert.
  if (original.spec.type === "patch") {
    const judged = await safelisted(ctx, d, intent, policy);
    if (judged === "moved") return wait(MOVED_RETRY_MS);
    if (judged) return blocked(judged.reason, `the undo of patch ${of}: ${judged.message}`, again, guardrailPolicies);
  }
  const restores = replicasRestored(pre);
  const decision = evaluateGuardrails({
    action: {
      name: a.metadata.name, namespace: ns, type: "revert", targetNamespace: a.spec.target.namespace,
      revert: { of: original.spec.type as Exclude<typeof original.spec.type, "revert">, ...(restores !== undefined ? { replicas: restores } : {}) },
    },
    target: { exists: true, replicas: d.spec?.replicas ?? 0 },
    history: history(ctx),
    policy,
    now,
  });
  if (decision.verdict === "block") return blocked(decision.reason, decision.message, again, guardrailPolicies);
  const guardrailMessage = decision.message;
  const gate = approvalGate(ctx, decision.verdict === "allow" && decision.approvalRequired, policy, guardrailMessage, guardrailPolicies);
  if (gate) return gate;

  if (a.spec.dryRun) return dryRunRevert(ctx, d, intent, guardrailMessage, guardrailPolicies);
  failpoint("before-intent");
  return intentRecorded(ctx, `${describeIntent(a, intent)}${again ? ` (${again.note})` : ""}`, guardrailMessage, { intent, preState: notReversible(NOT_REVERSIBLE.revert), guardrailPolicies });
}

/**
 * The patch the revert will send: the inverse (its tests hold for this reading
 * only) and the stamp, as recorded text; the replicas it restores, so that it
 * counts toward the scale windows like any change of replicas.
 */
function revertIntent(a: RemediationAction, d: V1Deployment, inverse: readonly unknown[], pre: NonNullable<RemediationAction["status"]>["preState"] & object, now: number): Intent {
  const restores = replicasRestored(pre);
  const from = replicasSet(pre);
  const rv = d.metadata?.resourceVersion;
  return {
    revertPatch: JSON.stringify([...inverse, jsonStampOp(a.metadata.uid!, d)]),
    ...(restores !== undefined ? { fromReplicas: from ?? d.spec?.replicas ?? 1, replicas: restores } : {}),
    ...(rv ? { resourceVersion: rv } : {}),
    recordedAt: new Date(now).toISOString(),
  };
}

/** Refusal by the patch safelist of what the undo changes (asked of the API server by a dry run), "moved", or undefined when allowed. */
async function safelisted(ctx: ActionContext, d: V1Deployment, intent: Intent, policy: EffectivePolicy): Promise<{ reason: BlockReasonName; message: string } | "moved" | undefined> {
  const a = ctx.action;
  ctx.deps.guard();
  let after: V1Deployment;
  try {
    after = await ctx.deps.api.patch<V1Deployment>(DEPLOYMENTS, a.metadata.namespace, a.spec.target.name, "json", JSON.parse(intent.revertPatch!), { dryRun: true });
  } catch (err) {
    if (isConflict(err) || (err instanceof KubeApiError && err.status === 422)) return "moved";
    if (!isRefused(err)) throw err;
    return { reason: Reason.InvalidPatch, message: `the API server refused its dry run: ${(err as Error).message}` };
  }
  const paths = [...new Set(diffObjects(d, after).map((c) => c.path))];
  const check = checkPatchPaths(paths, policy.patch.allowedPathSets, policy.patch.deniedPaths);
  return check.ok ? undefined : { reason: check.reason, message: check.message };
}

function dryRunRevert(ctx: ActionContext, d: V1Deployment, intent: Intent, guardrailMessage: string, sources: string[]): Promise<Transition> {
  return dryRunOutcome(ctx, d, intent, guardrailMessage, sources, notReversible(NOT_REVERSIBLE.revert));
}
