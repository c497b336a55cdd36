import { describe, expect, it } from "vitest";
import { account, parseCsv, plateau, slope, toCsv } from "./soak-stats.ts";

const series = (n: number, f: (t: number) => number, every = 30) => Array.from({ length: n }, (_, i) => ({ t: i * every, y: f(i * every) }));

describe("slope", () => {
  it("is the least-squares slope per second", () => {
    expect(slope(series(10, (t) => 5 + 2 * t))).toBeCloseTo(2, 10);
    expect(slope(series(10, () => 7))).toBe(0);
  });
  it("is NaN without two distinct times, and skips non-finite samples", () => {
    expect(slope([{ t: 0, y: 1 }])).toBeNaN();
    expect(slope([{ t: 3, y: 1 }, { t: 3, y: 2 }])).toBeNaN();
    expect(slope([{ t: 0, y: 0 }, { t: 1, y: NaN }, { t: 2, y: 4 }])).toBeCloseTo(2, 10);
  });
});

describe("plateau", () => {
  it("passes a series that rises then levels off (with a retention saw-tooth)", () => {
    // 20/s inflow, 300 s TTL: rises to ~6000 over 5 minutes, then swings ±300 each 30-s pass.
    const s = series(120, (t) => Math.min(t, 300) * 20 + (t > 300 ? ((t / 30) % 2 ? 300 : -300) : 0));
    const r = plateau(s, { maxRelativeGrowth: 0.1 });
    expect(r.pass).toBe(true);
    expect(Math.abs(r.relativeGrowth)).toBeLessThan(0.1);
  });
  it("fails a series that keeps growing in its last half", () => {
    const r = plateau(series(120, (t) => 1000 + t * 20), { maxRelativeGrowth: 0.1 });
    expect(r.pass).toBe(false);
    expect(r.relativeGrowth).toBeGreaterThan(0.5);
  });
  it("judges only the last half: early growth does not count", () => {
    const r = plateau(series(100, (t) => (t < 1500 ? t : 1500)), { maxRelativeGrowth: 0.01 });
    expect(r.n).toBe(50);
    expect(r.pass).toBe(true);
  });
  it("passes a small absolute rise under the floor, and any fall", () => {
    expect(plateau(series(20, (t) => t / 300), { maxRelativeGrowth: 0.01, absoluteFloor: 5 }).pass).toBe(true);
    expect(plateau(series(20, (t) => t / 300), { maxRelativeGrowth: 0.01 }).pass).toBe(false);
    expect(plateau(series(20, (t) => 1000 - t), { maxRelativeGrowth: 0 }).pass).toBe(true);
  });
  it("fails with too few samples to show a plateau", () => {
    expect(plateau(series(5, () => 10), { maxRelativeGrowth: 0.1 }).pass).toBe(false);
    expect(plateau([], { maxRelativeGrowth: 0.1 }).pass).toBe(false);
  });
});

describe("CSV", () => {
  it("writes a header and rows in column order, empty cells for missing or non-finite values, and parses back", () => {
    const text = toCsv(["t", "name", "v"], [{ t: 0, name: "a,b", v: 1.23456 }, { t: 30, name: 'say "hi"', v: NaN }, { t: 60 }]);
    expect(text).toBe('t,name,v\n0,"a,b",1.235\n30,"say ""hi""",\n60,,\n');
    expect(parseCsv(text)).toEqual([["t", "name", "v"], ["0", "a,b", "1.235"], ["30", 'say "hi"', ""], ["60", "", ""]]);
  });
});

describe("account", () => {
  it("counts an outcome on the signal or an audit record of its action; anything else is lost, by its last phase", () => {
    const phases = new Map([["s1", "Ignored"], ["s2", "ActionCreated"], ["s3", "ActionCreated"], ["s4", "Pending"], ["s6", "Notified"]]);
    const r = account(["s1", "s2", "s3", "s4", "s5", "s6"], phases, new Set(["s2"]));
    expect(r).toMatchObject({ accepted: 6, endedOnSignal: 2, audited: 1 });
    expect([...r.lost]).toEqual([["s3", "ActionCreated"], ["s4", "Pending"], ["s5", "unseen"]]);
  });
});
