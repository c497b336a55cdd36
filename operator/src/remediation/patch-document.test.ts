import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkPatchValue,
  inspectValue,
  PATCH_MAX_DEPTH,
  PATCH_TEXT_MAX_LENGTH,
  parsePatch,
  parsePatchText,
  patchToText,
  textDepth,
} from "./patch-document.ts";

const nested = (depth: number, leaf = "1") => `${'{"a":'.repeat(depth - 1)}{"a":${leaf}}${"}".repeat(depth - 1)}`;
const problem = (r: { ok: boolean; problem?: { field: string; message: string } }) => (r.ok ? undefined : r.problem);

// JSON values (no -0: JSON has none); depth 0 for scalars, 1 for {} or [].
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0));
const scalar = fc.oneof(fc.integer(), finite, fc.string(), fc.boolean(), fc.constant(null));
const { json } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, fc.array(tie("json"), { maxLength: 3 }), fc.dictionary(fc.string(), tie("json"), { maxKeys: 3 })),
}));
const depthOf = (v: unknown): number =>
  v === null || typeof v !== "object" ? 0 : 1 + Math.max(0, ...(Array.isArray(v) ? v : Object.values(v)).map(depthOf));

describe("textDepth and inspectValue", () => {
  it("agree with the nesting of any JSON value, strings with brackets and escapes included", () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(textDepth(JSON.stringify(v))).toBe(depthOf(v));
        expect(inspectValue(v).depth).toBe(depthOf(v));
      }),
    );
    expect(textDepth(JSON.stringify({ s: '"{[\\"}' }))).toBe(1);
  });

  it("stop early on hostile depth without overflowing the stack", () => {
    expect(textDepth("[".repeat(1_000_000), PATCH_MAX_DEPTH)).toBe(PATCH_MAX_DEPTH + 1);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(inspectValue(deep, PATCH_MAX_DEPTH).depth).toBe(PATCH_MAX_DEPTH + 1);
    expect(inspectValue(deep).depth).toBe(100_000);
  });
});

describe("parsePatchText", () => {
  it("accepts any object nested up to the limit and returns exactly the document", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json, { maxKeys: 4 }), (doc) => {
        const r = parsePatchText("merge", JSON.stringify(doc), "spec.patch.merge");
        if (depthOf(doc) <= PATCH_MAX_DEPTH) expect(r).toEqual({ ok: true, value: { merge: doc } });
        else expect(r.ok).toBe(false);
      }),
    );
    expect(parsePatchText("strategic", nested(PATCH_MAX_DEPTH), "f")).toMatchObject({ ok: true });
  });

  it("refuses depth beyond the limit, also 9,990 deep, naming the field", () => {
    for (const depth of [PATCH_MAX_DEPTH + 1, 1000]) {
      expect(problem(parsePatchText("merge", nested(depth), "spec.patch.merge"))).toEqual({
        field: "spec.patch.merge",
        message: `nests objects and lists more than ${PATCH_MAX_DEPTH} levels deep`,
      });
    }
    // Within the length limit, brackets alone nest deepest.
    expect(problem(parsePatchText("json", "[".repeat(9_990) + "]".repeat(9_990), "spec.patch.json"))?.message).toContain("characters");
    expect(problem(parsePatchText("json", "[".repeat(8_000) + "]".repeat(8_000), "spec.patch.json"))?.message).toContain("levels deep");
  });

  it("refuses numbers JSON cannot carry (1e309 would reach the API server as null, a delete), with where", () => {
    expect(problem(parsePatchText("merge", '{"spec":{"replicas":1e309}}', "spec.patch.merge"))).toEqual({
      field: "spec.patch.merge",
      message: "holds a number JSON cannot represent at /spec/replicas (infinite or out of range, e.g. 1e309)",
    });
    expect(problem(parsePatchText("json", '[{"op":"add","path":"/x","value":[-1e400]}]', "spec.patch.json"))?.message).toContain("/0/value/0");
    expect(problem(parsePatchText("merge", '{"spec":{"replicas":9007199254740993}}', "spec.patch.merge"))?.message).toContain("9007199254740993");
    expect(parsePatchText("merge", '{"a":1e300,"b":-0.5,"c":9007199254740991}', "f")).toMatchObject({ ok: true });
  });

  it("refuses text over the length limit, invalid JSON and the wrong top-level type", () => {
    const long = JSON.stringify({ a: "x".repeat(PATCH_TEXT_MAX_LENGTH) });
    expect(problem(parsePatchText("merge", long, "f"))?.message).toBe(`is ${long.length} characters; at most ${PATCH_TEXT_MAX_LENGTH}`);
    expect(problem(parsePatchText("merge", "{spec:1}", "f"))?.message).toMatch(/^is not valid JSON/);
    expect(problem(parsePatchText("merge", '{"a":1} x', "f"))?.message).toMatch(/^is not valid JSON/);
    for (const text of ["[]", '"x"', "3", "null", "true"]) {
      expect(problem(parsePatchText("merge", text, "spec.patch.merge"))).toMatchObject({ field: "spec.patch.merge", message: expect.stringContaining("must be a JSON object") });
      expect(problem(parsePatchText("strategic", text, "spec.patch.strategic"))?.message).toContain("must be a JSON object");
    }
    expect(problem(parsePatchText("json", '{"op":"add"}', "spec.patch.json"))?.message).toBe("must be a JSON list of RFC 6902 operations");
    expect(problem(parsePatchText("merge", { spec: {} }, "spec.patch.merge"))?.message).toBe("must be JSON text (a string)");
  });

  it("checks each RFC 6902 operation as the API server would, naming the operation's field", () => {
    expect(problem(parsePatchText("json", "[]", "spec.patch.json"))).toEqual({ field: "spec.patch.json", message: "must hold at least one operation" });
    expect(problem(parsePatchText("json", '[{"op":"move","path":"/a"}]', "spec.patch.json"))).toEqual({ field: "spec.patch.json[0].from", message: "from is required for move and copy" });
    expect(problem(parsePatchText("json", '[{"op":"add","path":"/a","value":1},{"op":"explode","path":"/a"}]', "spec.patch.json"))?.field).toBe("spec.patch.json[1].op");
    expect(problem(parsePatchText("json", '[{"op":"add","path":"a"}]', "spec.patch.json"))?.field).toBe("spec.patch.json[0].path");
    expect(problem(parsePatchText("json", '[{"op":"add","path":"/a","extra":1}]', "spec.patch.json"))?.field).toBe("spec.patch.json[0]");
    const many = JSON.stringify(Array.from({ length: 33 }, () => ({ op: "remove", path: "/a" })));
    expect(problem(parsePatchText("json", many, "spec.patch.json"))?.message).toBe("must hold at most 32 operations");
    expect(parsePatchText("json", '[{"op":"copy","from":"/a","path":"/b"},{"op":"test","path":"/b","value":{"x":[1]}}]', "f")).toEqual({
      ok: true,
      value: { json: [{ op: "copy", from: "/a", path: "/b" }, { op: "test", path: "/b", value: { x: [1] } }] },
    });
  });
});

