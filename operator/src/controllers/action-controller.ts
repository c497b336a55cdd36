// The action reconciler. Its work-queue key is a TARGET ("namespace/deployment"),
// not an action: the queue never hands one key to two workers, so every decision
// about one Deployment is serialized (invariant 4), and the target's actions are
// taken oldest first. Each step writes status before the next side effect, guarded
// by resourceVersion, so a crash or a lost lease never acts twice (invariant 3).
//
// Pending → (PendingApproval) → Executing → Verifying → Succeeded | Failed,
// or Blocked / Rejected / Expired.
import type { V1Deployment, V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import type { Attributes, Span } from "@opentelemetry/api";
import { setCondition } from "../api/v1alpha1/conditions.ts";
import { ANNOTATIONS, type GuardrailPolicy, type RemediationAction } from "../api/v1alpha1/objects.ts";
import { ConditionType, Reason, type ReasonName } from "../api/v1alpha1/reasons.ts";
import { type RemediationActionStatus, TERMINAL_PHASES } from "../api/v1alpha1/remediation-action.ts";
import type { KubeApi } from "../k8s/api.ts";
import { isConflict, isNotFound, isTooManyRequests, KubeApiError } from "../k8s/errors.ts";
import type { EventRecorder } from "../k8s/events.ts";
import { readDeployment } from "../k8s/deployments.ts";
import type { Intent } from "../api/v1alpha1/remediation-action.ts";
import { execute, type ExecutionResult, stampOf } from "../k8s/executors/index.ts";
import { previewPatch } from "../k8s/executors/patch.ts";
import { PatchTextError } from "../remediation/patch-document.ts";
import { failpoint, throwpoint } from "../k8s/failpoints.ts";
import { writeStatus } from "../k8s/smartops.ts";
import { diffObjects, type FieldChange } from "../remediation/change.ts";
import type { EffectivePolicy } from "../remediation/policy.ts";
import { type ActionRecord, evaluateGuardrails } from "../remediation/guardrails.ts";
import { podsSince, rolloutStatus } from "../remediation/rollout.ts";
import type { Logger } from "../telemetry/logger.ts";
import { contextFromTraceparent, contextFromUid } from "../telemetry/trace-context.ts";
import { ATTR, inSpan } from "../telemetry/tracing.ts";
import {
  actionLatency, actionsTotal, k8sDesiredReplicas, k8sReadyReplicas, loopActionDuration, loopActionsTotal,
  loopGuardrailBlocksTotal, loopRetriesTotal, verificationDuration,
} from "../telemetry/metrics.ts";
import { type Cache, OverlayCache } from "./cache.ts";
import { alreadyApplied, concreteIntent } from "./intent.ts";
import { podsOf } from "./pods.ts";
import { policyFor } from "./policies.ts";
import { backoffDelay } from "../runtime/backoff.ts";
import { isTransient, type ReconcileResult } from "./reconcile.ts";

/** A rollout not complete by its deadline gets 2 more windows of verifyTimeoutSeconds, each after a backoff of 5 s × 2^(retry-1), before TIMED_OUT. */
export const VERIFY_RETRY_BASE_MS = 5_000;
export const VERIFY_MAX_RETRIES = 2;
/** Consecutive processing errors (bugs, unprocessable objects — not API outages) before an action ends Failed. */
export const MAX_ACTION_ERRORS = 5;

export interface ActionControllerDeps {
  api: KubeApi;
  actions: Cache<RemediationAction>;
  deployments: Cache<V1Deployment>;
  pods: Cache<V1Pod>;
  /** Decides which pods are the target's (Pod → ReplicaSet → Deployment controller references). */
  replicaSets: Cache<V1ReplicaSet>;
  policies: Cache<GuardrailPolicy>;
  events: EventRecorder;
  operatorNamespace: string;
  log: Logger;
  now?: () => number;
  /** Called when an action reaches a terminal phase (loop duration metric, tracing). */
  onTerminal?: (action: RemediationAction) => void;
  /** Throws when this replica may no longer act (lost the lease). Called before every write. */
  guard?: () => void;
}

type Step = { done: boolean; requeueAfterMs?: number };
type Next = { action: RemediationAction; requeueAfterMs?: number; wait?: boolean };
type Outcome =
  | { kind: "done"; result: ExecutionResult }
  | { kind: "retry"; retryAfterMs: number }
  | { kind: "failed"; next: Next }
  /** The Deployment changed since the scale's target was computed (409 on the guarded write). */
  | { kind: "stale" };

export const targetKey = (a: RemediationAction) => `${a.metadata.namespace}/${a.spec.target.name}`;

export class ActionController {
  private readonly d: ActionControllerDeps;
  private readonly actions: OverlayCache<RemediationAction>;
  private readonly now: () => number;
  /** Consecutive processing errors per action (uid), reset by a clean pass. */
  private readonly errors = new Map<string, number>();
  /** Actions that could not even be marked Failed, by uid/resourceVersion: skipped until they change. */
  private readonly setAside = new Set<string>();

  constructor(deps: ActionControllerDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
    this.actions = new OverlayCache(deps.actions, this.now);
  }

  /** An action the informer delivered: clears the overlay entry of the write it carries. */
  observe(a: RemediationAction, deleted = false): void {
    this.actions.observe(a, deleted);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, target] = key.split("/") as [string, string];
    // An action already in flight goes first whatever its age: creationTimestamp
    // has one-second resolution, so age alone could let a newer action overtake it.
    const open = this.actionsOf(namespace, target)
      .filter((a) => !TERMINAL_PHASES.has(a.status?.phase ?? "Pending"))
      .filter((a) => !this.setAside.has(`${a.metadata.uid ?? a.metadata.name}/${a.metadata.resourceVersion}`))
      .sort((x, y) => Number(isInFlight(y)) - Number(isInFlight(x)) || byAge(x, y));
    let requeueAfterMs: number | undefined;
    let failure: unknown;
    for (const action of open) {
      let step: Step;
      try {
        step = await this.step(action);
        this.errors.delete(action.metadata.uid ?? action.metadata.name);
      } catch (err) {
        // The API server's trouble (or a lost lease) holds the whole target back and is retried.
        if (isTransient(err)) throw err;
        step = await this.failing(action, err);
        failure ??= err;
      }
      if (step.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, step.requeueAfterMs);
      // One mutation in flight per target: later actions wait until this one is terminal.
      if (!step.done && isInFlight(this.actions.get(action.metadata.namespace, action.metadata.name))) break;
    }
    // Retried with the target's backoff, after the other actions had their turn.
    if (failure !== undefined) throw failure;
    return requeueAfterMs === undefined ? {} : { requeueAfterMs: Math.max(1, Math.ceil(requeueAfterMs)) };
  }

  /**
   * An action whose processing throws (not an API outage) is counted; after
   * MAX_ACTION_ERRORS consecutive failures it ends Failed with the error, so one
   * poison object never stalls its Deployment. Should even that write fail, the
   * action is set aside in memory until it changes, and the others go on.
   */
  private async failing(a: RemediationAction, err: unknown): Promise<Step> {
    const id = a.metadata.uid ?? a.metadata.name;
    const count = (this.errors.get(id) ?? 0) + 1;
    this.errors.set(id, count);
    const message = `processing failed ${count} time(s): ${err instanceof Error ? err.message : String(err)}`.slice(0, 1024);
    this.d.log.warn("action processing failed", { action: `${a.metadata.namespace}/${a.metadata.name}`, attempt: count, err: message });
    if (count < MAX_ACTION_ERRORS) return { done: false };
    this.errors.delete(id);
    try {
      const current = this.actions.get(a.metadata.namespace, a.metadata.name) ?? a;
      await this.finish(current, "Failed", Reason.ProcessingFailed, message);
    } catch (again) {
      if (isTransient(again)) throw again;
      this.setAside.add(`${id}/${a.metadata.resourceVersion}`);
      this.d.log.error("action cannot be processed nor marked Failed; skipping it until it changes", { action: `${a.metadata.namespace}/${a.metadata.name}`, err: String(again) });
    }
    return { done: true };
  }

  private actionsOf(namespace: string, target: string): RemediationAction[] {
    return this.actions.list(namespace).filter((a) => a.spec.target.name === target);
  }

  /**
   * One span per action per reconcile, in the trace of the action's traceparent
   * annotation (the signal reconcile or shim request that created it); an action
   * applied without one gets a trace derived from its uid.
   */
  private step(action: RemediationAction): Promise<Step> {
    const parent = contextFromTraceparent(action.metadata.annotations?.[ANNOTATIONS.traceparent])
      ?? contextFromUid(action.metadata.uid ?? `${action.metadata.namespace}/${action.metadata.name}`);
    return inSpan("reconcile RemediationAction", { parent, attributes: actionAttributes(action) }, (span) => this.advance(action, span));
  }

  private async advance(action: RemediationAction, span: Span): Promise<Step> {
    let current = action;
    throwpoint(action.metadata.name);
    try {
      // Advance through as many phases as can be taken now; each write returns the stored object.
      for (let i = 0; i < 6; i++) {
        const phase = current.status?.phase ?? "Pending";
        if (TERMINAL_PHASES.has(phase)) return { done: true };
        const a = current;
        let next: Next;
        switch (phase) {
          case "Pending":
          case "PendingApproval":
            next = await this.traced("guardrails", a, () => this.admit(a));
            break;
          case "Executing":
            next = await this.traced("execute", a, () => this.executeIntent(a));
            break;
          case "Verifying":
            next = await this.traced("verify", a, () => this.verify(a));
            break;
          default:
            return { done: true };
        }
        current = next.action;
        if (next.wait) return { done: false, requeueAfterMs: next.requeueAfterMs };
      }
      return { done: false, requeueAfterMs: 0 };
    } finally {
      span.setAttributes(outcomeAttributes(current));
    }
  }

  private traced(name: string, a: RemediationAction, fn: () => Promise<Next>): Promise<Next> {
    return inSpan(name, { attributes: actionAttributes(a) }, async (span) => {
      const next = await fn();
      span.setAttributes(outcomeAttributes(next.action));
      return next;
    });
  }

  // --- Pending / PendingApproval: guardrails, approval, intent ---------------------

  /**
   * `fresh`: a reading of the Deployment taken just now (a recompute after a
   * refused scale passes its own); `note` says why the intent is recorded again.
   */
  private async admit(a: RemediationAction, recompute?: { fresh: V1Deployment | undefined; note: string }): Promise<Next> {
    const now = this.now();
    const ns = a.metadata.namespace;
    // A scale's target and a patch's effect depend on the Deployment as it is, so
    // both are read from the API server: the informer's copy may lag behind.
    const fresh = a.spec.type === "scale" || a.spec.type === "patch";
    const d = recompute ? recompute.fresh
      : fresh ? await readDeployment(this.d.api, ns, a.spec.target.name)
      : this.d.deployments.get(ns, a.spec.target.name);
    let changes: FieldChange[] | undefined;
    if (a.spec.type === "patch" && d) {
      const effect = await this.patchEffect(a, d);
      if ("next" in effect) return effect.next;
      changes = effect.changes;
    }
    const policy = policyFor({ namespace: ns, name: a.spec.target.name, labels: d?.metadata?.labels }, this.d.policies, this.d.operatorNamespace);
    const decision = evaluateGuardrails({
      action: {
        name: a.metadata.name,
        namespace: ns,
        type: a.spec.type,
        targetNamespace: a.spec.target.namespace,
        ...(a.spec.scale ? { scale: a.spec.scale } : {}),
        ...(changes ? { changes } : {}),
      },
      target: { exists: d !== undefined, replicas: d?.spec?.replicas ?? 0 },
      history: this.history(a),
      policy,
      now,
    });
    const sources = policy.sources.slice(0, 16).map((s) => s.split("/")[1] ?? s);

    if (decision.verdict === "block") {
      loopGuardrailBlocksTotal.inc({ reason: decision.reason });
      const message = recompute ? `${decision.message} (${recompute.note})` : decision.message;
      return this.finish(a, "Blocked", decision.reason, message, (st) => {
        delete st.intent;
        st.guardrailPolicies = sources;
        st.conditions = cond(st, a, ConditionType.GuardrailsPassed, "False", decision.reason, decision.message, now);
      });
    }

    if (decision.verdict === "unchanged") {
      return this.finish(a, "Succeeded", Reason.NoChange, decision.message, (st) => {
        delete st.intent;
        st.guardrailPolicies = sources;
        if (a.spec.dryRun) st.dryRunResult = { summary: "nothing to change" };
        st.conditions = cond(st, a, ConditionType.GuardrailsPassed, "True", Reason.NoChange, decision.message, now);
        st.conditions = cond(st, a, ConditionType.Executed, "True", Reason.NoChange, "nothing to change: no write", now);
        st.conditions = cond(st, a, ConditionType.Verified, "Unknown", Reason.VerificationSkipped, "nothing changed to verify", now);
      });
    }

    const approval = a.spec.approval;
    if (approval?.decision === "Rejected") {
      return this.finish(a, "Rejected", Reason.RejectedByUser, `rejected by ${approval.approvedBy}${approval.reason ? `: ${approval.reason}` : ""}`, (st) => {
        st.conditions = cond(st, a, ConditionType.Approved, "False", Reason.RejectedByUser, `rejected by ${approval.approvedBy}`, now);
      });
    }
    if (decision.approvalRequired && approval?.decision !== "Approved") {
      const created = Date.parse(a.metadata.creationTimestamp as unknown as string) || now;
      const deadline = created + policy.approval.timeoutSeconds * 1000;
      if (now >= deadline) {
        return this.finish(a, "Expired", Reason.ApprovalExpired, `no approval within ${policy.approval.timeoutSeconds}s`, (st) => {
          st.conditions = cond(st, a, ConditionType.Approved, "False", Reason.ApprovalExpired, "approval timed out", now);
        });
      }
      if (a.status?.phase !== "PendingApproval") {
        const msg = `${a.spec.type} needs approval under policy ${policy.sources.join(", ") || "defaults"}: set spec.approval before ${new Date(deadline).toISOString()}`;
        const stored = await this.write(a, (st) => {
          st.phase = "PendingApproval";
          st.reason = Reason.ApprovalRequired;
          st.message = msg;
          st.guardrailPolicies = sources;
          st.conditions = cond(st, a, ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, decision.message, now);
          st.conditions = cond(st, a, ConditionType.Approved, "False", Reason.ApprovalRequired, msg, now);
          st.conditions = cond(st, a, ConditionType.Ready, "False", Reason.ApprovalRequired, msg, now);
        });
        this.d.events.record(ref(a), "Normal", Reason.ApprovalRequired, "Approve", msg);
        return { action: stored, wait: true, requeueAfterMs: deadline - now };
      }
      return { action: a, wait: true, requeueAfterMs: deadline - now };
    }

    if (a.spec.dryRun) return this.dryRun(a, d, decision.message, sources, now, decision.replicas, changes);

    const intent = d ? concreteIntent(a, d, podsOf(d, this.d.pods, this.d.replicaSets), now, decision.replicas, changes) : undefined;
    if (!intent || !intent.ok) {
      const reason = intent?.reason ?? Reason.TargetNotFound;
      const message = intent?.message ?? `Deployment ${ns}/${a.spec.target.name} not found`;
      loopGuardrailBlocksTotal.inc({ reason });
      return this.finish(a, "Blocked", reason, message, (st) => {
        st.conditions = cond(st, a, ConditionType.GuardrailsPassed, "False", reason, message, now);
      });
    }
    failpoint("before-intent");
    const stored = await this.write(a, (st) => {
      st.phase = "Executing";
      st.reason = Reason.IntentRecorded;
      st.message = `${describeIntent(a, intent.intent)}${recompute ? ` (${recompute.note})` : ""}`;
      st.intent = intent.intent;
      st.startedAt = new Date(now).toISOString();
      st.guardrailPolicies = sources;
      st.conditions = cond(st, a, ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, decision.message, now);
      if (approval?.decision === "Approved") {
        st.conditions = cond(st, a, ConditionType.Approved, "True", Reason.ApprovedByUser, `approved by ${approval.approvedBy}`, now);
      }
    });
    return { action: stored };
  }

  /**
   * What the patch would change on `d`, asked of the API server (a dry run guarded
   * by d's resourceVersion). A patch whose stored text does not parse, or that the
   * API server refuses, ends Blocked with InvalidPatch; a Deployment that moved
   * meanwhile is read again on the next pass.
   */
  private async patchEffect(a: RemediationAction, d: V1Deployment): Promise<{ changes: FieldChange[] } | { next: Next }> {
    this.d.guard?.();
    try {
      return { changes: diffObjects(d, await previewPatch(this.d.api, a, d)) };
    } catch (err) {
      if (isConflict(err)) return { next: { action: a, wait: true, requeueAfterMs: 100 } };
      const refused = err instanceof KubeApiError && err.status >= 400 && err.status < 500 && !isTooManyRequests(err);
      if (refused || err instanceof PatchTextError) {
        const message = refused ? `the API server refused the patch: ${err.reason || err.status}: ${err.message}` : (err as PatchTextError).message;
        loopGuardrailBlocksTotal.inc({ reason: Reason.InvalidPatch });
        return { next: await this.finish(a, "Blocked", Reason.InvalidPatch, message, (st) => {
          st.conditions = cond(st, a, ConditionType.GuardrailsPassed, "False", Reason.InvalidPatch, message, this.now());
        }) };
      }
      throw err;
    }
  }

  private async dryRun(a: RemediationAction, d: V1Deployment | undefined, guardrailMessage: string, sources: string[], now: number, replicas: number | undefined, changes: FieldChange[] | undefined): Promise<Next> {
    if (!d) {
      return this.finish(a, "Blocked", Reason.TargetNotFound, `Deployment ${a.metadata.namespace}/${a.spec.target.name} not found`);
    }
    const intent = concreteIntent(a, d, podsOf(d, this.d.pods, this.d.replicaSets), now, replicas, changes);
    if (!intent.ok) return this.finish(a, "Blocked", intent.reason, intent.message);
    const outcome = await this.executeSafely(a, intent.intent, true, d);
    if (outcome.kind === "failed") return outcome.next;
    // A dry run that met a moving Deployment just runs again on the next reconcile.
    if (outcome.kind === "retry" || outcome.kind === "stale") return { action: a, wait: true, requeueAfterMs: outcome.kind === "retry" ? outcome.retryAfterMs : 100 };
    const result = outcome.result;
    return this.finish(a, "Succeeded", Reason.DryRunSucceeded, result.summary, (st) => {
      st.guardrailPolicies = sources;
      st.dryRunResult = { summary: result.summary, fromReplicas: result.fromReplicas, toReplicas: result.toReplicas };
      st.conditions = cond(st, a, ConditionType.GuardrailsPassed, "True", Reason.GuardrailsPassed, guardrailMessage, now);
      st.conditions = cond(st, a, ConditionType.Executed, "True", Reason.DryRunSucceeded, result.summary, now);
      st.conditions = cond(st, a, ConditionType.Verified, "Unknown", Reason.VerificationSkipped, "dry run: nothing changed to verify", now);
    });
  }

  // --- Executing: apply the recorded intent, once --------------------------------

  private async executeIntent(a: RemediationAction): Promise<Next> {
    const now = this.now();
    const intent = a.status!.intent!;
    const cached = this.d.deployments.get(a.metadata.namespace, a.spec.target.name);
    // A JSON patch's stamp operation depends on the object it is applied to: use
    // the reading the dry run judged, not an older cached copy.
    const d = a.spec.type === "patch" && intent.resourceVersion && cached?.metadata?.resourceVersion !== intent.resourceVersion
      ? await readDeployment(this.d.api, a.metadata.namespace, a.spec.target.name)
      : cached;
    const targetPods = d ? podsOf(d, this.d.pods, this.d.replicaSets) : [];
    let summary: string;
    if (alreadyApplied(a, intent, d, targetPods, stampOf(d))) {
      summary = `${describeIntent(a, intent)} (already applied before a restart)`;
    } else {
      failpoint("after-intent");
      const outcome = await this.executeSafely(a, intent, false, d);
      if (outcome.kind === "failed") return outcome.next;
      if (outcome.kind === "retry") return { action: a, wait: true, requeueAfterMs: outcome.retryAfterMs };
      if (outcome.kind === "stale") return this.recompute(a, intent);
      summary = `${outcome.result.summary}${a.spec.type === "scale" ? scaleNote(a, intent) : ""}`;
      failpoint("after-act");
      const created = Date.parse(a.metadata.creationTimestamp as unknown as string);
      if (Number.isFinite(created)) actionLatency.observe({ action_type: a.spec.type }, (now - created) / 1000);
    }
    return this.executed(a, d, summary, now);
  }

  /** The mutation took effect: record it, then verify (or finish when verify is off). */
  private async executed(a: RemediationAction, d: V1Deployment | undefined, summary: string, now: number): Promise<Next> {
    this.d.events.record(ref(a), "Normal", Reason.Executed, titleCase(a.spec.type), summary);
    if (d) this.d.events.record(deploymentRef(d), "Normal", "SmartopsRemediation", titleCase(a.spec.type), `${summary} (RemediationAction ${a.metadata.name})`);
    if (!a.spec.verify) {
      return this.finish(a, "Succeeded", Reason.Executed, summary, (st) => {
        st.conditions = cond(st, a, ConditionType.Executed, "True", Reason.Executed, summary, now);
        st.conditions = cond(st, a, ConditionType.Verified, "Unknown", Reason.VerificationSkipped, "verify is false", now);
      });
    }
    const stored = await this.write(a, (st) => {
      st.phase = "Verifying";
      st.reason = Reason.RolloutInProgress;
      st.message = summary;
      st.verification = { status: "IN_PROGRESS", attempts: 1, deadline: new Date(now + a.spec.verifyTimeoutSeconds * 1000).toISOString() };
      st.conditions = cond(st, a, ConditionType.Executed, "True", Reason.Executed, summary, now);
      st.conditions = cond(st, a, ConditionType.Verified, "Unknown", Reason.RolloutInProgress, "waiting for the rollout", now);
    });
    return { action: stored };
  }

  /**
   * The scale's guarded write was refused: the Deployment changed after the
   * target was computed. Our own write may be the change (applied, then the
   * status write failed and the cache still lags): the stamp on a fresh reading
   * says so. Otherwise the target is computed again from that reading, through
   * the guardrails, and recorded before the next attempt — never the old number.
   */
  private async recompute(a: RemediationAction, intent: Intent): Promise<Next> {
    const fresh = await readDeployment(this.d.api, a.metadata.namespace, a.spec.target.name);
    if (fresh && stampOf(fresh) === a.metadata.uid) {
      return this.executed(a, fresh, `${describeIntent(a, intent)} (already applied)`, this.now());
    }
    const now = fresh?.spec?.replicas;
    const note = a.spec.type === "scale"
      ? `recomputed: the Deployment changed after the target was computed from ${intent.fromReplicas} replica(s)${now !== undefined ? ` and has ${now} now` : " and is gone"}`
      : `judged again: the Deployment changed after the patch's dry run${fresh ? "" : " and is gone"}`;
    return this.admit(a, { fresh, note });
  }

  /** Runs an executor; maps API failures onto Failed / retry-later instead of throwing where that is final. */
  private async executeSafely(a: RemediationAction, intent: Intent, dryRun: boolean, d: V1Deployment | undefined): Promise<Outcome> {
    this.d.guard?.();
    try {
      return { kind: "done", result: await execute(this.d.api, { action: a, intent, dryRun, deployment: d }) };
    } catch (err) {
      if ((a.spec.type === "scale" || a.spec.type === "patch") && isConflict(err) && intent.resourceVersion) return { kind: "stale" };
      if (isTooManyRequests(err)) {
        const retryAfterMs = ((err as KubeApiError).retryAfterSeconds ?? 5) * 1000;
        this.d.events.record(ref(a), "Normal", Reason.EvictionRetry, titleCase(a.spec.type), `API answered 429 (PodDisruptionBudget?): retrying in ${retryAfterMs / 1000}s`);
        return { kind: "retry", retryAfterMs };
      }
      if (err instanceof KubeApiError && (isNotFound(err) || (err.status >= 400 && err.status < 500 && !isConflict(err)))) {
        const failed = await this.finish(a, "Failed", Reason.ExecutionFailed, err.message, (st) => {
          st.conditions = cond(st, a, ConditionType.Executed, "False", Reason.ExecutionFailed, err.message, this.now());
        });
        return { kind: "failed", next: failed };
      }
      throw err;
    }
  }

  // --- Verifying: kubectl's rollout rules on the watched Deployment ------------------

  private async verify(a: RemediationAction): Promise<Next> {
    const now = this.now();
    const d = this.d.deployments.get(a.metadata.namespace, a.spec.target.name);
    const v = a.status!.verification ?? { status: "IN_PROGRESS" as const, attempts: 1 };
    if (!d) {
      return this.finish(a, "Failed", Reason.TargetNotFound, `Deployment ${a.metadata.namespace}/${a.spec.target.name} disappeared during verification`, (st) => {
        st.verification = { ...v, status: "FAILED", message: "target not found" };
      });
    }
    const startedAt = Date.parse(a.status?.startedAt ?? "") || now;
    const targetPods = podsOf(d, this.d.pods, this.d.replicaSets);
    const newPods = podsSince(targetPods, startedAt, a.spec.type === "delete-pod" ? a.status?.intent?.podUID : undefined);
    const rollout = rolloutStatus(d, newPods);
    const evictedStillThere = a.spec.type === "delete-pod" && targetPods.some((p) => p.metadata?.uid === a.status?.intent?.podUID);
    const ns = a.metadata.namespace;
    k8sDesiredReplicas.set({ namespace: ns, deployment: a.spec.target.name }, rollout.observed.desiredReplicas);
    k8sReadyReplicas.set({ namespace: ns, deployment: a.spec.target.name }, rollout.observed.readyReplicas);
    const observed = rollout.observed;

    if (rollout.state === "complete" && !evictedStillThere) {
      verificationDuration.observe({ action_type: a.spec.type, status: "SUCCESS" }, (now - startedAt) / 1000);
      return this.finish(a, "Succeeded", Reason.RolloutComplete, `${a.status?.message ?? ""}; verified: ${rollout.message}`.replace(/^; /, ""), (st) => {
        st.verification = { status: "SUCCESS", attempts: v.attempts, message: rollout.message, observed };
        st.conditions = cond(st, a, ConditionType.Verified, "True", Reason.RolloutComplete, rollout.message, now);
      });
    }
    if (rollout.state === "failed") {
      verificationDuration.observe({ action_type: a.spec.type, status: "FAILED" }, (now - startedAt) / 1000);
      return this.finish(a, "Failed", rollout.reason, rollout.message, (st) => {
        st.verification = { status: "FAILED", attempts: v.attempts, message: rollout.message, observed };
        st.conditions = cond(st, a, ConditionType.Verified, "False", rollout.reason, rollout.message, now);
      });
    }
    const deadline = Date.parse(v.deadline ?? "") || startedAt + a.spec.verifyTimeoutSeconds * 1000;
    if (now < deadline) return { action: a, wait: true, requeueAfterMs: deadline - now };

    const attempts = v.attempts ?? 1;
    if (attempts <= VERIFY_MAX_RETRIES) {
      // Retry the verification, never the mutation: a second restart would be a second effect.
      const backoff = backoffDelay(attempts, { initialMs: VERIFY_RETRY_BASE_MS, maxMs: Number.POSITIVE_INFINITY, jitter: 0 });
      const nextDeadline = now + backoff + a.spec.verifyTimeoutSeconds * 1000;
      loopRetriesTotal.inc({ type: a.spec.type });
      const msg = `rollout not complete after attempt ${attempts} (${rollout.message}); retry ${attempts}/${VERIFY_MAX_RETRIES} waits until ${new Date(nextDeadline).toISOString()}`;
      const stored = await this.write(a, (st) => {
        st.reason = Reason.VerificationRetry;
        st.message = msg;
        st.verification = { status: "IN_PROGRESS", attempts: attempts + 1, deadline: new Date(nextDeadline).toISOString(), message: rollout.message, observed };
        st.conditions = cond(st, a, ConditionType.Verified, "Unknown", Reason.VerificationRetry, msg, now);
      });
      this.d.events.record(ref(a), "Warning", Reason.VerificationRetry, "Verify", msg);
      return { action: stored, wait: true, requeueAfterMs: nextDeadline - now };
    }
    verificationDuration.observe({ action_type: a.spec.type, status: "TIMED_OUT" }, (now - startedAt) / 1000);
    const msg = `rollout did not complete within ${attempts} attempts of ${a.spec.verifyTimeoutSeconds}s: ${rollout.message}`;
    return this.finish(a, "Failed", Reason.RolloutTimedOut, msg, (st) => {
      st.verification = { status: "TIMED_OUT", attempts, message: rollout.message, observed };
      st.conditions = cond(st, a, ConditionType.Verified, "False", Reason.RolloutTimedOut, msg, now);
    });
  }

  // --- history, status writes, terminal bookkeeping ----------------------------------

  /** Executed (intent recorded), non-dry-run actions on the same target, this one excluded. */
  private history(a: RemediationAction): ActionRecord[] {
    return this.actionsOf(a.metadata.namespace, a.spec.target.name)
      .filter((o) => o.metadata.name !== a.metadata.name && !o.spec.dryRun && o.status?.intent?.recordedAt)
      .map((o) => ({
        name: o.metadata.name,
        type: o.spec.type,
        executedAt: Date.parse(o.status!.intent!.recordedAt!),
        fromReplicas: o.status?.intent?.fromReplicas,
        toReplicas: o.status?.intent?.replicas,
      }));
  }

  private async write(a: RemediationAction, mutate: (st: RemediationActionStatus) => void): Promise<RemediationAction> {
    const st: RemediationActionStatus = structuredClone(a.status ?? {});
    st.observedGeneration = a.metadata.generation;
    mutate(st);
    this.d.guard?.();
    const pending = this.actions.begin(a.metadata.namespace, a.metadata.name);
    let stored: RemediationAction;
    try {
      stored = await writeStatus(this.d.api, a, st);
    } catch (err) {
      this.actions.abandon(pending);
      throw err;
    }
    this.actions.remember(pending, stored);
    return stored;
  }

  private finish(a: RemediationAction, phase: "Succeeded" | "Failed" | "Blocked" | "Rejected" | "Expired", reason: ReasonName | string, message: string, mutate?: (st: RemediationActionStatus) => void): Promise<Next> {
    return inSpan("terminal", { attributes: { ...actionAttributes(a), [ATTR.actionPhase]: phase, [ATTR.actionReason]: reason } }, async (span) => {
      const next = await this.finishUntraced(a, phase, reason, message, mutate);
      span.setAttributes(outcomeAttributes(next.action));
      return next;
    });
  }

  private async finishUntraced(a: RemediationAction, phase: "Succeeded" | "Failed" | "Blocked" | "Rejected" | "Expired", reason: ReasonName | string, message: string, mutate?: (st: RemediationActionStatus) => void): Promise<Next> {
    const now = this.now();
    const stored = await this.write(a, (st) => {
      st.phase = phase;
      st.reason = reason;
      st.message = message.slice(0, 4096);
      st.completedAt = new Date(now).toISOString();
      mutate?.(st);
      st.conditions = cond(st, a, ConditionType.Ready, phase === "Succeeded" ? "True" : "False", reason, message, now);
    });
    const labels = {
      action_type: a.spec.type, namespace: a.metadata.namespace, deployment: a.spec.target.name,
      source: a.spec.source, dry_run: String(a.spec.dryRun), status: phase.toLowerCase(),
    };
    actionsTotal.inc(labels);
    if (a.spec.source === "closed-loop") {
      loopActionsTotal.inc({ type: a.spec.type, status: phase.toLowerCase() });
      const created = Date.parse(a.metadata.creationTimestamp as unknown as string);
      if (Number.isFinite(created)) loopActionDuration.observe({ type: a.spec.type }, (now - created) / 1000);
    }
    this.d.events.record(ref(a), phase === "Succeeded" ? "Normal" : "Warning", reason, titleCase(a.spec.type), message);
    this.d.log.info("action finished", { action: `${a.metadata.namespace}/${a.metadata.name}`, type: a.spec.type, phase, reason });
    this.d.onTerminal?.(stored);
    return { action: stored };
  }
}

