import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_PATCH_ALLOWED_PATHS, DEFAULT_PATCH_DENIED_PATHS } from "../api/v1alpha1/guardrail-policy.ts";
import { checkPatchPaths, isPathPrefix, type PatchSpec, pathSegments, pointerPath, touchedPaths } from "./patch-paths.ts";

const ALLOWED = [[...DEFAULT_PATCH_ALLOWED_PATHS]];
const DENIED = [...DEFAULT_PATCH_DENIED_PATHS];
const check = (patch: PatchSpec) => {
  const t = touchedPaths(patch);
  return "invalid" in t ? { invalid: t.invalid } : checkPatchPaths(t.paths, ALLOWED, DENIED);
};
const paths = (patch: PatchSpec) => {
  const t = touchedPaths(patch);
  if ("invalid" in t) throw new Error(t.invalid);
  return t.paths;
};

describe("touchedPaths: merge patch", () => {
  it("touches every leaf", () => {
    expect(paths({ merge: { spec: { replicas: 3, template: { metadata: { labels: { a: "b" }, annotations: { "smartops/test-patch": "hello" } } } } } }))
      .toEqual(["spec.replicas", "spec.template.metadata.labels.a", "spec.template.metadata.annotations.smartops/test-patch"]);
  });

  it("a list replaces the whole list; null deletes the field", () => {
    expect(paths({ merge: { spec: { template: { spec: { containers: [{ name: "app", image: "x" }], nodeSelector: null } } } } }))
      .toEqual(["spec.template.spec.containers", "spec.template.spec.nodeSelector"]);
  });

  it("an empty object touches its own path; a key with '.' '[' or ']' touches its parent", () => {
    expect(paths({ merge: { spec: { template: { metadata: { annotations: {} } } } } })).toEqual(["spec.template.metadata.annotations"]);
    expect(paths({ merge: { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "now" } } } } } }))
      .toEqual(["spec.template.metadata.annotations"]);
  });

  it("an empty patch, or a top-level key that is no field, is invalid", () => {
    expect(touchedPaths({ merge: {} })).toHaveProperty("invalid");
    expect(touchedPaths({ merge: { "spec.replicas": 3 } })).toHaveProperty("invalid");
    expect(touchedPaths({})).toHaveProperty("invalid");
    expect(touchedPaths({ merge: { spec: {} }, json: [{ op: "test", path: "/spec" }] })).toHaveProperty("invalid");
  });
});

describe("touchedPaths: strategic merge patch", () => {
  it("lists of objects merge element-wise; the merge key only identifies the element", () => {
    expect(paths({ strategic: { spec: { template: { spec: { containers: [{ name: "app", resources: { limits: { cpu: "1" } } }] } } } } }))
      .toEqual(["spec.template.spec.containers[].resources.limits.cpu"]);
    expect(paths({ strategic: { spec: { template: { spec: { containers: [{ name: "app", image: "evil:1" }] } } } } }))
      .toEqual(["spec.template.spec.containers[].image"]);
    expect(paths({ strategic: { spec: { template: { spec: { containers: [{ name: "app" }] } } } } })).toEqual(["spec.template.spec.containers[]"]);
  });

  it("lists of primitives replace the list", () => {
    expect(paths({ strategic: { metadata: { finalizers: ["a"] } } })).toEqual(["metadata.finalizers"]);
  });

  it("directives touch the object that holds them", () => {
    expect(paths({ strategic: { spec: { template: { spec: { $retainKeys: ["containers"], containers: [] } } } } }))
      .toEqual(["spec.template.spec", "spec.template.spec.containers"]);
    expect(paths({ strategic: { spec: { template: { spec: { containers: [{ name: "app", $patch: "delete" }] } } } } }))
      .toEqual(["spec.template.spec.containers[]"]);
    expect(paths({ strategic: { spec: { template: { spec: { "$setElementOrder/containers": [{ name: "a" }] } } } } })).toEqual(["spec.template.spec"]);
    expect(paths({ strategic: { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } } })).toEqual(["metadata"]);
    expect(touchedPaths({ strategic: { $patch: "replace" } })).toHaveProperty("invalid");
  });
});

