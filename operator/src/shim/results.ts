// A RemediationAction as the answer to the request that created it, in the
// seed orchestrator's ActionResult shape: success, message, dry_run,
// details.runner{status, attempts, duration_seconds, result, error},
// verification, warnings — plus the action's name, namespace, phase and reason
// so callers can follow up. Pure: the phase decides the status code, the route
// decides how the message reads and which request field a block names.
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { type BlockReasonName, Reason } from "../api/v1alpha1/reasons.ts";
import { TERMINAL_PHASES } from "../api/v1alpha1/remediation-action.ts";
import { redact } from "../runtime/api-errors.ts";
import type { ActionPath } from "./routes.ts";

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}


/**
 * The status code of each guardrail block. 400: the request itself asks for
 * what policy never allows (a replica count out of bounds, a step too large, a
 * forbidden or malformed patch, a pod of another Deployment, a revert of an
 * action that cannot be undone or never changed anything) — the same request
 * will always be refused. 403: policy forbids acting at all (paused, type not
 * allowed, namespace not covered). 404: the Deployment, or the action a revert
 * names, is gone. 409: the state of the cluster stands in the way (a cooldown,
 * an hourly or scale-up window, the Deployment already at its bound, no
 * unhealthy pod, an action already reverted or a field changed since it acted). A Record over every reason, so a new reason cannot go unmapped.
 */
export const BLOCK_STATUS: Record<BlockReasonName, 400 | 403 | 404 | 409> = {
  PolicyPaused: 403,
  ActionTypeNotAllowed: 403,
  TargetNamespaceMismatch: 403,
  TargetNotFound: 404,
  MaxReplicasExceeded: 400,
  MinReplicasViolated: 400,
  MaxScaleStepExceeded: 400,
  MaxReplicasReached: 409,
  MinReplicasReached: 409,
  CooldownActive: 409,
  HourlyActionLimitReached: 409,
  ScaleIncreaseLimitReached: 409,
  PatchPathForbidden: 400,
  PatchPathNotAllowed: 400,
  InvalidPatch: 400,
  NoUnhealthyPods: 409,
  PodNotOwnedByTarget: 400,
  NotReversible: 400,
  RevertTargetMissing: 404,
  RevertTargetMismatch: 400,
  NotExecuted: 400,
  AlreadyReverted: 409,
  TargetChangedSinceAction: 409,
  RepeatedFailures: 409,
  ManagedByGitOps: 409,
  FieldOwnedByOtherManager: 409,
  ManagedByAutoscaler: 409,
};

const REVERT_REFUSALS: ReadonlySet<string> = new Set([
  Reason.NotReversible, Reason.NotExecuted, Reason.AlreadyReverted, Reason.RevertTargetMissing, Reason.RevertTargetMismatch, Reason.TargetChangedSinceAction,
]);

/** The request field a block is about, by route. */
function blockField(reason: string, route: ActionPath): string | undefined {
  const execute = route === "/v1/actions/execute";
  // A revert's own refusals are about the action its path names.
  if (route === "/v1/actions/{name}/revert" && REVERT_REFUSALS.has(reason)) return "name";
  switch (reason) {
    case Reason.MaxReplicasExceeded:
    case Reason.MinReplicasViolated:
    case Reason.MaxScaleStepExceeded:
      return execute ? "scale.replicas" : "replicas";
    case Reason.PatchPathForbidden:
    case Reason.PatchPathNotAllowed:
    case Reason.InvalidPatch:
      return execute ? "patch.patch" : "patch";
    case Reason.PodNotOwnedByTarget:
      return "delete_pod.pod_name";
    default:
      return undefined;
  }
}

function blockStatus(reason: string): number {
  return (BLOCK_STATUS as Record<string, number | undefined>)[reason] ?? 409;
}

/** Has the action reached a point the caller is answered at: an outcome, or waiting for a human. */
export function settled(a: RemediationAction): boolean {
  const phase = a.status?.phase ?? "Pending";
  return TERMINAL_PHASES.has(phase) || phase === "PendingApproval";
}

function secondsBetween(from: string | Date | undefined, to: string | Date | undefined): number | null {
  const a = from === undefined ? NaN : new Date(from).getTime();
  const b = to === undefined ? NaN : new Date(to).getTime();
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, (b - a) / 1000) : null;
}

function where(a: RemediationAction): string {
  return `Deployment ${a.spec.target.namespace ?? a.metadata.namespace}/${a.spec.target.name}`;
}

/** The count a scale sets: recorded in the intent once computed; a relative one says its step until then. */
function scaleTo(a: RemediationAction): string | number | undefined {
  const s = a.spec.scale;
  return a.status?.intent?.replicas ?? a.status?.dryRunResult?.toReplicas ?? s?.replicas ?? (s?.by !== undefined ? `${s.by > 0 ? "+" : ""}${s.by}` : undefined);
}

/** "SCALE Deployment ns/name -> 6", "PATCH Deployment ns/name": how the seed's action runner names an action. */
export function headline(a: RemediationAction): string {
  const type = a.spec.type.toUpperCase();
  const pod = a.status?.intent?.podName ?? a.spec.deletePod?.podName;
  if (a.spec.type === "scale") return `${type} ${where(a)} -> ${scaleTo(a)}`;
  if (a.spec.type === "delete-pod" && pod) return `${type} ${where(a)} pod ${pod}`;
  return `${type} ${where(a)}`;
}

