// The action reconciler. Its work-queue key is a TARGET ("namespace/deployment"),
// not an action: the queue never hands one key to two workers, so every decision
// about one Deployment is serialized (invariant 4), and the target's actions are
// taken oldest first. Each phase returns a transition that commit.ts writes before
// the next side effect, guarded by resourceVersion, so a crash or a lost lease
// never acts twice (invariant 3).
//
// Pending → (PendingApproval) → Executing → Verifying → Succeeded | Failed,
// or Blocked / Rejected / Expired.
import type { Span } from "@opentelemetry/api";
import { ANNOTATIONS, type RemediationAction } from "../../api/v1alpha1/objects.ts";
import { Reason } from "../../api/v1alpha1/reasons.ts";
import { isOpenAction, TERMINAL_PHASES } from "../../api/v1alpha1/remediation-action.ts";
import { throwpoint } from "../../k8s/failpoints.ts";
import { contextFromTraceparent, contextFromUid } from "../../telemetry/trace-context.ts";
import { inSpan } from "../../telemetry/tracing.ts";
import { type Cache, OverlayCache } from "../cache.ts";
import { isTransient, type ReconcileResult } from "../reconcile.ts";
import { admit } from "./admit.ts";
import { commit } from "./commit.ts";
import { type ActionContext, type ActionDeps, actionsOfTarget, contextFor } from "./context.ts";
import { actionAttributes, outcomeAttributes } from "./describe.ts";
import { execute } from "./execute.ts";
import { autoRevert, needsAutoRevert } from "./auto-revert.ts";
import { linkRevert, needsLink } from "./link.ts";
import type { Transition } from "./transition.ts";
import { verify } from "./verify.ts";

/** Consecutive processing errors (bugs, unprocessable objects — not API outages) before an action ends Failed. */
export const MAX_ACTION_ERRORS = 5;

/**
 * Transitions one action may take in one pass. Phases only move forward
 * (Pending → Executing → Verifying → terminal is the longest run: three writes);
 * a guarded write refused because the Deployment moved is judged again and
 * recorded in Executing, which may happen again while the Deployment keeps
 * moving. The bound lets that repeat a few times, then requeues instead of
 * looping for as long as another writer races us.
 */
const MAX_TRANSITIONS_PER_PASS = 6;

export type ActionControllerDeps = Omit<ActionDeps, "actions" | "now" | "guard"> & {
  actions: Cache<RemediationAction>;
  now?: () => number;
  guard?: () => void;
};

const PHASES: Record<string, { span: string; run: (ctx: ActionContext) => Promise<Transition> | Transition }> = {
  Pending: { span: "guardrails", run: (ctx) => admit(ctx) },
  PendingApproval: { span: "guardrails", run: (ctx) => admit(ctx) },
  Executing: { span: "execute", run: execute },
  Verifying: { span: "verify", run: verify },
};

export class ActionController {
  private readonly d: ActionDeps;
  /** Consecutive processing errors per action (uid), reset by a clean pass. */
  private readonly errors = new Map<string, number>();
  /** Actions that could not even be marked Failed, by uid/resourceVersion: skipped until they change. */
  private readonly setAside = new Set<string>();

  constructor(deps: ActionControllerDeps) {
    const now = deps.now ?? Date.now;
    this.d = { ...deps, now, guard: deps.guard ?? (() => {}), actions: new OverlayCache(deps.actions, now) };
  }

