// The one place a stored patch becomes a document. A RemediationAction keeps its
// patch as bounded JSON text (spec.patch.merge, .strategic or .json): free-form
// structures in a custom resource cannot be bounded in depth by the API server,
// and an object nested deeper than it can read back breaks LIST and WATCH of the
// whole kind. Here the text is parsed with a depth limit, numbers JSON cannot
// carry are refused (1e309 would otherwise reach the API server as null, i.e. a
// delete), and the top-level shape is checked: an object for merge and strategic,
// a list of RFC 6902 operations for json. Pure: no I/O.
import { z } from "zod";
import { JSON_PATCH_MAX_OPS, PATCH_MAX_DEPTH, PATCH_TEXT_MAX_LENGTH } from "../api/v1alpha1/remediation-action.ts";

export { JSON_PATCH_MAX_OPS, PATCH_MAX_DEPTH, PATCH_TEXT_MAX_LENGTH };

export const PATCH_KINDS = ["merge", "strategic", "json"] as const;
export type PatchKind = (typeof PATCH_KINDS)[number];

const pointer = z.string().max(1024).regex(/^(\/[^/]*)*$/, "must be a JSON pointer such as /spec/replicas");

/** One RFC 6902 operation, as the API server's JSON patch accepts it. */
export const jsonPatchOp = z
  .object({
    op: z.enum(["add", "remove", "replace", "move", "copy", "test"]).describe("RFC 6902 operation."),
    path: pointer.describe("JSON pointer to the field."),
    from: pointer.optional().describe("Source pointer for move and copy."),
    value: z.unknown().optional().describe("Value for add, replace and test."),
  })
  .strict()
  .refine((o) => !["move", "copy"].includes(o.op) || o.from !== undefined, { message: "from is required for move and copy", path: ["from"] });
export type JsonPatchOp = z.infer<typeof jsonPatchOp>;

const jsonPatchOps = z.array(jsonPatchOp).min(1, "must hold at least one operation").max(JSON_PATCH_MAX_OPS, `must hold at most ${JSON_PATCH_MAX_OPS} operations`);

/** A patch as the guardrails and the executor work with it: exactly one document. */
export interface PatchDocument {
  merge?: Record<string, unknown>;
  strategic?: Record<string, unknown>;
  json?: JsonPatchOp[];
}

/** A patch as a RemediationAction stores it: exactly one JSON text. */
export interface PatchText {
  merge?: string;
  strategic?: string;
  json?: string;
}

/** What is wrong and where: `field` is the full path, e.g. spec.patch.merge. */
export interface PatchProblem {
  field: string;
  message: string;
}

/** A stored patch that does not parse; its message names the field. */
export class PatchTextError extends Error {
  readonly problem: PatchProblem;
  constructor(problem: PatchProblem) {
    super(`invalid patch: ${problem.field} ${problem.message}`);
    this.name = "PatchTextError";
    this.problem = problem;
  }
}

export type PatchResult<T> = { ok: true; value: T } | { ok: false; problem: PatchProblem };

const fail = (field: string, message: string): { ok: false; problem: PatchProblem } => ({ ok: false, problem: { field, message } });

/**
 * How deep objects and lists nest in JSON text, counted without parsing (so text
 * nested thousands deep costs one linear scan and nothing more): brackets outside
 * strings, in one pass. Stops at the first bracket past `limit` and says where.
 * The shim's body reader and the patch parser both use it.
 */
export function scanDepth(text: string, limit = Number.POSITIVE_INFINITY): { depth: number; exceededAt?: number } {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return { depth: max, exceededAt: i };
      }
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return { depth: max };
}

/** The nesting depth of a JSON text; once past `limit`, limit + 1. */
export function textDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  return scanDepth(text, limit).depth;
}

/**
 * How deep objects and lists nest in an already parsed value (iterative, so a
 * hostile value cannot overflow the stack), and the first number JSON cannot
 * carry, as a JSON pointer. Stops descending once `limit` is exceeded.
 */
export function inspectValue(value: unknown, limit = Number.POSITIVE_INFINITY): { depth: number; nonFinite?: string } {
  let max = 0;
  const stack: Array<{ v: unknown; depth: number; at: string }> = [{ v: value, depth: 0, at: "" }];
  while (stack.length > 0) {
    const { v, depth, at } = stack.pop()!;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return { depth: max, nonFinite: at === "" ? "/" : at };
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    const d = depth + 1;
    if (d > max) max = d;
    if (max > limit) return { depth: max };
    const entries: Array<[string, unknown]> = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
    for (const [k, x] of entries) stack.push({ v: x, depth: d, at: `${at}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}` });
  }
  return { depth: max };
}

