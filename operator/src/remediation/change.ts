// What an action changes on its target: the difference between the Deployment
// before and after the mutation (for a patch, the API server's own dry run of
// it), as leaf fields with their values on both sides. The patch safelist judges
// these paths, and the values before are what a revert would restore. Pure.
import { renderPath, type Segment } from "./patch-paths.ts";

export interface FieldChange {
  /** Safelist path: list elements as [] (spec.template.spec.containers[].image). */
  path: string;
  /** The exact field as an RFC 6901 pointer, list indices included. */
  pointer: string;
  /** Absent (undefined) when the field did not exist before. */
  before?: unknown;
  /** Absent (undefined) when the change removes the field. */
  after?: unknown;
}

type Json = unknown;

/**
 * Fields the API server or the operator itself maintain; a change there is not
 * the action's effect. The crash-safety stamp is written with every mutation.
 */
export const IGNORED: readonly (readonly string[])[] = [
  ["status"],
  ["metadata", "resourceVersion"],
  ["metadata", "generation"],
  ["metadata", "managedFields"],
  ["metadata", "annotations", "smartops.io/last-action"],
];

const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

function ignored(keys: readonly (string | number)[]): boolean {
  return IGNORED.some((p) => p.length === keys.length && p.every((k, i) => k === keys[i]));
}

const escape = (k: string | number) => String(k).replace(/~/g, "~0").replace(/\//g, "~1");

/** Every leaf that differs between `before` and `after`, in a stable order. */
export function diffObjects(before: Json, after: Json): FieldChange[] {
  const out: FieldChange[] = [];
  walk(before, after, [], [], out);
  return out;
}

function walk(before: Json, after: Json, keys: (string | number)[], segs: Segment[], out: FieldChange[]): void {
  if (keys.length > 0 && ignored(keys)) return;
  if (isObject(before) || isObject(after)) {
    // An object on one side only is compared with an empty one, so each of its
    // fields is named (adding a map of annotations names every key it adds).
    if ((isObject(before) || before === undefined) && (isObject(after) || after === undefined)) {
      const b = (before ?? {}) as Record<string, Json>;
      const a = (after ?? {}) as Record<string, Json>;
      const names = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
      if (names.length === 0 && !jsonEqual(before, after)) return leaf(before, after, keys, segs, out);
      for (const k of names) walk(b[k], a[k], [...keys, k], [...segs, { key: k }], out);
      return;
    }
  }
  if (Array.isArray(before) || Array.isArray(after)) {
    if ((Array.isArray(before) || before === undefined) && (Array.isArray(after) || after === undefined)) {
      const b = before ?? [];
      const a = after ?? [];
      const n = Math.max(b.length, a.length);
      if (n === 0 && !jsonEqual(before, after)) return leaf(before, after, keys, segs, out);
      for (let i = 0; i < n; i++) {
        // A list element added or removed whole is one change of the element, so
        // it overlaps every path below it (a new container changes "its image"
        // even where it has none).
        if (b[i] === undefined || a[i] === undefined) leaf(b[i], a[i], [...keys, i], [...segs, { index: true }], out);
        else walk(b[i], a[i], [...keys, i], [...segs, { index: true }], out);
      }
      return;
    }
  }
  if (!jsonEqual(before, after)) leaf(before, after, keys, segs, out);
}

function leaf(before: Json, after: Json, keys: (string | number)[], segs: Segment[], out: FieldChange[]): void {
  out.push({
    path: renderPath(segs),
    pointer: keys.map((k) => `/${escape(k)}`).join(""),
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  });
}

export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** The replica count a change sets, when it changes spec.replicas. */
export function changedReplicas(changes: readonly FieldChange[]): { from?: number; to?: number } | undefined {
  const c = changes.find((x) => x.pointer === "/spec/replicas");
  if (!c) return undefined;
  return {
    ...(typeof c.before === "number" ? { from: c.before } : {}),
    ...(typeof c.after === "number" ? { to: c.after } : {}),
  };
}
