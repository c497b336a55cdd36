// Guardrails: may this action run now, given the target, the effective policy
// and the target's history? History comes from RemediationAction objects in the
// cluster (invariant 4), so the answer holds across restarts and replicas.
import type { ActionType, SpecActionType } from "../api/v1alpha1/remediation-action.ts";
import { BlockReason, type BlockReasonName } from "../api/v1alpha1/reasons.ts";
import { changedReplicas, type FieldChange } from "./change.ts";
import { checkPatchPaths } from "./patch-paths.ts";
import type { EffectivePolicy } from "./policy.ts";

export interface ActionRecord {
  name: string;
  type: SpecActionType;
  executedAt: number;
  fromReplicas?: number;
  toReplicas?: number;
}

export interface GuardrailInput {
  action: {
    name: string; namespace: string; type: SpecActionType; targetNamespace?: string; scale?: ScaleRequest;
    /** What a patch changes on the target as it is now (from a server-side dry run); required for patches. */
    changes?: readonly FieldChange[];
    /**
     * For a revert: the type of the action it undoes (allowedActions judges that
     * type) and the replicas it restores when the undone action changed them
     * (the replica caps and the scale budget judge that count).
     */
    revert?: { of: ActionType; replicas?: number };
  };
  target: { exists: boolean; replicas: number };
  /** Executed, non-dry-run actions on the same (namespace, Deployment), this one excluded. */
  history: readonly ActionRecord[];
  policy: EffectivePolicy;
  now: number;
}

/** What a scale asks for: an absolute count, or a change relative to what the target has now. */
export interface ScaleRequest {
  replicas?: number;
  by?: number;
}

export type GuardrailDecision =
  /** `replicas`: the concrete count a scale (or a patch of spec.replicas) sets, computed from target.replicas. */
  | { verdict: "allow"; approvalRequired: boolean; message: string; replicas?: number }
  | { verdict: "block"; reason: BlockReasonName; message: string }
  /**
   * The patch changes nothing on the Deployment as it is: what it asks for already
   * holds. Nothing is written, so there is nothing for the safelist, the caps, the
   * cooldowns or an approver to judge — and a retried patch is answered as done
   * rather than refused.
   */
  | { verdict: "unchanged"; message: string };

export const HOUR_MS = 3600_000;
export const SCALE_WINDOW_MS = 900_000;

type PolicyKey = "scale" | "restart" | "patch" | "deletePod";
export const policyKey = (type: ActionType): PolicyKey => (type === "delete-pod" ? "deletePod" : type);

export function policyLabel(policy: EffectivePolicy): string {
  if (policy.sources.length === 0) return "built-in defaults";
  return `${policy.sources.length === 1 ? "policy" : "policies"} ${policy.sources.join(", ")}`;
}

export function evaluateGuardrails(input: GuardrailInput): GuardrailDecision {
  const { action, target, policy, now } = input;
  const by = `(${policyLabel(policy)})`;
  const block = (reason: BlockReasonName, message: string): GuardrailDecision => ({ verdict: "block", reason, message: `${message} ${by}` });

  if (policy.paused) return block(BlockReason.PolicyPaused, "automation is paused");
  // A revert is allowed wherever the type it undoes is: it restores values that type set.
  const judgedType = action.type === "revert" ? action.revert?.of : action.type;
  if (judgedType === undefined || !policy.allowedActions.includes(judgedType)) {
    const what = action.type === "revert" ? `a revert of ${judgedType ?? "an unknown type"}: action type ${judgedType ?? "?"}` : `action type ${action.type}`;
    return block(BlockReason.ActionTypeNotAllowed, `${what} is not in allowedActions [${policy.allowedActions.join(", ")}]`);
  }
  if (action.targetNamespace !== undefined && action.targetNamespace !== action.namespace) {
    return block(BlockReason.TargetNamespaceMismatch, `target namespace ${action.targetNamespace} differs from the action's namespace ${action.namespace}`);
  }
  if (!target.exists) return block(BlockReason.TargetNotFound, `target Deployment does not exist in ${action.namespace}`);

  let desired: number | undefined;
  if (action.type === "scale") {
    const t = scaleTarget(action.scale, target.replicas, policy.replicas);
    if (!t.ok) return block(t.reason, t.message);
    desired = t.replicas;
  }
  if (action.type === "patch") {
    if (!action.changes) return block(BlockReason.InvalidPatch, "the patch's effect on the Deployment is unknown");
    if (action.changes.length === 0) return { verdict: "unchanged", message: `the Deployment already has what the patch sets: nothing to change ${by}` };
    const paths = checkPatchPaths([...new Set(action.changes.map((c) => c.path))], policy.patch.allowedPathSets, policy.patch.deniedPaths);
    if (!paths.ok) return block(paths.reason, paths.message);
    // spec.replicas is on the default patch safelist: a patch must not become a way round the replica caps.
    const replicas = changedReplicas(action.changes);
    if (replicas && replicas.to === undefined) return block(BlockReason.InvalidPatch, "patch removes spec.replicas");
    desired = replicas?.to;
  }
  if (action.type === "revert") desired = action.revert?.replicas;
  if (desired !== undefined) {
    const caps = replicaCaps(action.type, desired, target.replicas, policy);
    if (caps) return block(caps.reason, caps.message);
  }

  const sameType = input.history.filter((r) => r.type === action.type);
  // A revert has no cooldown, neither the one of the action it undoes nor one of
  // its own: an undo must stay possible right after the change it undoes (each
  // action can be reverted once, and the hourly limit below still counts reverts).
  const cooldownMs = action.type === "revert" ? 0 : policy.cooldownSeconds[policyKey(action.type)] * 1000;
  const last = latest(sameType);
  if (last && cooldownMs > 0 && now < last.executedAt + cooldownMs) {
    const ends = last.executedAt + cooldownMs;
    return block(
      BlockReason.CooldownActive,
      `${action.type} cooldown of ${cooldownMs / 1000}s after ${last.name} has ${Math.ceil((ends - now) / 1000)}s left`,
    );
  }

  // Windows reach into the future too: a record stamped ahead of this clock (skew
  // between replicas) still counts rather than slipping through.
  const limit = policy.rateLimits.maxActionsPerHour;
  const inHour = sameType.filter((r) => r.executedAt > now - HOUR_MS).length;
  if (inHour >= limit) {
    return block(BlockReason.HourlyActionLimitReached, `${inHour} ${action.type} action(s) in the last hour reach maxActionsPerHour ${limit}`);
  }

  if (desired !== undefined && desired > target.replicas) {
    const increase = desired - target.replicas;
    const budget = policy.rateLimits.maxScaleIncreasePer15Minutes;
    const used = input.history
      .filter((r) => r.executedAt > now - SCALE_WINDOW_MS && r.fromReplicas !== undefined && r.toReplicas !== undefined)
      .reduce((sum, r) => sum + Math.max(0, r.toReplicas! - r.fromReplicas!), 0);
    if (used + increase > budget) {
      return block(
        BlockReason.ScaleIncreaseLimitReached,
        `adding ${increase} replica(s) to the ${used} added in the last 15 minutes exceeds maxScaleIncreasePer15Minutes ${budget}`,
      );
    }
  }

  const approvalRequired = (action.type === "revert" ? policy.approval.revert : policy.approval[policyKey(action.type)]) === "Required";
  const change = desired !== undefined ? `${action.type} ${target.replicas} → ${desired}` : action.type;
  return {
    verdict: "allow",
    approvalRequired,
    message: `${change} is within the guardrails ${by}${approvalRequired ? "; needs approval" : ""}`,
    ...(desired !== undefined ? { replicas: desired } : {}),
  };
}

