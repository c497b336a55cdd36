// What-if replay: what a candidate GuardrailPolicy would have done with the
// signals and actions still in the cluster. Events are replayed in time order
// through the same pure decisions the operator runs — the signal rules, the
// policy combination, the guardrails — with the history the replay itself
// builds (an action the candidate would have blocked does not count toward the
// next cooldown). Decisions that depend on live cluster state replay from what
// each action recorded when it was decided (replicas before, the fields a patch
// changed, the ladder step it took); where that input is missing, the output
// says so. Pure and deterministic: the same input gives the same output.
import type { AnomalySignalSpec } from "../api/v1alpha1/anomaly-signal.ts";
import type { RcaSignalSpec } from "../api/v1alpha1/rca-signal.ts";
import type { ActionType, SpecActionType } from "../api/v1alpha1/remediation-action.ts";
import type { FieldChange } from "./change.ts";
import { type ActionRecord, evaluateGuardrails } from "./guardrails.ts";
import { effectivePolicy, type PolicyObject, policyCovers } from "./policy.ts";
import { decideForAnomaly, decideForRca } from "./rules.ts";
import { compareStrings } from "./target.ts";

export type ReplaySignal =
  | { kind: "AnomalySignal"; namespace: string; name: string; at: number; spec: AnomalySignalSpec; target?: string; recorded: RecordedSignal }
  | { kind: "RcaSignal"; namespace: string; name: string; at: number; spec: RcaSignalSpec; target?: string; recorded: RecordedSignal };

/** What became of a signal: its phase and reason, and the action it produced. */
export interface RecordedSignal {
  phase?: string;
  reason?: string;
  action?: string;
}

/** An action as it was recorded: what it asked for, what the operator decided, and the inputs it decided on. */
export interface ReplayAction {
  namespace: string;
  name: string;
  target: string;
  type: SpecActionType;
  source: string;
  dryRun: boolean;
  at: number;
  signal?: { kind: "AnomalySignal" | "RcaSignal"; name: string };
  scale?: { replicas?: number; by?: number };
  /** Replicas the Deployment had when the action was decided (status.intent.fromReplicas, or spec.scale.decidedAtReplicas). */
  fromReplicas?: number;
  toReplicas?: number;
  /** When it changed the Deployment (status.intent.recordedAt). */
  executedAt?: number;
  /** The fields a patch changed (status.intent.changedPaths, with spec.replicas' new value when it set one). */
  changes?: FieldChange[];
  /** It took a step of the escalation ladder rather than the rule's action. */
  escalated?: boolean;
  /** A human decided on it (approval) — a replay cannot know what they would have decided. */
  humanDecision?: boolean;
  phase?: string;
  reason?: string;
}

export interface ReplayInput {
  signals: readonly ReplaySignal[];
  actions: readonly ReplayAction[];
  /** Labels of the Deployments (namespace/name), for policy selectors; a missing one is noted. */
  deploymentLabels: ReadonlyMap<string, Record<string, string>>;
  /** The policies in force (enforced ones only). */
  current: readonly PolicyObject[];
  /** The candidate policies. */
  candidate: readonly PolicyObject[];
  /** replace: the candidate instead of the current policies of the same name (and added beside the rest); beside: added to them. */
  mode: "replace" | "beside";
  operatorNamespace: string;
}

/** An outcome in terms both sides share. */
export type Outcome =
  | { kind: "executed"; type: SpecActionType }
  | { kind: "dry-run"; type: SpecActionType }
  | { kind: "approval"; type: SpecActionType }
  | { kind: "blocked"; type: SpecActionType; reason: string }
  | { kind: "ignored"; reason: string }
  | { kind: "notified" }
  | { kind: "unknown"; reason: string };

export interface ReplayRow {
  at: number;
  namespace: string;
  /** `AnomalySignal/name`, `RcaSignal/name` or `RemediationAction/name` (an action no signal produced). */
  event: string;
  target?: string;
  action?: string;
  recorded: Outcome;
  candidate: Outcome;
  changed: boolean;
  /** Inputs the replay lacked or took from the record, said plainly. */
  notes: string[];
}

export interface ReplaySummary {
  events: number;
  /** Candidate outcomes. */
  allowed: number;
  blocked: number;
  ignored: number;
  changed: number;
  /** Candidate blocks by reason. */
  blockedBy: Record<string, number>;
  /** Rows a human decided (approvals): shown, not counted as changed. */
  humanDecided: number;
}

export interface ReplayResult {
  rows: ReplayRow[];
  summary: ReplaySummary;
}

/** The policies the candidate run uses. */
export function candidateSet(input: Pick<ReplayInput, "current" | "candidate" | "mode">): PolicyObject[] {
  if (input.mode === "beside") return [...input.current, ...input.candidate];
  const replaced = new Set(input.candidate.map(keyOf));
  return [...input.current.filter((p) => !replaced.has(keyOf(p))), ...input.candidate];
}

const keyOf = (p: PolicyObject) => `${p.metadata.namespace}/${p.metadata.name}`;

