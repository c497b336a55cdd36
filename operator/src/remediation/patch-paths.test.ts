import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_PATCH_ALLOWED_PATHS, DEFAULT_PATCH_DENIED_PATHS } from "../api/v1alpha1/guardrail-policy.ts";
import { diffObjects } from "./change.ts";
import { checkPatchPaths, isPathPrefix, isValidPath, parsePath, renderPath } from "./patch-paths.ts";

const ALLOWED = [[...DEFAULT_PATCH_ALLOWED_PATHS]];
const DENIED = [...DEFAULT_PATCH_DENIED_PATHS];

describe("the path language", () => {
  it("parses fields, [] and quoted keys, and renders them back", () => {
    expect(parsePath("spec.template.spec.containers[].image")).toEqual([{ key: "spec" }, { key: "template" }, { key: "spec" }, { key: "containers" }, { index: true }, { key: "image" }]);
    expect(parsePath('spec.template.metadata.annotations["example.com/owner"]')).toEqual([{ key: "spec" }, { key: "template" }, { key: "metadata" }, { key: "annotations" }, { key: "example.com/owner" }]);
    expect(parsePath('a["x.io/*"]')).toEqual([{ key: "a" }, { key: "x.io/", glob: true }]);
    for (const p of ["spec.replicas", "a.b[][].c", 'spec.template.metadata.annotations["example.com/owner"]', 'a["x.io/*"]']) expect(renderPath(parsePath(p))).toBe(p);
    // A plain key may be written quoted; it renders plain.
    expect(renderPath(parsePath('spec["replicas"]'))).toBe("spec.replicas");
  });

  it("refuses malformed paths", () => {
    for (const bad of ["", ".a", "a.", "a..b", "[]", "a[", 'a["b', 'a["b*c"]', 'a[""]', "a b", 'a["x"]b']) expect(isValidPath(bad), bad).toBe(false);
  });

  it("compares whole segments; a glob key matches by prefix", () => {
    expect(isPathPrefix("spec.replicas", "spec.replicasX")).toBe(false);
    expect(isPathPrefix("spec.template.spec.containers", "spec.template.spec.containers[].image")).toBe(true);
    expect(isPathPrefix("spec.template.spec.containers[]", "spec.template.spec.containers")).toBe(false);
    expect(isPathPrefix('spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/*"]', 'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/main"]')).toBe(true);
    expect(isPathPrefix('spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/*"]', 'spec.template.metadata.annotations["example.com/x"]')).toBe(false);
    expect(isPathPrefix('spec.template.metadata.annotations["a.b/c"]', "spec.template.metadata.annotations.a")).toBe(false);
  });
});

describe("checkPatchPaths", () => {
  it.each([
    "spec.template.spec.containers[].image",
    "spec.template.spec.containers[].securityContext.capabilities.add[]",
    "spec.template.spec.securityContext.runAsUser",
    "spec.template.spec.volumes[].hostPath.path",
    "spec.template.spec.serviceAccountName",
    'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/main"]',
    'spec.template.metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]',
    'spec.template.metadata.annotations["sidecar.istio.io/inject"]',
    'spec.template.metadata.annotations["vault.hashicorp.com/role"]',
  ])("the defaults forbid %s", (path) => {
    expect(checkPatchPaths([path], ALLOWED, DENIED)).toMatchObject({ ok: false, reason: "PatchPathForbidden" });
  });

  it.each([
    "spec.replicas",
    'spec.template.metadata.annotations["smartops/test-patch"]',
    "spec.template.spec.containers[].resources.limits.cpu",
  ])("the defaults allow %s", (path) => {
    expect(checkPatchPaths([path], ALLOWED, DENIED)).toEqual({ ok: true });
  });

  it("the defaults no longer allow pod labels: labels select traffic and policy", () => {
    expect(checkPatchPaths(["spec.template.metadata.labels.tier"], ALLOWED, DENIED)).toMatchObject({ ok: false, reason: "PatchPathNotAllowed" });
    expect(checkPatchPaths(['spec.template.metadata.labels["example.com/team"]'], [['spec.template.metadata.labels["example.com/team"]']], DENIED)).toEqual({ ok: true });
  });

  it("deny wins over allow, and every policy's allow list must agree", () => {
    expect(checkPatchPaths(["spec.template.spec.volumes"], [["spec.template.spec"]], ["spec.template.spec.volumes"])).toMatchObject({ reason: "PatchPathForbidden" });
    expect(checkPatchPaths(["spec.replicas"], [["spec.replicas"], ["spec.template.metadata.annotations"]], [])).toMatchObject({ reason: "PatchPathNotAllowed" });
    expect(checkPatchPaths(["spec.replicas"], [["spec.replicas"], ["spec"]], [])).toEqual({ ok: true });
    expect(checkPatchPaths(["spec.replicas"], [], [])).toMatchObject({ reason: "PatchPathNotAllowed" });
    expect(checkPatchPaths(["spec.template.spec.volumesX"], [["spec"]], ["spec.template.spec.volumes"])).toEqual({ ok: true });
  });
});

// --- properties: judged on the effect ------------------------------------------

type Json = null | string | number | boolean | Json[] | { [k: string]: Json };

const base: Json = {
  metadata: { name: "web", annotations: { "deployment.kubernetes.io/revision": "1" }, resourceVersion: "10", generation: 1 },
  spec: {
    replicas: 2,
    template: {
      metadata: { labels: { app: "web" }, annotations: { b: "2" } },
      spec: {
        containers: [{ name: "app", image: "app:1", resources: { limits: { cpu: "1" } } }, { name: "side", image: "side:1" }],
        nodeSelector: { z: "1" },
        volumes: [],
      },
    },
  },
};

