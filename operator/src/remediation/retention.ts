// Retention: which terminal signals and actions may leave etcd now. An object
// goes when it is past its TTL or beyond the newest N of its group (signals per
// namespace and kind, actions per target), whichever comes first — unless
// something still needs it, and then it stays however old it is:
//
//  - anything not terminal (an open approval is not terminal);
//  - an action whose audit record is not out (status.audit lacks its id);
//  - an action inside its effectiveness window (status.effectiveness Pending,
//    or a succeeded, executed action not judged yet);
//  - an action that changed its Deployment, inside the longest guardrail window
//    of its covering policies (cooldowns and the hourly and 15-minute rate
//    windows read it as history; a blocked or dry-run one is not history);
//  - an action that can still be undone: reversible, not reverted, completed
//    less than the undo window ago; and one that an open revert names;
//  - the newest maxConsecutiveFailures executed actions of a target (the
//    RepeatedFailures stop and the escalation ladder read them);
//  - a signal whose action still needs it (open, audit not out, effectiveness
//    window running) and a signal created inside a running effectiveness window
//    of its namespace (it may decide that window).
//
// Pure: the controller (controllers/retention-controller.ts) gathers the facts
// and deletes, paced, with uid + resourceVersion preconditions.

export interface RetentionSettings {
  signals: { ttlSeconds: number; maxPerNamespace: number };
  actions: { ttlSeconds: number; maxPerTarget: number };
  /** How long after completing a reversible action stays, so that it can be undone. */
  undoWindowSeconds: number;
}

export const DEFAULT_RETENTION: RetentionSettings = {
  signals: { ttlSeconds: 86_400, maxPerNamespace: 5_000 },
  actions: { ttlSeconds: 2_592_000, maxPerTarget: 100 },
  undoWindowSeconds: 604_800,
};

export interface ObjectRef {
  kind: "AnomalySignal" | "RcaSignal" | "RemediationAction";
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

export interface ActionFacts extends ObjectRef {
  kind: "RemediationAction";
  target: string;
  terminal: boolean;
  /** completedAt, or creation when absent (ms). */
  completedAt: number;
  auditPending: boolean;
  effectivenessPending: boolean;
  /** When the running effectiveness window opened (ms), while effectivenessPending. */
  effectivenessSince?: number;
  /** Executed forward, not a dry run, Succeeded or Failed: what the failure streak counts. */
  executed: boolean;
  /** Changed the Deployment (an intent was recorded, not a dry run): what cooldowns and rate limits count. */
  changed: boolean;
  /** Reversible (pre-state says so), changed the Deployment, not yet reverted. */
  undoable: boolean;
  /** For a revert that is not terminal: the action it undoes. */
  openRevertOf?: string;
  signal?: { kind: "AnomalySignal" | "RcaSignal"; name: string };
  /** Longest guardrail window of the covering policies (ms). */
  guardWindowMs: number;
  /** Newest executed actions of the target kept for the failure streak (maxConsecutiveFailures). */
  keepExecuted: number;
}

export interface SignalFacts extends ObjectRef {
  kind: "AnomalySignal" | "RcaSignal";
  terminal: boolean;
  createdAt: number;
}

export type KeepReason =
  | "AuditPending" | "EffectivenessWindow" | "GuardrailWindow" | "UndoWindow" | "RevertPending" | "FailureHistory" | "ActionNeedsSignal";

export interface RetentionInput {
  now: number;
  actions: readonly ActionFacts[];
  signals: readonly SignalFacts[];
  /** Settings of a namespace (the operator's, overridden by its policies). */
  settings: (namespace: string) => RetentionSettings;
  /** Settings of one target's actions, when its covering policies differ from the namespace's. */
  actionSettings?: (namespace: string, target: string) => RetentionSettings;
}

export interface RetentionPlan {
  /** Oldest first, so an interrupted run has removed the oldest. */
  delete: ObjectRef[];
  /** Past TTL or count, kept because something needs them. */
  kept: { ref: ObjectRef; reason: KeepReason }[];
}

const ref = (o: ObjectRef): ObjectRef => ({ kind: o.kind, namespace: o.namespace, name: o.name, uid: o.uid, resourceVersion: o.resourceVersion });

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const g = m.get(k);
    if (g) g.push(i);
    else m.set(k, [i]);
  }
  return m;
}