/**
 * Whether two outcomes are the same decision: the same kind (executed, blocked,
 * ignored …) of the same action type. A block for another reason is the same
 * decision for another reason: the rows show both reasons.
 */
export function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.kind === b.kind && ("type" in a ? a.type : undefined) === ("type" in b ? b.type : undefined);
}

/** What the operator recorded for an action. */
export function recordedOutcome(a: ReplayAction): Outcome {
  if (a.phase === "Blocked") return { kind: "blocked", type: a.type, reason: a.reason ?? "" };
  if (a.dryRun) return { kind: "dry-run", type: a.type };
  if (a.phase === "PendingApproval" || a.reason === "RejectedByUser" || a.reason === "ApprovalExpired") return { kind: "approval", type: a.type };
  if (a.executedAt !== undefined || a.phase === "Succeeded" || a.phase === "Failed") return { kind: "executed", type: a.type };
  return { kind: "unknown", reason: `${a.phase ?? "Pending"}` };
}

type Event = { at: number; order: string; signal?: ReplaySignal; action?: ReplayAction };

export function replay(input: ReplayInput): ReplayResult {
  const policies = candidateSet(input);
  const actionsByName = new Map(input.actions.map((a) => [`${a.namespace}/${a.name}`, a]));
  const actionOfSignal = new Map<string, ReplayAction>();
  for (const a of input.actions) if (a.signal) actionOfSignal.set(`${a.namespace}/${a.signal.kind}/${a.signal.name}`, a);
  // Actions no signal produced (humans, agents through the shim, reverts) are events of their own.
  const events: Event[] = [
    ...input.signals.map((s) => ({ at: s.at, order: `${s.namespace}/${s.kind}/${s.name}`, signal: s })),
    ...input.actions.filter((a) => !a.signal).map((a) => ({ at: a.at, order: `${a.namespace}/RemediationAction/${a.name}`, action: a })),
  ].sort((x, y) => x.at - y.at || compareStrings(x.order, y.order));

  // The history the candidate builds, per target: what it would have executed.
  const history = new Map<string, ActionRecord[]>();
  const rows: ReplayRow[] = [];
  for (const e of events) {
    const row = e.signal
      ? replaySignal(e.signal, e.signal.recorded.action ? actionsByName.get(`${e.signal.namespace}/${e.signal.recorded.action}`) ?? actionOfSignal.get(`${e.signal.namespace}/${e.signal.kind}/${e.signal.name}`) : actionOfSignal.get(`${e.signal.namespace}/${e.signal.kind}/${e.signal.name}`), policies, input, history)
      : replayAction(e.action!, policies, input, history);
    rows.push(row);
  }
  return { rows, summary: summarize(rows) };
}

function policyAt(namespace: string, target: string, policies: readonly PolicyObject[], input: ReplayInput, notes: string[]) {
  const labels = input.deploymentLabels.get(`${namespace}/${target}`);
  if (!labels) notes.push(`Deployment ${namespace}/${target} is gone: its labels are unknown, policies with a selector are taken not to cover it`);
  const covering = policies.filter((p) => (labels || !p.spec.targets?.selector) && policyCovers(p, { namespace, name: target, labels: labels ?? {} }, input.operatorNamespace));
  return effectivePolicy(covering);
}

function replaySignal(s: ReplaySignal, recordedAction: ReplayAction | undefined, policies: readonly PolicyObject[], input: ReplayInput, history: Map<string, ActionRecord[]>): ReplayRow {
  const notes: string[] = [];
  const recorded: Outcome = recordedAction
    ? recordedOutcome(recordedAction)
    : s.recorded.phase === "Notified" ? { kind: "notified" }
    : s.recorded.phase === "Ignored" || s.recorded.phase === "NoTarget" ? { kind: "ignored", reason: s.recorded.reason ?? s.recorded.phase }
    : { kind: "unknown", reason: s.recorded.phase ?? "not reconciled" };
  const base = { at: s.at, namespace: s.namespace, event: `${s.kind}/${s.name}`, ...(recordedAction ? { action: recordedAction.name } : {}) };
  const target = s.target ?? recordedAction?.target;
  if (!target) {
    const candidate: Outcome = s.recorded.phase === "NoTarget" ? { kind: "ignored", reason: s.recorded.reason ?? "NoMatchingDeployment" } : { kind: "unknown", reason: "the signal's target is not recorded" };
    return finish({ ...base, recorded, candidate, notes });
  }
  const policy = policyAt(s.namespace, target, policies, input, notes);
  const decision = s.kind === "AnomalySignal" ? decideForAnomaly(s.spec, policy.signals) : decideForRca(s.spec, policy.signals);
  if (decision.kind === "ignore") return finish({ ...base, target, recorded, candidate: { kind: "ignored", reason: decision.reason }, notes });
  if (recorded.kind === "notified") {
    notes.push("the escalation ladder told a human here; the replay keeps that (it does not re-judge effectiveness)");
    return finish({ ...base, target, recorded, candidate: { kind: "notified" }, notes });
  }
  let type: ActionType = decision.actionType;
  if (recordedAction?.escalated && recordedAction.type !== "revert") {
    type = recordedAction.type as ActionType;
    notes.push(`the recorded action took an escalation step (${type}); replayed as that step`);
  }
  const scale = type === "scale" ? (recordedAction?.scale ?? { by: decision.scaleStep ?? policy.signals.scaleStep }) : undefined;
  const candidate = judge({ namespace: s.namespace, name: recordedAction?.name ?? `${s.kind}/${s.name}`, target, type, at: s.at, dryRun: decision.dryRun, ...(scale ? { scale } : {}) }, recordedAction, policy, history, notes);
  if (recordedAction?.humanDecision) notes.push("a human decided on the recorded action");
  return finish({ ...base, target, recorded, candidate, notes, human: recordedAction?.humanDecision === true });
}