describe("touchedPaths: JSON patch", () => {
  it("converts pointers, unescaping ~1 and ~0 and turning indices into []", () => {
    expect(paths({ json: [{ op: "replace", path: "/spec/template/spec/containers/0/image", value: "x" }] })).toEqual(["spec.template.spec.containers[].image"]);
    expect(paths({ json: [{ op: "add", path: "/spec/template/metadata/annotations/smartops~1test-patch", value: "x" }] }))
      .toEqual(["spec.template.metadata.annotations.smartops/test-patch"]);
    expect(paths({ json: [{ op: "add", path: "/spec/template/metadata/labels/a~0b", value: "x" }] })).toEqual(["spec.template.metadata.labels.a~b"]);
    expect(paths({ json: [{ op: "add", path: "/spec/template/spec/tolerations/-", value: {} }] })).toEqual(["spec.template.spec.tolerations[]"]);
  });

  it("add/replace/remove touch path, move touches from and path, copy touches path, test nothing", () => {
    expect(paths({
      json: [
        { op: "test", path: "/spec/template/spec/volumes", value: [] },
        { op: "remove", path: "/spec/template/metadata/labels/x" },
        { op: "move", from: "/spec/template/metadata/labels/a", path: "/spec/template/metadata/labels/b" },
        { op: "copy", from: "/spec/template/spec/serviceAccountName", path: "/spec/template/metadata/labels/c" },
        { op: "replace", path: "/spec/template/metadata/annotations", value: { a: "b" } },
      ],
    })).toEqual([
      "spec.template.metadata.labels.x",
      "spec.template.metadata.labels.a",
      "spec.template.metadata.labels.b",
      "spec.template.metadata.labels.c",
      "spec.template.metadata.annotations",
    ]);
    expect(touchedPaths({ json: [{ op: "test", path: "/spec/replicas", value: 1 }] })).toHaveProperty("invalid");
  });

  it("rejects the seed's own malformed pointer and other bad pointers", () => {
    expect(touchedPaths({ json: [{ op: "add", path: "/spec/template/spec.containers[0].image", value: "nginx:1.17.1" }] })).toHaveProperty("invalid");
    expect(pointerPath("spec/replicas")).toHaveProperty("invalid");
    expect(pointerPath("")).toHaveProperty("invalid");
    expect(pointerPath("/spec//replicas")).toHaveProperty("invalid");
    expect(pointerPath("/spec/a~2b")).toHaveProperty("invalid");
    expect(pointerPath("/spec/containers[0]")).toHaveProperty("invalid");
    expect(touchedPaths({ json: [{ op: "move", path: "/spec/replicas" }] })).toHaveProperty("invalid");
  });
});