export function planRetention(input: RetentionInput): RetentionPlan {
  const { now } = input;
  const plan: RetentionPlan = { delete: [], kept: [] };
  const doomedActions = new Set<string>();
  const deletions: { at: number; ref: ObjectRef }[] = [];

  // --- actions, per target ---------------------------------------------------
  const openReverts = new Set(input.actions.filter((a) => a.openRevertOf !== undefined).map((a) => `${a.namespace}/${a.openRevertOf}`));
  for (const group of groupBy(input.actions, (a) => `${a.namespace}/${a.target}`).values()) {
    const first = group[0]!;
    const s = (input.actionSettings ?? ((ns: string) => input.settings(ns)))(first.namespace, first.target);
    const terminal = group.filter((a) => a.terminal).sort((x, y) => y.completedAt - x.completedAt || x.name.localeCompare(y.name));
    const history = new Set(terminal.filter((a) => a.executed).slice(0, Math.max(...group.map((a) => a.keepExecuted), 0)).map((a) => a.name));
    terminal.forEach((a, i) => {
      const expired = now - a.completedAt >= s.actions.ttlSeconds * 1000;
      if (!expired && i < s.actions.maxPerTarget) return;
      const reason: KeepReason | undefined = a.auditPending ? "AuditPending"
        : a.effectivenessPending ? "EffectivenessWindow"
        : a.changed && now - a.completedAt < a.guardWindowMs ? "GuardrailWindow"
        : openReverts.has(`${a.namespace}/${a.name}`) ? "RevertPending"
        : a.undoable && now - a.completedAt < s.undoWindowSeconds * 1000 ? "UndoWindow"
        : history.has(a.name) ? "FailureHistory"
        : undefined;
      if (reason) plan.kept.push({ ref: ref(a), reason });
      else {
        doomedActions.add(`${a.namespace}/${a.name}`);
        deletions.push({ at: a.completedAt, ref: ref(a) });
      }
    });
  }

  // --- signals, per namespace and kind ---------------------------------------
  const needed = new Set(input.actions
    .filter((a) => a.signal && !doomedActions.has(`${a.namespace}/${a.name}`) && (!a.terminal || a.auditPending || a.effectivenessPending))
    .map((a) => `${a.signal!.kind}/${a.namespace}/${a.signal!.name}`));
  const windowOpenedAt = new Map<string, number>();
  for (const a of input.actions) {
    if (!a.effectivenessPending || a.effectivenessSince === undefined) continue;
    windowOpenedAt.set(a.namespace, Math.min(windowOpenedAt.get(a.namespace) ?? Infinity, a.effectivenessSince));
  }
  for (const group of groupBy(input.signals, (s) => `${s.kind}/${s.namespace}`).values()) {
    const s = input.settings(group[0]!.namespace);
    const terminal = group.filter((x) => x.terminal).sort((x, y) => y.createdAt - x.createdAt || x.name.localeCompare(y.name));
    terminal.forEach((sig, i) => {
      const expired = now - sig.createdAt >= s.signals.ttlSeconds * 1000;
      if (!expired && i < s.signals.maxPerNamespace) return;
      // Creation times have one-second resolution: a signal of the window's first second counts as inside it.
      const reason: KeepReason | undefined = needed.has(`${sig.kind}/${sig.namespace}/${sig.name}`) ? "ActionNeedsSignal"
        : sig.createdAt >= Math.floor((windowOpenedAt.get(sig.namespace) ?? Infinity) / 1000) * 1000 ? "EffectivenessWindow"
        : undefined;
      if (reason) plan.kept.push({ ref: ref(sig), reason });
      else deletions.push({ at: sig.createdAt, ref: ref(sig) });
    });
  }
  plan.delete = deletions.sort((x, y) => x.at - y.at).map((d) => d.ref);
  return plan;
}

/** The longest window the guardrails read an action's history over (ms): the longest cooldown, or the hourly limit's hour. */
export function guardWindowMs(cooldownSeconds: Record<string, number>): number {
  return Math.max(3_600_000, ...Object.values(cooldownSeconds).map((s) => s * 1000));
}

/** Combines the operator's settings with policies' overrides: the longest TTL and the largest count win. */
export function mergeRetention(base: RetentionSettings, overrides: readonly PolicyRetention[]): RetentionSettings {
  const pick = (values: (number | undefined)[], fallback: number) => {
    const set = values.filter((v): v is number => v !== undefined);
    return set.length ? Math.max(...set) : fallback;
  };
  return {
    signals: {
      ttlSeconds: pick(overrides.map((o) => o.signals?.ttlSeconds), base.signals.ttlSeconds),
      maxPerNamespace: pick(overrides.map((o) => o.signals?.maxPerNamespace), base.signals.maxPerNamespace),
    },
    actions: {
      ttlSeconds: pick(overrides.map((o) => o.actions?.ttlSeconds), base.actions.ttlSeconds),
      maxPerTarget: pick(overrides.map((o) => o.actions?.maxPerTarget), base.actions.maxPerTarget),
    },
    undoWindowSeconds: base.undoWindowSeconds,
  };
}

export interface PolicyRetention {
  signals?: { ttlSeconds?: number; maxPerNamespace?: number };
  actions?: { ttlSeconds?: number; maxPerTarget?: number };
}
