// `kubectl smartops what-if -f policy.yaml`: the cluster's signals and actions,
// mapped to the replay's inputs (what each action recorded when it was decided),
// replayed with the candidate policies, printed per event and summed up. The
// mapping and the rendering are pure; commands.ts reads and prints.
import { parseAllDocuments } from "yaml";
import { guardrailPolicySpec } from "../api/v1alpha1/guardrail-policy.ts";
import type { GuardrailPolicy, Signal } from "../api/v1alpha1/objects.ts";
import { validate } from "../api/v1alpha1/validation.ts";
import type { PolicyObject } from "../remediation/policy.ts";
import { type Outcome, type ReplayAction, type ReplayInput, type ReplayResult, type ReplaySignal, replay } from "../remediation/replay.ts";
import { UsageError } from "./args.ts";
import type { DeploymentInfo } from "./client.ts";
import type { Action } from "./views.ts";

const ms = (t: unknown) => Date.parse(String(t ?? "")) || 0;

/** The candidate policies of a YAML or JSON file: GuardrailPolicy documents, validated like the API server would. */
export function candidatePolicies(text: string, file: string, defaultNamespace: string): PolicyObject[] {
  const out: PolicyObject[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length > 0) throw new UsageError(`what-if: ${file}: document ${i + 1} is not YAML: ${doc.errors[0]!.message.split("\n")[0]}`, "what-if");
    const obj = doc.toJS() as Partial<GuardrailPolicy> | null;
    if (obj === null) return;
    if (obj.kind !== "GuardrailPolicy") throw new UsageError(`what-if: ${file}: document ${i + 1} is a ${obj.kind ?? "document without kind"}, not a GuardrailPolicy`, "what-if");
    const name = obj.metadata?.name;
    if (!name) throw new UsageError(`what-if: ${file}: document ${i + 1}: metadata.name is required`, "what-if");
    const spec = validate(guardrailPolicySpec, obj.spec ?? {}, "spec");
    if (!spec.ok) throw new UsageError(`what-if: ${file}: GuardrailPolicy ${name}: ${spec.issues.map((x) => `${x.field}: ${x.message}`).join("; ")}`, "what-if");
    out.push({ metadata: { namespace: obj.metadata?.namespace ?? defaultNamespace, name }, spec: spec.value as PolicyObject["spec"] });
  });
  if (out.length === 0) throw new UsageError(`what-if: ${file} holds no GuardrailPolicy`, "what-if");
  return out;
}

export function replaySignalOf(s: Signal): ReplaySignal {
  const base = {
    namespace: s.metadata.namespace, name: s.metadata.name, at: ms(s.metadata.creationTimestamp),
    ...(s.status?.target ? { target: s.status.target } : {}),
    recorded: { ...(s.status?.phase ? { phase: s.status.phase } : {}), ...(s.status?.reason ? { reason: s.status.reason } : {}), ...(s.status?.actionRef?.name ? { action: s.status.actionRef.name } : {}) },
  };
  return s.kind === "AnomalySignal" ? { kind: "AnomalySignal", spec: s.spec, ...base } : { kind: "RcaSignal", spec: s.spec, ...base };
}

