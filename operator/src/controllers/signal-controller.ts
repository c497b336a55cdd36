// The signal reconciler: each AnomalySignal / RcaSignal gives at most one
// RemediationAction, named deterministically from the signal (invariant 2), so a
// retried create meets AlreadyExists instead of a second action. It never
// touches a Deployment; it only reads them to resolve the target.
import type { V1Deployment } from "@kubernetes/client-node";
import { ROOT_CONTEXT, type Span } from "@opentelemetry/api";
import { setCondition } from "../api/v1alpha1/conditions.ts";
import type { GuardrailPolicy, RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { ANNOTATIONS, LABELS } from "../api/v1alpha1/objects.ts";
import { ConditionType, Reason } from "../api/v1alpha1/reasons.ts";
import type { SignalStatus } from "../api/v1alpha1/anomaly-signal.ts";
import type { KubeApi } from "../k8s/api.ts";
import { isAlreadyExists, isQuotaExceeded } from "../k8s/errors.ts";
import type { EventRecorder } from "../k8s/events.ts";
import { createAction, writeStatus } from "../k8s/smartops.ts";
import { actionName, labelValueOf } from "../remediation/names.ts";
import { decideForAnomaly, decideForRca, rcaService, type SignalDecision, topCause } from "../remediation/rules.ts";
import type { Recommendation } from "../api/v1alpha1/remediation-action.ts";
import { RECOMMENDATION_MAX_CAUSES } from "../api/v1alpha1/remediation-action.ts";
import { createdSince, type ProblemKey } from "../remediation/effectiveness.ts";
import { nextStep, type PreviousAction, type StepDecision, stepOfType } from "../remediation/escalation.ts";
import type { EffectivePolicy } from "../remediation/policy.ts";
import { completedAtOf, outcomeOf, problemOfAction, sameProblem } from "./outcomes.ts";
import { resolveTarget } from "../remediation/target.ts";
import type { Logger } from "../telemetry/logger.ts";
import { contextFromTraceparent, formatTraceparent } from "../telemetry/trace-context.ts";
import { annotateActiveSpan, ATTR, inSpan } from "../telemetry/tracing.ts";
import { loopSignalOutcomesTotal } from "../telemetry/metrics.ts";
import type { Cache } from "./cache.ts";
import { policyFor } from "./policies.ts";
import type { ReconcileResult } from "./reconcile.ts";

export interface SignalControllerDeps {
  api: KubeApi;
  anomalies: Cache<Signal>;
  rcas: Cache<Signal>;
  actions: Cache<RemediationAction>;
  deployments: Cache<V1Deployment>;
  policies: Cache<GuardrailPolicy>;
  events: EventRecorder;
  operatorNamespace: string;
  log: Logger;
  now?: () => number;
  /** Throws when this replica may no longer act (lost the lease). */
  guard?: () => void;
}

const DONE = new Set(["ActionCreated", "Ignored", "NoTarget", "Notified", "Refused"]);

/** The result label of orchestrator_closed_loop_signal_outcomes_total per final phase (a bounded set). */
const OUTCOME_LABEL = { ActionCreated: "action", Ignored: "ignored", NoTarget: "no_target", Notified: "notified", Refused: "refused" } as const;

/** Work-queue keys: "AnomalySignal/ns/name" or "RcaSignal/ns/name". */
export const signalKey = (s: Signal) => `${s.kind}/${s.metadata.namespace}/${s.metadata.name}`;

export class SignalController {
  private readonly d: SignalControllerDeps;
  private readonly now: () => number;

  constructor(deps: SignalControllerDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [kind, namespace, name] = key.split("/") as ["AnomalySignal" | "RcaSignal", string, string];
    const signal = (kind === "AnomalySignal" ? this.d.anomalies : this.d.rcas).get(namespace, name);
    if (!signal) return {};
    if (DONE.has(signal.status?.phase ?? "") && signal.status?.observedGeneration === signal.metadata.generation) return {};

    // A span per reconcile that has work to do, continuing the trace of the
    // request that created the signal; a signal without one starts a trace.
    const kindLabel = kind === "AnomalySignal" ? "anomaly" : "rca";
    return inSpan(`reconcile ${kind}`, {
      parent: contextFromTraceparent(signal.metadata.annotations?.[ANNOTATIONS.traceparent]) ?? ROOT_CONTEXT,
      attributes: { [ATTR.signalType]: kindLabel, [ATTR.signalName]: name, [ATTR.targetNamespace]: namespace },
    }, (span) => this.converge(signal, kindLabel, span));
  }

  private async converge(signal: Signal, kindLabel: string, span: Span): Promise<ReconcileResult> {
    const { kind } = signal;
    const namespace = signal.metadata.namespace!;
    const name = signal.metadata.name!;
    const name_ = actionName(kind, name, signal.metadata.uid!);
    const existing = this.d.actions.get(namespace, name_);
    if (existing) return this.record(signal, kindLabel, { phase: "ActionCreated", actionName: name_, reason: Reason.ActionCreated, message: `RemediationAction ${name_} created` });

    const service = signal.kind === "AnomalySignal" ? signal.spec.service : rcaService(signal.spec);
    const deployments = this.d.deployments.list(namespace).map((dep) => ({ name: dep.metadata!.name!, labels: dep.metadata?.labels }));
    const match = service ? resolveTarget(service, deployments) : undefined;
    if (!match) {
      return this.record(signal, kindLabel, {
        phase: "NoTarget",
        reason: Reason.NoMatchingDeployment,
        message: `no Deployment in ${namespace} matches service "${service ?? ""}" (tried the exact name, smartops-${service ?? ""}, and label app.kubernetes.io/name)`,
      });
    }
    const target = this.d.deployments.get(namespace, match.name)!;
    const policy = policyFor({ namespace, name: match.name, labels: target.metadata?.labels }, this.d.policies, this.d.operatorNamespace);
    const decision: SignalDecision = signal.kind === "AnomalySignal" ? decideForAnomaly(signal.spec, policy.signals) : decideForRca(signal.spec, policy.signals);
    if (decision.kind === "ignore") {
      return this.record(signal, kindLabel, { phase: "Ignored", reason: decision.reason, message: decision.message, verified: decision.verified, target: match.name });
    }
    const step = this.escalation(signal, match.name, decision, policy);
    if (step.kind === "notify") {
      const message = `${decision.summary}: ${step.message}`;
      this.d.guard?.();
      // On the Deployment: it is what a human has to look at (kubectl describe deployment shows it).
      this.d.events.record(
        { apiVersion: "apps/v1", kind: "Deployment", namespace, name: match.name, uid: target.metadata?.uid },
        "Warning", Reason.EscalatedToHuman, "Escalate", `${kind} ${name}: ${message}`,
      );
      return this.record(signal, kindLabel, { phase: "Notified", reason: Reason.EscalatedToHuman, message, verified: decision.verified, target: match.name });
    }
    const actionType = step.step === "scale-up" ? "scale" : step.step;
    const scaleStep = actionType === "scale" ? (decision.scaleStep ?? policy.signals.scaleStep) : undefined;
    const summary = step.escalatedFrom ? `${decision.summary}; ${step.message}` : decision.summary;

    span.setAttributes({ [ATTR.targetName]: match.name, [ATTR.actionType]: actionType, [ATTR.dryRun]: decision.dryRun, [ATTR.actionName]: name_ });
    const current = target.spec?.replicas ?? 1;
    // The action continues this reconcile's trace (or, untraced here, the signal's).
    const traceparent = span.isRecording() ? formatTraceparent(span.spanContext()) : signal.metadata.annotations?.[ANNOTATIONS.traceparent];
    const action: RemediationAction = {
      apiVersion: "smartops.io/v1alpha1",
      kind: "RemediationAction",
      metadata: {
        name: name_,
        namespace,
        labels: { [LABELS.target]: labelValueOf(match.name), [LABELS.signal]: labelValueOf(name) },
        ...(traceparent ? { annotations: { [ANNOTATIONS.traceparent]: traceparent } } : {}),
      },
      spec: {
        type: actionType,
        target: { kind: "Deployment", namespace, name: match.name },
        // Relative: the target is computed from a fresh read when the action executes
        // (it may wait in the queue or for approval while the Deployment moves).
        ...(actionType === "scale" ? { scale: { by: scaleStep ?? 1, decidedAtReplicas: current } } : {}),
        ...(actionType === "delete-pod" ? { deletePod: { notReadyThresholdSeconds: 120 } } : {}),
        dryRun: decision.dryRun,
        verify: true,
        verifyTimeoutSeconds: 60,
        source: "closed-loop",
        reason: summary.slice(0, 1024),
        signalRef: { kind, name, uid: signal.metadata.uid },
        recommendation: recommendationOf(signal, match.name, decision.summary),
        ...(step.escalatedFrom ? { escalation: { from: step.escalatedFrom, step: step.index, ladder: [...ladderOf(policy, kind)] } } : {}),
      },
    };
    this.d.guard?.();
    try {
      await createAction(this.d.api, action);
    } catch (err) {
      // A spent ResourceQuota refuses every retry alike: the signal ends Refused, it is not retried forever.
      if (isQuotaExceeded(err)) {
        const message = `RemediationAction ${name_} was not created: ${err instanceof Error ? err.message : String(err)}`;
        this.d.events.record({ apiVersion: signal.apiVersion, kind, namespace, name, uid: signal.metadata.uid }, "Warning", Reason.QuotaExceeded, "Decide", message);
        return this.record(signal, kindLabel, { phase: "Refused", reason: Reason.QuotaExceeded, message, verified: decision.verified, target: match.name });
      }
      if (!isAlreadyExists(err)) throw err;
    }
    this.d.events.record(
      { apiVersion: signal.apiVersion, kind, namespace, name, uid: signal.metadata.uid },
      "Normal", Reason.ActionCreated, "Decide",
      `${summary}${decision.dryRun ? " (dry run: unverified signal)" : ""} → RemediationAction ${name_}`,
    );
    return this.record(signal, kindLabel, {
      phase: "ActionCreated",
      actionName: name_,
      reason: decision.dryRun ? Reason.UnverifiedSignalDryRun : step.escalatedFrom ? Reason.Escalated : Reason.ActionCreated,
      message: `${summary}${decision.dryRun ? " (forced to dry run: the signal is unverified)" : ""}`,
      verified: decision.verified,
      target: match.name,
    });
  }

  /**
   * The ladder's step for this signal: the rule's action, unless the last
   * executed action on the target for the same problem did not work. One still
   * in its effectiveness window counts as not working when this signal, the same
   * problem again, arrived inside that window.
   */
  private escalation(signal: Signal, target: string, decision: Extract<SignalDecision, { kind: "action" }>, policy: EffectivePolicy): StepDecision {
    const problem = problemOfSignal(signal);
    const at = Date.parse(signal.metadata.creationTimestamp as unknown as string) || this.now();
    const last = this.d.actions.list(signal.metadata.namespace)
      .filter((a) => a.spec.target.name === target && outcomeOf(a) !== undefined && sameProblem(problemOfAction(a), problem) && createdSince(at, completedAtOf(a)))
      .sort((x, y) => completedAtOf(y) - completedAtOf(x))[0];
    let previous: PreviousAction | undefined;
    if (last) {
      let outcome = outcomeOf(last)!;
      const windowEndsAt = Date.parse(last.status?.effectiveness?.windowEndsAt ?? "") || completedAtOf(last) + policy.effectiveness.windowSeconds * 1000;
      if (outcome === "pending" && at <= windowEndsAt) outcome = "ineffective";
      previous = { name: last.metadata.name, type: last.spec.type, outcome, ...(last.spec.escalation ? { step: last.spec.escalation.step } : {}) };
    }
    const rule = stepOfType(decision.actionType) as "restart" | "scale-up" | "delete-pod";
    return nextStep(rule, ladderOf(policy, signal.kind), policy.escalation.enabled ? previous : undefined);
  }

  private async record(
    signal: Signal,
    kindLabel: string,
    r: { phase: "ActionCreated" | "Ignored" | "NoTarget" | "Notified" | "Refused"; reason: string; message: string; actionName?: string; verified?: boolean; target?: string },
  ): Promise<ReconcileResult> {
    const prev = signal.status;
    annotateActiveSpan({ [ATTR.signalPhase]: r.phase, ...(r.target ? { [ATTR.targetName]: r.target } : {}) });
    if (prev?.phase === r.phase && prev.actionRef?.name === r.actionName && prev.observedGeneration === signal.metadata.generation && prev.reason === r.reason) return {};
    const now = new Date(this.now());
    const status: SignalStatus = {
      observedGeneration: signal.metadata.generation,
      phase: r.phase,
      reason: r.reason,
      message: r.message.slice(0, 4096),
      ...(r.verified !== undefined ? { verified: r.verified } : prev?.verified !== undefined ? { verified: prev.verified } : {}),
      ...(r.target ? { target: r.target } : {}),
      ...(r.actionName ? { actionRef: { name: r.actionName } } : {}),
      conditions: setCondition(prev?.conditions, {
        type: ConditionType.ActionCreated,
        status: r.phase === "ActionCreated" ? "True" : "False",
        reason: r.reason,
        message: r.message,
        observedGeneration: signal.metadata.generation,
      }, now),
    };
    this.d.guard?.();
    await writeStatus(this.d.api, signal, status);
    if (prev?.phase !== r.phase) {
      loopSignalOutcomesTotal.inc({ kind: kindLabel, result: OUTCOME_LABEL[r.phase] });
    }
    return {};
  }
}

const ladderOf = (policy: EffectivePolicy, kind: Signal["kind"]) => (kind === "AnomalySignal" ? policy.escalation.ladders.anomaly : policy.escalation.ladders.rca);

export function problemOfSignal(s: Signal): ProblemKey {
  if (s.kind === "AnomalySignal") return { kind: s.kind, anomalyType: s.spec.type };
  const top = topCause(s.spec);
  return { kind: s.kind, ...(top ? { cause: top.cause } : {}) };
}

/** What the signal recommended, for the action's audit record (bounded: the top causes, the explanation's start). */
export function recommendationOf(s: Signal, target: string, rule: string): Recommendation {
  const common = {
    ...(s.spec.confidence !== undefined ? { confidence: s.spec.confidence } : {}),
    ...(s.spec.modelVersion !== undefined ? { modelVersion: s.spec.modelVersion } : {}),
    rule: rule.slice(0, 256),
  };
  if (s.kind === "AnomalySignal") {
    return { service: s.spec.service, anomalyType: s.spec.type, score: s.spec.score, ...common };
  }
  const causes = [...(s.spec.rankedCauses ?? [])]
    .map((c, i) => ({ c, i }))
    .sort((x, y) => y.c.probability - x.c.probability || x.i - y.i)
    .slice(0, RECOMMENDATION_MAX_CAUSES)
    .map(({ c }) => ({ svc: c.svc, cause: c.cause, probability: c.probability }));
  return {
    service: rcaService(s.spec) ?? target,
    ...(causes.length > 0 ? { causes } : {}),
    ...(s.spec.explanation ? { explanation: s.spec.explanation.slice(0, 1024) } : {}),
    ...common,
  };
}