function actionAttributes(a: RemediationAction): Attributes {
  return {
    [ATTR.actionName]: a.metadata.name,
    [ATTR.actionType]: a.spec.type,
    [ATTR.targetNamespace]: a.spec.target.namespace ?? a.metadata.namespace,
    [ATTR.targetName]: a.spec.target.name,
    [ATTR.dryRun]: a.spec.dryRun,
    [ATTR.source]: a.spec.source,
    ...(a.spec.signalRef ? { [ATTR.signalType]: a.spec.signalRef.kind === "AnomalySignal" ? "anomaly" : "rca", [ATTR.signalName]: a.spec.signalRef.name } : {}),
  };
}

function outcomeAttributes(a: RemediationAction): Attributes {
  const st = a.status;
  return {
    [ATTR.actionPhase]: st?.phase ?? "Pending",
    ...(st?.reason ? { [ATTR.actionReason]: st.reason } : {}),
    ...(st?.verification?.status ? { [ATTR.verificationStatus]: st.verification.status } : {}),
    ...(st?.verification?.attempts ? { [ATTR.verificationAttempts]: st.verification.attempts } : {}),
  };
}

function cond(st: RemediationActionStatus, a: RemediationAction, type: string, status: "True" | "False" | "Unknown", reason: string, message: string, now: number) {
  return setCondition(st.conditions, { type, status, reason, message, observedGeneration: a.metadata.generation }, new Date(now));
}

