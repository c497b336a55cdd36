// A scale (or a patch of spec.replicas) of a Deployment that an autoscaler
// scales (remediation/autoscaler.ts decides): Blocked ManagedByAutoscaler, or —
// under the policy's autoscaler mode AdjustAutoscaler — the autoscaler's floor
// raised instead of the Deployment's replicas. Crash-safe like every executor:
// the intent (which autoscaler, its resourceVersion, the floor before and after)
// and the pre-state (the floor field, on preState.object) are recorded before the
// JSON patch, which tests the floor it read and stamps the autoscaler with the
// action's uid, so a crash after the write is recognised and a floor changed
// since is never overwritten. The revert of such an action (by a human, or the
// operator's own when adjustSeconds end) restores the floor through the same
// pre-state machinery, tested against the autoscaler.
import type { V1Deployment, V1ManagedFieldsEntry } from "@kubernetes/client-node";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { type BlockReasonName, ConditionType, Reason } from "../../api/v1alpha1/reasons.ts";
import type { Intent, PreState } from "../../api/v1alpha1/remediation-action.ts";
import { readAutoscaler, patchAutoscaler } from "../../k8s/autoscalers.ts";
import { readDeployment } from "../../k8s/deployments.ts";
import { isConflict, isRefused, KubeApiError } from "../../k8s/errors.ts";
import { jsonStampOp } from "../../k8s/executors/patch.ts";
import { stampOf } from "../../k8s/executors/stamp.ts";
import { failpoint } from "../../k8s/failpoints.ts";
import {
  type Autoscaler, AUTOSCALER_API, type AutoscalerKind, decideAutoscaler, fromHpa, fromScaledObject, type HpaObject, type ScaledObjectObject,
} from "../../remediation/autoscaler.ts";
import type { FieldChange } from "../../remediation/change.ts";
import { describeOwners, fieldOwners } from "../../remediation/field-manager.ts";
import { evaluateGuardrails } from "../../remediation/guardrails.ts";
import { inversePatch } from "../../remediation/inverse.ts";
import { NOT_REVERSIBLE, notReversible, parsePointer } from "../../remediation/pre-state.ts";
import type { EffectivePolicy } from "../../remediation/policy.ts";
import type { RolloutStatus } from "../../remediation/rollout.ts";
import { autoscalersOfDeployment } from "../autoscalers.ts";
import { policyFor, policyNames } from "../policies.ts";
import type { Rejudge } from "./admit.ts";
import { admit } from "./admit.ts";
import { approvalGate } from "./approval.ts";
import { type ActionContext, history } from "./context.ts";
import { executed } from "./execute.ts";
import { MOVED_RETRY_MS } from "./patch-effect.ts";
import { blocked as blockedTransition, condition, intentRecorded, type Transition, wait } from "./transition.ts";

type AutoscalerObject = HpaObject & ScaledObjectObject & { metadata?: { annotations?: Record<string, string>; managedFields?: V1ManagedFieldsEntry[] } };

const asAutoscaler = (kind: AutoscalerKind, o: AutoscalerObject): Autoscaler => (kind === "HorizontalPodAutoscaler" ? fromHpa(o) : fromScaledObject(o));

function blocked(ctx: ActionContext, reason: BlockReasonName, message: string, again: { note: string } | undefined, guardrailPolicies?: string[]): Transition {
  // A dry run says what a real run would meet.
  const text = `${ctx.action.spec.dryRun ? `would be blocked: ${reason}: ` : ""}${message}${again ? ` (${again.note})` : ""}`;
  return blockedTransition(reason, text, { dropIntent: true, ...(guardrailPolicies ? { guardrailPolicies } : {}) });
}

export interface AutoscalerJudgement {
  policy: EffectivePolicy;
  d: V1Deployment | undefined;
  /** The guardrails allowed the action: the replicas they computed, whether a human must approve, and their message. */
  replicas: number | undefined;
  approvalRequired: boolean;
  guardrailMessage: string;
  changes: readonly FieldChange[] | undefined;
  guardrailPolicies: string[];
  again?: Rejudge;
}

/**
 * After the guardrails allowed a scale or a patch: undefined when the Deployment
 * has no autoscaler (or the action does not change spec.replicas), else the
 * action's transition — blocked, waiting for approval, a dry run's answer, or the
 * raised floor's intent recorded.
 */
