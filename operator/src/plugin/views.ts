// What kubectl-smartops shows, computed from the objects it read: the history
// rows of a target, the explanation of one action, the pending approvals with the
// time they have left, and the pause policy it creates. Pure: no I/O, the clock
// passed in, so each view is unit-tested on plain objects.
import { createHash } from "node:crypto";
import type { GuardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import type { LabelSelector } from "../api/v1alpha1/meta.ts";
import type { GuardrailPolicy, RemediationAction } from "../api/v1alpha1/objects.ts";
import { effectivePolicy, type PolicyObject, policyCovers } from "../remediation/policy.ts";
import { type Cell, effectivenessTone, humanDuration, phaseTone } from "./format.ts";

export type Action = Pick<RemediationAction, "metadata" | "spec" | "status">;

const NOT_EXECUTED = new Set(["Blocked", "Rejected", "Expired"]);
const created = (a: Action) => Date.parse(a.metadata.creationTimestamp as unknown as string) || 0;
const byAge = (a: Action, b: Action) => created(a) - created(b) || a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name);
const conditionOf = (a: Action, type: string) => a.status?.conditions?.find((c) => c.type === type);

/** The signal an action came from, as kind/name, or its source when no signal made it. */
export function signalOf(a: Action): string {
  const ref = a.spec.signalRef;
  if (ref) return `${ref.kind === "AnomalySignal" ? "anomaly" : "rca"}/${ref.name}`;
  return a.spec.source ?? "manual";
}

/** The change an action asks for: restart; scale 2→3, scale +1; revert of x. */
export function changeOf(a: Action): string {
  const s = a.spec;
  switch (s.type) {
    case "scale": {
      const intent = a.status?.intent;
      if (intent?.fromReplicas !== undefined && intent.replicas !== undefined) return `scale ${intent.fromReplicas}→${intent.replicas}`;
      if (s.scale?.replicas !== undefined) return `scale to ${s.scale.replicas}`;
      const by = s.scale?.by ?? 0;
      return `scale ${by > 0 ? "+" : ""}${by}`;
    }
    case "revert":
      return `revert of ${s.revertOf ?? "?"}`;
    default:
      return s.type;
  }
}

/** What the guardrails and the approver decided: Allowed, Blocked: CooldownActive, Approved by alice, … */
export function decisionOf(a: Action): string {
  const phase = a.status?.phase ?? "Pending";
  const approval = a.spec.approval;
  if (phase === "Blocked") return `Blocked: ${a.status?.reason ?? "?"}`;
  if (phase === "Expired") return "Expired (no approval)";
  if (approval?.decision === "Rejected") return `Rejected by ${approval.approvedBy}`;
  if (phase === "PendingApproval") return "PendingApproval";
  if (approval?.decision === "Approved") return `Approved by ${approval.approvedBy}`;
  if (conditionOf(a, "GuardrailsPassed")?.status === "True") return "Allowed";
  return phase === "Pending" ? "-" : "Allowed";
}

/** What became of it: the phase and its reason, or that it never ran; a revert or dry run is said. */
export function outcomeOf(a: Action): string {
  const phase = a.status?.phase ?? "Pending";
  if (NOT_EXECUTED.has(phase) || phase === "PendingApproval") return "not executed";
  let text = a.status?.reason ? `${phase} (${a.status.reason})` : phase;
  if (a.spec.dryRun) text += ", dry run";
  if (a.status?.revertedBy) text += `, reverted by ${a.status.revertedBy}`;
  else if (a.status?.autoRevert) text += `, reverting: ${a.status.autoRevert.action}`;
  return text;
}

export function effectivenessOf(a: Action): string {
  return a.status?.effectiveness?.state ?? "-";
}

/** One line of `history`, as -o json|yaml prints it. */
export interface HistoryRecord {
  namespace: string;
  name: string;
  createdAt?: string;
  signal: string;
  type: string;
  change: string;
  phase: string;
  reason?: string;
  decision: string;
  outcome: string;
  effectiveness: string;
}

