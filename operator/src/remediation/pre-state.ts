// What an action replaces on its target, recorded before it acts (status.preState)
// so that it can be undone: a scale's replicas before, and for a patch every field
// its dry run changes (remediation/change.ts), with the value before and the value
// the action sets. Values are kept as JSON text and bounded, so a status stays
// small; an action whose pre-state would not fit is recorded as not reversible
// rather than half-recorded. Restart and delete-pod are never reversible. Pure.
import {
  type PreState, type PreStateField, PRE_STATE_MAX_FIELDS, PRE_STATE_MAX_PATH_LENGTH, PRE_STATE_MAX_TOTAL_BYTES, PRE_STATE_MAX_VALUE_BYTES,
} from "../api/v1alpha1/remediation-action.ts";
import { type FieldChange, IGNORED } from "./change.ts";

export { PRE_STATE_MAX_FIELDS, PRE_STATE_MAX_PATH_LENGTH, PRE_STATE_MAX_TOTAL_BYTES, PRE_STATE_MAX_VALUE_BYTES };

export const NOT_REVERSIBLE = {
  restart: "a restart re-triggers a rollout; it cannot be undone",
  "delete-pod": "an evicted pod is replaced, not restored",
  revert: "a revert is not itself reverted: to redo the change, run the original action again",
} as const;

export function notReversible(reason: string): PreState {
  return { reversible: false, reason };
}

/** A scale: spec.replicas from → to. */
export function scalePreState(from: number, to: number): PreState {
  return { reversible: true, replicas: from, fields: [{ path: "/spec/replicas", before: JSON.stringify(from), after: JSON.stringify(to) }] };
}

/**
 * A patch: every change of its dry run on `before` (whose result is `after`).
 * A field the patch creates inside a map or list that did not exist (or removes
 * with the last of its parent) is recorded at the outermost absent parent, so the
 * undo removes (or adds back) that parent whole and the object is restored
 * exactly, not left with an empty map. Parents of the fields the API server and
 * the operator maintain (metadata, metadata.annotations) are never taken whole.
 */
export function patchPreState(changes: readonly FieldChange[], before: unknown, after?: unknown): PreState {
  const byPath = new Map<string, { before?: unknown; after?: unknown }>();
  for (const c of changes) {
    const tokens = parsePointer(c.pointer);
    let root = tokens;
    if (c.before === undefined) root = outermostAbsent(before, tokens);
    else if (c.after === undefined && after !== undefined) root = outermostAbsent(after, tokens);
    const path = toPointer(root);
    if (byPath.has(path)) continue;
    byPath.set(path, root === tokens
      ? { before: c.before, after: c.after }
      : { before: valueAt(before, root), after: after === undefined ? c.after : valueAt(after, root) });
  }
  const replicas = changes.find((c) => c.pointer === "/spec/replicas")?.before;
  const base: PreState = { reversible: true, ...(typeof replicas === "number" ? { replicas } : {}) };
  if (byPath.size > PRE_STATE_MAX_FIELDS) {
    return { ...base, reversible: false, reason: tooLarge(`it changes ${byPath.size} fields (at most ${PRE_STATE_MAX_FIELDS} are recorded)`) };
  }
  const fields: PreStateField[] = [];
  let total = 0;
  for (const [path, v] of byPath) {
    if (path.length > PRE_STATE_MAX_PATH_LENGTH) return { ...base, reversible: false, reason: tooLarge(`the path of a field is ${path.length} characters (at most ${PRE_STATE_MAX_PATH_LENGTH})`) };
    const field: PreStateField = { path };
    for (const side of ["before", "after"] as const) {
      const value = v[side];
      if (value === undefined) {
        field[side === "before" ? "absent" : "removed"] = true;
        continue;
      }
      const text = JSON.stringify(value);
      const bytes = utf8Length(text);
      if (bytes > PRE_STATE_MAX_VALUE_BYTES) {
        return { ...base, reversible: false, reason: tooLarge(`the value ${side === "before" ? "before" : "set"} at ${path} is ${bytes} bytes of JSON (at most ${PRE_STATE_MAX_VALUE_BYTES})`) };
      }
      total += bytes;
      field[side] = text;
    }
    fields.push(field);
  }
  if (total > PRE_STATE_MAX_TOTAL_BYTES) {
    return { ...base, reversible: false, reason: tooLarge(`its values are ${total} bytes of JSON together (at most ${PRE_STATE_MAX_TOTAL_BYTES})`) };
  }
  return { ...base, fields };
}

const tooLarge = (why: string) => `the pre-state is too large to record: ${why}; the action is not reversible`;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** RFC 6901 tokens of a pointer ("" is the whole document). */
export function parsePointer(pointer: string): string[] {
  return pointer === "" ? [] : pointer.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function toPointer(tokens: readonly string[]): string {
  return tokens.map((t) => `/${t.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The value at `tokens` in `doc`, or undefined when it does not exist. */
export function valueAt(doc: unknown, tokens: readonly string[]): unknown {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(t)) return undefined;
      cur = cur[Number(t)];
    } else if (isObject(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t];
    } else {
      return undefined;
    }
  }
  return cur;
}

/** The shortest prefix of `tokens` absent from `doc` that is not a parent of a maintained field. */
function outermostAbsent(doc: unknown, tokens: string[]): string[] {
  for (let k = 1; k < tokens.length; k++) {
    const prefix = tokens.slice(0, k);
    if (IGNORED.some((p) => p.length > k && prefix.every((t, i) => t === p[i]))) continue;
    if (valueAt(doc, prefix) === undefined) return prefix;
  }
  return tokens;
}