/** What a Succeeded action did, in the words of the route that asked for it. */
function doneMessage(a: RemediationAction, route: ActionPath): string {
  const dry = a.spec.dryRun;
  if (route === "/v1/k8s/scale") return dry ? `${where(a)} would be scaled to ${scaleTo(a)} (dry run)` : `${where(a)} scaled to ${scaleTo(a)}`;
  if (route === "/v1/k8s/restart") {
    const at = a.status?.intent?.restartedAt ?? a.status?.completedAt;
    return dry ? `${where(a)} restart would be triggered (dry run)` : `${where(a)} restart triggered at ${at}`;
  }
  if (a.status?.reason === Reason.NoChange) return `${headline(a)} (nothing to change: the Deployment already has what the patch sets)`;
  return `${headline(a)}${dry ? " (dry run)" : ""}`;
}

/** How long a caller waited: the route's bound, for the message of a 202 given at the bound. */
export interface WaitInfo {
  waitedSeconds: number;
}

/**
 * The answer for an action in any phase. Succeeded → 200 success:true; Failed,
 * Expired → 200 success:false (the request was valid; the outcome is the body);
 * Blocked → BLOCK_STATUS; Rejected → 403; PendingApproval, or any phase still
 * moving when the wait ended → 202 with the phase, success:false and the action's
 * name to follow it by.
 */
export function actionResult(a: RemediationAction, route: ActionPath, wait?: WaitInfo): Answer {
  // status.message comes from errors the operator already redacts; redacted again
  // here so that no status text (an older operator's, or one anyone with status
  // access wrote) can carry an object into an answer.
  const raw = a.status ?? {};
  const st = { ...raw, message: raw.message === undefined ? undefined : redact(raw.message) };
  const phase = st.phase ?? "Pending";
  const ok = phase === "Succeeded";
  const finished = TERMINAL_PHASES.has(phase);
  const v = st.verification;
  const ns = a.metadata.namespace;
  const follow = `follow it with kubectl get remediationaction ${a.metadata.name} -n ${ns}`;
  const warnings: string[] = [];
  if (v && v.status !== "SUCCESS" && ok) warnings.push(`verification ${v.status}: ${redact(v.message ?? "")}`.trim());
  if (st.dryRunResult) warnings.push(`dry run only: ${st.dryRunResult.summary}`);

  let message: string;
  if (ok) message = doneMessage(a, route);
  else if (phase === "Blocked") message = `blocked by guardrail ${st.reason ?? ""}: ${st.message ?? ""}`;
  else if (phase === "Rejected") message = `rejected ${st.reason ?? ""}: ${st.message ?? ""}`;
  else if (phase === "PendingApproval") message = `${headline(a)}: waiting for approval (${st.message ?? "a human must approve it"}); ${follow}`;
  else if (!finished) message = `${headline(a)}: still ${phase} after ${wait?.waitedSeconds ?? 0} s; ${follow}`;
  else message = `${headline(a)} ${phase.toLowerCase()}${st.message ? `: ${st.message}` : ""}`;

  const body: Record<string, unknown> = {
    success: ok,
    message: message.trim(),
    dry_run: a.spec.dryRun,
    action: a.metadata.name,
    namespace: ns,
    phase,
    reason: st.reason ?? null,
    details: {
      runner: {
        status: ok ? "success" : phase.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(),
        attempts: Math.max(1, v?.attempts ?? 1),
        duration_seconds: secondsBetween(a.metadata.creationTimestamp, st.completedAt),
        result: {
          name: a.spec.target.name,
          namespace: a.spec.target.namespace ?? ns,
          ...(a.spec.scale ? { replicas: st.intent?.replicas ?? st.dryRunResult?.toReplicas ?? a.spec.scale.replicas ?? null } : {}),
          dry_run: a.spec.dryRun,
          ...(st.intent ? { intent: st.intent } : {}),
          ...(st.dryRunResult ? { dry_run_result: st.dryRunResult } : {}),
        },
        // The operator's own account of the phase, whatever the outcome.
        message: st.message ?? null,
        error: ok || !finished ? null : (st.message ?? phase),
      },
    },
    verification: v
      ? {
          status: v.status,
          message: v.message === undefined ? null : redact(v.message),
          attempts: v.attempts ?? null,
          observed: {
            updated_replicas: v.observed?.updatedReplicas ?? null,
            ready_replicas: v.observed?.readyReplicas ?? null,
            available_replicas: v.observed?.availableReplicas ?? null,
            desired_replicas: v.observed?.desiredReplicas ?? null,
          },
          // Whether the action fixed the problem, once its effectiveness window has decided (null until then).
          effective: st.effectiveness?.state === "Effective" ? true : st.effectiveness?.state === "Ineffective" ? false : null,
          effectiveness: st.effectiveness
            ? {
                state: st.effectiveness.state,
                window_ends_at: st.effectiveness.windowEndsAt,
                message: st.effectiveness.message === undefined ? null : redact(st.effectiveness.message),
              }
            : null,
        }
      : null,
    warnings: warnings.length > 0 ? warnings : null,
  };
  if (!finished) return { status: 202, body: { accepted: true, target: a.spec.target.name, ...body } };
  if (phase === "Blocked" || phase === "Rejected") {
    const reason = st.reason ?? "";
    const field = phase === "Blocked" ? blockField(reason, route) : undefined;
    return {
      status: phase === "Rejected" ? 403 : blockStatus(reason),
      body: { error: phase === "Rejected" ? "ActionRejected" : "GuardrailBlocked", ...body, ...(field ? { field } : {}) },
    };
  }
  return { status: 200, body };
}
