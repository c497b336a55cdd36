// Effectiveness: did a succeeded action fix the problem? The signals that follow
// decide it. Inside the window after the action succeeded, the same problem
// signalled again for the same service (an anomaly of the same type, or an RCA
// with the same top cause) makes it ineffective at once; silence or normal
// windows until the window ends make it effective, unless a metric check of
// its rule says otherwise. Pure: the controller passes in the signals it sees
// and the metric values it read.
import type { Recommendation } from "../api/v1alpha1/remediation-action.ts";

export type SignalKind = "AnomalySignal" | "RcaSignal";

/** What the judgement needs to know of one signal. */
export interface SignalSeen {
  kind: SignalKind;
  name: string;
  /** When the signal was created (ms). */
  at: number;
  /** The Deployment its service resolved to, when the signal reconciler has resolved it. */
  target?: string;
  service?: string;
  /** Anomalies: whether the window was anomalous, and its type. */
  isAnomaly?: boolean;
  anomalyType?: string;
  /** RCAs: the most probable cause. */
  topCause?: string;
}

/** What the action was about: its signal's kind and class (type or top cause), or nothing for a manual action. */
export interface ProblemKey {
  kind?: SignalKind;
  anomalyType?: string;
  cause?: string;
}

export function problemOf(signalKind: SignalKind | undefined, rec: Recommendation | undefined): ProblemKey {
  if (signalKind === "AnomalySignal") return { kind: signalKind, ...(rec?.anomalyType !== undefined ? { anomalyType: rec.anomalyType } : {}) };
  if (signalKind === "RcaSignal") return { kind: signalKind, ...(rec?.causes?.[0] ? { cause: rec.causes[0].cause } : {}) };
  return {};
}

/** One metric check as judged at the end of the window (see metric-check.ts). */
export interface MetricVerdict {
  /** undefined: could not be evaluated (no Prometheus, no data, an error). */
  effective: boolean | undefined;
  message: string;
}

export interface EffectivenessInput {
  /** The action's target Deployment and the service its recommendation named. */
  target: string;
  service?: string;
  problem: ProblemKey;
  /** When the action succeeded (ms): the window starts there. */
  succeededAt: number;
  windowSeconds: number;
  now: number;
  /** Signals of the action's namespace (any; the judgement picks the relevant ones). */
  signals: readonly SignalSeen[];
  /** The signal the action came from: never its own recurrence. */
  ownSignal?: { kind: SignalKind; name: string };
  /** The metric checks' verdicts, once the window has ended; empty when the rule has none. */
  metrics?: readonly MetricVerdict[];
}

export type EffectivenessVerdict =
  | { state: "Pending"; windowEndsAt: number; normalWindows: number; message: string }
  | { state: "Ineffective"; reason: "AnomalyRecurred"; recurrence: SignalSeen; windowEndsAt: number; normalWindows: number; message: string }
  | { state: "Ineffective"; reason: "MetricNotRecovered"; windowEndsAt: number; normalWindows: number; message: string }
  | { state: "Unknown"; reason: "MetricUnavailable"; windowEndsAt: number; normalWindows: number; message: string }
  | { state: "Effective"; reason: "NoRecurrence"; windowEndsAt: number; normalWindows: number; message: string };

/** Whether the signal is about the action's target: resolved to it, or naming the same service. */
export function aboutTarget(s: SignalSeen, target: string, service: string | undefined): boolean {
  if (s.target !== undefined) return s.target === target;
  return s.service !== undefined && (s.service === target || s.service === service);
}

/**
 * Whether the signal shows the action's problem again. A manual action names no
 * problem: any anomalous window or diagnosed cause for the service does.
 */
export function recurs(s: SignalSeen, problem: ProblemKey): boolean {
  if (s.kind === "AnomalySignal") {
    if (s.isAnomaly !== true) return false;
    if (problem.kind === undefined) return true;
    return problem.kind === "AnomalySignal" && (problem.anomalyType === undefined || s.anomalyType === problem.anomalyType);
  }
  if (s.topCause === undefined) return false;
  if (problem.kind === undefined) return true;
  return problem.kind === "RcaSignal" && (problem.cause === undefined || s.topCause === problem.cause);
}

/**
 * Whether a signal created at `at` came after an action that succeeded at
 * `succeededAt`. Creation times have one-second resolution, so a signal from the
 * second the action succeeded in counts: the problem reported again that soon is
 * the likelier reading than a report sent before the action finished.
 */
export const createdSince = (at: number, succeededAt: number) => at >= Math.floor(succeededAt / 1000) * 1000;

/** A window that reported nothing wrong: an anomaly signal with isAnomaly false. */
const isNormal = (s: SignalSeen) => s.kind === "AnomalySignal" && s.isAnomaly === false;

export function judgeEffectiveness(input: EffectivenessInput): EffectivenessVerdict {
  const windowEndsAt = input.succeededAt + input.windowSeconds * 1000;
  const inWindow = input.signals
    .filter((s) => createdSince(s.at, input.succeededAt) && s.at <= windowEndsAt && aboutTarget(s, input.target, input.service))
    .filter((s) => !(input.ownSignal && s.kind === input.ownSignal.kind && s.name === input.ownSignal.name))
    .sort((x, y) => x.at - y.at || x.name.localeCompare(y.name));
  const normalWindows = inWindow.filter(isNormal).length;
  const recurrence = inWindow.find((s) => recurs(s, input.problem));
  if (recurrence) {
    const after = Math.round((recurrence.at - input.succeededAt) / 1000);
    return {
      state: "Ineffective", reason: "AnomalyRecurred", recurrence, windowEndsAt, normalWindows,
      message: `${recurrence.kind} ${recurrence.name} showed the problem again ${after}s after the action succeeded (window ${input.windowSeconds}s)`,
    };
  }
  const quiet = normalWindows > 0 ? `${normalWindows} normal window(s) and no recurrence` : "no recurrence";
  if (input.now < windowEndsAt) {
    return { state: "Pending", windowEndsAt, normalWindows, message: `${quiet} so far; the window ends at ${new Date(windowEndsAt).toISOString()}` };
  }
  const metrics = input.metrics ?? [];
  const failed = metrics.filter((m) => m.effective === false);
  if (failed.length > 0) {
    return { state: "Ineffective", reason: "MetricNotRecovered", windowEndsAt, normalWindows, message: `${quiet}, but a metric check failed: ${failed.map((m) => m.message).join("; ")}` };
  }
  const unknown = metrics.filter((m) => m.effective === undefined);
  if (unknown.length > 0) {
    return { state: "Unknown", reason: "MetricUnavailable", windowEndsAt, normalWindows, message: `${quiet}, but a metric check could not be evaluated: ${unknown.map((m) => m.message).join("; ")}` };
  }
  const checked = metrics.length > 0 ? `; metric checks passed: ${metrics.map((m) => m.message).join("; ")}` : "";
  return { state: "Effective", reason: "NoRecurrence", windowEndsAt, normalWindows, message: `${quiet} in the ${input.windowSeconds}s window${checked}` };
}
