// The audit record: one JSON document per terminal transition of a
// RemediationAction (and one more when its effectiveness is decided), written
// to the log stream and, when configured, as an OpenTelemetry log record. It
// outlives the object: retention may delete the action once its records are
// out (status.audit lists them). Versioned: consumers switch on `schema`;
// docs/audit.md is the reference. Pure: no I/O here.
import { trace } from "@opentelemetry/api";
import { z } from "zod";
import { ANNOTATIONS, type RemediationAction } from "../api/v1alpha1/objects.ts";
import {
  approval, effectiveness, judgedBy, preState, recommendation, remediationActionStatus, TERMINAL_PHASES,
} from "../api/v1alpha1/remediation-action.ts";
import { contextFromUid } from "../telemetry/trace-context.ts";

export const AUDIT_SCHEMA = "smartops.io/audit/v1";
/** The fixed marker of an audit line in the log stream: `"message":"audit"`, `"audit":{…}`. */
export const AUDIT_MARKER = "audit";

const status = remediationActionStatus.shape;

export const auditRecord = z
  .object({
    schema: z.literal(AUDIT_SCHEMA).describe("Schema and version of this record."),
    id: z.string().min(1).max(128).describe("Stable id: <action uid>/<phase>, or <action uid>/<phase>/effectiveness/<state>. A record emitted twice (at-least-once) has the same id."),
    event: z.enum(["ActionFinished", "EffectivenessDecided"]).describe("What the record is about."),
    time: z.string().describe("When the transition happened (status.completedAt, or effectiveness.decidedAt), RFC 3339."),
    traceId: z.string().regex(/^[0-9a-f]{32}$/).optional().describe("Trace of the action (from its smartops.io/traceparent annotation)."),
    action: z
      .object({
        namespace: z.string(),
        name: z.string(),
        uid: z.string(),
        createdAt: z.string().optional(),
        type: z.string(),
        source: z.string(),
        dryRun: z.boolean(),
        target: z.object({ kind: z.string(), namespace: z.string(), name: z.string() }).strict(),
        reason: z.string().optional().describe("spec.reason: why it was requested."),
        signalRef: z.object({ kind: z.string(), name: z.string(), uid: z.string().optional() }).strict().optional(),
        escalation: z.object({ from: z.string(), step: z.number(), ladder: z.array(z.string()) }).strict().optional(),
        scale: z.record(z.string(), z.unknown()).optional(),
        patch: z.record(z.string(), z.unknown()).optional(),
        deletePod: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
    decision: z
      .object({
        phase: z.string().describe("Terminal phase: Succeeded, Failed, Blocked, Rejected or Expired."),
        reason: z.string().optional(),
        message: z.string().optional(),
        startedAt: z.string().optional(),
        completedAt: z.string().optional(),
      })
      .strict(),
    recommendation: recommendation.optional(),
    policy: z
      .object({
        judgedBy: judgedBy.optional(),
        guardrailPolicies: z.array(z.string()).optional(),
      })
      .strict(),
    approval: approval.optional(),
    state: z
      .object({
        pre: preState.optional().describe("status.preState: the fields before, and what the action set."),
        intent: status.intent.optional().describe("status.intent: the concrete change recorded before it was made."),
        dryRun: status.dryRunResult.optional(),
        post: z.record(z.string(), z.number()).optional().describe("What verification last observed of the target (replicas)."),
      })
      .strict(),
    verification: status.verification.optional(),
    effectiveness: effectiveness.optional(),
    revert: z
      .object({
        revertOf: z.string().optional().describe("For a revert: the action it undoes."),
        revertedBy: z.string().optional().describe("The revert that undid this action, when known at emission."),
        autoRevert: status.autoRevert.optional(),
      })
      .strict(),
  })
  .strict();
export type AuditRecord = z.infer<typeof auditRecord>;

export const FINAL_EFFECTIVENESS = new Set(["Effective", "Ineffective", "Unknown"]);

/** The ids of the records the action's status calls for, oldest first (none while it is open). */
export function expectedAuditIds(a: RemediationAction): string[] {
  const phase = a.status?.phase;
  const uid = a.metadata.uid;
  if (!phase || !TERMINAL_PHASES.has(phase) || !uid) return [];
  const ids = [`${uid}/${phase}`];
  const state = a.status?.effectiveness?.state;
  if (phase === "Succeeded" && state && FINAL_EFFECTIVENESS.has(state)) ids.push(`${uid}/${phase}/effectiveness/${state}`);
  return ids;
}

/** The ids the status calls for that status.audit does not list yet. */
export function missingAuditIds(a: RemediationAction): string[] {
  const written = new Set((a.status?.audit ?? []).map((m) => m.id));
  return expectedAuditIds(a).filter((id) => !written.has(id));
}

/** True while some record of the action is not out: retention must keep it. */
export const auditPending = (a: RemediationAction): boolean => missingAuditIds(a).length > 0;

function traceIdOf(a: RemediationAction): string | undefined {
  const tp = a.metadata.annotations?.[ANNOTATIONS.traceparent];
  const m = tp ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(tp) : null;
  if (m && !/^0+$/.test(m[1]!)) return m[1];
  // An action without a traceparent (kubectl, a human) is traced under an id derived from its uid.
  return a.metadata.uid ? trace.getSpanContext(contextFromUid(a.metadata.uid))?.traceId : undefined;
}

const defined = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** The record with id `id` (one of expectedAuditIds(a)). */
export function buildAuditRecord(a: RemediationAction, id: string): AuditRecord {
  const st = a.status ?? {};
  const effectivenessEvent = id.includes("/effectiveness/");
  const spec = a.spec;
  const observed = st.verification?.observed;
  const record: AuditRecord = {
    schema: AUDIT_SCHEMA,
    id,
    event: effectivenessEvent ? "EffectivenessDecided" : "ActionFinished",
    time: (effectivenessEvent ? st.effectiveness?.decidedAt : st.completedAt) ?? st.completedAt ?? new Date(0).toISOString(),
    ...defined({ traceId: traceIdOf(a) }),
    action: defined({
      namespace: a.metadata.namespace,
      name: a.metadata.name,
      uid: a.metadata.uid ?? "",
      createdAt: a.metadata.creationTimestamp === undefined ? undefined : String(a.metadata.creationTimestamp as unknown),
      type: spec.type,
      source: spec.source,
      dryRun: spec.dryRun,
      target: { kind: spec.target.kind, namespace: spec.target.namespace ?? a.metadata.namespace, name: spec.target.name },
      reason: spec.reason,
      signalRef: spec.signalRef,
      escalation: spec.escalation,
      scale: spec.scale,
      patch: spec.patch,
      deletePod: spec.deletePod,
    }),
    decision: defined({ phase: st.phase ?? "", reason: st.reason, message: st.message, startedAt: st.startedAt, completedAt: st.completedAt }),
    ...defined({ recommendation: spec.recommendation, approval: spec.approval }),
    policy: defined({ judgedBy: st.judgedBy, guardrailPolicies: st.guardrailPolicies }),
    state: defined({
      pre: st.preState,
      intent: st.intent,
      dryRun: st.dryRunResult,
      post: observed ? defined({ ...observed }) as Record<string, number> : undefined,
    }),
    ...defined({ verification: st.verification, effectiveness: st.effectiveness }),
    revert: defined({ revertOf: spec.revertOf, revertedBy: st.revertedBy, autoRevert: st.autoRevert }),
  };
  return record;
}