/** The checks every patch document gets, parsed from text or posted as JSON: depth, numbers, shape. */
export function checkPatchValue(kind: PatchKind, value: unknown, field: string): PatchResult<PatchDocument> {
  const inspected = inspectValue(value, PATCH_MAX_DEPTH);
  if (inspected.depth > PATCH_MAX_DEPTH) return fail(field, `nests objects and lists more than ${PATCH_MAX_DEPTH} levels deep`);
  if (inspected.nonFinite !== undefined) {
    return fail(field, `holds a number JSON cannot represent at ${inspected.nonFinite} (infinite or out of range, e.g. 1e309)`);
  }
  if (kind === "json") {
    if (!Array.isArray(value)) return fail(field, "must be a JSON list of RFC 6902 operations");
    const ops = jsonPatchOps.safeParse(value);
    if (!ops.success) {
      const issue = ops.error.issues[0]!;
      const at = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
      return fail(`${field}${at}`, issue.message);
    }
    return { ok: true, value: { json: ops.data } };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return fail(field, `must be a JSON object (an ${kind === "merge" ? "RFC 7386 merge" : "strategic merge"} patch)`);
  }
  return { ok: true, value: { [kind]: value as Record<string, unknown> } };
}

/** Parses one patch text: bounded length and depth, finite and exact numbers, the right shape. */
export function parsePatchText(kind: PatchKind, text: unknown, field: string): PatchResult<PatchDocument> {
  if (typeof text !== "string") return fail(field, "must be JSON text (a string)");
  if (text.length > PATCH_TEXT_MAX_LENGTH) return fail(field, `is ${text.length} characters; at most ${PATCH_TEXT_MAX_LENGTH}`);
  if (textDepth(text, PATCH_MAX_DEPTH) > PATCH_MAX_DEPTH) return fail(field, `nests objects and lists more than ${PATCH_MAX_DEPTH} levels deep`);
  let inexact: string | undefined;
  let value: unknown;
  try {
    // An integer literal beyond 2^53 that would be sent on as a different integer is refused.
    value = JSON.parse(text, (_key, v: unknown, context?: { source?: string }) => {
      if (typeof v === "number" && Number.isFinite(v) && inexact === undefined && context?.source !== undefined) {
        if (/^-?\d+$/.test(context.source) && !Number.isSafeInteger(v) && BigInt(context.source) !== decimalInteger(String(v))) inexact = context.source;
      }
      return v;
    });
  } catch (err) {
    return fail(field, `is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (inexact !== undefined) {
    return fail(field, `holds the integer ${inexact.slice(0, 40)}, which a JSON number cannot carry exactly (it would be sent as ${String(JSON.parse(inexact))})`);
  }
  return checkPatchValue(kind, value, field);
}

/** The integer a decimal such as "-5792e+3" or "1.5e+21" denotes (the number is an integer). */
function decimalInteger(text: string): bigint {
  const [mantissa = "0", exp = "0"] = text.split("e");
  const [whole = "0", frac = ""] = mantissa.split(".");
  const shift = Number(exp) - frac.length;
  const digits = BigInt(`${whole}${frac}`);
  return shift >= 0 ? digits * 10n ** BigInt(shift) : digits / 10n ** BigInt(-shift);
}

/**
 * The stored patch → the document. Exactly one of merge, strategic and json
 * must be set; `field` is where the patch lives (spec.patch on an action).
 */
export function parsePatch(spec: unknown, field = "spec.patch"): PatchResult<PatchDocument> {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return fail(field, "must be an object with one of merge, strategic or json");
  const set = PATCH_KINDS.filter((k) => (spec as Record<string, unknown>)[k] !== undefined);
  if (set.length !== 1) return fail(field, "exactly one of merge, strategic or json must be set");
  const kind = set[0]!;
  return parsePatchText(kind, (spec as Record<string, unknown>)[kind], `${field}.${kind}`);
}

/** The document → the text a RemediationAction stores; refuses what parsePatch would refuse. */
export function patchToText(doc: PatchDocument, field: string): PatchResult<PatchText> {
  const set = PATCH_KINDS.filter((k) => doc[k] !== undefined);
  if (set.length !== 1) return fail(field, "exactly one of merge, strategic or json must be set");
  const kind = set[0]!;
  const checked = checkPatchValue(kind, doc[kind], field);
  if (!checked.ok) return checked;
  const text = JSON.stringify(checked.value[kind]);
  if (text.length > PATCH_TEXT_MAX_LENGTH) return fail(field, `is ${text.length} characters as JSON; at most ${PATCH_TEXT_MAX_LENGTH}`);
  return { ok: true, value: { [kind]: text } };
}
