// The patch safelist's path language and its check. The paths checked are the
// ones a patch really changes — computed by change.ts from the Deployment before
// and after a server-side dry run — so every syntax of every patch type is judged
// by its effect, not by what its text appears to say.
//
// A path is a dotted list of field names, with [] for any list element and
// ["key"] for a map key that holds '.', '/', '[' or ']' (annotation and label
// keys): spec.template.metadata.annotations["example.com/owner"]. In a policy, a
// quoted key may end in * to name every key with that prefix:
// spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/*"].
import type { z } from "zod";
import type { patchSpec } from "../api/v1alpha1/remediation-action.ts";
import { BlockReason } from "../api/v1alpha1/reasons.ts";

export type PatchSpec = z.infer<typeof patchSpec>;

export type PatchPathCheck =
  | { ok: true }
  | { ok: false; reason: typeof BlockReason.PatchPathForbidden | typeof BlockReason.PatchPathNotAllowed; path: string; message: string };

/** One step of a path: a field or map key, or any list element. */
export type Segment = { key: string; glob?: boolean } | { index: true };

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** A key the path language cannot quote; no Kubernetes field, label or annotation key is one. */
const UNNAMEABLE = (key: string) => key === "" || /["\\*]/.test(key);

/**
 * Renders segments as a path; keys that are not plain identifiers are quoted. A
 * key that cannot be quoted ends the path at its parent, which is never less
 * strict (a change inside a map counts as a change of the map).
 */
export function renderPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (!("index" in s) && !s.glob && UNNAMEABLE(s.key)) break;
    if ("index" in s) out += "[]";
    else if (PLAIN_KEY.test(s.key) && !s.glob) out += out === "" ? s.key : `.${s.key}`;
    else out += `[${JSON.stringify(s.key + (s.glob ? "*" : ""))}]`;
  }
  return out;
}

/** Parses a path; throws on a malformed one (policies are validated by the same grammar). */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`invalid path ${JSON.stringify(path)}: ${why} at ${i}`);
  };
  while (i < path.length) {
    if (path.startsWith("[]", i)) {
      if (out.length === 0) fail("a path starts with a field");
      out.push({ index: true });
      i += 2;
    } else if (path.startsWith('["', i)) {
      const end = path.indexOf('"]', i + 2);
      if (end < 0) fail('unterminated ["…"]');
      const raw = path.slice(i + 2, end);
      if (raw === "" || raw.includes('"') || raw.includes("\\")) fail("a quoted key is non-empty and holds no quote or backslash");
      const glob = raw.endsWith("*");
      const key = glob ? raw.slice(0, -1) : raw;
      if (key.includes("*")) fail("* may only end a quoted key");
      out.push(glob ? { key, glob } : { key });
      i = end + 2;
    } else {
      if (out.length > 0) {
        if (path[i] !== ".") fail("expected . [] or [\"…\"]");
        i++;
      }
      const m = /^[A-Za-z0-9_-]+/.exec(path.slice(i));
      if (!m) fail("expected a field name");
      out.push({ key: m![0] });
      i += m![0].length;
    }
  }
  if (out.length === 0) fail("empty path");
  return out;
}

export function isValidPath(path: string): boolean {
  try {
    parsePath(path);
    return true;
  } catch {
    return false;
  }
}

function segmentMatches(pattern: Segment, s: Segment): boolean {
  if ("index" in pattern || "index" in s) return "index" in pattern && "index" in s;
  return pattern.glob ? s.key.startsWith(pattern.key) : pattern.key === s.key && !s.glob;
}

/** Whether `prefix` names `path` or one of its ancestors, segment by segment (a glob key matches by prefix). */
export function isPathPrefix(prefix: string | readonly Segment[], path: string | readonly Segment[]): boolean {
  const p = typeof prefix === "string" ? parsePath(prefix) : prefix;
  const t = typeof path === "string" ? parsePath(path) : path;
  return p.length <= t.length && p.every((s, i) => segmentMatches(s, t[i]!));
}

/** Writing a parent rewrites its children, so overlap either way counts. */
export function pathsOverlap(a: string | readonly Segment[], b: string | readonly Segment[]): boolean {
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
  const deniedSegs = denied.map((d) => ({ d, s: parsePath(d) }));
  for (const path of paths) {
    if (!isValidPath(path)) {
      return { ok: false, reason: BlockReason.PatchPathNotAllowed, path, message: `patch changes ${path || "the whole object"}, which no allowed path can name` };
    }
    const segs = parsePath(path);
    const hit = deniedSegs.find(({ s }) => pathsOverlap(segs, s));
    if (hit !== undefined) {
      return {
        ok: false,
        reason: BlockReason.PatchPathForbidden,
        path,
        message: path === hit.d ? `patch changes denied path ${hit.d}` : `patch changes ${path}, which overlaps denied path ${hit.d}`,
      };
    }
  }
  for (const path of paths) {
    const segs = parsePath(path);
    const missing = allowedPathSets.length === 0 ? [] : allowedPathSets.find((set) => !set.some((a) => isPathPrefix(a, segs)));
    if (missing !== undefined) {
      return {
        ok: false,
        reason: BlockReason.PatchPathNotAllowed,
        path,
        message: `patch changes ${path}, which is not under any allowed path (${missing.join(", ") || "none allowed"})`,
      };
    }
  }
  return { ok: true };
}
