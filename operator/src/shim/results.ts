// A finished RemediationAction, answered in the seed's ActionResult shape
// (seed 000 §3.2.1): success, message, dry_run, details.runner, verification,
// warnings — plus the action's name, phase and reason so callers can follow up.
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { Reason } from "../api/v1alpha1/reasons.ts";
import { redact } from "../runtime/api-errors.ts";

/** Blocked reasons the caller can fix by asking for different replicas: 400, as the seed answers. */
const BAD_REQUEST = new Set<string>([Reason.MaxReplicasExceeded, Reason.MinReplicasViolated, Reason.MaxScaleStepExceeded, Reason.InvalidPatch]);
/** Blocked because policy forbids this action or path outright: 403. */
const FORBIDDEN = new Set<string>([Reason.PolicyPaused, Reason.ActionTypeNotAllowed, Reason.PatchPathForbidden, Reason.PatchPathNotAllowed, Reason.TargetNamespaceMismatch]);
/** Anything else blocked (cooldowns, hourly and scale windows) is 409: the same request may pass later. */
const REPLICA_REASONS = new Set<string>([Reason.MaxReplicasExceeded, Reason.MinReplicasViolated, Reason.MaxScaleStepExceeded]);

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

function secondsBetween(from: string | Date | undefined, to: string | Date | undefined): number | null {
  const a = from === undefined ? NaN : new Date(from).getTime();
  const b = to === undefined ? NaN : new Date(to).getTime();
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, (b - a) / 1000) : null;
}

export function headline(a: RemediationAction): string {
  const t = a.spec.target;
  const where = `Deployment ${t.namespace ?? a.metadata.namespace}/${t.name}`;
  const type = a.spec.type.toUpperCase();
  return a.spec.type === "scale" ? `${type} ${where} -> ${scaleTo(a)}` : `${type} ${where}`;
}

/** The count a scale sets: recorded in the intent once computed; a relative one says its step until then. */
function scaleTo(a: RemediationAction): string | number | undefined {
  const s = a.spec.scale;
  return a.status?.intent?.replicas ?? a.status?.dryRunResult?.toReplicas ?? s?.replicas ?? (s?.by !== undefined ? `${s.by > 0 ? "+" : ""}${s.by}` : undefined);
}

export function actionResult(a: RemediationAction, fields: { replicas: string }): Answer {
  // status.message comes from errors the operator already redacts; redacted again
  // here so that no status text (an older operator's, or one anyone with status
  // access wrote) can carry an object into an answer.
  const raw = a.status ?? {};
  const st = { ...raw, message: raw.message === undefined ? undefined : redact(raw.message) };
  const phase = st.phase ?? "Pending";
  const ok = phase === "Succeeded";
  const v = st.verification;
  const message = `${headline(a)}${st.message ? `: ${st.message}` : ""}`;
  const warnings: string[] = [];
  if (v && v.status !== "SUCCESS" && ok) warnings.push(`verification ${v.status}: ${redact(v.message ?? "")}`.trim());
  if (st.dryRunResult) warnings.push(`dry run only: ${st.dryRunResult.summary}`);
  const body: Record<string, unknown> = {
    success: ok,
    message,
    dry_run: a.spec.dryRun,
    action: a.metadata.name,
    namespace: a.metadata.namespace,
    phase,
    reason: st.reason ?? null,
    details: {
      runner: {
        status: ok ? "success" : phase.toLowerCase(),
        attempts: Math.max(1, v?.attempts ?? 1),
        duration_seconds: secondsBetween(a.metadata.creationTimestamp, st.completedAt),
        result: {
          name: a.spec.target.name,
          namespace: a.spec.target.namespace ?? a.metadata.namespace,
          ...(a.spec.scale ? { replicas: st.intent?.replicas ?? st.dryRunResult?.toReplicas ?? a.spec.scale.replicas ?? null } : {}),
          dry_run: a.spec.dryRun,
          ...(st.intent ? { intent: st.intent } : {}),
          ...(st.dryRunResult ? { dry_run_result: st.dryRunResult } : {}),
        },
        error: ok ? null : (st.message ?? phase),
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
        }
      : null,
    warnings: warnings.length > 0 ? warnings : null,
  };
  if (phase === "Blocked" || phase === "Rejected") {
    const reason = st.reason ?? "";
    const status = phase === "Rejected" ? 403 : BAD_REQUEST.has(reason) ? 400 : FORBIDDEN.has(reason) ? 403 : reason === Reason.TargetNotFound ? 404 : 409;
    return {
      status,
      body: {
        error: phase === "Rejected" ? "ActionRejected" : "GuardrailBlocked",
        ...body,
        message: `${phase === "Rejected" ? "rejected" : "blocked by guardrail"} ${reason}: ${st.message ?? ""}`.trim(),
        ...(REPLICA_REASONS.has(reason) ? { field: fields.replicas } : {}),
      },
    };
  }
  return { status: 200, body };
}