// Whatever syntax produced it, an effect is a set of writes at concrete places.
// These places sit near the allowed and the denied ones, list indices included,
// so both verdicts are common.
const PLACES: (string | number)[][] = [
  ["spec", "replicas"], ["spec", "minReadySeconds"],
  ["spec", "template", "metadata", "labels", "tier"], ["spec", "template", "metadata", "annotations", "k"],
  ["spec", "template", "metadata", "annotations", "container.apparmor.security.beta.kubernetes.io/app"],
  ["spec", "template", "metadata", "annotations", "sidecar.istio.io/inject"],
  ["spec", "template", "spec", "containers", 0, "image"], ["spec", "template", "spec", "containers", 1, "image"],
  ["spec", "template", "spec", "containers", 2], ["spec", "template", "spec", "containers", 0, "resources", "limits", "cpu"],
  ["spec", "template", "spec", "containers", 1, "securityContext", "privileged"],
  ["spec", "template", "spec", "nodeSelector", "z"], ["spec", "template", "spec", "volumes", 0],
  ["spec", "template", "spec", "securityContext", "runAsUser"], ["spec", "template", "spec", "serviceAccountName"],
  ["metadata", "resourceVersion"], ["metadata", "annotations", "smartops.io/last-action"],
];
const value: fc.Arbitrary<Json> = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom("v", "evil:1", "unconfined", "false"), fc.constant(true),
  fc.constant(0).map((): Json => ({ name: "x", image: "evil:1" })), fc.constant(0).map((): Json => ({ hostPath: { path: "/" } })));
const effectArb = fc.array(fc.tuple(fc.constantFrom(...PLACES), fc.oneof(value, fc.constant(undefined))), { minLength: 1, maxLength: 4 });

function applyEffect(doc: Json, writes: [(string | number)[], Json | undefined][]): Json {
  const out = structuredClone(doc) as { [k: string]: Json };
  for (const [place, v] of writes) {
    let node: Json = out;
    for (const k of place.slice(0, -1)) {
      const holder = node as Record<string | number, Json>;
      const next: Json | undefined = holder[k];
      node = holder[k] = typeof next === "object" && next !== null ? next : {};
    }
    const last = place[place.length - 1]!;
    const holder = node as Record<string | number, Json>;
    if (v === undefined) {
      if (Array.isArray(holder)) holder.splice(Number(last), 1);
      else delete holder[last];
    } else holder[last] = v;
  }
  return out;
}

// The oracle reads values at the denied paths by its own parsing, not with the code it checks.
function valuesAt(doc: Json | undefined, path: string): Json[] {
  const segs = path.replace(/\[\]/g, ".[]").replace(/\["([^"]*)"\]/g, (_m, k: string) => `.${k.replaceAll(".", "\u0000")}`).split(".").map((s) => s.replaceAll("\u0000", "."));
  const walk = (d: Json | undefined, rest: string[]): Json[] => {
    if (rest.length === 0) return [d ?? "<absent>"];
    const [head, ...tail] = rest;
    if (head === "[]") return Array.isArray(d) ? d.flatMap((x) => walk(x, tail)) : ["<no list>"];
    if (typeof d !== "object" || d === null || Array.isArray(d)) return ["<absent>"];
    if (head!.endsWith("*")) {
      const prefix = head!.slice(0, -1);
      return Object.keys(d).filter((k) => k.startsWith(prefix)).sort().flatMap((k) => [k, ...walk(d[k], tail)]);
    }
    return walk(d[head!], tail);
  };
  return walk(doc, segs);
}

describe("safelist properties", () => {
  it.each([
    ["the default allow list", ALLOWED],
    ["an allow list of all of spec, so only the deny list protects", [["spec"]]],
  ])("an effect accepted with %s never changes a denied field", (_what, allowed) => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(effectArb, (writes) => {
        const after = applyEffect(base, writes);
        const changes = diffObjects(base, after);
        if (changes.length === 0 || !checkPatchPaths(changes.map((c) => c.path), allowed, DENIED).ok) {
          refused++;
          return;
        }
        accepted++;
        for (const d of DENIED) expect(valuesAt(after, d), d).toEqual(valuesAt(base, d));
        expect(valuesAt(after, "spec.template.metadata.labels")).toEqual(allowed === ALLOWED ? valuesAt(base, "spec.template.metadata.labels") : expect.anything());
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it("paths of any generated pair of objects parse back to themselves", () => {
    const key = fc.oneof(fc.constantFrom("a", "b-c", "x.io/y", "[weird]", "k*"), fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !k.includes('"') && !k.includes("\\")));
    const tree: fc.Arbitrary<Json> = fc.letrec<{ t: Json }>((tie) => ({
      t: fc.oneof({ depthSize: "small" }, fc.integer(), fc.dictionary(key, tie("t"), { maxKeys: 3 }), fc.array(tie("t"), { maxLength: 3 })),
    })).t;
    const root = fc.dictionary(key, tree, { maxKeys: 4 });
    fc.assert(fc.property(root, root, (a, b) => {
      for (const c of diffObjects(a, b)) {
        if (c.path === "") continue;
        expect(renderPath(parsePath(c.path))).toBe(c.path);
      }
    }), { numRuns: 500 });
  });
});
