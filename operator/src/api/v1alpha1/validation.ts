// Validates a spec against its kind's zod schema and reports each problem with
// the field path the API server would name (spec.rankedCauses[0].probability),
// so the shim's 4xx answers and the API server's rejections read alike.
import type { z } from "zod";
import { KINDS, type KindDefinition } from "./kinds.ts";

export interface FieldIssue {
  field: string;
  message: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

export function kindDefinition(kind: string): KindDefinition | undefined {
  return KINDS.find((k) => k.kind === kind);
}

export function fieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): Validation<z.infer<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues: FieldIssue[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) issues.push({ field: fieldPath([...issue.path, key], prefix), message: "unknown field" });
    } else {
      issues.push({ field: fieldPath(issue.path, prefix), message: issue.message });
    }
  }
  return { ok: false, issues };
}

/** Validates a whole object of one of our kinds by its spec. */
export function validateObject(obj: { kind?: unknown; spec?: unknown }): Validation<unknown> {
  const def = typeof obj.kind === "string" ? kindDefinition(obj.kind) : undefined;
  if (!def) return { ok: false, issues: [{ field: "kind", message: `unknown kind ${String(obj.kind)}` }] };
  if (obj.spec === undefined) return { ok: false, issues: [{ field: "spec", message: "spec is required" }] };
  return validate(def.spec, obj.spec, "spec");
}
