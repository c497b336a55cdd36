// The Deployment's other owners, judged in admission once the guardrails
// allowed the action and before approval or the intent: first whether a GitOps
// tool applies the Deployment from Git (one answer for the whole object, naming
// the tool and application where the change belongs), then — for a scale or
// patch — who owns each field the action changes (remediation/field-owners.ts).
// A block ends the action before anything is written; an allowed action
// carries the drift and the fields' previous owners into the status its intent
// is recorded with, and a drift is told as a Warning Event on the Deployment.
import type { V1Deployment } from "@kubernetes/client-node";
import { Reason, type BlockReasonName } from "../../api/v1alpha1/reasons.ts";
import { FIELD_MANAGER } from "../../k8s/client.ts";
import type { FieldChange } from "../../remediation/change.ts";
import { describePreviousOwners, judgeFieldOwners } from "../../remediation/field-owners.ts";
import { type ArgoCdTracking, gitOpsManagement, judgeGitOps } from "../../remediation/gitops.ts";
import { policyLabel } from "../../remediation/guardrails.ts";
import type { EffectivePolicy } from "../../remediation/policy.ts";
import type { ActionContext } from "./context.ts";
import { deploymentRef } from "./describe.ts";
import { blocked, type EventNote, type StatusFields, type Transition } from "./transition.ts";
import { policyNames } from "../policies.ts";

/** Operator settings the ownership checks read. */
export interface OwnershipSettings {
  /** How Argo CD tracks the resources it applies (SMARTOPS_ARGOCD_TRACKING). */
  argoCdTracking: ArgoCdTracking;
  /** The field manager of the operator's own writes (SMARTOPS_FIELD_MANAGER): never counted as another owner. */
  fieldManager: string;
}

export const DEFAULT_OWNERSHIP: OwnershipSettings = { argoCdTracking: "annotation", fieldManager: FIELD_MANAGER };

export type OwnersJudgement =
  | { verdict: "block"; transition: Transition }
  | { verdict: "allow"; fields: StatusFields; events: EventNote[] };

/**
 * `replicas`: what a scale sets (the guardrails computed it); `changes`: what a
 * patch changes (the API server's dry run of it).
 */
export function judgeOwners(ctx: ActionContext, policy: EffectivePolicy, d: V1Deployment | undefined, replicas: number | undefined, changes: readonly FieldChange[] | undefined): OwnersJudgement {
  const a = ctx.action;
  const type = a.spec.type;
  if (!d || type === "revert") return { verdict: "allow", fields: {}, events: [] };
  const settings = ctx.deps.ownership ?? DEFAULT_OWNERSHIP;
  const target = `${a.metadata.namespace}/${a.spec.target.name}`;

  const gitops = judgeGitOps(gitOpsManagement(d.metadata, settings.argoCdTracking), type, policy.gitops, target);
  if (gitops.verdict === "block") return block(ctx, policy, Reason.ManagedByGitOps, gitops.message);

  const pointers = type === "scale"
    ? (replicas !== undefined && replicas !== (d.spec?.replicas ?? 1) ? ["/spec/replicas"] : [])
    : type === "patch" ? (changes ?? []).map((c) => c.pointer) : [];
  const owners = judgeFieldOwners({
    managedFields: d.metadata?.managedFields, object: d, pointers,
    protectedManagers: policy.fieldConflicts.protectedManagers, mode: policy.fieldConflicts.mode, self: settings.fieldManager,
  });
  if (owners.verdict === "block") return block(ctx, policy, Reason.FieldOwnedByOtherManager, owners.message);

  const drift = gitops.verdict === "drift" ? gitops.drift : undefined;
  const previousOwners = owners.previousOwners.slice(0, 64).map((o) => ({
    path: o.path.slice(0, 1024), manager: o.manager.slice(0, 128),
    ...(o.operation ? { operation: o.operation.slice(0, 16) } : {}), ...(o.time ? { time: o.time.slice(0, 64) } : {}),
    ...(o.protected ? { protected: true } : {}),
  }));
  const events: EventNote[] = drift && !a.spec.dryRun
    ? [{ regarding: deploymentRef(d), type: "Warning", reason: Reason.GitOpsDrift, action: "Drift", note: `action ${a.metadata.name}: ${drift.message}`.slice(0, 1024) }]
    : [];
  if (previousOwners.length > 0) {
    ctx.deps.log.info("changing fields other field managers own", { action: `${a.metadata.namespace}/${a.metadata.name}`, owners: describePreviousOwners(owners.previousOwners) });
  }
  // Both always set, so a judgement made again never keeps a stale one.
  return { verdict: "allow", fields: { drift, previousOwners: previousOwners.length > 0 ? previousOwners : undefined }, events };
}

/** `t` with the allowed judgement's status fields (an update) and events (a recorded intent only). */
export function withOwners(t: Transition, j: OwnersJudgement): Transition {
  if (j.verdict === "block" || t.kind === "wait") return t;
  const fields = { ...t.update.fields, ...j.fields };
  const events = t.update.phase === "Executing" ? [...(t.events ?? []), ...j.events] : t.events;
  return { ...t, update: { ...t.update, fields }, ...(events ? { events } : {}) };
}

function block(ctx: ActionContext, policy: EffectivePolicy, reason: BlockReasonName, why: string): OwnersJudgement {
  const said = `${why} (${policyLabel(policy)})`;
  // A dry run says what a real run would meet.
  const message = ctx.action.spec.dryRun ? `would be blocked: ${reason}: ${said}` : said;
  return { verdict: "block", transition: blocked(reason, message, { dropIntent: true, guardrailPolicies: policyNames(policy) }) };
}
