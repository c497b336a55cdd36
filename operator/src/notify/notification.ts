// What the operator tells people about a decision it took on its own: a block, an
// automatic revert, an escalation's `notify` step. The Kubernetes Event is the
// durable record; a Notification is the same decision sent to webhooks.
//
// Every notification the operator sends is marked as its own (ORIGIN_LABEL =
// ORIGIN_VALUE). An Alertmanager that receives it may route it back to the
// operator's own alert receiver; that receiver drops marked alerts with
// isOwnNotification, so a notification can never come back as a signal and feed
// the loop that produced it.

/** In increasing order: a webhook's minSeverity passes its own level and those after it. */
export const SEVERITIES = ["info", "warning", "critical"] as const;

export type Severity = (typeof SEVERITIES)[number];

export interface Notification {
  /** CamelCase reason, e.g. AutoRevertCreated, RepeatedFailures, EscalatedToHuman, CooldownActive. */
  reason: string;
  severity: Severity;
  namespace: string;
  /** Target Deployment name. */
  target: string;
  /** The RemediationAction concerned, when there is one. */
  action?: string;
  /** One-line human summary. */
  summary: string;
  /** Longer explanation. */
  message: string;
  /** ISO timestamp of the decision. */
  at: string;
}

/** The label (Alertmanager) and field (generic body) that mark a notification as the operator's own. */
export const ORIGIN_LABEL = "smartops_origin";
export const ORIGIN_VALUE = "smartops-operator";

/** True when `labels` mark an alert as one the operator sent itself: such an alert must not become a signal. */
export function isOwnNotification(labels: Record<string, string> | undefined): boolean {
  if (labels === undefined || labels === null || typeof labels !== "object") return false;
  return Object.hasOwn(labels, ORIGIN_LABEL) && labels[ORIGIN_LABEL] === ORIGIN_VALUE;
}

/** Whether a notification of `severity` passes a webhook's `minSeverity`. */
export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(min);
}
