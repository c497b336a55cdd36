// `kubectl smartops explain <action>`: why an action did what it did, from its
// own audit record (spec.signalRef, recommendation, escalation, approval;
// status.judgedBy, intent, preState, verification, effectiveness, revert links)
// in one place, and what would undo it. Pure.
import { clean, humanDuration, type Paint, paint, phaseTone, effectivenessTone } from "./format.ts";
import { type Action, changeOf, decisionOf } from "./views.ts";

export interface Explanation {
  action: { namespace: string; name: string; type: string; change: string; source: string; createdAt?: string; dryRun: boolean; reason?: string };
  target: string;
  signal?: { kind: string; name: string; summary?: string; explanation?: string; modelVersion?: string };
  rule?: string;
  escalation?: string;
  policies: string[];
  guardrails?: string;
  decision: string;
  outcome: { phase: string; reason?: string; message?: string };
  approval?: string;
  intent?: string;
  preState?: string;
  verification?: string;
  effectiveness?: { state: string; windowEndsAt: string; summary: string };
  undo: { possible: boolean; how: string; command?: string };
}

const describeSignal = (a: Action): Explanation["signal"] => {
  const ref = a.spec.signalRef;
  const r = a.spec.recommendation;
  if (!ref && !r) return undefined;
  const parts: string[] = [];
  if (r?.anomalyType) parts.push(`${r.anomalyType} anomaly${r.score !== undefined ? `, score ${r.score}` : ""}`);
  if (r?.causes?.length) parts.push(`causes ${r.causes.map((c) => `${c.cause} (${c.svc}, ${c.probability})`).join(", ")}`);
  if (r?.confidence !== undefined) parts.push(`confidence ${r.confidence}`);
  if (r?.service) parts.push(`service ${r.service}`);
  return {
    kind: ref?.kind ?? "signal",
    name: ref?.name ?? "(not recorded)",
    ...(parts.length ? { summary: parts.join("; ") } : {}),
    ...(r?.explanation ? { explanation: r.explanation } : {}),
    ...(r?.modelVersion ? { modelVersion: r.modelVersion } : {}),
  };
};

function describeGuardrails(a: Action): string | undefined {
  const j = a.status?.judgedBy;
  if (!j) return undefined;
  const parts: string[] = [];
  if (j.cooldownSeconds !== undefined) parts.push(`cooldown ${j.cooldownSeconds}s`);
  if (j.replicas) parts.push(`replicas ${j.replicas.min}..${j.replicas.max} (step ≤ ${j.replicas.maxStep})`);
  if (j.maxActionsPerHour !== undefined) parts.push(`≤ ${j.maxActionsPerHour}/h`);
  if (j.maxScaleIncreasePer15Minutes !== undefined) parts.push(`≤ +${j.maxScaleIncreasePer15Minutes} replicas/15m`);
  if (j.approvalTier) parts.push(`approval ${j.approvalTier}`);
  if (j.onFailure) parts.push(`on failure ${j.onFailure}`);
  if (j.effectivenessWindowSeconds !== undefined) parts.push(`effectiveness window ${j.effectivenessWindowSeconds}s`);
  return parts.join(", ") || undefined;
}

function describeIntent(a: Action): string | undefined {
  const i = a.status?.intent;
  if (!i) return undefined;
  const parts: string[] = [];
  if (i.fromReplicas !== undefined || i.replicas !== undefined) parts.push(`replicas ${i.fromReplicas ?? "?"} → ${i.replicas ?? "?"}`);
  if (i.changedPaths?.length) parts.push(`changes ${i.changedPaths.join(", ")}`);
  if (i.restartedAt) parts.push(`restartedAt ${i.restartedAt}`);
  if (i.podName) parts.push(`evicts pod ${i.podName}`);
  if (i.revertPatch) parts.push("revert patch recorded");
  if (i.recordedAt) parts.push(`recorded ${i.recordedAt}`);
  return parts.join("; ") || undefined;
}

