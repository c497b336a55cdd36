// Who last changed a field of an object: the field manager whose managedFields
// entry (fieldsV1, server-side apply's ownership record) covers the field — owns
// it, owns a list or map that holds it whole, or owns fields inside it. Used to
// name who changed a field an action set before a revert refuses to undo it.
// Pure.
import type { V1ManagedFieldsEntry } from "@kubernetes/client-node";
import { jsonEqual } from "./change.ts";

export interface FieldOwner {
  manager: string;
  operation?: string;
  time?: string;
}

type FieldSet = Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The owners of the field at `tokens` (RFC 6901 tokens, list indices included)
 * in `obj`, the most recent change first: first the managers that own the field
 * or an ancestor of it, then (when none does) those that own something inside
 * it. List elements are matched as fieldsV1 names them: by key (k:{"name":"app"}),
 * by value (v:...) or by index (i:0). Status-subresource entries are skipped:
 * they never own the spec.
 */
export function fieldOwners(managedFields: readonly V1ManagedFieldsEntry[] | undefined, obj: unknown, tokens: readonly string[]): FieldOwner[] {
  const covering: V1ManagedFieldsEntry[] = [];
  const inside: V1ManagedFieldsEntry[] = [];
  for (const entry of managedFields ?? []) {
    if (!entry.manager || entry.subresource === "status" || (entry.fieldsType ?? "FieldsV1") !== "FieldsV1") continue;
    const cover = coverage(entry.fieldsV1 as FieldSet | undefined, obj, tokens);
    if (cover === "covers") covering.push(entry);
    else if (cover === "inside") inside.push(entry);
  }
  const chosen = covering.length > 0 ? covering : inside;
  return chosen
    .map((e) => ({ manager: e.manager!, ...(e.operation ? { operation: e.operation } : {}), ...(e.time ? { time: timeText(e.time) } : {}) }))
    .sort((x, y) => (Date.parse(y.time ?? "") || 0) - (Date.parse(x.time ?? "") || 0));
}

/** A readable "manager (operation)" list of the owners, or a note that none is recorded. */
export function describeOwners(owners: readonly FieldOwner[]): string {
  if (owners.length === 0) return "no field manager records it (managedFields hold no owner of it)";
  return owners.map((o) => `"${o.manager}"${o.operation ? ` (${o.operation})` : ""}`).join(", ");
}

function timeText(t: unknown): string {
  return t instanceof Date ? t.toISOString() : String(t);
}

/** Does this fieldsV1 set own the field (or an ancestor), own something inside it, or neither? */
function coverage(set: FieldSet | undefined, obj: unknown, tokens: readonly string[]): "covers" | "inside" | undefined {
  // An empty set owns nothing (below the root, an empty node is a field owned whole).
  if (!isObject(set) || Object.keys(set).length === 0) return undefined;
  let node: unknown = set;
  let cur: unknown = obj;
  for (const token of tokens) {
    if (!isObject(node)) return undefined;
    // "." marks the node itself as owned (a list element or map the manager set as a whole).
    if (Object.keys(node).length === 0) return "covers";
    const child = childFor(node, cur, token);
    if (child === undefined) return Object.hasOwn(node, ".") && Object.keys(node).length === 1 ? "covers" : undefined;
    node = child;
    cur = Array.isArray(cur) ? cur[Number(token)] : isObject(cur) ? cur[token] : undefined;
  }
  if (!isObject(node)) return undefined;
  return Object.keys(node).filter((k) => k !== ".").length === 0 ? "covers" : "inside";
}

/** The fieldsV1 child naming `token` of `cur` (the object at this level). */
function childFor(node: Record<string, unknown>, cur: unknown, token: string): unknown {
  if (Array.isArray(cur) && /^(0|[1-9]\d*)$/.test(token)) {
    const element = cur[Number(token)];
    for (const [name, child] of Object.entries(node)) {
      if (name.startsWith("k:")) {
        const key = parse(name.slice(2));
        if (isObject(key) && isObject(element) && Object.entries(key).every(([k, v]) => jsonEqual(element[k], v))) return child;
      } else if (name.startsWith("v:")) {
        if (element !== undefined && jsonEqual(parse(name.slice(2)), element)) return child;
      } else if (name === `i:${token}`) {
        return child;
      }
    }
    return undefined;
  }
  return node[`f:${token}`];
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