function isInFlight(a: RemediationAction | undefined): boolean {
  return a?.status?.phase === "Executing" || a?.status?.phase === "Verifying";
}

function byAge(x: RemediationAction, y: RemediationAction): number {
  const tx = Date.parse(x.metadata.creationTimestamp as unknown as string) || 0;
  const ty = Date.parse(y.metadata.creationTimestamp as unknown as string) || 0;
  return tx - ty || x.metadata.name.localeCompare(y.metadata.name);
}

function describeIntent(a: RemediationAction, i: Intent): string {
  switch (a.spec.type) {
    case "scale":
      return `scale Deployment ${a.metadata.namespace}/${a.spec.target.name} ${i.fromReplicas} -> ${i.replicas}${scaleNote(a, i)}`;
    case "restart":
      return `restart Deployment ${a.metadata.namespace}/${a.spec.target.name} (restartedAt ${i.restartedAt})`;
    case "patch":
      return `patch Deployment ${a.metadata.namespace}/${a.spec.target.name}`;
    case "delete-pod":
      return `evict pod ${i.podName} (uid ${i.podUID}) of Deployment ${a.metadata.namespace}/${a.spec.target.name}`;
  }
}

/** For a relative scale: its step, and what changed while it waited when the count it was decided at is not what it found. */
function scaleNote(a: RemediationAction, i: Intent): string {
  const by = a.spec.scale?.by;
  if (by === undefined) return "";
  const decided = a.spec.scale?.decidedAtReplicas;
  const moved = decided !== undefined && decided !== i.fromReplicas
    ? `; decided at ${decided} replicas, the Deployment had ${i.fromReplicas} when the target was computed`
    : "";
  return ` (${by > 0 ? "+" : ""}${by}${moved})`;
}

const titleCase = (s: string) => s.split("-").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");

function ref(a: RemediationAction) {
  return { apiVersion: a.apiVersion, kind: a.kind, namespace: a.metadata.namespace, name: a.metadata.name, uid: a.metadata.uid };
}

function deploymentRef(d: V1Deployment) {
  return { apiVersion: "apps/v1", kind: "Deployment", namespace: d.metadata!.namespace!, name: d.metadata!.name!, uid: d.metadata?.uid };
}

export type { EffectivePolicy };