function replayAction(a: ReplayAction, policies: readonly PolicyObject[], input: ReplayInput, history: Map<string, ActionRecord[]>): ReplayRow {
  const notes: string[] = [];
  const policy = policyAt(a.namespace, a.target, policies, input, notes);
  const recorded = recordedOutcome(a);
  const candidate = a.type === "revert"
    ? recorded
    : judge({ namespace: a.namespace, name: a.name, target: a.target, type: a.type, at: a.at, dryRun: a.dryRun, ...(a.scale ? { scale: a.scale } : {}) }, a, policy, history, notes);
  if (a.type === "revert") {
    notes.push("reverts are replayed as recorded");
    if (a.executedAt !== undefined) record(history, a, a.type, a.executedAt, a.fromReplicas, a.toReplicas);
  }
  return finish({ at: a.at, namespace: a.namespace, event: `RemediationAction/${a.name}`, target: a.target, action: a.name, recorded, candidate, notes, human: a.humanDecision === true || a.source === "manual" });
}

interface Asked {
  namespace: string;
  name: string;
  target: string;
  type: ActionType;
  at: number;
  dryRun: boolean;
  scale?: { replicas?: number; by?: number };
}

function judge(asked: Asked, recordedAction: ReplayAction | undefined, policy: ReturnType<typeof effectivePolicy>, history: Map<string, ActionRecord[]>, notes: string[]): Outcome {
  const replicas = recordedAction?.fromReplicas;
  if (replicas === undefined && (asked.type === "scale" || asked.type === "patch")) notes.push("replicas before the action are not recorded: taken as 1");
  let changes = recordedAction?.changes;
  if (asked.type === "patch" && !changes) notes.push("the fields the patch changed are not recorded: judged as changing nothing known");
  if (asked.type === "patch" && !changes) changes = [];
  const past = history.get(`${asked.namespace}/${asked.target}`) ?? [];
  // A recorded action that ran at another time than its event is judged at its own time.
  const now = recordedAction?.executedAt ?? asked.at;
  const d = evaluateGuardrails({
    action: { name: asked.name, namespace: asked.namespace, type: asked.type, ...(asked.scale ? { scale: asked.scale } : {}), ...(changes ? { changes } : {}) },
    target: { exists: true, replicas: replicas ?? 1 },
    history: past,
    policy,
    now,
  });
  if (d.verdict === "block") return { kind: "blocked", type: asked.type, reason: d.reason };
  if (d.verdict === "unchanged") return { kind: "executed", type: asked.type };
  if (asked.dryRun) return { kind: "dry-run", type: asked.type };
  if (d.approvalRequired) return { kind: "approval", type: asked.type };
  record(history, { namespace: asked.namespace, target: asked.target, name: asked.name }, asked.type, now, replicas ?? 1, d.replicas);
  return { kind: "executed", type: asked.type };
}

function record(history: Map<string, ActionRecord[]>, a: { namespace: string; target: string; name: string }, type: SpecActionType, at: number, from?: number, to?: number): void {
  const key = `${a.namespace}/${a.target}`;
  const list = history.get(key) ?? [];
  list.push({ name: a.name, type, executedAt: at, ...(from !== undefined && to !== undefined ? { fromReplicas: from, toReplicas: to } : {}) });
  history.set(key, list);
}

function finish(r: Omit<ReplayRow, "changed"> & { human?: boolean }): ReplayRow & { human?: boolean } {
  return { ...r, changed: !r.human && !sameOutcome(r.recorded, r.candidate) };
}

function summarize(rows: readonly (ReplayRow & { human?: boolean })[]): ReplaySummary {
  const blockedBy: Record<string, number> = {};
  let allowed = 0;
  let blocked = 0;
  let ignored = 0;
  for (const r of rows) {
    if (r.candidate.kind === "blocked") {
      blocked++;
      blockedBy[r.candidate.reason] = (blockedBy[r.candidate.reason] ?? 0) + 1;
    } else if (r.candidate.kind === "ignored") ignored++;
    else if (r.candidate.kind === "executed" || r.candidate.kind === "dry-run" || r.candidate.kind === "approval") allowed++;
  }
  return {
    events: rows.length, allowed, blocked, ignored,
    changed: rows.filter((r) => r.changed).length,
    blockedBy: Object.fromEntries(Object.entries(blockedBy).sort(([a], [b]) => compareStrings(a, b))),
    humanDecided: rows.filter((r) => r.human).length,
  };
}