export async function judgeAutoscaler(ctx: ActionContext, j: AutoscalerJudgement): Promise<Transition | undefined> {
  const { action: a, deps, now } = ctx;
  const ns = a.metadata.namespace;
  if (!j.d || (a.spec.type !== "scale" && a.spec.type !== "patch")) return undefined;
  const cached = autoscalersOfDeployment(deps.autoscalers, ns, a.spec.target.name);
  if (cached.length === 0) return undefined;
  const input = {
    type: a.spec.type, deployment: `${ns}/${a.spec.target.name}`, ...(j.changes ? { changes: j.changes } : {}),
    ...(j.replicas !== undefined ? { requested: j.replicas } : {}),
    policy: { mode: j.policy.autoscaler.mode, adjustSeconds: j.policy.autoscaler.adjustSeconds, maxReplicas: j.policy.replicas.max },
  };
  let decision = decideAutoscaler({ ...input, autoscalers: cached });
  if (decision.kind === "adjust") {
    // The floor the patch tests and the pre-state records come from the API server, not the informer.
    const kind = decision.autoscaler.kind;
    const fresh = await readAutoscaler<AutoscalerObject>(deps.api, kind, ns, decision.autoscaler.name);
    const others = cached.filter((x) => x !== (decision as { autoscaler: Autoscaler }).autoscaler);
    decision = decideAutoscaler({ ...input, autoscalers: fresh ? [...others, asAutoscaler(kind, fresh)] : others });
  }
  if (decision.kind === "none") return undefined;
  if (decision.kind === "block") return blocked(ctx, decision.reason, decision.message, j.again, j.guardrailPolicies);

  const gate = approvalGate(ctx, j.approvalRequired, j.policy, `${j.guardrailMessage}; ${decision.message}`, j.guardrailPolicies);
  if (gate) return gate;
  const target = decision.autoscaler;
  const api = AUTOSCALER_API[target.kind];
  const from = j.d.spec?.replicas ?? 1;
  const intent: Intent = {
    // Counted in the scale windows like a scale to the floor: the autoscaler brings the Deployment there.
    fromReplicas: from, replicas: Math.max(from, decision.to),
    autoscaler: {
      kind: target.kind, name: target.name, ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
      ...(decision.from !== undefined ? { fromMinReplicas: decision.from } : {}), toMinReplicas: decision.to,
      restoreAt: new Date(now + j.policy.autoscaler.adjustSeconds * 1000).toISOString(),
    },
    recordedAt: new Date(now).toISOString(),
  };
  const preState: PreState = {
    reversible: true,
    object: { apiVersion: api.apiVersion, kind: target.kind, name: target.name },
    fields: [{ path: api.floorPath, ...(decision.from !== undefined ? { before: JSON.stringify(decision.from) } : { absent: true }), after: JSON.stringify(decision.to) }],
  };
  if (a.spec.dryRun) return dryRunFloor(ctx, intent, preState, j.guardrailMessage, j.guardrailPolicies, decision.message);
  failpoint("before-intent");
  return intentRecorded(ctx, `${decision.message}${j.again ? ` (${j.again.note})` : ""}`, `${j.guardrailMessage}; ${decision.message}`, { intent, preState, guardrailPolicies: j.guardrailPolicies });
}

/** The JSON patch that raises the floor: a test of the floor read (of the resourceVersion when it was unset), the new floor, the stamp. */
function raiseOps(a: RemediationAction, intent: Intent, obj: AutoscalerObject): unknown[] {
  const i = intent.autoscaler!;
  const path = AUTOSCALER_API[i.kind].floorPath;
  const test = i.fromMinReplicas !== undefined
    ? { op: "test", path, value: i.fromMinReplicas }
    : { op: "test", path: "/metadata/resourceVersion", value: i.resourceVersion ?? "" };
  return [test, { op: i.fromMinReplicas !== undefined ? "replace" : "add", path, value: i.toMinReplicas }, jsonStampOp(a.metadata.uid!, obj as V1Deployment)];
}

const floorText = (kind: AutoscalerKind) => (kind === "HorizontalPodAutoscaler" ? "minReplicas" : "minReplicaCount");

function summaryOf(a: RemediationAction, intent: Intent, dryRun: boolean): string {
  const i = intent.autoscaler!;
  const target = `Deployment ${a.metadata.namespace}/${a.spec.target.name}`;
  if (a.spec.type === "revert") {
    return `${dryRun ? "would revert" : "reverted"} ${a.spec.revertOf}: ${dryRun ? "would restore" : "restored"} the floor of ${i.kind} ${i.name} (${floorText(i.kind)}) on ${target}; this does not scale the Deployment down by itself: the autoscaler does that from its metrics`;
  }
  return `${dryRun ? "would raise" : "raised"} ${i.kind} ${i.name} ${floorText(i.kind)} ${i.fromMinReplicas ?? `unset (${AUTOSCALER_API[i.kind].defaultMin})`} -> ${i.toMinReplicas} instead of scaling ${target}; restored at ${i.restoreAt}`;
}

