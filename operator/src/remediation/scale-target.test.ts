// A relative scale never moves replicas against its sign, whatever happened to
// the Deployment between the decision and the execution.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateGuardrails, scaleTarget } from "./guardrails.ts";
import { effectivePolicy } from "./policy.ts";
import { policySpecArb } from "./testing/arbitraries.ts";

const caps = { min: 1, max: 10 };

describe("scaleTarget", () => {
  it("takes an absolute count as given; the caps judge it afterwards", () => {
    expect(scaleTarget({ replicas: 4 }, 6, caps)).toEqual({ ok: true, replicas: 4 });
    expect(scaleTarget({ replicas: 40 }, 6, caps)).toEqual({ ok: true, replicas: 40 });
  });

  it("adds to what the Deployment has now, up to maxReplicas", () => {
    expect(scaleTarget({ by: 2 }, 2, caps)).toEqual({ ok: true, replicas: 4 });
    expect(scaleTarget({ by: 2 }, 6, caps)).toEqual({ ok: true, replicas: 8 });
    expect(scaleTarget({ by: 5 }, 8, caps)).toEqual({ ok: true, replicas: 10 });
  });

  it("refuses a scale-up that finds nothing to add instead of scaling down to the cap", () => {
    expect(scaleTarget({ by: 1 }, 10, caps)).toMatchObject({ ok: false, reason: "MaxReplicasReached", message: expect.stringContaining("at maxReplicas 10") });
    expect(scaleTarget({ by: 1 }, 12, caps)).toMatchObject({ ok: false, reason: "MaxReplicasReached", message: expect.stringContaining("12 replica(s), above maxReplicas 10") });
  });

  it("a negative step removes down to minReplicas, never adds", () => {
    expect(scaleTarget({ by: -2 }, 5, caps)).toEqual({ ok: true, replicas: 3 });
    expect(scaleTarget({ by: -3 }, 2, caps)).toEqual({ ok: true, replicas: 1 });
    expect(scaleTarget({ by: -1 }, 1, caps)).toMatchObject({ ok: false, reason: "MinReplicasReached" });
    expect(scaleTarget({ by: -1 }, 0, caps)).toMatchObject({ ok: false, reason: "MinReplicasReached", message: expect.stringContaining("below minReplicas 1") });
  });

  it("a scale with neither form is refused", () => {
    expect(scaleTarget({}, 3, caps)).toMatchObject({ ok: false });
    expect(scaleTarget(undefined, 3, caps)).toMatchObject({ ok: false });
  });
});

// The action controller's contract, modelled without I/O: scale-ups are decided
// (queued with their step) at one time and executed later, one at a time per
// target, while humans and autoscalers set replicas to anything in between. At
// execution the target is computed from the replicas read then, and judged by
// the guardrails with that same reading.
type Event = { kind: "decide"; by: number } | { kind: "outside"; replicas: number } | { kind: "execute" };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant("decide" as const), by: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ kind: fc.constant("outside" as const), replicas: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant("execute" as const) }),
);

describe("scale-up interleavings", () => {
  it("for any interleaving of scale-up actions and outside replica changes, no scale-up action lowers replicas", () => {
    let executed = 0;
    let refused = 0;
    fc.assert(
      fc.property(policySpecArb({ pausedPercent: 0 }), fc.integer({ min: 0, max: 20 }), fc.array(eventArb, { minLength: 1, maxLength: 60 }), (spec, start, events) => {
        // Rate windows and cooldowns are other properties' business; here only the caps may stop an action.
        const policy = { ...effectivePolicy([{ metadata: { namespace: "ns", name: "p" }, spec }]), allowedActions: ["scale" as const] };
        policy.cooldownSeconds = { ...policy.cooldownSeconds, scale: 0 };
        policy.rateLimits = { maxActionsPerHour: 10_000, maxScaleIncreasePer15Minutes: 1_000 };
        policy.replicas = { ...policy.replicas, maxStep: 1_000 };
        let replicas = start;
        const queue: number[] = [];
        for (const e of events) {
          if (e.kind === "decide") queue.push(e.by);
          else if (e.kind === "outside") replicas = e.replicas;
          else {
            const by = queue.shift();
            if (by === undefined) continue;
            const d = evaluateGuardrails({ action: { name: "a", namespace: "ns", type: "scale", scale: { by } }, target: { exists: true, replicas }, history: [], policy, now: 0 });
            if (d.verdict === "block") {
              refused++;
              continue;
            }
            if (d.verdict !== "allow") throw new Error(`a scale is never unchanged: ${d.message}`);
            expect(d.replicas!, `by ${by} from ${replicas} under ${JSON.stringify(policy.replicas)}`).toBeGreaterThan(replicas);
            expect(d.replicas!).toBeLessThanOrEqual(policy.replicas.max);
            executed++;
            replicas = d.replicas!;
          }
        }
      }),
      { numRuns: 2000 },
    );
    // Both outcomes must occur for the property to say anything.
    expect(executed).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });
});
