import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ActionFacts, DEFAULT_RETENTION, guardWindowMs, mergeRetention, planRetention, type RetentionSettings, type SignalFacts } from "./retention.ts";

const NOW = Date.parse("2026-06-01T00:00:00Z");
const DAY = 86_400_000;
const S: RetentionSettings = { signals: { ttlSeconds: 3600, maxPerNamespace: 1000 }, actions: { ttlSeconds: 7200, maxPerTarget: 100 }, undoWindowSeconds: 1800 };

function act(name: string, agoMs: number, extra: Partial<ActionFacts> = {}): ActionFacts {
  return {
    kind: "RemediationAction", namespace: "ns", name, uid: `${name}-uid`, resourceVersion: "1", target: "web",
    terminal: true, completedAt: NOW - agoMs, auditPending: false, effectivenessPending: false, executed: false, changed: true, undoable: false,
    guardWindowMs: 3_600_000, keepExecuted: 0, ...extra,
  };
}
function sig(name: string, agoMs: number, extra: Partial<SignalFacts> = {}): SignalFacts {
  return { kind: "AnomalySignal", namespace: "ns", name, uid: `${name}-uid`, resourceVersion: "1", terminal: true, createdAt: NOW - agoMs, ...extra };
}
const plan = (actions: ActionFacts[], signals: SignalFacts[] = [], s = S) => planRetention({ now: NOW, actions, signals, settings: () => s });
const names = (p: ReturnType<typeof plan>) => p.delete.map((d) => d.name);
const kept = (p: ReturnType<typeof plan>) => Object.fromEntries(p.kept.map((k) => [k.ref.name, k.reason]));

describe("planRetention: what goes", () => {
  it("deletes a terminal action past its TTL, keeps a younger one", () => {
    const p = plan([act("old", 3 * 3600_000), act("young", 1800_000)]);
    expect(names(p)).toEqual(["old"]);
  });

  it("deletes beyond the newest maxPerTarget, oldest first, even inside the TTL", () => {
    const s = { ...S, actions: { ttlSeconds: 999_999, maxPerTarget: 2 } };
    const p = plan([act("a", 4 * 3600_000), act("b", 3 * 3600_000), act("c", 2 * 3600_000), act("d", 1.5 * 3600_000)], [], s);
    expect(names(p)).toEqual(["a", "b"]);
  });

  it("never deletes an open action, however old", () => {
    expect(names(plan([act("open", 100 * DAY, { terminal: false })]))).toEqual([]);
  });

  it("keeps what a window, an undo, an open revert or an unwritten audit record needs, and says why", () => {
    const p = plan([
      act("audit", 10 * DAY, { auditPending: true }),
      act("judging", 10 * DAY, { effectivenessPending: true }),
      act("cooldown", 3 * 3600_000, { guardWindowMs: 86_400_000 }),
      act("blocked-in-cooldown", 3 * 3600_000, { guardWindowMs: 86_400_000, changed: false }),
      act("undoable", 3 * 3600_000, { undoable: true, executed: true }),
      act("undone-later", 3 * 3600_000 + 1, { executed: true }),
      act("revert-1", 60_000, { terminal: false, openRevertOf: "undone-later" }),
      act("gone", 10 * DAY),
    ], [], { ...S, undoWindowSeconds: 4 * 3600 });
    expect(kept(p)).toEqual({ audit: "AuditPending", judging: "EffectivenessWindow", cooldown: "GuardrailWindow", undoable: "UndoWindow", "undone-later": "RevertPending" });
    expect(names(p)).toEqual(["gone", "blocked-in-cooldown"]);
  });

  it("keeps the newest maxConsecutiveFailures executed actions of a target (the failure streak reads them)", () => {
    const p = plan([act("f1", 10 * DAY, { executed: true, keepExecuted: 2 }), act("f2", 11 * DAY, { executed: true, keepExecuted: 2 }), act("f3", 12 * DAY, { executed: true, keepExecuted: 2 }), act("blocked", 9 * DAY, { keepExecuted: 2 })]);
    expect(kept(p)).toEqual({ f1: "FailureHistory", f2: "FailureHistory" });
    expect(names(p)).toEqual(["f3", "blocked"]);
  });

  it("signals: TTL and count per namespace and kind; kept while their action needs them or a window may read them", () => {
    const p = plan(
      [act("a-open", 0, { terminal: false, signal: { kind: "AnomalySignal", name: "s-of-open" } }), act("judging", 5 * 3600_000, { effectivenessPending: true, effectivenessSince: NOW - 2.5 * 3600_000 })],
      [sig("s-of-open", 5 * 3600_000), sig("s-old", 5 * 3600_000), sig("s-in-window", 2 * 3600_000), sig("s-new", 60_000), sig("s-pending", 5 * 3600_000, { terminal: false }), sig("r-old", 5 * 3600_000, { kind: "RcaSignal" })],
    );
    expect(kept(p)).toEqual({ "s-of-open": "ActionNeedsSignal", "s-in-window": "EffectivenessWindow", judging: "EffectivenessWindow" });
    expect(names(p).sort()).toEqual(["r-old", "s-old"]);
  });

  it("the signal of a deleted action goes with it", () => {
    const p = plan([act("gone", 10 * DAY, { signal: { kind: "AnomalySignal", name: "s1" } })], [sig("s1", 10 * DAY)]);
    expect(names(p).sort()).toEqual(["gone", "s1"]);
  });
});