/** The audit trail of one Deployment: its actions, oldest first. */
export function history(actions: readonly Action[], deployment: string): HistoryRecord[] {
  return actions
    .filter((a) => a.spec.target.name === deployment)
    .sort(byAge)
    .map((a) => ({
      namespace: a.metadata.namespace,
      name: a.metadata.name,
      ...(a.metadata.creationTimestamp ? { createdAt: String(a.metadata.creationTimestamp) } : {}),
      signal: signalOf(a),
      type: a.spec.type,
      change: changeOf(a),
      phase: a.status?.phase ?? "Pending",
      ...(a.status?.reason ? { reason: a.status.reason } : {}),
      decision: decisionOf(a),
      outcome: outcomeOf(a),
      effectiveness: effectivenessOf(a),
    }));
}

export interface Table {
  headers: string[];
  rows: Cell[][];
}

const ageCell = (createdAt: string | undefined, now: number): Cell => ({ text: createdAt ? humanDuration(now - Date.parse(createdAt)) : "<unknown>" });

export function historyTable(records: readonly HistoryRecord[], now: number, allNamespaces: boolean): Table {
  const headers = [...(allNamespaces ? ["namespace"] : []), "name", "signal", "change", "decision", "outcome", "effective", "age"];
  const rows = records.map((r) => [
    ...(allNamespaces ? [{ text: r.namespace }] : []),
    { text: r.name },
    { text: r.signal },
    { text: r.change },
    { text: r.decision, tone: r.phase === "Blocked" || r.decision.startsWith("Rejected") || r.phase === "Expired" ? "bad" as const : r.phase === "PendingApproval" ? "warn" as const : undefined },
    { text: r.outcome, tone: phaseTone(r.phase) },
    { text: r.effectiveness, tone: effectivenessTone(r.effectiveness) },
    ageCell(r.createdAt, now),
  ]);
  return { headers, rows };
}

// ---------------------------------------------------------------- pending

/** The deadline the operator gives an action in PendingApproval, as ISO text in its message ("… before <time>"). */
const DEADLINE_IN_MESSAGE = /before (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)/;

/**
 * When a waiting action expires: its creation plus the approval timeout of the
 * policies covering its target now (what the operator checks on every reconcile);
 * without that, the deadline the operator wrote into the message when the wait began.
 */
export function approvalDeadline(a: Action, timeoutSeconds: number | undefined): number | undefined {
  const start = created(a);
  if (timeoutSeconds !== undefined && start > 0) return start + timeoutSeconds * 1000;
  const m = DEADLINE_IN_MESSAGE.exec(a.status?.message ?? "");
  return m ? Date.parse(m[1]!) : undefined;
}

export interface PendingRecord {
  namespace: string;
  name: string;
  target: string;
  change: string;
  signal: string;
  createdAt?: string;
  /** ISO time the action ends Expired, when known. */
  expiresAt?: string;
  /** Seconds left before it expires (0 once past: the operator expires it on its next reconcile). */
  secondsLeft?: number;
  reason?: string;
}

/** Actions waiting for approval, oldest first, with the time they have left. */
export function pending(actions: readonly Action[], timeoutOf: (a: Action) => number | undefined, now: number): PendingRecord[] {
  return actions
    .filter((a) => a.status?.phase === "PendingApproval" && a.spec.approval === undefined)
    .sort(byAge)
    .map((a) => {
      const deadline = approvalDeadline(a, timeoutOf(a));
      return {
        namespace: a.metadata.namespace,
        name: a.metadata.name,
        target: a.spec.target.name,
        change: changeOf(a),
        signal: signalOf(a),
        ...(a.metadata.creationTimestamp ? { createdAt: String(a.metadata.creationTimestamp) } : {}),
        ...(deadline !== undefined ? { expiresAt: new Date(deadline).toISOString(), secondsLeft: Math.max(0, Math.floor((deadline - now) / 1000)) } : {}),
        ...(a.spec.reason ? { reason: a.spec.reason } : {}),
      };
    });
}