  /** An action the informer delivered: clears the overlay entry of the write it carries. */
  observe(a: RemediationAction, deleted = false): void {
    this.d.actions.observe(a, deleted);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, target] = key.split("/") as [string, string];
    // An action already in flight goes first whatever its age: creationTimestamp
    // has one-second resolution, so age alone could let a newer action overtake it.
    const actions = actionsOfTarget(this.d, namespace, target);
    const open = actions
      .filter((a) => isOpenAction(a) && !this.setAside.has(asideKey(a)))
      .sort((x, y) => Number(isInFlight(y)) - Number(isInFlight(x)) || byAge(x, y));
    // A revert that succeeded before a crash could write the link on the action it undid.
    for (const r of actions) if (needsLink(this.d, r)) await linkRevert(this.d, r);
    // An undo lost to a crash (or a refused write) after a failed action's terminal write is created now.
    for (const f of actions) if (needsAutoRevert(this.d, f)) await autoRevert(this.d, f);
    let requeueAfterMs: number | undefined;
    let failure: unknown;
    for (const action of open) {
      let pass: { done: boolean; requeueAfterMs?: number };
      try {
        pass = await this.step(action);
        this.errors.delete(idOf(action));
      } catch (err) {
        // The API server's trouble (or a lost lease) holds the whole target back and is retried.
        if (isTransient(err)) throw err;
        pass = await this.failing(action, err);
        failure ??= err;
      }
      if (pass.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, pass.requeueAfterMs);
      // One mutation in flight per target: later actions wait until this one is terminal.
      if (!pass.done && isInFlight(this.d.actions.get(action.metadata.namespace, action.metadata.name))) break;
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
  private async failing(a: RemediationAction, err: unknown): Promise<{ done: boolean }> {
    const count = (this.errors.get(idOf(a)) ?? 0) + 1;
    this.errors.set(idOf(a), count);
    const message = `processing failed ${count} time(s): ${err instanceof Error ? err.message : String(err)}`.slice(0, 1024);
    this.d.log.warn("action processing failed", { action: `${a.metadata.namespace}/${a.metadata.name}`, attempt: count, err: message });
    if (count < MAX_ACTION_ERRORS) return { done: false };
    this.errors.delete(idOf(a));
    try {
      const current = this.d.actions.get(a.metadata.namespace, a.metadata.name) ?? a;
      await commit(contextFor(this.d, current), { kind: "update", update: { phase: "Failed", reason: Reason.ProcessingFailed, message } });
    } catch (again) {
      if (isTransient(again)) throw again;
      this.setAside.add(asideKey(a));
      this.d.log.error("action cannot be processed nor marked Failed; skipping it until it changes", { action: `${a.metadata.namespace}/${a.metadata.name}`, err: String(again) });
    }
    return { done: true };
  }

  /**
   * One span per action per reconcile, in the trace of the action's traceparent
   * annotation (the signal reconcile or shim request that created it); an action
   * applied without one gets a trace derived from its uid.
   */
  private step(action: RemediationAction): Promise<{ done: boolean; requeueAfterMs?: number }> {
    const parent = contextFromTraceparent(action.metadata.annotations?.[ANNOTATIONS.traceparent]) ?? contextFromUid(idOf(action));
    return inSpan("reconcile RemediationAction", { parent, attributes: actionAttributes(action) }, (span) => this.advance(action, span));
  }

  /** Takes as many phases as can be taken now; each commit returns the stored object the next phase starts from. */
  private async advance(action: RemediationAction, span: Span): Promise<{ done: boolean; requeueAfterMs?: number }> {
    let current = action;
    throwpoint(action.metadata.name);
    try {
      for (let i = 0; i < MAX_TRANSITIONS_PER_PASS; i++) {
        const phase = PHASES[current.status?.phase ?? "Pending"];
        if (!phase) return { done: true };
        const ctx = contextFor(this.d, current);
        const t = await inSpan(phase.span, { attributes: actionAttributes(current) }, async (s) => {
          const transition = await phase.run(ctx);
          current = await commit(ctx, transition);
          s.setAttributes(outcomeAttributes(current));
          return transition;
        });
        if (TERMINAL_PHASES.has(current.status?.phase ?? "Pending")) return { done: true };
        if (t.kind === "wait" || t.requeueAfterMs !== undefined) return { done: false, requeueAfterMs: t.requeueAfterMs };
      }
      return { done: false, requeueAfterMs: 0 };
    } finally {
      span.setAttributes(outcomeAttributes(current));
    }
  }
}

const idOf = (a: RemediationAction) => a.metadata.uid ?? `${a.metadata.namespace}/${a.metadata.name}`;
const asideKey = (a: RemediationAction) => `${idOf(a)}/${a.metadata.resourceVersion}`;

function isInFlight(a: RemediationAction | undefined): boolean {
  return a?.status?.phase === "Executing" || a?.status?.phase === "Verifying";
}

function byAge(x: RemediationAction, y: RemediationAction): number {
  const tx = Date.parse(x.metadata.creationTimestamp as unknown as string) || 0;
  const ty = Date.parse(y.metadata.creationTimestamp as unknown as string) || 0;
  return tx - ty || x.metadata.name.localeCompare(y.metadata.name);
}