describe("settings", () => {
  it("the longest TTL and the largest count of the policies win; unset keeps the operator's", () => {
    const m = mergeRetention(DEFAULT_RETENTION, [{ signals: { ttlSeconds: 600 } }, { signals: { ttlSeconds: 7200 }, actions: { maxPerTarget: 5 } }]);
    expect(m).toEqual({ ...DEFAULT_RETENTION, signals: { ttlSeconds: 7200, maxPerNamespace: 5000 }, actions: { ttlSeconds: 2_592_000, maxPerTarget: 5 } });
  });

  it("the guardrail window is the longest cooldown, at least the hour of the hourly limit", () => {
    expect(guardWindowMs({ scale: 300, restart: 300 })).toBe(3_600_000);
    expect(guardWindowMs({ scale: 86_400, restart: 300 })).toBe(86_400_000);
  });
});

// --- properties ----------------------------------------------------------------------
const actionArb = fc.record({
  name: fc.string({ minLength: 1, maxLength: 6 }),
  target: fc.constantFrom("web", "db"),
  terminal: fc.boolean(),
  ago: fc.integer({ min: 0, max: 40 * DAY }),
  changed: fc.boolean(),
  auditPending: fc.boolean(),
  effectivenessPending: fc.boolean(),
  executed: fc.boolean(),
  undoable: fc.boolean(),
  guardWindowMs: fc.constantFrom(3_600_000, 86_400_000),
  keepExecuted: fc.integer({ min: 0, max: 4 }),
  signal: fc.option(fc.string({ minLength: 1, maxLength: 4 }), { nil: undefined }),
  openRevertOf: fc.option(fc.string({ minLength: 1, maxLength: 6 }), { nil: undefined }),
});
const signalArb = fc.record({ name: fc.string({ minLength: 1, maxLength: 4 }), kind: fc.constantFrom("AnomalySignal" as const, "RcaSignal" as const), terminal: fc.boolean(), ago: fc.integer({ min: 0, max: 3 * DAY }) });
const settingsArb = fc.record({
  signals: fc.record({ ttlSeconds: fc.integer({ min: 60, max: 2 * 86_400 }), maxPerNamespace: fc.integer({ min: 1, max: 10 }) }),
  actions: fc.record({ ttlSeconds: fc.integer({ min: 60, max: 40 * 86_400 }), maxPerTarget: fc.integer({ min: 1, max: 10 }) }),
  undoWindowSeconds: fc.integer({ min: 0, max: 10 * 86_400 }),
});

const uniqueBy = <T extends { name: string }>(xs: T[]) => [...new Map(xs.map((x) => [x.name, x])).values()];