export function pendingTable(records: readonly PendingRecord[], now: number, allNamespaces: boolean): Table {
  const headers = [...(allNamespaces ? ["namespace"] : []), "name", "target", "change", "signal", "age", "time left"];
  const rows = records.map((r) => [
    ...(allNamespaces ? [{ text: r.namespace }] : []),
    { text: r.name },
    { text: r.target },
    { text: r.change },
    { text: r.signal },
    ageCell(r.createdAt, now),
    r.secondsLeft === undefined ? { text: "<unknown>" } : r.secondsLeft === 0 ? { text: "expiring", tone: "bad" as const } : { text: humanDuration(r.secondsLeft * 1000), tone: r.secondsLeft < 300 ? "warn" as const : undefined },
  ]);
  return { headers, rows };
}

// ---------------------------------------------------------------- pause

export const PLUGIN_MANAGER = "kubectl-smartops";
export const PAUSE_ANNOTATIONS = {
  by: "smartops.io/paused-by",
  at: "smartops.io/paused-at",
  reason: "smartops.io/pause-reason",
  selector: "smartops.io/paused-selector",
} as const;
export const PAUSE_LABELS = { managedBy: "app.kubernetes.io/managed-by", pause: "smartops.io/pause" } as const;
/** The annotation on a Deployment from which failures count again after RepeatedFailures. */
export const RESUMED_AT = "smartops.io/resumed-at";

export class SelectorError extends Error {}

/**
 * kubectl's label selector syntax (a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a),
 * comma-separated, as a GuardrailPolicy's LabelSelector.
 */