function describePreState(a: Action): string | undefined {
  const p = a.status?.preState;
  if (!p) return undefined;
  const fields = (p.fields ?? []).map((f) => `${f.path}: ${f.absent ? "(absent)" : f.before ?? "?"} → ${f.removed ? "(removed)" : f.after ?? "?"}`);
  const head = p.reversible ? "reversible" : `not reversible${p.reason ? ` (${p.reason})` : ""}`;
  return [head, ...fields].join("; ");
}

function describeVerification(a: Action): string | undefined {
  const v = a.status?.verification;
  if (!v) return undefined;
  const o = v.observed;
  const observed = o ? `; observed ${o.readyReplicas ?? 0}/${o.desiredReplicas ?? "?"} ready, ${o.updatedReplicas ?? 0} updated` : "";
  return `${v.status}${v.attempts !== undefined ? ` after ${v.attempts} attempt${v.attempts === 1 ? "" : "s"}` : ""}${v.message ? `: ${v.message}` : ""}${observed}`;
}

function describeEffectiveness(a: Action): Explanation["effectiveness"] {
  const e = a.status?.effectiveness;
  if (!e) return undefined;
  const cond = a.status?.conditions?.find((c) => c.type === "Effective");
  const parts: string[] = [];
  if (cond?.reason) parts.push(cond.reason);
  if (e.state !== "Pending") parts.push(`window of ${e.windowSeconds}s ended ${e.windowEndsAt}`);
  if (e.recurrence) parts.push(`recurred: ${e.recurrence.kind} ${e.recurrence.name}${e.recurrence.at ? ` at ${e.recurrence.at}` : ""}`);
  if (e.normalWindows) parts.push(`${e.normalWindows} normal window${e.normalWindows === 1 ? "" : "s"}`);
  for (const m of e.metrics ?? []) parts.push(`metric ${m.query}: ${m.message ?? `${m.baseline ?? "?"} → ${m.outcome ?? "?"} (${m.comparison} ${m.threshold})`}`);
  if (e.message) parts.push(e.message);
  return { state: e.state, windowEndsAt: e.windowEndsAt, summary: parts.join("; ") };
}

/** What would undo the action, and the command that does. */
export function undoOf(a: Action): Explanation["undo"] {
  const { name, namespace } = a.metadata;
  const phase = a.status?.phase ?? "Pending";
  if (a.spec.type === "revert") return { possible: false, how: `a revert is not reversible itself: to redo the change, run ${a.spec.revertOf ?? "the original action"} again` };
  if (a.spec.dryRun) return { possible: false, how: "a dry run changed nothing" };
  if (["Blocked", "Rejected", "Expired", "PendingApproval", "Pending"].includes(phase) && !a.status?.intent) return { possible: false, how: `nothing to undo: it has changed nothing (${phase})` };
  if (a.status?.revertedBy) return { possible: false, how: `already undone by ${a.status.revertedBy}` };
  if (a.status?.autoRevert) return { possible: false, how: `the operator is undoing it: ${a.status.autoRevert.action} (created ${a.status.autoRevert.createdAt})` };
  const p = a.status?.preState;
  if (!p) return { possible: false, how: "no pre-state was recorded, so it cannot be undone" };
  if (!p.reversible) return { possible: false, how: `cannot be undone: ${p.reason ?? "not reversible"}` };
  const restores = (p.fields ?? []).map((f) => `${f.path} back to ${f.absent ? "(absent)" : f.before ?? "?"}`).join(", ");
  return {
    possible: true,
    how: `a revert restores ${restores || "the recorded fields"}, only while they still hold the values this action set`,
    command: `kubectl smartops revert ${name} -n ${namespace}`,
  };
}

