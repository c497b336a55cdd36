// Turns a zod schema into a Kubernetes structural OpenAPI v3 schema and checks
// the rules the API server (and CEL cost estimation) hold it to. Anything the
// conversion cannot express fails the generator with the path of the field.
import { z } from "zod";

export type JsonSchema = { [key: string]: unknown };

/** Keywords a CRD's openAPIV3Schema may carry (apiextensions/v1 JSONSchemaProps). */
const ALLOWED_KEYWORDS = new Set([
  "type", "format", "description", "properties", "required", "items", "additionalProperties",
  "enum", "default", "nullable", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
  "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "minProperties",
  "maxProperties", "multipleOf", "x-kubernetes-validations", "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
  "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
]);

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/** Lookarounds and backreferences: not supported by RE2, which the API server uses. */
const NON_RE2 = /\(\?[=!<]|\(\?<[=!]|\\[1-9]|\\k</;

export class StructuralSchemaError extends Error {
  constructor(path: string, problem: string) {
    super(`${path || "<root>"}: ${problem}`);
    this.name = "StructuralSchemaError";
  }
}

/** zod → JSON Schema (OpenAPI 3.0 flavour) describing what a user may write. */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io: "input",
    unrepresentable: "throw",
    cycles: "throw",
    reused: "inline",
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

/**
 * Normalise a JSON Schema into a structural one, in place rules:
 * - no $ref/definitions, no anyOf/oneOf/allOf/not (the structural subset we use);
 * - additionalProperties only as a map's value schema, never beside properties;
 * - every node has a type unless it preserves unknown fields;
 * - patterns RE2-safe; zod's own date-time pattern dropped in favour of format;
 * - every string, list and map bounded, so CEL cost estimation passes.
 */
export function toStructural(schema: JsonSchema, path = ""): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "propertyNames") continue; // map key constraints: not expressible in a CRD
    if (!ALLOWED_KEYWORDS.has(key)) throw new StructuralSchemaError(path, `keyword "${key}" is not allowed in a structural schema`);
    out[key] = value;
  }

  const preserve = out["x-kubernetes-preserve-unknown-fields"] === true;
  if (out.type === undefined && !preserve && out["x-kubernetes-int-or-string"] !== true) {
    throw new StructuralSchemaError(path, "has no type (add one, or mark it x-kubernetes-preserve-unknown-fields)");
  }

  if (out.properties !== undefined) {
    if (out.additionalProperties === false) delete out.additionalProperties;
    if (out.additionalProperties !== undefined) {
      throw new StructuralSchemaError(path, "additionalProperties beside properties is not structural");
    }
    const props: JsonSchema = {};
    for (const [name, sub] of Object.entries(out.properties as Record<string, JsonSchema>)) {
      props[name] = toStructural(sub, `${path}.${name}`);
    }
    out.properties = props;
  } else if (out.additionalProperties === false) {
    delete out.additionalProperties;
  }

  if (typeof out.additionalProperties === "object" && out.additionalProperties !== null) {
    if (preserve) {
      delete out.additionalProperties; // free-form: values are not schema-checked
    } else {
      out.additionalProperties = toStructural(out.additionalProperties as JsonSchema, `${path}[*]`);
      if (out.maxProperties === undefined) throw new StructuralSchemaError(path, "map has no maxProperties");
    }
  }

  if (out.items !== undefined) {
    if (Array.isArray(out.items)) throw new StructuralSchemaError(path, "tuple items are not structural");
    out.items = toStructural(out.items as JsonSchema, `${path}[]`);
    if (out.maxItems === undefined) throw new StructuralSchemaError(path, "list has no maxItems");
  }

  if (out.type === "integer") {
    if (SAFE_INTEGER_BOUNDS.has(out.minimum as number)) delete out.minimum;
    if (SAFE_INTEGER_BOUNDS.has(out.maximum as number)) delete out.maximum;
    const int32 = isInt32(out);
    if (out.minimum === INT32_MIN) delete out.minimum;
    if (out.maximum === INT32_MAX) delete out.maximum;
    out.format ??= int32 ? "int32" : "int64";
  }

  if (out.type === "string") {
    if (out.format === "date-time") delete out.pattern;
    if (typeof out.pattern === "string" && NON_RE2.test(out.pattern)) {
      throw new StructuralSchemaError(path, `pattern ${out.pattern} is not RE2-safe`);
    }
    if (out.maxLength === undefined && out.enum === undefined && out.format !== "date-time") {
      throw new StructuralSchemaError(path, "string has no maxLength");
    }
  }

  if (out.nullable === true) {
    throw new StructuralSchemaError(path, "nullable fields are not supported: make the field optional instead");
  }
  return out;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function isInt32(s: JsonSchema): boolean {
  const min = (s.minimum as number | undefined) ?? -Infinity;
  const max = (s.maximum as number | undefined) ?? Infinity;
  return min >= INT32_MIN && max <= INT32_MAX;
}
