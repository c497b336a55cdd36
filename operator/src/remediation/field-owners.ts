// Who else owns the fields an action is about to change, and may it change
// them? managedFields (server-side apply's ownership record, kept for Apply and
// Update operations alike) names a manager for every field it set. Managers are
// sorted into protected ones — the GitOps controllers and Helm, which set the
// field from a source of truth and will set it back — and the rest (a human's
// kubectl, CI tools): a field a protected manager owns is changed only under
// fieldConflicts.mode Force; any other owner is named in status and the change
// goes on. Pure.
import type { V1ManagedFieldsEntry } from "@kubernetes/client-node";
import { type FieldOwner, fieldOwners } from "./field-manager.ts";
import { parsePointer } from "./pre-state.ts";

/**
 * Field managers protected by default: Argo CD's (server-side and client-side
 * apply), Flux's kustomize-controller and helm-controller, and Helm's own.
 */
export const DEFAULT_PROTECTED_MANAGERS = [
  "argocd-controller",
  "argocd-application-controller",
  "kustomize-controller",
  "helm-controller",
  "helm",
] as const;

export type FieldConflictMode = "Block" | "Force";

/** One owner of one field the action changes. */
export interface FieldOwnership extends FieldOwner {
  /** RFC 6901 pointer of the changed field. */
  path: string;
  /** The manager is protected (the change went on only because the mode is Force). */
  protected?: boolean;
}

export interface FieldOwnersInput {
  managedFields: readonly V1ManagedFieldsEntry[] | undefined;
  /** The object as it is now (list elements in fieldsV1 are matched against it). */
  object: unknown;
  /** Pointers of the fields the action changes. */
  pointers: readonly string[];
  /** Protected managers on top of the defaults. */
  protectedManagers: readonly string[];
  mode: FieldConflictMode;
  /** The operator's own field manager: never a conflict, never a previous owner. */
  self: string;
}

export type FieldOwnersDecision =
  | { verdict: "block"; conflicts: FieldOwnership[]; message: string }
  /** `previousOwners`: every other owner of a changed field (protected ones included under Force). */
  | { verdict: "allow"; previousOwners: FieldOwnership[] };

/** The protected set: the defaults and the policy's list. */
export function protectedSet(extra: readonly string[]): Set<string> {
  return new Set([...DEFAULT_PROTECTED_MANAGERS, ...extra]);
}

/** Every owner (but `self`) of every changed field, a field's owners in fieldOwners' order. */
export function ownersOfChanges(managedFields: readonly V1ManagedFieldsEntry[] | undefined, object: unknown, pointers: readonly string[], self: string): FieldOwnership[] {
  return [...new Set(pointers)].flatMap((path) =>
    fieldOwners(managedFields, object, parsePointer(path))
      .filter((o) => o.manager !== self)
      .map((o) => ({ path, ...o })));
}

export function judgeFieldOwners(input: FieldOwnersInput): FieldOwnersDecision {
  const guarded = protectedSet(input.protectedManagers);
  const owners = ownersOfChanges(input.managedFields, input.object, input.pointers, input.self)
    .map((o) => (guarded.has(o.manager) ? { ...o, protected: true } : o));
  const conflicts = owners.filter((o) => o.protected);
  if (conflicts.length > 0 && input.mode === "Block") {
    const shown = conflicts.slice(0, 4).map((c) => `${c.path} is owned by field manager "${c.manager}"${c.operation ? ` (${c.operation})` : ""}`);
    const more = conflicts.length > shown.length ? ` and ${conflicts.length - shown.length} more` : "";
    return {
      verdict: "block",
      conflicts,
      message: `${shown.join("; ")}${more}: a protected field manager sets ${conflicts.length === 1 ? "this field" : "these fields"} from its source and would set ${conflicts.length === 1 ? "it" : "them"} back; change it there, or set fieldConflicts.mode: Force`,
    };
  }
  return { verdict: "allow", previousOwners: owners };
}

/** "/spec/replicas: kubectl-client-side-apply (Update)" lines for a message. */
export function describePreviousOwners(owners: readonly FieldOwnership[]): string {
  const byPath = new Map<string, string[]>();
  for (const o of owners) byPath.set(o.path, [...(byPath.get(o.path) ?? []), `"${o.manager}"${o.operation ? ` (${o.operation})` : ""}${o.protected ? " [protected, forced]" : ""}`]);
  return [...byPath].map(([p, m]) => `${p} was owned by ${m.join(", ")}`).join("; ");
}