async function dryRunFloor(ctx: ActionContext, intent: Intent, preState: PreState, guardrailMessage: string, sources: string[], message: string): Promise<Transition> {
  const a = ctx.action;
  const i = intent.autoscaler!;
  const obj = await readAutoscaler<AutoscalerObject>(ctx.deps.api, i.kind, a.metadata.namespace, i.name);
  if (!obj) return wait(MOVED_RETRY_MS);
  const ops = a.spec.type === "revert" ? JSON.parse(intent.revertPatch!) as unknown[] : raiseOps(a, intent, obj);
  ctx.deps.guard();
  try {
    await patchAutoscaler(ctx.deps.api, i.kind, a.metadata.namespace, i.name, ops, true);
  } catch (err) {
    if (isConflict(err) || (err instanceof KubeApiError && err.status === 422)) return wait(MOVED_RETRY_MS);
    if (err instanceof KubeApiError && isRefused(err)) return { kind: "update", update: { phase: "Failed", reason: Reason.ExecutionFailed, message: err.message } };
    throw err;
  }
  const summary = summaryOf(a, intent, true);
  return {
    kind: "update",
    update: {
      phase: "Succeeded", reason: Reason.DryRunSucceeded, message: `${summary} (${message})`,
      fields: { guardrailPolicies: sources, preState, dryRunResult: { summary: summary.slice(0, 1024), ...(intent.replicas !== undefined ? { fromReplicas: intent.fromReplicas, toReplicas: intent.replicas } : {}) } },
      conditions: [
        condition(ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, guardrailMessage),
        condition(ConditionType.Executed, "True", Reason.DryRunSucceeded, summary),
        condition(ConditionType.Verified, "Unknown", Reason.VerificationSkipped, "dry run: nothing changed to verify"),
      ],
    },
  };
}

/**
 * Executing an intent that names an autoscaler (a raised floor, or its revert):
 * recognised as done when the autoscaler carries this action's stamp, else the
 * recorded patch is sent once. A refused test (the floor or the autoscaler
 * changed since the intent) is judged again from a fresh reading.
 */
export async function executeAutoscaler(ctx: ActionContext): Promise<Transition> {
  const { action: a, deps } = ctx;
  const intent = a.status!.intent!;
  const i = intent.autoscaler!;
  const ns = a.metadata.namespace;
  const d = deps.deployments.get(ns, a.spec.target.name);
  const obj = await readAutoscaler<AutoscalerObject>(deps.api, i.kind, ns, i.name);
  if (obj && stampOf(obj as V1Deployment) === a.metadata.uid) return executed(ctx, d, `${summaryOf(a, intent, false)} (already applied before a restart)`);
  if (!obj) {
    const message = `${i.kind} ${ns}/${i.name} is gone: nothing to ${a.spec.type === "revert" ? "restore" : "raise"}`;
    return { kind: "update", update: { phase: "Failed", reason: Reason.TargetNotFound, message, conditions: [condition(ConditionType.Executed, "False", Reason.TargetNotFound, message)] } };
  }
  failpoint("after-intent");
  const ops = a.spec.type === "revert" ? JSON.parse(intent.revertPatch ?? "[]") as unknown[] : raiseOps(a, intent, obj);
  deps.guard();
  try {
    await patchAutoscaler(deps.api, i.kind, ns, i.name, ops, false);
  } catch (err) {
    if (isConflict(err) || (err instanceof KubeApiError && err.status === 422)) {
      const fresh = await readDeployment(deps.api, ns, a.spec.target.name);
      return admit(ctx, { fresh, note: `judged again: ${i.kind} ${i.name} changed after the intent was recorded` });
    }
    if (err instanceof KubeApiError && isRefused(err)) {
      return { kind: "update", update: { phase: "Failed", reason: Reason.ExecutionFailed, message: err.message, conditions: [condition(ConditionType.Executed, "False", Reason.ExecutionFailed, err.message)] } };
    }
    throw err;
  }
  failpoint("after-act");
  return executed(ctx, d, summaryOf(a, intent, false));
}

/**
 * Verification of a raised floor: the rollout complete is not enough — the
 * Deployment must have followed through the autoscaler (spec.replicas at least
 * the new floor). Any other action's rollout status is returned as it is.
 */