export type ScaleTarget = { ok: true; replicas: number } | { ok: false; reason: BlockReasonName; message: string };

/**
 * The count a scale sets on a Deployment that has `current` replicas now. An
 * absolute count is taken as given (the caps judge it afterwards). A relative one
 * moves from `current` in the direction of its sign, clamped to the caps; when the
 * clamp leaves no move in that direction it is refused rather than turned around —
 * a scale-up that finds 12 replicas under a cap of 10 must not set 10.
 */
export function scaleTarget(scale: ScaleRequest | undefined, current: number, caps: { min: number; max: number }): ScaleTarget {
  if (scale?.replicas !== undefined) return { ok: true, replicas: scale.replicas };
  const by = scale?.by;
  // The schema requires one of the two; without either there is nothing within bounds to allow.
  if (by === undefined || by === 0) return { ok: false, reason: BlockReason.MinReplicasViolated, message: "scale action sets neither scale.replicas nor scale.by" };
  if (by > 0) {
    const to = Math.min(caps.max, current + by);
    if (to <= current) {
      return { ok: false, reason: BlockReason.MaxReplicasReached, message: `scale up by ${by} finds ${current} replica(s), ${current > caps.max ? "above" : "at"} maxReplicas ${caps.max}: nothing to add (a scale-up never lowers replicas)` };
    }
    return { ok: true, replicas: to };
  }
  const to = Math.max(caps.min, current + by);
  if (to >= current) {
    return { ok: false, reason: BlockReason.MinReplicasReached, message: `scale down by ${-by} finds ${current} replica(s), ${current < caps.min ? "below" : "at"} minReplicas ${caps.min}: nothing to remove (a scale-down never raises replicas)` };
  }
  return { ok: true, replicas: to };
}

function replicaCaps(type: SpecActionType, desired: number, current: number, policy: EffectivePolicy): { reason: BlockReasonName; message: string } | undefined {
  const { min, max, maxStep } = policy.replicas;
  const verb = type === "scale" ? "scale" : type === "revert" ? "revert of spec.replicas" : "patch of spec.replicas";
  if (desired > max) return { reason: BlockReason.MaxReplicasExceeded, message: `${verb} to ${desired} exceeds maxReplicas ${max}` };
  if (desired < min) return { reason: BlockReason.MinReplicasViolated, message: `${verb} to ${desired} is below minReplicas ${min}` };
  const step = Math.abs(desired - current);
  if (step > maxStep) {
    return { reason: BlockReason.MaxScaleStepExceeded, message: `${verb} from ${current} to ${desired} changes ${step} replicas, more than maxStep ${maxStep}` };
  }
  return undefined;
}

function latest(records: readonly ActionRecord[]): ActionRecord | undefined {
  let out: ActionRecord | undefined;
  for (const r of records) if (out === undefined || r.executedAt > out.executedAt) out = r;
  return out;
}
