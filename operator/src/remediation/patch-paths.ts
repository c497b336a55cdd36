// The patch safelist (seed 000 §9.4.3), checked on the paths a patch really
// touches rather than on what it claims: a merge patch that replaces a whole
// list rewrites every field inside it, so it touches the image too.
//
// Paths are dotted, with [] for any list index: spec.template.spec.containers[].image.
// Keys of a patch never put '.', '[' or ']' into a path segment (see below), so
// the encoding is unambiguous and [] is a segment of its own.
import type { z } from "zod";
import type { patchSpec } from "../api/v1alpha1/remediation-action.ts";
import { BlockReason } from "../api/v1alpha1/reasons.ts";

export type PatchSpec = z.infer<typeof patchSpec>;

export type TouchedPaths = { paths: string[] } | { invalid: string };

export type PatchPathCheck =
  | { ok: true }
  | { ok: false; reason: typeof BlockReason.PatchPathForbidden | typeof BlockReason.PatchPathNotAllowed; path: string; message: string };

type JsonOp = NonNullable<PatchSpec["json"]>[number];

/** Strategic-merge lists whose elements are identified, not changed, by this key. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  imagePullSecrets: "name",
  resourceClaims: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  ports: "containerPort",
  hostAliases: "ip",
};

export function touchedPaths(patch: PatchSpec): TouchedPaths {
  const set = [patch.merge, patch.strategic, patch.json].filter((x) => x !== undefined).length;
  if (set !== 1) return { invalid: "exactly one of merge, strategic or json must be set" };
  const out: string[] = [];
  const problem = patch.json
    ? jsonPatchPaths(patch.json, out)
    : walkObject(patch.strategic ?? patch.merge ?? {}, "", patch.strategic !== undefined, out);
  if (problem !== undefined) return { invalid: problem };
  if (out.length === 0) return { invalid: "the patch changes nothing" };
  return { paths: [...new Set(out)] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);
const UNSAFE_SEGMENT = /[.[\]]/;

/**
 * Merge patch: every leaf; a list or null replaces or deletes the whole field.
 * Strategic merge: lists of objects are merged element-wise, so they recurse as
 * path[]; $-directives act on the object that holds them. A key that cannot be
 * a path segment (annotation keys such as kubectl.kubernetes.io/restartedAt)
 * counts as touching its parent, which is never less strict.
 */
function walkObject(obj: Record<string, unknown>, path: string, strategic: boolean, out: string[]): string | undefined {
  const keys = Object.keys(obj);
  if (keys.length === 0 && path !== "") out.push(path);
  for (const key of keys) {
    const value = obj[key];
    const directive = strategic && key.startsWith("$");
    if (directive || key === "" || UNSAFE_SEGMENT.test(key)) {
      if (path === "") return `top-level key ${JSON.stringify(key)} is not a Deployment field`;
      out.push(path);
      continue;
    }
    const child = join(path, key);
    if (isObject(value)) {
      const problem = walkObject(value, child, strategic, out);
      if (problem !== undefined) return problem;
    } else if (strategic && Array.isArray(value) && value.length > 0 && value.every(isObject)) {
      const mergeKey = MERGE_KEYS[key];
      for (const element of value as Record<string, unknown>[]) {
        const rest = Object.fromEntries(Object.entries(element).filter(([k, v]) => !(k === mergeKey && !isObject(v) && !Array.isArray(v))));
        const problem = walkObject(rest, `${child}[]`, strategic, out);
        if (problem !== undefined) return problem;
      }
    } else {
      out.push(child);
    }
  }
  return undefined;
}

function jsonPatchPaths(ops: readonly JsonOp[], out: string[]): string | undefined {
  for (const [i, op] of ops.entries()) {
    if (op.op === "test") continue;
    const pointers = op.op === "move" ? [op.from, op.path] : [op.path];
    if ((op.op === "move" || op.op === "copy") && op.from === undefined) return `operation ${i} (${op.op}) has no from`;
    for (const pointer of pointers) {
      const path = pointerPath(pointer ?? "");
      if ("invalid" in path) return `operation ${i} (${op.op}): ${path.invalid}`;
      out.push(path.path);
    }
  }
  return undefined;
}

/** RFC 6901 pointer → dotted path; list indices (and "-") become []. */
export function pointerPath(pointer: string): { path: string } | { invalid: string } {
  if (!pointer.startsWith("/")) return { invalid: `pointer ${JSON.stringify(pointer)} must start with / (the whole document cannot be patched)` };
  let path = "";
  for (const raw of pointer.slice(1).split("/")) {
    if (/~(?![01])/.test(raw)) return { invalid: `pointer ${JSON.stringify(pointer)} has a ~ not followed by 0 or 1` };
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (segment === "") return { invalid: `pointer ${JSON.stringify(pointer)} has an empty segment` };
    if (UNSAFE_SEGMENT.test(segment)) {
      return { invalid: `pointer ${JSON.stringify(pointer)} has segment ${JSON.stringify(segment)} with '.', '[' or ']': a JSON pointer separates fields with / and indexes lists as /0` };
    }
    path = /^(\d+|-)$/.test(segment) ? `${path}[]` : join(path, segment);
  }
  return { path };
}

/** a.b[].c → ["a", "b", "[]", "c"]. */
export function pathSegments(path: string): string[] {
  const out: string[] = [];
  for (const piece of path.split(".")) {
    let name = piece;
    let lists = 0;
    while (name.endsWith("[]")) {
      name = name.slice(0, -2);
      lists++;
    }
    if (name !== "") out.push(name);
    for (let i = 0; i < lists; i++) out.push("[]");
  }
  return out;
}

/** Whether `prefix` is `path` or one of its ancestors, comparing whole segments. */
export function isPathPrefix(prefix: string, path: string): boolean {
  const p = pathSegments(prefix);
  const t = pathSegments(path);
  return p.length <= t.length && p.every((s, i) => s === t[i]);
}

/** Writing a parent rewrites its children, so overlap either way counts. */
export function pathsOverlap(a: string, b: string): boolean {
  return isPathPrefix(a, b) || isPathPrefix(b, a);
}

/**
 * Deny wins over allow. A path is allowed only if every policy's allow list has
 * an entry at or above it; with no allow list at all nothing is allowed.
 */
export function checkPatchPaths(
  paths: readonly string[],
  allowedPathSets: readonly (readonly string[])[],
  denied: readonly string[],
): PatchPathCheck {
  for (const path of paths) {
    const hit = denied.find((d) => pathsOverlap(path, d));
    if (hit !== undefined) {
      return {
        ok: false,
        reason: BlockReason.PatchPathForbidden,
        path,
        message: path === hit ? `patch touches denied path ${hit}` : `patch touches ${path}, which overlaps denied path ${hit}`,
      };
    }
  }
  for (const path of paths) {
    const missing = allowedPathSets.length === 0 ? [] : allowedPathSets.find((set) => !set.some((a) => isPathPrefix(a, path)));
    if (missing !== undefined) {
      return {
        ok: false,
        reason: BlockReason.PatchPathNotAllowed,
        path,
        message: `patch touches ${path}, which is not under any allowed path (${missing.join(", ") || "none allowed"})`,
      };
    }
  }
  return { ok: true };
}