describe("checkPatchPaths with the seed's safelist (§9.4.3)", () => {
  it.each([
    ["annotations (the seed's own patch)", { merge: { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } } }],
    ["labels", { merge: { spec: { template: { metadata: { labels: { tier: "web" } } } } } }],
    ["spec.replicas", { json: [{ op: "replace", path: "/spec/replicas", value: 3 }] }],
    ["container resources", { strategic: { spec: { template: { spec: { containers: [{ name: "app", resources: { limits: { memory: "1Gi" } } }] } } } } }],
    ["container resources by index", { json: [{ op: "replace", path: "/spec/template/spec/containers/0/resources/limits/cpu", value: "2" }] }],
  ] as const)("allows %s", (_what, patch) => {
    expect(check(patch as PatchSpec)).toEqual({ ok: true });
  });

  it.each([
    ["securityContext", { merge: { spec: { template: { spec: { securityContext: { runAsUser: 0 } } } } } }],
    ["container securityContext", { json: [{ op: "add", path: "/spec/template/spec/containers/0/securityContext", value: { privileged: true } }] }],
    ["volumes", { strategic: { spec: { template: { spec: { volumes: [{ name: "host", hostPath: { path: "/" } }] } } } } }],
    ["tolerations", { json: [{ op: "add", path: "/spec/template/spec/tolerations/-", value: { operator: "Exists" } }] }],
    ["nodeSelector", { merge: { spec: { template: { spec: { nodeSelector: { a: "b" } } } } } }],
    ["nodeSelector entry by a numeric key", { json: [{ op: "add", path: "/spec/template/spec/nodeSelector/0", value: "x" }] }],
    ["serviceAccountName", { json: [{ op: "replace", path: "/spec/template/spec/serviceAccountName", value: "admin" }] }],
    ["containers[].image", { json: [{ op: "replace", path: "/spec/template/spec/containers/0/image", value: "nginx:1.17.1" }] }],
    ["initContainers[].image", { strategic: { spec: { template: { spec: { initContainers: [{ name: "i", image: "x" }] } } } } }],
    ["hostAliases", { merge: { spec: { template: { spec: { hostAliases: [] } } } } }],
    ["the containers list, replaced whole", { merge: { spec: { template: { spec: { containers: [{ name: "app", image: "evil:1" }] } } } } }],
    ["a container, removed", { json: [{ op: "remove", path: "/spec/template/spec/containers/0" }] }],
    ["the pod spec, replaced whole", { json: [{ op: "replace", path: "/spec/template/spec", value: {} }] }],
    ["the image, moved away", { json: [{ op: "move", from: "/spec/template/spec/containers/0/image", path: "/spec/template/metadata/labels/x" }] }],
  ] as const)("forbids %s", (_what, patch) => {
    expect(check(patch as PatchSpec)).toMatchObject({ ok: false, reason: "PatchPathForbidden" });
  });

  it("does not allow what is neither allowed nor denied", () => {
    expect(check({ json: [{ op: "replace", path: "/spec/minReadySeconds", value: 5 }] })).toMatchObject({ ok: false, reason: "PatchPathNotAllowed", path: "spec.minReadySeconds" });
    expect(check({ merge: { spec: { template: { spec: { containers: [] } } } } })).toMatchObject({ reason: "PatchPathForbidden" });
    expect(check({ merge: { metadata: { labels: { a: "b" } } } })).toMatchObject({ reason: "PatchPathNotAllowed" });
  });

  it("deny wins over allow, and every policy's allow list must agree", () => {
    expect(checkPatchPaths(["spec.template.spec.volumes"], [["spec.template.spec"]], ["spec.template.spec.volumes"])).toMatchObject({ reason: "PatchPathForbidden" });
    expect(checkPatchPaths(["spec.replicas"], [["spec.replicas"], ["spec.template.metadata.labels"]], [])).toMatchObject({ reason: "PatchPathNotAllowed" });
    expect(checkPatchPaths(["spec.replicas"], [["spec.replicas"], ["spec"]], [])).toEqual({ ok: true });
    expect(checkPatchPaths(["spec.replicas"], [], [])).toMatchObject({ reason: "PatchPathNotAllowed" });
  });

  it("compares whole segments", () => {
    expect(isPathPrefix("spec.replicas", "spec.replicasX")).toBe(false);
    expect(isPathPrefix("spec.template.spec.containers", "spec.template.spec.containers[].image")).toBe(true);
    expect(isPathPrefix("spec.template.spec.containers[]", "spec.template.spec.containers")).toBe(false);
    expect(pathSegments("a.b[][].c")).toEqual(["a", "b", "[]", "[]", "c"]);
    expect(checkPatchPaths(["spec.replicasX"], [["spec.replicas"]], [])).toMatchObject({ reason: "PatchPathNotAllowed" });
    expect(checkPatchPaths(["spec.template.spec.volumesX"], [["spec"]], ["spec.template.spec.volumes"])).toEqual({ ok: true });
  });
});

// --- properties ---------------------------------------------------------------

const SEGMENTS = ["spec", "template", "metadata", "containers", "[]", "image", "replicas", "a"];
const segs = fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 6 }).filter((s) => s[0] !== "[]");
const render = (s: readonly string[]) => s.reduce((out, seg) => (seg === "[]" ? `${out}[]` : out === "" ? seg : `${out}.${seg}`), "");
const startsWith = (long: readonly string[], short: readonly string[]) => short.length <= long.length && short.every((x, i) => long[i] === x);

