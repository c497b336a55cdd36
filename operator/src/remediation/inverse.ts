// The undo of a recorded action, computed from its pre-state (status.preState,
// remediation/pre-state.ts) alone: an RFC 6902 JSON patch that restores exactly
// the fields the action changed, guarded so that it applies only to the reading
// it was computed against and only while every field still holds the value the
// action set. A field someone changed since is named, and nothing is undone. Pure.
import type { PreState, PreStateField } from "../api/v1alpha1/remediation-action.ts";
import { jsonEqual } from "./change.ts";
import type { JsonPatchOp } from "./patch-document.ts";
import { parsePointer, valueAt } from "./pre-state.ts";

/** The first field that no longer holds what the action set, or undefined when all do. */
export interface ChangedField {
  path: string;
  /** The value the action set (undefined: the action removed the field). */
  set?: unknown;
  /** The value the field holds now (undefined: absent). */
  found?: unknown;
  message: string;
}

const describe = (v: unknown) => (v === undefined ? "absent" : JSON.stringify(v));

/**
 * Compares every recorded field of `pre` with `current` (the target as read now),
 * in the order recorded, and names the first that differs from the value the
 * action set — or that the action removed and is back.
 */
export function stillAsSet(current: unknown, pre: PreState): ChangedField | undefined {
  for (const f of pre.fields ?? []) {
    const set = setValue(f);
    const found = valueAt(current, parsePointer(f.path));
    if (!(set === undefined ? found === undefined : found !== undefined && jsonEqual(found, set))) {
      return { path: f.path, set, found, message: `${f.path} holds ${describe(found)}, not ${describe(set)} as the action set it` };
    }
  }
  return undefined;
}

export type InverseDecision =
  | { ok: true; patch: JsonPatchOp[] }
  | { ok: false; reason: "NotReversible"; message: string }
  | { ok: false; reason: "TargetChangedSinceAction"; field: ChangedField; message: string };

/**
 * The JSON patch that undoes the action recorded in `pre`, for `current`:
 * first a `test` of current's resourceVersion (the checks below hold for exactly
 * this reading; JSON patch cannot test that a field is absent) and a `test` of
 * every value the action set, then the restores — replace, remove what the
 * action added (list elements from the highest index down), add back what it
 * removed (list elements from the lowest index up), so list indices stay right.
 * Refused when the action is not reversible or a field changed since it acted.
 * The patch holds for `current` only: any write since (the Deployment
 * controller's own status updates included) fails its first test with 422, and
 * the caller reads, checks and computes again.
 */
export function inversePatch(pre: PreState, current: unknown): InverseDecision {
  if (!pre.reversible) return { ok: false, reason: "NotReversible", message: pre.reason ?? "the action is not reversible" };
  const fields = pre.fields ?? [];
  if (fields.length === 0) return { ok: false, reason: "NotReversible", message: "the action recorded no field it changed" };
  const changed = stillAsSet(current, pre);
  if (changed) return { ok: false, reason: "TargetChangedSinceAction", field: changed, message: changed.message };

  const rv = valueAt(current, ["metadata", "resourceVersion"]);
  const tests: JsonPatchOp[] = [
    ...(typeof rv === "string" && rv !== "" ? [{ op: "test" as const, path: "/metadata/resourceVersion", value: rv }] : []),
    ...fields.filter((f) => f.after !== undefined).map((f) => ({ op: "test" as const, path: f.path, value: setValue(f) })),
  ];
  const replaces = fields.filter((f) => f.before !== undefined && f.after !== undefined)
    .map((f) => ({ op: "replace" as const, path: f.path, value: JSON.parse(f.before!) as unknown }));
  const removes = fields.filter((f) => f.before === undefined).sort((x, y) => comparePaths(y.path, x.path))
    .map((f) => ({ op: "remove" as const, path: f.path }));
  const adds = fields.filter((f) => f.before !== undefined && f.after === undefined).sort((x, y) => comparePaths(x.path, y.path))
    .map((f) => ({ op: "add" as const, path: f.path, value: JSON.parse(f.before!) as unknown }));
  return { ok: true, patch: [...tests, ...replaces, ...removes, ...adds] };
}

function setValue(f: PreStateField): unknown {
  return f.after === undefined ? undefined : JSON.parse(f.after);
}

/** Token by token; list indices compare as numbers (/c/10 after /c/9). */
function comparePaths(a: string, b: string): number {
  const ta = parsePointer(a);
  const tb = parsePointer(b);
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    return numeric ? Number(x) - Number(y) : x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}
