import type { V1ManagedFieldsEntry } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_PROTECTED_MANAGERS, describePreviousOwners, judgeFieldOwners, ownersOfChanges } from "./field-owners.ts";
import { FIELD_MANAGERS } from "./testing/arbitraries.ts";

const SELF = "smartops-operator";

const deployment = {
  spec: {
    replicas: 2,
    minReadySeconds: 5,
    template: {
      metadata: { annotations: { "example.com/a": "1" } },
      spec: { containers: [{ name: "app", image: "app:1", resources: { limits: { cpu: "1" } } }, { name: "side", image: "side:1" }] },
    },
  },
};

/** Each field the generated actions may change, with the fieldsV1 path server-side apply records for it. */
const FIELDS: Record<string, string[]> = {
  "/spec/replicas": ["f:spec", "f:replicas"],
  "/spec/minReadySeconds": ["f:spec", "f:minReadySeconds"],
  "/spec/template/metadata/annotations/example.com~1a": ["f:spec", "f:template", "f:metadata", "f:annotations", "f:example.com/a"],
  "/spec/template/spec/containers/0/resources/limits/cpu": ["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"app"}', "f:resources", "f:limits", "f:cpu"],
  "/spec/template/spec/containers/1/image": ["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"side"}', "f:image"],
};
const POINTERS = Object.keys(FIELDS);

/** The fieldsV1 set of a manager owning these fields (list elements marked with "." as the API server does). */
function fieldsV1(pointers: readonly string[]): object {
  const root: Record<string, Record<string, unknown>> = {};
  for (const p of pointers) {
    let node: Record<string, unknown> = root;
    for (const k of FIELDS[p]!) {
      node[k] ??= k.startsWith("k:") ? { ".": {} } : {};
      node = node[k] as Record<string, unknown>;
    }
  }
  return root;
}

const entry = (manager: string, pointers: readonly string[], more: Partial<V1ManagedFieldsEntry> = {}): V1ManagedFieldsEntry =>
  ({ manager, operation: "Update", apiVersion: "apps/v1", time: "2026-01-01T00:00:00Z" as unknown as Date, fieldsType: "FieldsV1", fieldsV1: fieldsV1(pointers), ...more });

const judge = (managedFields: V1ManagedFieldsEntry[], pointers: string[], mode: "Block" | "Force" = "Block", protectedManagers: string[] = []) =>
  judgeFieldOwners({ managedFields, object: deployment, pointers, protectedManagers, mode, self: SELF });

describe("judgeFieldOwners", () => {
  it("blocks a field a protected manager owns, naming the manager and the field", () => {
    const d = judge([entry("argocd-controller", ["/spec/replicas"], { operation: "Apply" })], ["/spec/replicas"]);
    expect(d.verdict).toBe("block");
    expect(d.verdict === "block" && d.message).toMatch(/\/spec\/replicas is owned by field manager "argocd-controller" \(Apply\)/);
  });
  it("changes a field an unprotected manager owns and names it as the previous owner", () => {
    const d = judge([entry("kubectl-client-side-apply", ["/spec/replicas"])], ["/spec/replicas"]);
    expect(d).toEqual({ verdict: "allow", previousOwners: [{ path: "/spec/replicas", manager: "kubectl-client-side-apply", operation: "Update", time: "2026-01-01T00:00:00Z" }] });
    expect(describePreviousOwners(d.verdict === "allow" ? d.previousOwners : [])).toBe('/spec/replicas was owned by "kubectl-client-side-apply" (Update)');
  });
  it("a manager the policy adds is protected", () => {
    expect(judge([entry("team-tuner", ["/spec/replicas"])], ["/spec/replicas"], "Block", ["team-tuner"]).verdict).toBe("block");
  });
  it("Force changes it and marks the protected previous owner", () => {
    const d = judge([entry("team-tuner", ["/spec/replicas"])], ["/spec/replicas"], "Force", ["team-tuner"]);
    expect(d).toMatchObject({ verdict: "allow", previousOwners: [{ manager: "team-tuner", protected: true }] });
  });
  it("the operator's own manager is nobody else", () => {
    expect(judge([entry(SELF, ["/spec/replicas"])], ["/spec/replicas"])).toEqual({ verdict: "allow", previousOwners: [] });
  });
  it("only the changed fields count: a protected owner of a sibling does not block", () => {
    const d = judge([entry("argocd-controller", ["/spec/minReadySeconds", "/spec/template/spec/containers/1/image"]), entry("kubectl", ["/spec/replicas"])], ["/spec/replicas"]);
    expect(d).toMatchObject({ verdict: "allow", previousOwners: [{ manager: "kubectl" }] });
  });
  it("a list element is matched by its key", () => {
    const fields = [entry("helm", ["/spec/template/spec/containers/1/image"])];
    expect(judge(fields, ["/spec/template/spec/containers/0/resources/limits/cpu"]).verdict).toBe("allow");
    expect(judge(fields, ["/spec/template/spec/containers/1/image"]).verdict).toBe("block");
  });
  it("status-subresource entries never own the spec", () => {
    expect(judge([entry("argocd-controller", ["/spec/replicas"], { subresource: "status" })], ["/spec/replicas"]).verdict).toBe("allow");
  });
});

describe("judgeFieldOwners properties", () => {
  // Managers and the fields each owns, independent of fieldOwners' reading of fieldsV1.
  const ownership = fc.array(fc.record({ manager: fc.constantFrom(...FIELD_MANAGERS, SELF), fields: fc.subarray(POINTERS), operation: fc.constantFrom("Apply", "Update") }), { maxLength: 5 });
  const input = fc.record({
    owned: ownership,
    changed: fc.subarray(POINTERS),
    extra: fc.subarray([...FIELD_MANAGERS]),
  });
  const managedFieldsOf = (owned: { manager: string; fields: string[]; operation: string }[]) => owned.map((o) => entry(o.manager, o.fields, { operation: o.operation }));

  it("no generated action changes a field owned by a protected manager under Block", () => {
    fc.assert(fc.property(input, ({ owned, changed, extra }) => {
      const guarded = new Set<string>([...DEFAULT_PROTECTED_MANAGERS, ...extra]);
      const conflict = owned.some((o) => guarded.has(o.manager) && o.fields.some((f) => changed.includes(f)));
      const d = judge(managedFieldsOf(owned), changed, "Block", extra);
      expect(d.verdict).toBe(conflict ? "block" : "allow");
      if (d.verdict === "block") {
        for (const c of d.conflicts) expect(guarded.has(c.manager) && owned.some((o) => o.manager === c.manager && o.fields.includes(c.path))).toBe(true);
      }
    }), { numRuns: 500 });
  });

  it("under Force every other owner of a changed field is recorded, and nothing else", () => {
    fc.assert(fc.property(input, ({ owned, changed, extra }) => {
      const d = judge(managedFieldsOf(owned), changed, "Force", extra);
      expect(d.verdict).toBe("allow");
      const want = new Set(owned.filter((o) => o.manager !== SELF).flatMap((o) => o.fields.filter((f) => changed.includes(f)).map((f) => `${f} ${o.manager}`)));
      const got = new Set((d.verdict === "allow" ? d.previousOwners : []).map((o) => `${o.path} ${o.manager}`));
      expect(got).toEqual(want);
    }), { numRuns: 500 });
  });

  it("ownersOfChanges never names the operator itself", () => {
    fc.assert(fc.property(input, ({ owned, changed }) => {
      expect(ownersOfChanges(managedFieldsOf(owned), deployment, changed, SELF).some((o) => o.manager === SELF)).toBe(false);
    }));
  });
});
