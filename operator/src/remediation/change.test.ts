import { describe, expect, it } from "vitest";
import { changedReplicas, diffObjects } from "./change.ts";

describe("diffObjects", () => {
  it("names every changed leaf with its safelist path and exact pointer, values on both sides", () => {
    const before = { spec: { replicas: 2, template: { spec: { containers: [{ name: "app", image: "app:1" }] } } } };
    const after = { spec: { replicas: 3, template: { spec: { containers: [{ name: "app", image: "evil:1" }] } } } };
    expect(diffObjects(before, after)).toEqual([
      { path: "spec.replicas", pointer: "/spec/replicas", before: 2, after: 3 },
      { path: "spec.template.spec.containers[].image", pointer: "/spec/template/spec/containers/0/image", before: "app:1", after: "evil:1" },
    ]);
  });

  it("quotes keys with . or / and escapes them in the pointer; a map added whole names each key", () => {
    expect(diffObjects({ spec: { template: { metadata: {} } } }, { spec: { template: { metadata: { annotations: { "container.apparmor.security.beta.kubernetes.io/main": "unconfined" } } } } })).toEqual([
      { path: 'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/main"]', pointer: "/spec/template/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1main", after: "unconfined" },
    ]);
  });

  it("a list element added or removed is one change of the element", () => {
    expect(diffObjects({ c: [{ name: "a" }] }, { c: [{ name: "a" }, { name: "b", image: "x" }] })).toEqual([{ path: "c[]", pointer: "/c/1", after: { name: "b", image: "x" } }]);
    expect(diffObjects({ c: [{ name: "a" }] }, { c: [] })).toEqual([{ path: "c[]", pointer: "/c/0", before: { name: "a" } }]);
  });

  it("ignores what the API server and the operator's own stamp change", () => {
    const before = { metadata: { resourceVersion: "1", generation: 1, managedFields: [], annotations: {} }, status: { replicas: 1 } };
    const after = { metadata: { resourceVersion: "2", generation: 2, managedFields: [{ manager: "x" }], annotations: { "smartops.io/last-action": "uid" } }, status: { replicas: 2 } };
    expect(diffObjects(before, after)).toEqual([]);
  });

  it("equal empty containers are no change; absent versus empty is", () => {
    expect(diffObjects({ a: [], b: {} }, { a: [], b: {} })).toEqual([]);
    expect(diffObjects({ a: [] }, {})).toEqual([{ path: "a", pointer: "/a", before: [] }]);
  });

  it("changedReplicas reads spec.replicas' change", () => {
    expect(changedReplicas(diffObjects({ spec: { replicas: 2 } }, { spec: { replicas: 5 } }))).toEqual({ from: 2, to: 5 });
    expect(changedReplicas(diffObjects({ spec: { replicas: 2 } }, { spec: {} }))).toEqual({ from: 2 });
    expect(changedReplicas(diffObjects({ spec: { replicas: 2 } }, { spec: { replicas: 2 } }))).toBeUndefined();
  });
});
