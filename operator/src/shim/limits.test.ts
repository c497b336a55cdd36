import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonDepthExceeded } from "./body.ts";
import { addressKey, InFlight } from "./limits.ts";

/** Depth as JSON.parse sees it: the reference the one-pass scanner must agree with. */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== "object") return 0;
  const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe("jsonDepthExceeded", () => {
  it("agrees with the parsed depth for any JSON, brackets and escaped quotes inside strings included", () => {
    const strings = fc.oneof(fc.string(), fc.constantFrom("[[[", "{{", '\\"[', '"', "\\", "]}"));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, strings, fc.integer(), fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(strings, tie("node"), { maxKeys: 3 })),
    })).node;
    fc.assert(fc.property(value, fc.integer({ min: 0, max: 6 }), (v, max) => {
      const text = JSON.stringify(v);
      expect(jsonDepthExceeded(text, max) === undefined).toBe(depthOf(v) <= max);
    }), { numRuns: 2000 });
  });

  it("points at the first bracket past the limit", () => {
    expect(jsonDepthExceeded('{"a":{"b":[1]}}', 2)).toBe(10);
    expect(jsonDepthExceeded('{"a":"{{{{{{"}', 1)).toBeUndefined();
  });
});

describe("addressKey", () => {
  it("keeps IPv4, unwraps IPv4-mapped IPv6, and groups IPv6 by /64", () => {
    expect(addressKey("10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(addressKey("2001:db8:0:1::5")).toBe("2001:db8:0:1::/64");
    expect(addressKey("2001:0db8:0000:0001:ffff:1:2:3")).toBe(addressKey("2001:db8:0:1::9"));
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey(undefined)).toBe("unknown");
  });
});

describe("InFlight", () => {
  it("refuses past the per-key and total bounds and gives slots back once", () => {
    const f = new InFlight(3, 2);
    const a1 = f.enter("a");
    const a2 = f.enter("a");
    expect(f.enter("a")).toBeUndefined();
    a1!();
    a1!();
    expect(f.enter("a")).toBeDefined();
    a2!();
    const t = [f.enterTotal(), f.enterTotal(), f.enterTotal()];
    expect(f.enterTotal()).toBeUndefined();
    t[0]!();
    t[0]!();
    expect(f.total).toBe(2);
    expect(f.enterTotal()).toBeDefined();
  });
});