export function withFloor(a: RemediationAction, d: V1Deployment, rollout: RolloutStatus): RolloutStatus {
  const floor = a.spec.type === "revert" ? undefined : a.status?.intent?.autoscaler?.toMinReplicas;
  const replicas = d.spec?.replicas ?? 1;
  if (floor === undefined || replicas >= floor || rollout.state === "failed") return rollout;
  const i = a.status!.intent!.autoscaler!;
  return { ...rollout, state: "progressing", message: `waiting for ${i.kind} ${i.name} to raise the Deployment to its new floor ${floor} (it has ${replicas}); ${rollout.message}` };
}

/**
 * Pending and PendingApproval of a revert whose pre-state names an autoscaler
 * (preState.object): the inverse patch is computed against the autoscaler as it
 * is now, and refused when its floor no longer holds what the action set (naming
 * the field manager that changed it); the guardrails and approval.revert judge it
 * like any revert.
 */
export async function admitAutoscalerRevert(ctx: ActionContext, original: RemediationAction, pre: PreState, again?: Rejudge): Promise<Transition> {
  const { action: a, deps, now } = ctx;
  const ns = a.metadata.namespace;
  const of = original.metadata.name;
  const ref = pre.object!;
  const obj = await readAutoscaler<AutoscalerObject>(deps.api, ref.kind, ns, ref.name);
  if (!obj) return blocked(ctx, Reason.TargetNotFound, `${ref.kind} ${ns}/${ref.name}, whose floor action ${of} raised, not found: nothing to restore`, again);
  const inverse = inversePatch(pre, obj);
  if (!inverse.ok) {
    if (inverse.reason === "NotReversible") return blocked(ctx, Reason.NotReversible, `action ${of} is not reversible: ${inverse.message}`, again);
    const owners = fieldOwners(obj.metadata?.managedFields, obj, parsePointer(inverse.field.path));
    const by = owners.length > 0 ? `last changed by field manager ${describeOwners(owners.slice(0, 1))}` : describeOwners(owners);
    return blocked(ctx, Reason.TargetChangedSinceAction, `${ref.kind} ${ref.name} ${inverse.message}; ${by}. The floor was left as it is`, again);
  }
  const d = deps.deployments.get(ns, a.spec.target.name);
  const policy = policyFor({ namespace: ns, name: a.spec.target.name, labels: d?.metadata?.labels }, deps.policies, deps.operatorNamespace);
  const guardrailPolicies = policyNames(policy);
  const decision = evaluateGuardrails({
    action: { name: a.metadata.name, namespace: ns, type: "revert", targetNamespace: a.spec.target.namespace, revert: { of: original.spec.type as "scale" | "patch" } },
    target: { exists: d !== undefined, replicas: d?.spec?.replicas ?? 0 },
    history: history(ctx),
    policy,
    now,
  });
  if (decision.verdict === "block") return blocked(ctx, decision.reason, decision.message, again, guardrailPolicies);
  const gate = approvalGate(ctx, decision.verdict === "allow" && decision.approvalRequired, policy, decision.message, guardrailPolicies);
  if (gate) return gate;
  const rv = obj.metadata?.resourceVersion;
  const intent: Intent = {
    revertPatch: JSON.stringify([...inverse.patch, jsonStampOp(a.metadata.uid!, obj as V1Deployment)]),
    autoscaler: { kind: ref.kind, name: ref.name, ...(rv ? { resourceVersion: rv } : {}) },
    recordedAt: new Date(now).toISOString(),
  };
  const restore = `restore ${ref.kind} ${ref.name} ${floorText(ref.kind)} to ${pre.fields?.[0]?.before ?? "unset"}, the floor before action ${of}`;
  if (a.spec.dryRun) return dryRunFloor(ctx, intent, notReversible(NOT_REVERSIBLE.revert), decision.message, guardrailPolicies, restore);
  failpoint("before-intent");
  const approval = a.spec.approval;
  return {
    kind: "update",
    update: {
      phase: "Executing", reason: Reason.IntentRecorded, message: `${restore}${again ? ` (${again.note})` : ""}`,
      fields: { intent, preState: notReversible(NOT_REVERSIBLE.revert), startedAt: new Date(now).toISOString(), guardrailPolicies },
      conditions: [
        condition(ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, decision.message),
        ...(approval?.decision === "Approved" ? [condition(ConditionType.Approved, "True", Reason.ApprovedByUser, `approved by ${approval.approvedBy}`)] : []),
      ],
    },
  };
}
