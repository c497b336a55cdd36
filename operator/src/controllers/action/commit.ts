// The one function that acts on a transition: the status is written first
// (guarded by resourceVersion, after the leadership check), and only once it is
// stored are metrics, events, the log and the terminal hooks told — so nothing
// reports an outcome that was not recorded.
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import { setCondition } from "../../api/v1alpha1/conditions.ts";
import { ConditionType } from "../../api/v1alpha1/reasons.ts";
import { type RemediationActionStatus, TERMINAL_PHASES } from "../../api/v1alpha1/remediation-action.ts";
import {
  actionLatency, actionsTotal, k8sDesiredReplicas, k8sReadyReplicas, loopActionDuration, loopActionsTotal,
  loopGuardrailBlocksTotal, loopRetriesTotal, verificationDuration,
} from "../../telemetry/metrics.ts";
import { ATTR, inSpan } from "../../telemetry/tracing.ts";
import { type ActionContext, storeStatus } from "./context.ts";
import { autoRevert } from "./auto-revert.ts";
import { linkRevert } from "./link.ts";
import { actionAttributes, createdAt, outcomeAttributes, ref, verb } from "./describe.ts";
import type { Measurement, StatusUpdate, Transition } from "./transition.ts";

const MAX_MESSAGE = 4096;

/** The status `update` makes of the action's status at `now` (pure). */
export function nextStatus(a: RemediationAction, update: StatusUpdate, now: number): RemediationActionStatus {
  const st: RemediationActionStatus = structuredClone(a.status ?? {});
  const at = new Date(now);
  st.observedGeneration = a.metadata.generation;
  if (update.phase) st.phase = update.phase;
  st.reason = update.reason;
  st.message = update.message.slice(0, MAX_MESSAGE);
  if (update.dropIntent) {
    delete st.intent;
    delete st.preState;
  }
  Object.assign(st, update.fields);
  for (const c of update.conditions ?? []) st.conditions = setCondition(st.conditions, { ...c, observedGeneration: a.metadata.generation }, at);
  if (update.phase && TERMINAL_PHASES.has(update.phase)) {
    st.completedAt = at.toISOString();
    st.conditions = setCondition(st.conditions, {
      type: ConditionType.Ready, status: update.phase === "Succeeded" ? "True" : "False", reason: update.reason, message: update.message, observedGeneration: a.metadata.generation,
    }, at);
  }
  return st;
}

/** Acts on `t`; returns the action as stored afterwards (unchanged for a wait). */
export async function commit(ctx: ActionContext, t: Transition): Promise<RemediationAction> {
  const a = ctx.action;
  if (t.kind === "wait") {
    tell(ctx, t.events, t.measure);
    return a;
  }
  const phase = t.update.phase;
  if (!phase || !TERMINAL_PHASES.has(phase)) {
    const stored = await write(ctx, nextStatus(a, t.update, ctx.now));
    tell(ctx, t.events, t.measure);
    return stored;
  }
  return inSpan("terminal", { attributes: { ...actionAttributes(a), [ATTR.actionPhase]: phase, [ATTR.actionReason]: t.update.reason } }, async (span) => {
    const stored = await write(ctx, nextStatus(a, t.update, ctx.now));
    tell(ctx, t.events, t.measure);
    finished(ctx, stored);
    // A revert that succeeded is named on the action it undid, after its own terminal write.
    await linkRevert(ctx.deps, stored);
    // A scale or patch whose verification failed is undone when the policy says Revert.
    await autoRevert(ctx.deps, stored);
    span.setAttributes(outcomeAttributes(stored));
    return stored;
  });
}

const write = (ctx: ActionContext, status: RemediationActionStatus) => storeStatus(ctx.deps, ctx.action, status);

function tell(ctx: ActionContext, events: Transition["events"], measure: Measurement[] | undefined): void {
  const a = ctx.action;
  for (const e of events ?? []) ctx.deps.events.record(e.regarding, e.type, e.reason, e.action, e.note);
  for (const m of measure ?? []) {
    switch (m.metric) {
      case "guardrailBlock":
        loopGuardrailBlocksTotal.inc({ reason: m.reason });
        break;
      case "executed":
        actionLatency.observe({ action_type: a.spec.type }, m.seconds);
        break;
      case "verification":
        verificationDuration.observe({ action_type: a.spec.type, status: m.status }, m.seconds);
        break;
      case "verifyRetry":
        loopRetriesTotal.inc({ type: a.spec.type });
        break;
      case "replicas":
        k8sDesiredReplicas.set({ namespace: a.metadata.namespace, deployment: a.spec.target.name }, m.desired);
        k8sReadyReplicas.set({ namespace: a.metadata.namespace, deployment: a.spec.target.name }, m.ready);
        break;
    }
  }
}

/** Terminal bookkeeping: counters, the loop's duration, the action's final event and log line. */
function finished(ctx: ActionContext, stored: RemediationAction): void {
  const a = ctx.action;
  const phase = stored.status!.phase!;
  const reason = stored.status!.reason ?? "";
  const status = phase.toLowerCase();
  actionsTotal.inc({
    action_type: a.spec.type, namespace: a.metadata.namespace, deployment: a.spec.target.name,
    source: a.spec.source, dry_run: String(a.spec.dryRun), status,
  });
  if (a.spec.source === "closed-loop") {
    loopActionsTotal.inc({ type: a.spec.type, status });
    const created = createdAt(a);
    if (Number.isFinite(created)) loopActionDuration.observe({ type: a.spec.type }, (ctx.now - created) / 1000);
  }
  ctx.deps.events.record(ref(a), phase === "Succeeded" ? "Normal" : "Warning", reason, verb(a), stored.status!.message ?? "");
  ctx.deps.log.info("action finished", { action: `${a.metadata.namespace}/${a.metadata.name}`, type: a.spec.type, phase, reason });
  ctx.deps.onTerminal?.(stored);
}
