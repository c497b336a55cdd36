// Building blocks shared by every kind: bounded strings, Kubernetes names,
// conditions, and the helper that attaches CEL rules to a schema.
import { z } from "zod";

export const GROUP = "smartops.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A CEL rule the API server evaluates (x-kubernetes-validations). */
export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath of the field the error names, relative to the schema holding the rule. */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** Attach CEL rules to a schema; the CRD generator copies them into the CRD. */
export function withCel<T extends z.ZodType>(schema: T, rules: CelRule[]): T {
  return schema.meta({ "x-kubernetes-validations": rules }) as T;
}

export type Scalar = number | string | boolean;

export const SCALAR_MAP_MAX_PROPERTIES = 64;
export const SCALAR_MAP_MAX_KEY_LENGTH = 128;
export const SCALAR_MAP_MAX_STRING_LENGTH = 1024;

const isScalar = (v: unknown) => (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean" || (typeof v === "string" && v.length <= SCALAR_MAP_MAX_STRING_LENGTH);

/**
 * Context an agent attaches (e.g. {"cpu": 96.3}): a bounded map of numbers,
 * strings and booleans. Never free-form JSON: an object nested deeper than the
 * API server can read back would break LIST and WATCH of the whole kind, and no
 * schema bounds the depth of preserved unknown fields.
 *
 * The values must keep their JSON type (a number stays a number), which no
 * single CRD type allows together with strings and booleans, and CEL cannot see
 * untyped values at all. So each value is an untyped node whose value
 * validations apply by the kind of the value: an object may have no property
 * (maxProperties 0), a list no item (maxItems 0), a string at most 1024
 * characters. The API server thus stores at most one level below the map
 * (an empty {} or [] at worst); the shim and the zod schema refuse those too.
 */
export function scalarMap(field: string, description: string) {
  const scalars = `numbers, booleans or strings of at most ${SCALAR_MAP_MAX_STRING_LENGTH} characters`;
  return z
    .record(
      z.string().min(1).max(SCALAR_MAP_MAX_KEY_LENGTH),
      z.unknown().meta({ "x-kubernetes-preserve-unknown-fields": true, maxProperties: 0, maxItems: 0, maxLength: SCALAR_MAP_MAX_STRING_LENGTH }),
    )
    .refine((m) => Object.keys(m).length <= SCALAR_MAP_MAX_PROPERTIES, `must have at most ${SCALAR_MAP_MAX_PROPERTIES} entries`)
    // On the map, so the error names the field however the value is wrong.
    .superRefine((m, ctx) => {
      const bad = Object.keys(m).find((k) => !isScalar(m[k]));
      if (bad !== undefined) ctx.addIssue({ code: "custom", message: `${field} values must be ${scalars} (no objects, lists or null); ${JSON.stringify(bad.slice(0, 64))} is not` });
    })
    .meta({ type: "object", maxProperties: SCALAR_MAP_MAX_PROPERTIES })
    .describe(description) as unknown as z.ZodType<Record<string, Scalar>>;
}

/** A string map with a bounded number of keys, so CEL cost estimates stay finite. */
export function boundedMap<V extends z.ZodType>(value: V, maxProperties: number) {
  return z
    .record(z.string().max(317), value)
    .refine((m) => Object.keys(m).length <= maxProperties, `must have at most ${maxProperties} entries`)
    .meta({ maxProperties });
}

export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label: lower-case letters, digits and '-'");

export const dnsSubdomain = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'",
  );

/** The agent's identity for one detection or diagnosis window: one signal per windowId. */
export const windowId = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$/, "letters, digits and - _ . : only");

export const timestamp = z.iso.datetime({ offset: true }).describe("RFC 3339 timestamp.");

export const probability = z.number().min(0).max(1);

/** metav1.Condition, as every Kubernetes API writes it. */
export const condition = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .describe("Type of condition in CamelCase, e.g. Ready."),
    status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition."),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe("The .metadata.generation the condition was set from."),
    lastTransitionTime: timestamp.describe("When the condition last changed status."),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe("Machine-readable CamelCase reason for the last transition."),
    message: z.string().max(32768).describe("Human-readable details of the last transition."),
  })
  .strict();
export type Condition = z.infer<typeof condition>;

export const conditions = z
  .array(condition)
  .max(16)
  .describe("Latest observations of the object's state, keyed by type.")
  .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });

export const observedGeneration = z
  .int()
  .min(0)
  .describe("The .metadata.generation the controller last acted on.");

export const objectReference = z
  .object({
    name: dnsSubdomain.describe("Name of the object."),
    uid: z.string().max(64).optional().describe("UID of the object, when known."),
  })
  .strict();

/** Standard Kubernetes label selector (metav1.LabelSelector). */
export const labelSelector = z
  .object({
    matchLabels: boundedMap(z.string().max(63), 64).optional().describe("Labels a target must carry, key=value."),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1).max(317).describe("The label key."),
            operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]).describe("How the key relates to the values."),
            values: z.array(z.string().max(63)).max(64).optional().describe("Values for In and NotIn."),
          })
          .strict(),
      )
      .max(32)
      .optional()
      .describe("Set-based requirements, ANDed."),
  })
  .strict();
export type LabelSelector = z.infer<typeof labelSelector>;
