import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeApiError, MAX_MESSAGE_CHARS, redact, sanitizeApiError } from "./api-errors.ts";
import { DECODE_ERROR, leaks, patched, SECRET, status422 } from "./testing/leaky-status.ts";


describe("sanitizeApiError", () => {
  it("a 422 embedding the whole Deployment keeps reason, field and the decode error, and none of the object", () => {
    const safe = sanitizeApiError(422, status422);
    expect(safe).toMatchObject({ code: 422, reason: "Invalid", fields: ["patch"] });
    expect(safe.message).toContain("patch: Invalid value:");
    expect(safe.message).toContain(DECODE_ERROR);
    expect(safe.message).toMatch(/chars omitted/);
    expect(leaks(safe.message)).toEqual([]);
    expect(leaks(describeApiError(safe))).toEqual([]);
    expect(safe.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  });

  it("the same object as raw text (a body that is not a Status) is cut out too", () => {
    const safe = sanitizeApiError(500, `upstream said: ${JSON.stringify(patched)} and more`);
    expect(safe).toMatchObject({ code: 500, reason: "", fields: [] });
    expect(leaks(safe.message)).toEqual([]);
    expect(safe.message).toContain("upstream said:");
  });

  it("a message cut mid-object (unterminated quote or brace) drops the rest", () => {
    const text = JSON.stringify(patched);
    // %q-quoted (inner quotes escaped) and cut before its closing quote.
    expect(leaks(redact(`Invalid value: ${JSON.stringify(text).slice(0, 120)}`))).toEqual([]);
    expect(leaks(redact(`Invalid value: ${text.slice(0, 200)}`))).toEqual([]);
  });

  it("Go map and struct dumps never pass, however short", () => {
    const out = redact(`Invalid value: map[string]interface {}{"password":"${SECRET}"}: bad; &Deployment{Spec:{Password:${SECRET}}}`);
    expect(out).not.toContain(SECRET);
    expect(out).toContain("Invalid value: map[string]interface {<");
  });

  it("ordinary messages stay as they are", () => {
    const conflict = "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again";
    expect(sanitizeApiError(409, { kind: "Status", code: 409, reason: "Conflict", message: conflict })).toEqual({ code: 409, reason: "Conflict", fields: [], message: conflict });
    const invalid = "Deployment.apps \"web\" is invalid: spec.template.spec.containers[0].image: Required value";
    expect(sanitizeApiError(422, { reason: "Invalid", message: invalid, details: { causes: [{ field: "spec.template.spec.containers[0].image" }] } }))
      .toEqual({ code: 422, reason: "Invalid", fields: ["spec.template.spec.containers[0].image"], message: invalid });
  });

  it("bounds the message, drops reasons and fields that are not plain names, and flattens control characters", () => {
    const safe = sanitizeApiError(400, {
      reason: "Bad Request\ninjected",
      message: `line one\nline two ${"x".repeat(1000)}`,
      details: { causes: [{ field: "metadata.annotations" }, { field: `patch\n${SECRET}` }, { field: "a".repeat(500) }, { field: 42 }] },
    });
    expect(safe.reason).toBe("");
    expect(safe.fields).toEqual(["metadata.annotations"]);
    expect(safe.message.startsWith("line one line two x")).toBe(true);
    expect(safe.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  });

  it("the Status code wins over the HTTP status only when it is a positive integer", () => {
    expect(sanitizeApiError(500, { code: 410, reason: "Expired", message: "too old" }).code).toBe(410);
    expect(sanitizeApiError(503, { code: "oops" }).code).toBe(503);
    expect(sanitizeApiError(503, null)).toEqual({ code: 503, reason: "", fields: [], message: "" });
  });

  it("property: a secret anywhere in an object embedded in the message, quoted or not, never comes out", () => {
    const secretArb = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/).map((s) => `Zq${s}`);
    const objArb = fc.tuple(fc.jsonValue({ maxDepth: 4 }), secretArb, fc.array(fc.constantFrom("spec", "template", "env", "0", "value"), { maxLength: 5 }))
      .map(([noise, secret, path]) => {
        let o: unknown = { value: secret };
        for (const k of path) o = { [k]: o };
        return { obj: { noise, data: o }, secret };
      });
    const wrap = fc.constantFrom(
      (j: string) => ` "" is invalid: patch: Invalid value: ${JSON.stringify(j)}: json: cannot unmarshal`,
      (j: string) => `Invalid value: ${j}`,
      (j: string) => `error: ${j.slice(0, Math.max(1, Math.floor(j.length / 2)))}`,
      (j: string) => `map[string]interface {}${j}: bad`,
    );
    fc.assert(fc.property(objArb, wrap, fc.string({ maxLength: 40 }), ({ obj, secret }, w, prefix) => {
      const safe = sanitizeApiError(422, { reason: "Invalid", message: prefix.replace(/[{["`]/g, "") + w(JSON.stringify(obj)) });
      expect(safe.message).not.toContain(secret);
      expect(safe.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    }));
  });
});