describe("parsePatch: the stored patch", () => {
  it("needs exactly one of merge, strategic and json", () => {
    expect(problem(parsePatch({}))).toEqual({ field: "spec.patch", message: "exactly one of merge, strategic or json must be set" });
    expect(problem(parsePatch({ merge: "{}", json: "[]" }))?.message).toBe("exactly one of merge, strategic or json must be set");
    expect(problem(parsePatch(undefined))?.field).toBe("spec.patch");
    expect(problem(parsePatch({ strategic: "[1]" }))?.field).toBe("spec.patch.strategic");
  });
});

describe("patchToText: a posted document becomes the stored text", () => {
  it("round-trips through parsePatch for every document within the limits", () => {
    const doc = fc.oneof(
      fc.dictionary(fc.string(), json, { maxKeys: 4 }).map((merge) => ({ merge })),
      fc.dictionary(fc.string(), json, { maxKeys: 4 }).map((strategic) => ({ strategic })),
      fc.array(fc.record({ op: fc.constantFrom("add" as const, "replace" as const, "test" as const), path: fc.constantFrom("/spec/replicas", "/metadata/labels/a"), value: json }), { minLength: 1, maxLength: 4 }).map((ops) => ({ json: ops })),
    );
    fc.assert(
      fc.property(doc, (d) => {
        const text = patchToText(d, "patch");
        if (!text.ok) {
          expect(depthOf(Object.values(d)[0]) > PATCH_MAX_DEPTH || JSON.stringify(Object.values(d)[0]).length > PATCH_TEXT_MAX_LENGTH).toBe(true);
          return;
        }
        expect(parsePatch(text.value)).toEqual({ ok: true, value: d });
      }),
    );
  });

  it("refuses what the parser would refuse, before it is stored", () => {
    expect(problem(patchToText({ merge: { spec: { replicas: Infinity } } }, "patch"))).toEqual({
      field: "patch",
      message: "holds a number JSON cannot represent at /spec/replicas (infinite or out of range, e.g. 1e309)",
    });
    expect(problem(patchToText({ merge: JSON.parse(nested(PATCH_MAX_DEPTH + 1)) as Record<string, unknown> }, "patch"))?.message).toContain("levels deep");
    expect(problem(patchToText({ merge: { a: "x".repeat(PATCH_TEXT_MAX_LENGTH) } }, "patch"))?.message).toContain(`at most ${PATCH_TEXT_MAX_LENGTH}`);
    expect(problem(patchToText({ merge: {}, json: [] }, "patch"))?.message).toBe("exactly one of merge, strategic or json must be set");
    expect(checkPatchValue("merge", [], "patch").ok).toBe(false);
  });
});
