// The retention controller: one key ("sweep"), leader-only through the
// manager. Each pass reads the caches, asks remediation/retention.ts what may
// go, and deletes at most `batch` objects at no more than `ratePerSecond`, each
// with uid + resourceVersion preconditions (a changed or re-created object is
// not deleted: 409, and the next pass judges it again). Then it comes back
// after the interval — sooner when a batch was cut short.
import type { V1Deployment } from "@kubernetes/client-node";
import type { GuardrailPolicy, RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { isOpenAction } from "../api/v1alpha1/remediation-action.ts";
import { auditPending } from "../audit/record.ts";
import type { KubeApi } from "../k8s/api.ts";
import { isConflict, isNotFound } from "../k8s/errors.ts";
import { ANOMALY_SIGNALS, RCA_SIGNALS, REMEDIATION_ACTIONS } from "../k8s/resources.ts";
import {
  type ActionFacts, guardWindowMs, mergeRetention, type ObjectRef, planRetention, type PolicyRetention, type RetentionSettings, type SignalFacts,
} from "../remediation/retention.ts";
import type { Logger } from "../telemetry/logger.ts";
import { auditPendingGauge, retentionDeletedTotal, retentionKeptTotal } from "../telemetry/metrics.ts";
import type { Cache } from "./cache.ts";
import { awaitsJudgement } from "./effectiveness-controller.ts";
import { completedAtOf, executedAndFinished } from "./outcomes.ts";
import { coveringPolicies, policyFor } from "./policies.ts";
import type { ReconcileResult } from "./reconcile.ts";

export const RETENTION_KEY = "sweep";
const SIGNAL_DONE = new Set(["ActionCreated", "Ignored", "NoTarget", "Notified", "Refused"]);

export interface RetentionConfig extends RetentionSettings {
  /** Seconds between passes. */
  intervalSeconds: number;
  /** Most deletes per pass. */
  batch: number;
  /** Most deletes per second. */
  ratePerSecond: number;
}

export const DEFAULT_RETENTION_CONFIG: Omit<RetentionConfig, keyof RetentionSettings> = { intervalSeconds: 60, batch: 200, ratePerSecond: 20 };

export interface RetentionDeps {
  api: KubeApi;
  actions: Cache<RemediationAction>;
  anomalies: Cache<Signal>;
  rcas: Cache<Signal>;
  deployments: Cache<V1Deployment>;
  policies: Cache<GuardrailPolicy>;
  operatorNamespace: string;
  config: RetentionConfig;
  log: Logger;
  now?: () => number;
  guard?: () => void;
  sleep?: (ms: number) => Promise<void>;
}

const createdOf = (o: { metadata: { creationTimestamp?: unknown } }) => Date.parse(String(o.metadata.creationTimestamp ?? "")) || 0;

export class RetentionController {
  private readonly d: RetentionDeps;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(deps: RetentionDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The settings of a namespace: the operator's, with the retention of the policies in it (or naming it from the operator's namespace). */
  private settingsOf(namespace: string, policies: readonly GuardrailPolicy[]): RetentionSettings {
    return mergeRetention(this.d.config, policies.map((p) => (p.spec as { retention?: PolicyRetention }).retention ?? {}));
  }

  private namespacePolicies(namespace: string): GuardrailPolicy[] {
    const own = this.d.policies.list(namespace);
    if (namespace === this.d.operatorNamespace) return own;
    return [...own, ...this.d.policies.list(this.d.operatorNamespace).filter((p) => p.spec.targets?.namespaces?.includes(namespace))];
  }

  /** What the plan needs to know of each action. */
  facts(): { actions: ActionFacts[]; signals: SignalFacts[] } {
    const targetPolicy = new Map<string, { guard: number; keep: number }>();
    const policyOf = (namespace: string, target: string) => {
      const key = `${namespace}/${target}`;
      let p = targetPolicy.get(key);
      if (!p) {
        const d = this.d.deployments.get(namespace, target);
        const eff = policyFor({ namespace, name: target, labels: d?.metadata?.labels }, this.d.policies, this.d.operatorNamespace);
        p = { guard: guardWindowMs(eff.cooldownSeconds), keep: eff.escalation.maxConsecutiveFailures };
        targetPolicy.set(key, p);
      }
      return p;
    };
    const actions = this.d.actions.list().map((a): ActionFacts => {
      const p = policyOf(a.metadata.namespace, a.spec.target.name);
      const completed = completedAtOf(a);
      const effPending = awaitsJudgement(a) || a.status?.effectiveness?.state === "Pending";
      return {
        kind: "RemediationAction", namespace: a.metadata.namespace, name: a.metadata.name, uid: a.metadata.uid ?? "", resourceVersion: a.metadata.resourceVersion ?? "",
        target: a.spec.target.name,
        terminal: !isOpenAction(a),
        completedAt: Number.isFinite(completed) ? completed : createdOf(a),
        auditPending: auditPending(a),
        effectivenessPending: effPending,
        ...(effPending && Number.isFinite(completed) ? { effectivenessSince: completed } : {}),
        executed: executedAndFinished(a),
        changed: !a.spec.dryRun && a.status?.intent?.recordedAt !== undefined,
        undoable: executedAndFinished(a) && a.status?.preState?.reversible === true && !a.status?.revertedBy,
        ...(a.spec.type === "revert" && isOpenAction(a) && a.spec.revertOf ? { openRevertOf: a.spec.revertOf } : {}),
        ...(a.spec.signalRef ? { signal: { kind: a.spec.signalRef.kind, name: a.spec.signalRef.name } } : {}),
        guardWindowMs: p.guard,
        keepExecuted: p.keep,
      };
    });
    const signals = [...this.d.anomalies.list(), ...this.d.rcas.list()].map((s): SignalFacts => ({
      kind: s.kind, namespace: s.metadata.namespace, name: s.metadata.name, uid: s.metadata.uid ?? "", resourceVersion: s.metadata.resourceVersion ?? "",
      terminal: SIGNAL_DONE.has(s.status?.phase ?? ""),
      createdAt: createdOf(s),
    }));
    return { actions, signals };
  }

  async reconcile(_key: string): Promise<ReconcileResult> {
    const { actions, signals } = this.facts();
    auditPendingGauge.set(actions.filter((a) => a.terminal && a.auditPending).length);
    const nsSettings = new Map<string, RetentionSettings>();
    const settings = (ns: string) => {
      let s = nsSettings.get(ns);
      if (!s) nsSettings.set(ns, (s = this.settingsOf(ns, this.namespacePolicies(ns))));
      return s;
    };
    const actionSettings = (ns: string, target: string) => {
      const d = this.d.deployments.get(ns, target);
      const covering = coveringPolicies({ namespace: ns, name: target, labels: d?.metadata?.labels }, this.d.policies, this.d.operatorNamespace);
      return this.settingsOf(ns, covering);
    };
    const plan = planRetention({ now: this.now(), actions, signals, settings, actionSettings });
    for (const k of plan.kept) retentionKeptTotal.inc({ kind: k.ref.kind, reason: k.reason });
    const batch = plan.delete.slice(0, this.d.config.batch);
    const gapMs = 1000 / Math.max(0.001, this.d.config.ratePerSecond);
    let deleted = 0;
    for (const [i, victim] of batch.entries()) {
      if (i > 0) await this.sleep(gapMs);
      if (await this.remove(victim)) deleted++;
    }
    if (deleted > 0) this.d.log.info("retention deleted", { deleted, planned: plan.delete.length, kept: plan.kept.length });
    const more = plan.delete.length > batch.length;
    return { requeueAfterMs: more ? gapMs : this.d.config.intervalSeconds * 1000 };
  }

  private async remove(o: ObjectRef): Promise<boolean> {
    const r = o.kind === "RemediationAction" ? REMEDIATION_ACTIONS : o.kind === "AnomalySignal" ? ANOMALY_SIGNALS : RCA_SIGNALS;
    this.d.guard?.();
    try {
      await this.d.api.delete(r, o.namespace, o.name, { uid: o.uid, resourceVersion: o.resourceVersion });
    } catch (err) {
      // Gone already, or changed since it was judged: the next pass sees the newer object.
      if (isNotFound(err) || isConflict(err)) return false;
      throw err;
    }
    retentionDeletedTotal.inc({ kind: o.kind });
    return true;
  }
}