describe("planRetention: properties", () => {
  it("never deletes an open object, one whose record is not out, one in a window, or the signal of an action that stays open", () => {
    fc.assert(fc.property(fc.array(actionArb, { maxLength: 30 }), fc.array(signalArb, { maxLength: 30 }), settingsArb, (rawA, rawS, s) => {
      const actions = uniqueBy(rawA).map((a) => act(a.name, a.ago, {
        target: a.target, terminal: a.terminal || a.openRevertOf === undefined ? a.terminal : false, auditPending: a.auditPending, effectivenessPending: a.effectivenessPending,
        executed: a.executed, changed: a.changed, undoable: a.undoable, guardWindowMs: a.guardWindowMs, keepExecuted: a.keepExecuted,
        ...(a.signal ? { signal: { kind: "AnomalySignal" as const, name: a.signal } } : {}),
        ...(a.openRevertOf && !a.terminal ? { openRevertOf: a.openRevertOf } : {}),
      }));
      const signals = uniqueBy(rawS.map((x) => ({ ...x, name: `${x.kind}-${x.name}` }))).map((x) => sig(x.name, x.ago, { kind: x.kind, terminal: x.terminal }));
      const p = plan(actions, signals, s);
      const doomed = new Set(p.delete.map((d) => `${d.kind}/${d.name}`));
      for (const a of actions) {
        if (!doomed.has(`RemediationAction/${a.name}`)) continue;
        expect(a.terminal).toBe(true);
        expect(a.auditPending).toBe(false);
        expect(a.effectivenessPending).toBe(false);
        if (a.changed) expect(NOW - a.completedAt).toBeGreaterThanOrEqual(a.guardWindowMs);
        if (a.undoable) expect(NOW - a.completedAt).toBeGreaterThanOrEqual(s.undoWindowSeconds * 1000);
        expect(actions.some((o) => o.openRevertOf === a.name)).toBe(false);
      }
      for (const x of signals) {
        if (!doomed.has(`${x.kind}/${x.name}`)) continue;
        expect(x.terminal).toBe(true);
        expect(actions.some((a) => !a.terminal && a.signal?.kind === x.kind && a.signal.name === x.name)).toBe(false);
      }
      // Everything deleted was past its TTL or beyond the count of its group.
      for (const d of p.delete) {
        if (d.kind === "RemediationAction") {
          const a = actions.find((o) => o.name === d.name)!;
          const newer = actions.filter((o) => o.terminal && o.target === a.target && (o.completedAt > a.completedAt || (o.completedAt === a.completedAt && o.name < a.name))).length;
          expect(NOW - a.completedAt >= s.actions.ttlSeconds * 1000 || newer >= s.actions.maxPerTarget).toBe(true);
        } else {
          const x = signals.find((o) => o.name === d.name)!;
          const newer = signals.filter((o) => o.terminal && o.kind === x.kind && (o.createdAt > x.createdAt || (o.createdAt === x.createdAt && o.name < x.name))).length;
          expect(NOW - x.createdAt >= s.signals.ttlSeconds * 1000 || newer >= s.signals.maxPerNamespace).toBe(true);
        }
      }
    }));
  });

  it("bounded: without protections, at most maxPerTarget actions per target and maxPerNamespace signals per kind stay", () => {
    fc.assert(fc.property(fc.array(actionArb, { maxLength: 40 }), fc.array(signalArb, { maxLength: 40 }), settingsArb, (rawA, rawS, s) => {
      const actions = uniqueBy(rawA).map((a) => act(a.name, a.ago, { target: a.target }));
      const signals = uniqueBy(rawS.map((x) => ({ ...x, name: `${x.kind}-${x.name}` }))).map((x) => sig(x.name, x.ago, { kind: x.kind }));
      const p = plan(actions.map((a) => ({ ...a, guardWindowMs: 0 })), signals, s);
      const doomed = new Set(p.delete.map((d) => d.name));
      for (const t of ["web", "db"]) expect(actions.filter((a) => a.target === t && !doomed.has(a.name)).length).toBeLessThanOrEqual(s.actions.maxPerTarget);
      for (const k of ["AnomalySignal", "RcaSignal"]) expect(signals.filter((x) => x.kind === k && !doomed.has(x.name)).length).toBeLessThanOrEqual(s.signals.maxPerNamespace);
      // And nothing past its TTL stays.
      expect(actions.filter((a) => !doomed.has(a.name) && NOW - a.completedAt >= s.actions.ttlSeconds * 1000)).toEqual([]);
    }));
  });
});
