import type { V1ManagedFieldsEntry } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describeOwners, fieldOwners } from "./field-manager.ts";
import { parsePointer } from "./pre-state.ts";

const entry = (manager: string, fieldsV1: object, more: Partial<V1ManagedFieldsEntry> = {}): V1ManagedFieldsEntry =>
  ({ manager, operation: "Update", apiVersion: "apps/v1", time: "2026-01-01T00:00:00Z" as unknown as Date, fieldsType: "FieldsV1", fieldsV1, ...more });

const deployment = {
  spec: {
    replicas: 5,
    template: {
      metadata: { annotations: { "example.com/a": "1", "example.com/b": "2" } },
      spec: { containers: [{ name: "app", image: "app:1", resources: { limits: { memory: "256Mi" } }, args: ["--x"] }, { name: "side", image: "side:1" }] },
    },
  },
};

const owners = (fields: V1ManagedFieldsEntry[], pointer: string) => fieldOwners(fields, deployment, parsePointer(pointer)).map((o) => o.manager);

describe("fieldOwners: the field manager whose fieldsV1 covers a path", () => {
  const cases: Array<{ name: string; fields: V1ManagedFieldsEntry[]; pointer: string; want: string[] }> = [
    {
      name: "the owner of a scalar field, not the one of its siblings",
      fields: [entry("kubectl", { "f:spec": { "f:replicas": {} } }), entry("smartops-operator", { "f:metadata": { "f:annotations": { "f:smartops.io/last-action": {} } } })],
      pointer: "/spec/replicas", want: ["kubectl"],
    },
    {
      name: "a list element by its key (containers by name)",
      fields: [
        entry("deployer", { "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"side"}': { ".": {}, "f:resources": {} } } } } } }),
        entry("tuner", { "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"app"}': { ".": {}, "f:resources": { "f:limits": { "f:memory": {} } } } } } } } }),
      ],
      pointer: "/spec/template/spec/containers/0/resources/limits/memory", want: ["tuner"],
    },
    {
      name: "a map whose fields another manager owns: that manager (owns something inside it)",
      fields: [entry("annotator", { "f:spec": { "f:template": { "f:metadata": { "f:annotations": { "f:example.com/b": {} } } } } })],
      pointer: "/spec/template/metadata/annotations", want: ["annotator"],
    },
    {
      name: "an atomic list owned whole covers its elements",
      fields: [entry("deployer", { "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"app"}': { "f:args": {} } } } } } })],
      pointer: "/spec/template/spec/containers/0/args/0", want: ["deployer"],
    },
    {
      name: "status-subresource entries never own the spec",
      fields: [entry("kube-controller-manager", { "f:spec": { "f:replicas": {} } }, { subresource: "status" })],
      pointer: "/spec/replicas", want: [],
    },
    {
      name: "several owners: the most recent change first; owners of the field win over owners inside it",
      fields: [
        entry("old", { "f:spec": { "f:replicas": {} } }, { time: "2026-01-01T00:00:00Z" as unknown as Date }),
        entry("new", { "f:spec": { "f:replicas": {} } }, { operation: "Apply", time: "2026-01-01T01:00:00Z" as unknown as Date }),
      ],
      pointer: "/spec/replicas", want: ["new", "old"],
    },
    { name: "no managedFields: nobody", fields: [], pointer: "/spec/replicas", want: [] },
    { name: "an entry with an empty field set owns nothing", fields: [entry("nobody", {})], pointer: "/spec/template/spec/containers/0/image", want: [] },
  ];
  it.each(cases)("$name", ({ fields, pointer, want }) => {
    expect(owners(fields, pointer)).toEqual(want);
  });

  it("describes owners with their operation, or says none is recorded", () => {
    expect(describeOwners(fieldOwners([entry("e2e-tester", { "f:spec": { "f:replicas": {} } }, { operation: "Apply" })], deployment, ["spec", "replicas"]))).toBe('"e2e-tester" (Apply)');
    expect(describeOwners([])).toMatch(/no field manager/);
  });
});
