import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dnsSubdomain } from "../api/v1alpha1/meta.ts";
import { isLabelValue } from "./labels.ts";
import { actionName, fnv1a32, labelValueOf } from "./names.ts";

describe("actionName", () => {
  it("is kind, signal name and an 8-hex FNV-1a of the uid", () => {
    expect(actionName("AnomalySignal", "lat-001", "uid-1")).toBe(`anomaly-lat-001-${fnv1a32("uid-1")}`);
    expect(actionName("RcaSignal", "rca-001", "uid-1")).toMatch(/^rca-rca-001-[0-9a-f]{8}$/);
    expect(actionName("RcaSignal", "rca-001", "uid-1")).not.toBe(actionName("RcaSignal", "rca-001", "uid-2"));
  });

  it("uses the standard FNV-1a 32-bit vectors", () => {
    expect(fnv1a32("")).toBe("811c9dc5");
    expect(fnv1a32("a")).toBe("e40c292c");
    expect(fnv1a32("foobar")).toBe("bf9cf968");
  });

  it("truncates long names without leaving a trailing '-' or '.'", () => {
    const long = `${"a".repeat(235)}.b-c`;
    const name = actionName("AnomalySignal", long, "u");
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(/^anomaly-a+-[0-9a-f]{8}$/);
    expect(actionName("AnomalySignal", `${"a".repeat(235)}-bc`, "u")).toMatch(/^anomaly-a{235}-[0-9a-f]{8}$/);
  });

  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
  const signalName = fc.array(label, { minLength: 1, maxLength: 14 }).map((ls) => ls.join(".")).filter((n) => n.length <= 253);
  // Long enough to be cut, with a '-' or '.' where the cut often lands.
  const longName = fc
    .tuple(fc.integer({ min: 225, max: 245 }), fc.constantFrom("-", ".", "-.-", ".a-"), fc.integer({ min: 1, max: 30 }))
    .map(([head, sep, tail]) => `${"a".repeat(head)}${sep}${"b".repeat(tail)}`);

  it("is always a DNS-1123 subdomain of at most 253 characters, and deterministic", () => {
    fc.assert(
      fc.property(fc.constantFrom("AnomalySignal" as const, "RcaSignal" as const), fc.oneof(signalName, longName, fc.string({ maxLength: 300 })), fc.string(), (kind, name, uid) => {
        const a = actionName(kind, name, uid);
        expect(dnsSubdomain.safeParse(a).success, a).toBe(true);
        expect(a.length).toBeLessThanOrEqual(253);
        expect(actionName(kind, name, uid)).toBe(a);
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps a valid signal name whole when it fits", () => {
    fc.assert(
      fc.property(signalName.filter((n) => n.length <= 236), fc.string(), (name, uid) => {
        expect(actionName("RcaSignal", name, uid)).toBe(`rca-${name}-${fnv1a32(uid)}`);
      }),
    );
  });
});

describe("labelValueOf", () => {
  it("is a valid label value for any DNS-1123 subdomain, and the name itself when it fits", () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/);
    const name = fc.array(label, { minLength: 1, maxLength: 10 }).map((ls) => ls.join(".")).filter((n) => n.length <= 253);
    fc.assert(fc.property(name, (n) => {
      const v = labelValueOf(n);
      expect(isLabelValue(v), v).toBe(true);
      expect(n.startsWith(v)).toBe(true);
      if (n.length <= 63) expect(v).toBe(n);
    }));
    expect(labelValueOf(`${"a".repeat(62)}-b`)).toBe("a".repeat(62));
  });
});
