import { describe, expect, it } from "vitest";
import { getCondition, setCondition } from "./conditions.ts";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:05:00Z");

describe("setCondition", () => {
  it("adds a condition with the current time", () => {
    const out = setCondition(undefined, { type: "Ready", status: "False", reason: "Pending", message: "m" }, t0);
    expect(out).toEqual([{ type: "Ready", status: "False", reason: "Pending", message: "m", lastTransitionTime: t0.toISOString() }]);
  });

  it("keeps lastTransitionTime when only the reason or message changes", () => {
    const a = setCondition(undefined, { type: "Ready", status: "False", reason: "A", message: "a" }, t0);
    const b = setCondition(a, { type: "Ready", status: "False", reason: "B", message: "b", observedGeneration: 2 }, t1);
    expect(getCondition(b, "Ready")).toMatchObject({ reason: "B", lastTransitionTime: t0.toISOString(), observedGeneration: 2 });
  });

  it("moves lastTransitionTime when the status flips, and leaves other types alone", () => {
    let c = setCondition(undefined, { type: "Executed", status: "True", reason: "X", message: "" }, t0);
    c = setCondition(c, { type: "Ready", status: "False", reason: "A", message: "" }, t0);
    c = setCondition(c, { type: "Ready", status: "True", reason: "B", message: "" }, t1);
    expect(getCondition(c, "Ready")?.lastTransitionTime).toBe(t1.toISOString());
    expect(getCondition(c, "Executed")?.lastTransitionTime).toBe(t0.toISOString());
    expect(c.map((x) => x.type)).toEqual(["Executed", "Ready"]);
  });
});
