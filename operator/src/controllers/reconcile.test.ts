import { describe, expect, it } from "vitest";
import { KubeApiError } from "../k8s/errors.ts";
import { isTransient, NotLeaderError } from "./reconcile.ts";

describe("isTransient", () => {
  it("API outages, throttling, conflicts and a lost lease are retried; anything else counts against the object", () => {
    for (const code of [0, 409, 429, 500, 503]) expect(isTransient(new KubeApiError("op", code, "")), String(code)).toBe(true);
    expect(isTransient(new NotLeaderError())).toBe(true);
    for (const code of [400, 403, 404, 422]) expect(isTransient(new KubeApiError("op", code, "")), String(code)).toBe(false);
    expect(isTransient(new RangeError("Maximum call stack size exceeded"))).toBe(false);
    expect(isTransient(new Error("boom"))).toBe(false);
    expect(isTransient("a string")).toBe(false);
    expect(isTransient(undefined)).toBe(false);
  });
});
