// Which Events also go to the webhooks: the decisions a human should hear of
// without watching Events — every guardrail block, an automatic undo, the
// RepeatedFailures stop and the escalation ladder's notify step. Wrapping the
// recorder keeps that one list here: the controllers record Events as they do,
// and a webhook can never report something no Event recorded.
import { BlockReason, Reason } from "../api/v1alpha1/reasons.ts";
import type { EventRecorder, EventTarget } from "../k8s/events.ts";
import type { Notification, Severity } from "./notification.ts";
import type { Notifier } from "./webhook.ts";

const SEVERITY: ReadonlyMap<string, Severity> = new Map<string, Severity>([
  ...Object.values(BlockReason).map((r): [string, Severity] => [r, "warning"]),
  [Reason.RepeatedFailures, "critical"],
  [Reason.EscalatedToHuman, "critical"],
  [Reason.AutoRevertCreated, "warning"],
]);

/** The severity a Warning Event of this reason is notified with; undefined: not notified. */
export const notifiedSeverity = (reason: string): Severity | undefined => SEVERITY.get(reason);

/** The Deployment an Event is about: itself, or an action's target (undefined when unknown). */
export type TargetOf = (regarding: EventTarget) => string | undefined;

export function notifyingRecorder(inner: EventRecorder, notifier: Notifier, targetOf: TargetOf, now: () => number = Date.now): EventRecorder {
  return {
    record(regarding, type, reason, action, note) {
      inner.record(regarding, type, reason, action, note);
      const severity = type === "Warning" ? notifiedSeverity(reason) : undefined;
      if (!severity) return;
      const target = regarding.kind === "Deployment" ? regarding.name : targetOf(regarding) ?? regarding.name;
      const n: Notification = {
        reason, severity, namespace: regarding.namespace, target,
        ...(regarding.kind === "RemediationAction" ? { action: regarding.name } : {}),
        summary: `${reason} on Deployment ${regarding.namespace}/${target}${regarding.kind === "RemediationAction" ? ` (RemediationAction ${regarding.name})` : ""}`,
        message: note,
        at: new Date(now()).toISOString(),
      };
      notifier.notify(n);
    },
  };
}
