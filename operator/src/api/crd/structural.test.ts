import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { KINDS } from "../v1alpha1/kinds.ts";
import { openApiSchema } from "./crd.ts";
import { type JsonSchema, StructuralSchemaError, toJsonSchema, toStructural } from "./structural.ts";

const structural = (s: z.ZodType) => toStructural(toJsonSchema(s));

describe("toStructural refuses what a CRD cannot hold", () => {
  it.each([
    ["an unbounded string", z.object({ a: z.string() }), ".a: string has no maxLength"],
    ["an unbounded list", z.object({ a: z.array(z.string().max(3)) }), ".a: list has no maxItems"],
    ["an unbounded map", z.object({ a: z.record(z.string(), z.string().max(3)) }), ".a: map has no maxProperties"],
    ["a nullable field", z.object({ a: z.string().max(3).nullable() }), ".a: nullable fields are not supported"],
    ["a union", z.object({ a: z.union([z.string().max(3), z.number()]) }), `.a: keyword "anyOf" is not allowed`],
    ["an untyped value", z.object({ a: z.unknown() }), ".a: has no type"],
    ["a lookahead pattern", z.object({ a: z.string().max(9).regex(/^(?=a)a$/) }), "is not RE2-safe"],
    ["a backreference", z.object({ a: z.string().max(9).regex(/^(a)\1$/) }), "is not RE2-safe"],
    ["a tuple", z.object({ a: z.tuple([z.string().max(1)]) }), ""],
  ])("%s", (_what, schema, message) => {
    expect(() => structural(schema)).toThrow(StructuralSchemaError);
    if (message) expect(() => structural(schema)).toThrow(message);
  });

  it("names the path of the offending field", () => {
    expect(() => structural(z.object({ outer: z.object({ inner: z.array(z.object({ leaf: z.string() })).max(2) }) }))).toThrow(
      ".outer.inner[].leaf: string has no maxLength",
    );
  });
});

describe("toStructural normalises what zod writes", () => {
  it("drops additionalProperties:false beside properties (the API server prunes unknown fields)", () => {
    const out = structural(z.object({ a: z.string().max(3) }).strict());
    expect(out).not.toHaveProperty("additionalProperties");
    expect(out.properties).toEqual({ a: { type: "string", maxLength: 3 } });
  });

  it("keeps free-form fields as preserve-unknown-fields objects with no value schema", () => {
    const out = structural(z.object({ m: z.record(z.string(), z.unknown()).meta({ type: "object", "x-kubernetes-preserve-unknown-fields": true }) }));
    expect((out.properties as JsonSchema).m).toEqual({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
  });

  it("uses the date-time format instead of zod's long pattern", () => {
    const out = structural(z.object({ t: z.iso.datetime() }));
    expect((out.properties as JsonSchema).t).toEqual({ type: "string", format: "date-time" });
  });

  it("gives integers a format and drops zod's implicit range bounds", () => {
    const out = structural(z.object({ a: z.int(), b: z.int32().min(0), c: z.int().min(0).max(5) }));
    const p = out.properties as Record<string, JsonSchema>;
    expect(p.a).toEqual({ type: "integer", format: "int64" });
    expect(p.b).toEqual({ type: "integer", minimum: 0, format: "int32" });
    expect(p.c).toEqual({ type: "integer", minimum: 0, maximum: 5, format: "int32" });
  });

  it("carries CEL rules and list-map markers through", () => {
    const rules = [{ rule: "self.a <= 3", message: "m" }];
    const out = structural(z.object({ a: z.int32() }).meta({ "x-kubernetes-validations": rules }));
    expect(out["x-kubernetes-validations"]).toEqual(rules);
  });

  it("accepts any bounded string schema zod can write and keeps its bounds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 500 }), (min, extra) => {
        const out = structural(z.object({ s: z.string().min(min).max(min + extra) }));
        const s = (out.properties as Record<string, JsonSchema>).s;
        expect(s?.maxLength).toBe(min + extra);
        expect(s?.minLength ?? 0).toBe(min);
      }),
    );
  });
});

/** Every node of the generated schemas, with its path. */
function* nodes(schema: JsonSchema, path = ""): Generator<[string, JsonSchema]> {
  yield [path, schema];
  for (const [name, sub] of Object.entries((schema.properties as Record<string, JsonSchema>) ?? {})) yield* nodes(sub, `${path}.${name}`);
  if (schema.items) yield* nodes(schema.items as JsonSchema, `${path}[]`);
  if (typeof schema.additionalProperties === "object") yield* nodes(schema.additionalProperties as JsonSchema, `${path}[*]`);
}

describe.each(KINDS.map((k) => [k.kind, k] as const))("the generated %s schema", (_kind, def) => {
  const schema = openApiSchema(def);

  it("is structural: typed nodes, no refs, no combinators, no properties beside additionalProperties", () => {
    for (const [path, node] of nodes(schema)) {
      const typed = node.type !== undefined || node["x-kubernetes-preserve-unknown-fields"] === true;
      expect(typed, `${path} has no type`).toBe(true);
      for (const k of ["$ref", "anyOf", "oneOf", "allOf", "not", "definitions", "$defs", "nullable"]) expect(node, path).not.toHaveProperty(k);
      if (node.properties) expect(node.additionalProperties, path).toBeUndefined();
    }
  });

  it("bounds every string, list and map under spec and status (CEL cost estimation)", () => {
    for (const [path, node] of nodes(schema)) {
      if (!path.startsWith(".spec") && !path.startsWith(".status")) continue;
      if (node.type === "string") expect(node.maxLength ?? node.enum ?? node.format, `${path} unbounded`).toBeDefined();
      if (node.type === "array") expect(node.maxItems, `${path} unbounded`).toBeDefined();
      if (node.type === "object" && node.additionalProperties) expect(node.maxProperties, `${path} unbounded`).toBeDefined();
    }
  });

  it("has a description on every spec and status field (kubectl explain)", () => {
    for (const [path, node] of nodes(schema)) {
      if (!/^\.(spec|status)\.[^[]+$/.test(path) || path.includes("[")) continue;
      if (/\.(observed|dryRunResult|verification\.message|fromReplicas|toReplicas|desiredReplicas|updatedReplicas|readyReplicas|availableReplicas)$/.test(path)) continue;
      expect(node.description, `${path} has no description`).toBeTruthy();
    }
  });

  it("preserves unknown fields only in values of bounded scalar maps, which hold no object or list", () => {
    // Free-form JSON has no depth bound, and an object nested deeper than the API
    // server can read back breaks LIST and WATCH of the whole kind.
    const all = [...nodes(schema)];
    for (const [path, node] of all.filter(([, n]) => n["x-kubernetes-preserve-unknown-fields"] === true)) {
      expect(path, `${path} preserves unknown fields outside a map value`).toMatch(/\[\*\]$/);
      expect(all.find(([p]) => p === path.slice(0, -3))?.[1].maxProperties, `${path}: map unbounded`).toBeDefined();
      expect(node, path).toMatchObject({ maxProperties: 0, maxItems: 0, maxLength: expect.any(Number) });
    }
  });

  it("keys conditions by type as a list-map", () => {
    const conditions = [...nodes(schema)].find(([p]) => p === ".status.conditions")?.[1];
    expect(conditions?.["x-kubernetes-list-type"]).toBe("map");
    expect(conditions?.["x-kubernetes-list-map-keys"]).toEqual(["type"]);
  });
});
