// The effectiveness controller: one condition, Effective, on succeeded actions
// (cert-manager's one controller per condition). An action that changed its
// Deployment and succeeded gets a window (the policy's, frozen when first
// judged); the signals that arrive in it for the same service decide at once if
// the problem came back, and the window's end decides otherwise — with the
// rule's metric checks, read from Prometheus at the window's start (baseline)
// and end (outcome). The decision itself is pure (remediation/effectiveness.ts);
// this file reads, measures and writes.
import type { V1Deployment } from "@kubernetes/client-node";
import { setCondition } from "../api/v1alpha1/conditions.ts";
import type { MetricCheck } from "../api/v1alpha1/guardrail-policy.ts";
import type { GuardrailPolicy, RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { ConditionType, Reason, type ReasonName } from "../api/v1alpha1/reasons.ts";
import type { RemediationActionStatus } from "../api/v1alpha1/remediation-action.ts";
import type { KubeApi } from "../k8s/api.ts";
import type { EventRecorder } from "../k8s/events.ts";
import { writeStatus } from "../k8s/smartops.ts";
import { type EffectivenessVerdict, judgeEffectiveness, type MetricVerdict, type SignalSeen } from "../remediation/effectiveness.ts";
import { judgeMetric, type QueryVars } from "../remediation/metric-check.ts";
import { ruleChecks } from "../remediation/rules.ts";
import type { Logger } from "../telemetry/logger.ts";
import { effectivenessTotal } from "../telemetry/metrics.ts";
import type { Cache } from "./cache.ts";
import { completedAtOf, executedAndFinished, problemOfAction } from "./outcomes.ts";
import { policyFor } from "./policies.ts";
import type { ReconcileResult } from "./reconcile.ts";

/** One reading of a metric check's query: its value, or why there is none. */
export interface MetricSample {
  query: string;
  value?: number;
  message?: string;
}

/** Reads a check's query now; absent when the operator has no Prometheus configured. */
export type MeasureMetric = (check: MetricCheck, vars: QueryVars) => Promise<MetricSample>;

export interface EffectivenessDeps {
  api: KubeApi;
  actions: Cache<RemediationAction>;
  anomalies: Cache<Signal>;
  rcas: Cache<Signal>;
  deployments: Cache<V1Deployment>;
  policies: Cache<GuardrailPolicy>;
  events: EventRecorder;
  operatorNamespace: string;
  log: Logger;
  now?: () => number;
  guard?: () => void;
  measure?: MeasureMetric;
}

type Effectiveness = NonNullable<RemediationActionStatus["effectiveness"]>;
type MetricOutcome = NonNullable<Effectiveness["metrics"]>[number];

const FINAL = new Set(["Effective", "Ineffective", "Unknown"]);

/** A succeeded action that changed its Deployment and whose effectiveness is not decided yet. */
export function awaitsJudgement(a: RemediationAction): boolean {
  return executedAndFinished(a) && a.status?.phase === "Succeeded" && !FINAL.has(a.status?.effectiveness?.state ?? "");
}

/** What the judgement needs of a signal. */
export function seen(s: Signal): SignalSeen {
  const at = Date.parse(s.metadata.creationTimestamp as unknown as string) || 0;
  const base = { kind: s.kind, name: s.metadata.name, at, ...(s.status?.target ? { target: s.status.target } : {}) };
  if (s.kind === "AnomalySignal") return { ...base, service: s.spec.service, isAnomaly: s.spec.isAnomaly, anomalyType: s.spec.type };
  const top = [...(s.spec.rankedCauses ?? [])].sort((x, y) => y.probability - x.probability)[0];
  return { ...base, ...(s.spec.service ?? top?.svc ? { service: s.spec.service ?? top?.svc } : {}), ...(top ? { topCause: top.cause } : {}) };
}

export class EffectivenessController {
  private readonly d: EffectivenessDeps;
  private readonly now: () => number;

  constructor(deps: EffectivenessDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const a = this.d.actions.get(namespace, name);
    if (!a || !awaitsJudgement(a)) return {};
    const now = this.now();
    const succeededAt = completedAtOf(a);
    if (!Number.isFinite(succeededAt)) return {};
    const target = a.spec.target.name;
    const d = this.d.deployments.get(namespace, target);
    const policy = policyFor({ namespace, name: target, labels: d?.metadata?.labels }, this.d.policies, this.d.operatorNamespace);
    const existing = a.status?.effectiveness;
    const windowSeconds = existing?.windowSeconds ?? policy.effectiveness.windowSeconds;
    const problem = problemOfAction(a);
    const service = a.spec.recommendation?.service;
    const vars: QueryVars = { namespace, deployment: target, service: service ?? target };
    const signals = [...this.d.anomalies.list(namespace), ...this.d.rcas.list(namespace)].map(seen);
    const own = a.spec.signalRef ? { ownSignal: { kind: a.spec.signalRef.kind, name: a.spec.signalRef.name } } : {};
    const input = { target, ...(service ? { service } : {}), problem, succeededAt, windowSeconds, now, signals, ...own };

    let verdict = judgeEffectiveness(input);
    let metrics = existing?.metrics;
    if (verdict.state === "Pending") {
      if (existing) return { requeueAfterMs: Math.max(1, verdict.windowEndsAt - now) };
      // The window opens: the baseline of each of the rule's checks.
      const checks = ruleChecks(policy.signals, problem);
      metrics = await Promise.all(checks.map((c) => this.baseline(c, vars, now)));
      await this.store(a, verdict, metrics, windowSeconds, now);
      return { requeueAfterMs: Math.max(1, verdict.windowEndsAt - now) };
    }
    if (verdict.state === "Effective" && (metrics?.length ?? 0) > 0) {
      // The window closed quietly: the checks' outcomes decide.
      const judged = await Promise.all(metrics!.map((m) => this.outcome(m, vars, now)));
      metrics = judged.map((j) => j.outcome);
      verdict = judgeEffectiveness({ ...input, metrics: judged.map((j) => j.verdict) });
    }
    await this.store(a, verdict, metrics, windowSeconds, now);
    return {};
  }

  private async baseline(check: MetricCheck, vars: QueryVars, now: number): Promise<MetricOutcome> {
    const base = { query: check.query, comparison: check.comparison, threshold: check.threshold };
    const sample = await this.sample(check, vars);
    return {
      ...base, query: sample.query,
      ...(sample.value !== undefined ? { baseline: sample.value, baselineAt: new Date(now).toISOString() } : {}),
      ...(sample.message ? { message: `baseline: ${sample.message}`.slice(0, 1024) } : {}),
    };
  }

  private async outcome(m: MetricOutcome, vars: QueryVars, now: number): Promise<{ outcome: MetricOutcome; verdict: MetricVerdict }> {
    // The recorded query is the rendered one; the check is rebuilt from it so a policy edit during the window changes nothing.
    const check: MetricCheck = { query: m.query, comparison: m.comparison as MetricCheck["comparison"], threshold: m.threshold };
    const sample = await this.sample(check, vars);
    const judged = sample.value === undefined
      ? { effective: undefined, message: `${m.query}: ${sample.message ?? "no value"}` }
      : judgeMetric(check, m.baseline, sample.value);
    return {
      outcome: { ...m, ...(sample.value !== undefined ? { outcome: sample.value, outcomeAt: new Date(now).toISOString() } : {}), message: judged.message.slice(0, 1024) },
      verdict: judged,
    };
  }

  private async sample(check: MetricCheck, vars: QueryVars): Promise<MetricSample> {
    if (!this.d.measure) return { query: check.query, message: "no Prometheus is configured (SMARTOPS_PROMETHEUS_URL)" };
    try {
      return await this.d.measure(check, vars);
    } catch (err) {
      return { query: check.query, message: err instanceof Error ? err.message : String(err) };
    }
  }

  private async store(a: RemediationAction, v: EffectivenessVerdict, metrics: MetricOutcome[] | undefined, windowSeconds: number, now: number): Promise<void> {
    const at = new Date(now);
    const effectiveness: Effectiveness = {
      state: v.state, windowSeconds, windowEndsAt: new Date(v.windowEndsAt).toISOString(),
      ...(v.state === "Ineffective" && v.reason === "AnomalyRecurred" ? { recurrence: { kind: v.recurrence.kind, name: v.recurrence.name, at: new Date(v.recurrence.at).toISOString() } } : {}),
      ...(v.normalWindows > 0 ? { normalWindows: v.normalWindows } : {}),
      ...(metrics && metrics.length > 0 ? { metrics } : {}),
      ...(v.state !== "Pending" ? { decidedAt: at.toISOString() } : {}),
      message: v.message.slice(0, 1024),
    };
    const reason: ReasonName = v.state === "Pending" ? Reason.EffectivenessPending : v.reason;
    const status = v.state === "Effective" ? "True" : v.state === "Ineffective" ? "False" : "Unknown";
    const next: RemediationActionStatus = {
      ...a.status,
      effectiveness,
      conditions: setCondition(a.status?.conditions, { type: ConditionType.Effective, status, reason, message: v.message, observedGeneration: a.metadata.generation }, at),
    };
    this.d.guard?.();
    await writeStatus(this.d.api, a, next);
    if (v.state === "Pending") return;
    effectivenessTotal.inc({ type: a.spec.type, state: v.state });
    const regarding = { apiVersion: a.apiVersion, kind: a.kind, namespace: a.metadata.namespace, name: a.metadata.name, uid: a.metadata.uid };
    this.d.events.record(regarding, v.state === "Effective" ? "Normal" : "Warning", reason, "Judge", v.message);
    this.d.log.info("action judged", { action: `${a.metadata.namespace}/${a.metadata.name}`, state: v.state, reason });
  }
}
