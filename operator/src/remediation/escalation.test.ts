import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LADDER } from "../api/v1alpha1/guardrail-policy.ts";
import { type CompletedAction, failuresInARow, nextStep, type Outcome, repeatedFailures, RESUME_ANNOTATION, resumedAt, stepOfType } from "./escalation.ts";
import { ladderArb } from "./testing/arbitraries.ts";

const T = Date.parse("2026-05-01T00:00:00Z");
const ladder = [...DEFAULT_LADDER];
const done = (name: string, minutes: number, outcome: Outcome): CompletedAction => ({ name, completedAt: T + minutes * 60_000, outcome });

describe("nextStep: the ladder", () => {
  it("takes the rule's action when there is no previous action or it worked", () => {
    expect(nextStep("restart", ladder, undefined)).toMatchObject({ kind: "act", step: "restart" });
    expect(nextStep("restart", ladder, { name: "a", type: "restart", outcome: "effective" })).toMatchObject({ kind: "act", step: "restart" });
    expect(nextStep("restart", ladder, { name: "a", type: "restart", outcome: "pending" })).not.toHaveProperty("escalatedFrom");
  });

  it("restart that did not work → scale-up → notify", () => {
    const up = nextStep("restart", ladder, { name: "a", type: "restart", outcome: "ineffective" });
    expect(up).toMatchObject({ kind: "act", step: "scale-up", index: 1, escalatedFrom: "a" });
    const told = nextStep("restart", ladder, { name: "b", type: "scale", outcome: "failed", step: 1 });
    expect(told).toMatchObject({ kind: "notify", escalatedFrom: "b" });
  });

  it("past the end of a ladder without notify, a human is told", () => {
    expect(nextStep("restart", ["restart", "scale-up"], { name: "b", type: "scale", outcome: "ineffective" })).toMatchObject({ kind: "notify" });
  });

  it("a previous action off the ladder starts the ladder at a step other than its own", () => {
    expect(nextStep("delete-pod", ladder, { name: "p", type: "delete-pod", outcome: "ineffective" })).toMatchObject({ kind: "act", step: "restart", index: 0 });
    expect(nextStep("restart", ["scale-up", "notify"], { name: "p", type: "scale", outcome: "failed" })).toMatchObject({ kind: "notify" });
  });

  it("property: an escalation never repeats the step that did not work, and always names the previous action", () => {
    fc.assert(fc.property(
      ladderArb,
      fc.constantFrom("scale" as const, "restart" as const, "delete-pod" as const),
      fc.constantFrom("failed" as const, "ineffective" as const),
      fc.constantFrom("restart" as const, "scale-up" as const, "delete-pod" as const),
      (l, type, outcome, rule) => {
        const d = nextStep(rule, l, { name: "prev", type, outcome });
        expect(d.escalatedFrom).toBe("prev");
        if (d.kind === "act") {
          expect(d.step).toBe(l[d.index]);
          expect(d.step).not.toBe("notify");
          const prevIndex = l.indexOf(stepOfType(type)!);
          expect(d.index).toBeGreaterThan(prevIndex >= 0 ? prevIndex : -1);
          if (prevIndex < 0) expect(d.step).not.toBe(stepOfType(type));
        }
      },
    ));
  });
});

describe("repeatedFailures: the block", () => {
  const limit = { maxConsecutiveFailures: 3, now: T + 3600_000 };

  it("blocks after three failed or ineffective actions in a row, naming them and the resume annotation", () => {
    const d = repeatedFailures({ ...limit, completed: [done("a", 1, "failed"), done("b", 2, "ineffective"), done("c", 3, "failed")] });
    expect(d).toMatchObject({ blocked: true, failures: ["c", "b", "a"] });
    expect(d.blocked && d.message).toContain(RESUME_ANNOTATION);
  });

  it("an effective action ends the run; one still in its window neither counts nor ends it", () => {
    expect(repeatedFailures({ ...limit, completed: [done("a", 1, "failed"), done("ok", 2, "effective"), done("b", 3, "failed"), done("c", 4, "failed")] })).toEqual({ blocked: false });
    expect(repeatedFailures({ ...limit, completed: [done("a", 1, "failed"), done("b", 2, "failed"), done("p", 3, "pending"), done("c", 4, "failed")] })).toMatchObject({ blocked: true });
  });

  it("a resume forgives the failures completed before it; new ones count again", () => {
    const failed = [done("a", 1, "failed"), done("b", 2, "failed"), done("c", 3, "failed")];
    expect(repeatedFailures({ ...limit, completed: failed, resumedAt: T + 3 * 60_000 })).toEqual({ blocked: false });
    expect(repeatedFailures({ ...limit, completed: [...failed, done("d", 5, "failed"), done("e", 6, "failed"), done("f", 7, "failed")], resumedAt: T + 4 * 60_000 })).toMatchObject({ blocked: true, failures: ["f", "e", "d"] });
  });

  it("the optional expiry lifts the block that long after the last failure", () => {
    const completed = [done("a", 1, "failed"), done("b", 2, "failed"), done("c", 3, "failed")];
    expect(repeatedFailures({ ...limit, completed, blockExpirySeconds: 600, now: T + 3 * 60_000 + 599_000 })).toMatchObject({ blocked: true });
    expect(repeatedFailures({ ...limit, completed, blockExpirySeconds: 600, now: T + 3 * 60_000 + 600_000 })).toEqual({ blocked: false });
  });

  it("property: blocked exactly when the newest run of failures (pending skipped, resume respected) reaches the limit", () => {
    const outcome = fc.constantFrom<Outcome>("failed", "ineffective", "effective", "pending");
    fc.assert(fc.property(fc.array(outcome, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }), (outcomes, max, resumeAfter) => {
      const completed = outcomes.map((o, i) => done(`a${i}`, i, o));
      const resume = resumeAfter === undefined ? undefined : T + resumeAfter * 60_000 - 1;
      let run = 0;
      for (let i = outcomes.length - 1; i >= 0; i--) {
        if (resume !== undefined && completed[i]!.completedAt <= resume) break;
        if (outcomes[i] === "effective") break;
        if (outcomes[i] !== "pending") run++;
      }
      expect(failuresInARow(completed, resume)).toHaveLength(run);
      expect(repeatedFailures({ completed, maxConsecutiveFailures: max, now: T + 3600_000, ...(resume !== undefined ? { resumedAt: resume } : {}) }).blocked).toBe(run >= max);
    }));
  });

  it("reads the resume annotation; ignores one that is not a time", () => {
    expect(resumedAt({ [RESUME_ANNOTATION]: "2026-05-01T00:10:00Z" })).toBe(T + 600_000);
    expect(resumedAt({ [RESUME_ANNOTATION]: "yes" })).toBeUndefined();
    expect(resumedAt(undefined)).toBeUndefined();
  });
});