export function parseSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: NonNullable<LabelSelector["matchExpressions"]> = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  const KEY = "([A-Za-z0-9][-A-Za-z0-9_./]*)";
  const VALUE = "([A-Za-z0-9]?[-A-Za-z0-9_.]*)";
  for (const raw of parts.map((p) => p.trim())) {
    if (!raw) throw new SelectorError(`selector ${JSON.stringify(text)}: an empty requirement`);
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^${KEY}\\s*(==|=)\\s*${VALUE}$`).exec(raw))) matchLabels[m[1]!] = m[3]!;
    else if ((m = new RegExp(`^${KEY}\\s*!=\\s*${VALUE}$`).exec(raw))) matchExpressions.push({ key: m[1]!, operator: "NotIn", values: [m[2]!] });
    else if ((m = new RegExp(`^${KEY}\\s+(in|notin)\\s*\\(([^()]*)\\)$`).exec(raw))) {
      const values = m[3]!.split(",").map((v) => v.trim()).filter((v) => v !== "");
      if (values.length === 0) throw new SelectorError(`selector ${JSON.stringify(text)}: ${m[1]} ${m[2]} () needs values`);
      matchExpressions.push({ key: m[1]!, operator: m[2] === "in" ? "In" : "NotIn", values });
    } else if ((m = new RegExp(`^!\\s*${KEY}$`).exec(raw))) matchExpressions.push({ key: m[1]!, operator: "DoesNotExist" });
    else if ((m = new RegExp(`^${KEY}$`).exec(raw))) matchExpressions.push({ key: m[1]!, operator: "Exists" });
    else throw new SelectorError(`selector ${JSON.stringify(text)}: cannot parse ${JSON.stringify(raw)}`);
  }
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

/**
 * The name of the plugin's pause policy: smartops-pause for the whole namespace,
 * smartops-pause-<hash> for a selector (the same selector, written in any order,
 * gives the same name, so resume --selector finds it).
 */
export function pausePolicyName(selector: LabelSelector | undefined): string {
  if (!selector) return "smartops-pause";
  const canonical = JSON.stringify({
    l: Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b)),
    e: (selector.matchExpressions ?? []).map((e) => [e.key, e.operator, [...(e.values ?? [])].sort()]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  });
  return `smartops-pause-${createHash("sha256").update(canonical).digest("hex").slice(0, 10)}`;
}

/** The longest ladder the schema allows, so the pause never shortens another policy's ladder (the shortest wins). */
const LONGEST_LADDER: GuardrailPolicySpec["escalation"]["ladders"]["anomaly"] = ["restart", "scale-up", "delete-pod", "restart", "scale-up", "delete-pod", "scale-up", "notify"];

/**
 * The plugin's pause: a GuardrailPolicy with paused: true whose other values are
 * the loosest the schema allows. Overlapping policies combine to the most
 * restrictive value of each field, so the pause wins, and its other fields change
 * nothing the other policies say — an approval wait is not shortened, a cooldown
 * not lengthened — should an action be decided while it exists (e.g. one already
 * executing, or the verdict recorded on a blocked one).
 */
export function pausePolicy(opts: { namespace: string; selector?: LabelSelector; by: string; at: Date; reason?: string; selectorText?: string }): GuardrailPolicy {
  const spec: GuardrailPolicySpec = {
    mode: "Enforce",
    paused: true,
    targets: opts.selector ? { selector: opts.selector } : {},
    replicas: { min: 0, max: 1000, maxStep: 1000 },
    cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
    rateLimits: { maxActionsPerHour: 10000, maxScaleIncreasePer15Minutes: 1000 },
    patch: { allowedPaths: ["spec"], deniedPaths: [] },
    approval: { scale: "None", restart: "None", patch: "None", deletePod: "None", revert: "None", timeoutSeconds: 604800 },
    signals: { minScore: 0, minConfidence: 0, unverified: "DryRun", scaleStep: 10 },
    onFailure: { scale: "Keep", patch: "Keep" },
    gitops: { scale: "Allow", restart: "Allow", patch: "Allow", deletePod: "Allow" },
    fieldConflicts: { mode: "Force", protectedManagers: [] },
    effectiveness: { windowSeconds: 10 },
    escalation: { enabled: false, ladders: { anomaly: [...LONGEST_LADDER], rca: [...LONGEST_LADDER] }, maxConsecutiveFailures: 100, blockExpirySeconds: 60 },
    // Block wins and the shortest hold wins: AdjustAutoscaler for the longest hold leaves other policies' choice alone.
    autoscaler: { mode: "AdjustAutoscaler", adjustSeconds: 86400 },
  };
  return {
    apiVersion: "smartops.io/v1alpha1",
    kind: "GuardrailPolicy",
    metadata: {
      name: pausePolicyName(opts.selector),
      namespace: opts.namespace,
      labels: { [PAUSE_LABELS.managedBy]: PLUGIN_MANAGER, [PAUSE_LABELS.pause]: "true" },
      annotations: {
        [PAUSE_ANNOTATIONS.by]: opts.by,
        [PAUSE_ANNOTATIONS.at]: opts.at.toISOString().replace(/\.\d+Z$/, "Z"),
        ...(opts.reason ? { [PAUSE_ANNOTATIONS.reason]: opts.reason } : {}),
        ...(opts.selectorText ? { [PAUSE_ANNOTATIONS.selector]: opts.selectorText } : {}),
      },
    },
    spec,
  };
}

/** "paused by alice at …: reason" from a pause policy's annotations. */
export function describePause(p: { metadata: { annotations?: Record<string, string> } }): string {
  const an = p.metadata.annotations ?? {};
  return `paused by ${an[PAUSE_ANNOTATIONS.by] ?? "?"} at ${an[PAUSE_ANNOTATIONS.at] ?? "?"}${an[PAUSE_ANNOTATIONS.reason] ? `: ${an[PAUSE_ANNOTATIONS.reason]}` : ""}`;
}

/**
 * The approval timeout the operator applies to an action now: that of the
 * policies covering its target (the shortest), the built-in default when none does.
 * Undefined when the target's labels are unknown and a covering policy has a selector.
 */
export function approvalTimeout(a: Action, policies: readonly PolicyObject[], labels: Record<string, string> | undefined, operatorNamespace: string): number | undefined {
  const target = { namespace: a.metadata.namespace, name: a.spec.target.name, labels: labels ?? {} };
  const withoutSelector = (p: PolicyObject): PolicyObject => ({ ...p, spec: { ...p.spec, targets: { ...p.spec.targets, selector: undefined } } });
  const selectsInNamespace = policies.some((p) => p.spec.targets?.selector !== undefined && policyCovers(withoutSelector(p), target, operatorNamespace));
  if (labels === undefined && selectsInNamespace) return undefined;
  return effectivePolicy(policies.filter((p) => policyCovers(p, target, operatorNamespace))).approval.timeoutSeconds;
}
