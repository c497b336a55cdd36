import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePrefer } from "./prefer.ts";

describe("parsePrefer (RFC 7240)", () => {
  it.each([
    [undefined, { respondAsync: false, waitSeconds: undefined }],
    ["respond-async", { respondAsync: true, waitSeconds: undefined }],
    ["Respond-Async", { respondAsync: true, waitSeconds: undefined }],
    ["respond-async, wait=10", { respondAsync: true, waitSeconds: 10 }],
    ["wait=5", { respondAsync: false, waitSeconds: 5 }],
    ['wait="7"', { respondAsync: false, waitSeconds: 7 }],
    ["return=minimal; foo=bar, respond-async; x=1", { respondAsync: true, waitSeconds: undefined }],
    // The first occurrence wins; a malformed wait is ignored, not an error.
    ["wait=3, wait=100", { respondAsync: false, waitSeconds: 3 }],
    ["wait=soon", { respondAsync: false, waitSeconds: undefined }],
    ["wait=-1", { respondAsync: false, waitSeconds: undefined }],
    ["handling=strict", { respondAsync: false, waitSeconds: undefined }],
    [["wait=2", "respond-async"], { respondAsync: true, waitSeconds: 2 }],
  ] as const)("%j → %j", (header, expected) => {
    expect(parsePrefer(header as string | string[] | undefined)).toEqual(expected);
  });

  it("never throws and only ever yields a non-negative integer wait, whatever the header", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.string({ maxLength: 64 }), { maxLength: 4 })), (h) => {
        const p = parsePrefer(h);
        expect(typeof p.respondAsync).toBe("boolean");
        if (p.waitSeconds !== undefined) expect(Number.isSafeInteger(p.waitSeconds) && p.waitSeconds >= 0).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