export function explain(a: Action): Explanation {
  const s = a.spec;
  const approval = s.approval
    ? `${s.approval.decision} by ${s.approval.approvedBy}${s.approval.decidedAt ? ` at ${s.approval.decidedAt}` : ""}${s.approval.reason ? `: ${s.approval.reason}` : ""}`
    : a.status?.judgedBy?.approvalTier === "Required" || a.status?.phase === "PendingApproval"
      ? "required, not given yet"
      : undefined;
  const esc = s.escalation;
  return {
    action: {
      namespace: a.metadata.namespace,
      name: a.metadata.name,
      type: s.type,
      change: changeOf(a),
      source: s.source ?? "manual",
      ...(a.metadata.creationTimestamp ? { createdAt: String(a.metadata.creationTimestamp) } : {}),
      dryRun: s.dryRun ?? false,
      ...(s.reason ? { reason: s.reason } : {}),
    },
    target: `Deployment ${a.metadata.namespace}/${s.target.name}`,
    ...optional("signal", describeSignal(a)),
    ...optional("rule", s.recommendation?.rule),
    ...optional("escalation", esc ? `step ${esc.step + 1} of ${esc.ladder.join(" → ")}, because ${esc.from} did not work` : undefined),
    policies: a.status?.judgedBy?.policies ?? (a.status?.guardrailPolicies ?? []).map((p) => `${a.metadata.namespace}/${p}`),
    ...optional("guardrails", describeGuardrails(a)),
    decision: decisionOf(a),
    outcome: { phase: a.status?.phase ?? "Pending", ...optional("reason", a.status?.reason), ...optional("message", a.status?.message) },
    ...optional("approval", approval),
    ...optional("intent", describeIntent(a)),
    ...optional("preState", describePreState(a)),
    ...optional("verification", describeVerification(a)),
    ...optional("effectiveness", describeEffectiveness(a)),
    undo: undoOf(a),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The explanation as text: one labelled line per part, the parts a reader asks about in order. */
export function renderExplanation(e: Explanation, now: number, p: Paint = paint(false)): string {
  const lines: [string, string][] = [];
  const add = (label: string, value: string | undefined) => {
    if (value !== undefined && value !== "") lines.push([label, clean(value)]);
  };
  const a = e.action;
  add("Action", `${a.namespace}/${a.name}: ${a.change}${a.dryRun ? " (dry run)" : ""}, source ${a.source}${a.createdAt ? `, created ${humanDuration(now - Date.parse(a.createdAt))} ago (${a.createdAt})` : ""}`);
  add("Target", e.target);
  add("Requested because", a.reason);
  if (e.signal) add("Signal", `${e.signal.kind} ${e.signal.name}${e.signal.summary ? ` — ${e.signal.summary}` : ""}${e.signal.modelVersion ? ` (model ${e.signal.modelVersion})` : ""}`);
  add("Agent's explanation", e.signal?.explanation);
  add("Rule", e.rule);
  add("Escalation", e.escalation);
  add("Policies", e.policies.length ? e.policies.join(", ") : "none: the built-in defaults");
  add("Guardrail values", e.guardrails);
  add("Decision", p(e.decision.startsWith("Blocked") || e.decision.startsWith("Rejected") ? "bad" : undefined, e.decision));
  add("Approval", e.approval);
  add("Outcome", `${p(phaseTone(e.outcome.phase), e.outcome.phase)}${e.outcome.reason ? ` (${e.outcome.reason})` : ""}${e.outcome.message ? `: ${e.outcome.message}` : ""}`);
  add("Intent", e.intent);
  add("Pre-state", e.preState);
  add("Verification", e.verification);
  if (e.effectiveness) {
    const eff = e.effectiveness;
    // Relative time only in the text: -o json|yaml must not change from one second to the next.
    const window = eff.state === "Pending" ? `window ends in ${humanDuration(Date.parse(eff.windowEndsAt) - now)} (${eff.windowEndsAt})` : "";
    add("Effectiveness", `${p(effectivenessTone(eff.state), eff.state)} — ${[eff.summary, window].filter((x) => x).join("; ")}`);
  }
  add("Undo", e.undo.how);
  add("Undo with", e.undo.command);
  const width = Math.max(...lines.map(([l]) => l.length)) + 2;
  return lines.map(([label, value]) => `${p("bold", `${label}:`)}${" ".repeat(width - label.length - 1)}${value}`).join("\n") + "\n";
}