export function replayActionOf(a: Action): ReplayAction {
  const st = a.status ?? {};
  const intent = st.intent;
  const replicasField = st.preState?.fields?.find((f) => f.path === "/spec/replicas");
  const after = replicasField?.after !== undefined ? Number(JSON.parse(replicasField.after)) : undefined;
  const changes = a.spec.type === "patch" && intent?.changedPaths
    ? intent.changedPaths.map((path) => (path === "spec.replicas" ? { path, pointer: "/spec/replicas", ...(st.preState?.replicas !== undefined ? { before: st.preState.replicas } : {}), ...(after !== undefined ? { after } : {}) } : { path, pointer: `/${path.replace(/\./g, "/")}` }))
    : undefined;
  const from = intent?.fromReplicas ?? st.preState?.replicas ?? a.spec.scale?.decidedAtReplicas ?? st.verification?.observed?.desiredReplicas;
  return {
    namespace: a.metadata.namespace, name: a.metadata.name, target: a.spec.target.name, type: a.spec.type, source: a.spec.source, dryRun: a.spec.dryRun,
    at: ms(a.metadata.creationTimestamp),
    ...(a.spec.signalRef ? { signal: { kind: a.spec.signalRef.kind, name: a.spec.signalRef.name } } : {}),
    ...(a.spec.scale ? { scale: { ...(a.spec.scale.replicas !== undefined ? { replicas: a.spec.scale.replicas } : {}), ...(a.spec.scale.by !== undefined ? { by: a.spec.scale.by } : {}) } } : {}),
    ...(from !== undefined ? { fromReplicas: from } : {}),
    ...(intent?.replicas !== undefined ? { toReplicas: intent.replicas } : {}),
    ...(intent?.recordedAt ? { executedAt: ms(intent.recordedAt) } : {}),
    ...(changes ? { changes } : {}),
    ...(a.spec.escalation ? { escalated: true } : {}),
    ...(a.spec.approval ? { humanDecision: true } : {}),
    ...(st.phase ? { phase: st.phase } : {}),
    ...(st.reason ? { reason: st.reason } : {}),
  };
}

export interface WhatIfData {
  signals: Signal[];
  actions: Action[];
  policies: GuardrailPolicy[];
  deployments: DeploymentInfo[];
}

/** Replays what the cluster holds since `since` (ms) with the candidate policies. */
export function whatIf(data: WhatIfData, candidate: PolicyObject[], opts: { since: number; mode: "replace" | "beside"; operatorNamespace: string }): ReplayResult {
  const input: ReplayInput = {
    signals: data.signals.map(replaySignalOf).filter((s) => s.at >= opts.since),
    actions: data.actions.map(replayActionOf).filter((a) => a.at >= opts.since),
    deploymentLabels: new Map(data.deployments.map((d) => [`${d.namespace}/${d.name}`, d.labels])),
    current: data.policies.filter((p) => p.spec.mode !== "Shadow").map((p) => ({ metadata: { namespace: p.metadata.namespace, name: p.metadata.name }, spec: p.spec })),
    candidate,
    mode: opts.mode,
    operatorNamespace: opts.operatorNamespace,
  };
  return replay(input);
}

export function outcomeText(o: Outcome): string {
  switch (o.kind) {
    case "executed": return `executed ${o.type}`;
    case "dry-run": return `dry run ${o.type}`;
    case "approval": return `${o.type}, awaiting approval`;
    case "blocked": return `blocked ${o.type}: ${o.reason}`;
    case "ignored": return `ignored: ${o.reason}`;
    case "notified": return "notified a human";
    case "unknown": return `unknown (${o.reason})`;
  }
}

/** The table's rows and the summary line. */
export function whatIfTable(r: ReplayResult, allNamespaces: boolean): { headers: string[]; rows: string[][]; summary: string } {
  const headers = [...(allNamespaces ? ["NAMESPACE"] : []), "TIME", "EVENT", "TARGET", "RECORDED", "CANDIDATE", "CHANGED"];
  const rows = r.rows.map((x) => [
    ...(allNamespaces ? [x.namespace] : []),
    new Date(x.at).toISOString().replace(/\.\d+Z$/, "Z"), x.event, x.target ?? "", outcomeText(x.recorded), outcomeText(x.candidate), x.changed ? "yes" : "",
  ]);
  const s = r.summary;
  const by = Object.entries(s.blockedBy).map(([k, v]) => `${k} ${v}`).join(", ");
  const summary = `${s.events} events: the candidate would have allowed ${s.allowed}, blocked ${s.blocked}${by ? ` (${by})` : ""}, ignored ${s.ignored}; ${s.changed} decision(s) differ from the record${s.humanDecided ? `; ${s.humanDecided} involved a human and are shown, not counted` : ""}.`;
  return { headers, rows, summary };
}
