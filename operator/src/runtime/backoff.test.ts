import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay, jittered } from "./backoff.ts";

describe("backoffDelay", () => {
  it("doubles from the initial delay up to the cap, exactly when jitter is 0", () => {
    const o = { initialMs: 5, maxMs: 100, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, o))).toEqual([5, 10, 20, 40, 80, 100, 100]);
    expect(backoffDelay(5000, o)).toBe(100);
    expect(backoffDelay(0, o)).toBe(5);
    expect(backoffDelay(3, { initialMs: 5000, maxMs: Number.POSITIVE_INFINITY, jitter: 0 })).toBe(20_000);
    expect(backoffDelay(2, { initialMs: 100, maxMs: 10_000, factor: 3, jitter: 0 })).toBe(300);
  });

  it("jitter only shortens, by at most its fraction, and never grows with a later attempt past the cap", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const o = { initialMs: 500, maxMs: 30_000 };
      const exact = backoffDelay(attempt, { ...o, jitter: 0 });
      const d = backoffDelay(attempt, o, () => r);
      expect(d).toBeLessThanOrEqual(exact);
      expect(d).toBeGreaterThanOrEqual(Math.floor(exact * 0.8));
      expect(d).toBeLessThanOrEqual(30_000);
    }));
  });
});

describe("jittered", () => {
  it("only lengthens, by at most its fraction", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (ms, fraction, r) => {
      const d = jittered(ms, fraction, () => r);
      expect(d).toBeGreaterThanOrEqual(ms);
      expect(d).toBeLessThanOrEqual(ms * (1 + fraction));
    }));
    expect(jittered(2000, 0.2, () => 0.5)).toBe(2200);
  });
});