describe("checkPatchPaths properties", () => {
  it("never allows a path that touches a denied path, and allows only what every allow list covers", () => {
    fc.assert(
      fc.property(fc.array(segs, { minLength: 1, maxLength: 4 }), fc.array(fc.array(segs, { maxLength: 4 }), { minLength: 1, maxLength: 3 }), fc.array(segs, { maxLength: 4 }), (touched, allowedSets, denied) => {
        const result = checkPatchPaths(touched.map(render), allowedSets.map((set) => set.map(render)), denied.map(render));
        const touchesDenied = touched.some((t) => denied.some((d) => startsWith(t, d) || startsWith(d, t)));
        if (touchesDenied) expect(result).toMatchObject({ ok: false, reason: "PatchPathForbidden" });
        const allowed = touched.every((t) => allowedSets.every((set) => set.some((a) => startsWith(t, a))));
        expect(result.ok).toBe(!touchesDenied && allowed);
      }),
      { numRuns: 2000 },
    );
  });

  // A semantic oracle: apply the merge patch to a Deployment and see what changed.
  const base = {
    spec: {
      replicas: 2,
      template: {
        metadata: { labels: { a: "1" }, annotations: { b: "2" } },
        spec: { containers: [{ name: "app", image: "app:1", resources: { limits: { cpu: "1" } } }], nodeSelector: { z: "1" }, volumes: [] },
      },
    },
  };
  type Json = null | string | number | Json[] | { [k: string]: Json };
  const mergePatch = (target: Json, patch: Json): Json => {
    if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
    const out: { [k: string]: Json } = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = mergePatch(out[k] ?? null, v);
    }
    return out;
  };
  const valuesAt = (doc: Json | undefined, path: readonly string[]): Json[] => {
    if (path.length === 0) return [doc ?? "<absent>"];
    const [head, ...rest] = path;
    if (head === "[]") return Array.isArray(doc) ? doc.flatMap((x) => valuesAt(x, rest)) : ["<no list>"];
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return ["<absent>"];
    return valuesAt(doc[head!], rest);
  };
  // Patches built from paths near the allowed and denied ones, so both verdicts are common.
  const PATHS = [
    ["spec"], ["spec", "replicas"], ["spec", "template"], ["spec", "template", "metadata"],
    ["spec", "template", "metadata", "labels"], ["spec", "template", "metadata", "labels", "k"],
    ["spec", "template", "metadata", "annotations", "k"], ["spec", "template", "metadata", "annotations", "a.b/c"],
    ["spec", "template", "spec"], ["spec", "template", "spec", "containers"], ["spec", "template", "spec", "nodeSelector", "z"],
    ["spec", "template", "spec", "volumes"], ["spec", "template", "spec", "securityContext", "runAsUser"],
  ];
  const leaf: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 9 }), fc.constantFrom("v", "evil:1"), fc.constant(0).map((): Json => ({})), fc.constant(0).map((): Json => [{ name: "app", image: "evil:1" }]), fc.constant(0).map((): Json => [{ name: "app", resources: { limits: { cpu: "2" } } }]), fc.constant(0).map((): Json => []));
  const setIn = (obj: { [k: string]: Json }, path: readonly string[], value: Json) => {
    let node = obj;
    for (const k of path.slice(0, -1)) {
      const next = node[k];
      node = node[k] = typeof next === "object" && next !== null && !Array.isArray(next) ? next : {};
    }
    node[path[path.length - 1]!] = value;
  };
  const patchArb = fc.array(fc.tuple(fc.constantFrom(...PATHS), leaf), { minLength: 1, maxLength: 3 }).map((writes) => {
    const patch: { [k: string]: Json } = {};
    for (const [path, value] of writes) setIn(patch, path, value);
    return patch;
  });

  it.each([
    ["the seed's allow list", ALLOWED],
    ["an allow list of all of spec, so only the deny list protects", [["spec"]]],
  ])("a merge patch accepted with %s never changes a denied field (checked by applying it)", (_what, allowed) => {
    // Parsed here, not with pathSegments: the oracle must not share the code it checks.
    const deniedSegs = DENIED.map((d) => d.replace(/\[\]/g, ".[]").split("."));
    let accepted = 0;
    fc.assert(
      fc.property(patchArb, (patch) => {
        const t = touchedPaths({ merge: patch });
        if ("invalid" in t) return;
        if (!checkPatchPaths(t.paths, allowed, DENIED).ok) return;
        accepted++;
        const after = mergePatch(base as Json, patch);
        for (const d of deniedSegs) expect(valuesAt(after, d), d.join(".")).toEqual(valuesAt(base as Json, d));
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
