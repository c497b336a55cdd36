import { describe, expect, it } from "vitest";
import { RateLimiter } from "./token-bucket.ts";

describe("RateLimiter", () => {
  it("refills at the rate, up to the burst, and says when the next token comes", () => {
    let now = 0;
    const rl = new RateLimiter({ ratePerSecond: 2, burst: 2 }, () => now);
    expect([rl.take("a"), rl.take("a")].every((t) => t.allowed)).toBe(true);
    expect(rl.take("a")).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now = 500;
    expect(rl.take("a").allowed).toBe(true);
    now = 10_000;
    expect([rl.take("a"), rl.take("a"), rl.take("a")].map((t) => t.allowed)).toEqual([true, true, false]);
  });

  it("keeps at most maxKeys buckets and forgets the least recently used one first", () => {
    const rl = new RateLimiter({ ratePerSecond: 1, burst: 1 }, () => 0, 2);
    rl.take("a");
    rl.take("b");
    expect(rl.take("a").allowed).toBe(false); // a used again: now the most recent
    rl.take("c"); // full: b goes, not a
    expect(rl.take("a").allowed).toBe(false); // a's empty bucket was kept
    expect(rl.take("b").allowed).toBe(true); // b was forgotten: a fresh bucket
  });
});
