// The undo of a recorded action: for generated Deployment-like objects and
// generated merge patches over the safelisted fields (replicas, template
// annotations, container image, resources and env), applying the patch and then
// the inverse computed from the recorded pre-state restores the object exactly;
// and the inverse refuses, naming the field, once a field changed after the action.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PreState } from "../api/v1alpha1/remediation-action.ts";
import { apiError, applyJsonPatch, mergePatch } from "../k8s/testing/fake-api.ts";
import { diffObjects } from "./change.ts";
import { inversePatch, stillAsSet } from "./inverse.ts";
import { NOT_REVERSIBLE, notReversible, patchPreState, PRE_STATE_MAX_FIELDS, PRE_STATE_MAX_VALUE_BYTES, scalePreState } from "./pre-state.ts";

const apply = (doc: unknown, ops: unknown) => applyJsonPatch(doc, ops, (status, reason, message) => apiError(status, reason, message));

const small = fc.constantFrom("a", "b", "c", "x-1", "y/2", "z~3");
const quantity = fc.constantFrom("100m", "250m", "1", "64Mi", "128Mi", "1Gi");
const resources = fc.record({ limits: fc.dictionary(fc.constantFrom("cpu", "memory"), quantity), requests: fc.dictionary(fc.constantFrom("cpu", "memory"), quantity) }, { requiredKeys: [] });
const env = fc.uniqueArray(fc.record({ name: fc.constantFrom("LOG", "MODE", "GOGC", "PORT"), value: small }), { selector: (e) => e.name, maxLength: 3 });
const container = fc.record(
  { name: fc.constantFrom("app", "sidecar"), image: fc.constantFrom("app:1", "app:2", "proxy:1"), resources, env },
  { requiredKeys: ["name", "image"] },
);
const annotations = fc.dictionary(small, small, { maxKeys: 3 });

/** A Deployment as the API server returns it, cut down to the fields the patches touch (and the ones they must not). */
const deploymentArb = fc.record({
  replicas: fc.integer({ min: 0, max: 10 }),
  annotations: fc.option(annotations, { nil: undefined }),
  containers: fc.array(container, { minLength: 1, maxLength: 3 }),
}).map(({ replicas, annotations: a, containers }) => ({
  metadata: { name: "web", namespace: "team-a", resourceVersion: "41", annotations: { "deployment.kubernetes.io/revision": "3" } },
  spec: {
    replicas,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" }, ...(a ? { annotations: a } : {}) }, spec: { containers } },
  },
}));

/** A merge patch over the safelisted fields of `d`: null removes, a list is replaced whole (RFC 7386). */
function patchArb(d: { spec: { template: { spec: { containers: unknown[] } } } }) {
  const containersArb = fc.tuple(
    fc.array(container, { maxLength: 2 }),
    fc.subarray(d.spec.template.spec.containers.map((_, i) => i)),
  ).chain(([extra, keep]) => fc.tuple(
    ...keep.map((i) => {
      const c = d.spec.template.spec.containers[i] as Record<string, unknown>;
      return fc.record({ image: fc.option(fc.constantFrom("app:1", "app:3"), { nil: undefined }), resources: fc.option(fc.option(resources, { nil: null }), { nil: undefined }), env: fc.option(env, { nil: undefined }) })
        .map((m) => {
          const out: Record<string, unknown> = { ...c };
          if (m.image !== undefined) out.image = m.image;
          if (m.resources === null) delete out.resources;
          else if (m.resources !== undefined) out.resources = m.resources;
          if (m.env !== undefined) out.env = m.env;
          return out;
        });
    }),
  ).map((kept) => [...kept, ...extra]));
  return fc.record({
    replicas: fc.integer({ min: 0, max: 10 }),
    annotations: fc.oneof(fc.constant(null), fc.dictionary(small, fc.option(small, { nil: null }), { maxKeys: 3 })),
    containers: containersArb,
  }, { requiredKeys: [] }).map((p) => {
    const template: Record<string, unknown> = {};
    if (p.annotations !== undefined) template.metadata = { annotations: p.annotations };
    if (p.containers !== undefined) template.spec = { containers: p.containers };
    return { spec: { ...(p.replicas !== undefined ? { replicas: p.replicas } : {}), ...(Object.keys(template).length ? { template } : {}) } };
  });
}

const actionArb = deploymentArb.chain((d) => patchArb(d).map((patch) => ({ d, patch })));

/** The patch applied, its effect as the controller computes it, and the pre-state recorded from that effect. */
function act(d: unknown, patch: unknown) {
  const after = mergePatch(d, patch) as { metadata: { resourceVersion: string } };
  after.metadata.resourceVersion = "42";
  const changes = diffObjects(d, after);
  return { after, changes, pre: patchPreState(changes, d, after) };
}

describe("inversePatch (property)", () => {
  it("applying a safelisted patch and then its inverse restores the object exactly", () => {
    fc.assert(fc.property(actionArb, ({ d, patch }) => {
      const { after, changes, pre } = act(d, patch);
      fc.pre(changes.length > 0);
      expect(pre.reversible).toBe(true);
      expect(stillAsSet(after, pre)).toBeUndefined();
      const inv = inversePatch(pre, after);
      if (!inv.ok) throw new Error(inv.message);
      const restored = apply(after, inv.patch) as { metadata: { resourceVersion: string } };
      restored.metadata.resourceVersion = "41";
      expect(restored).toEqual(d);
    }), { numRuns: 500 });
  });

  it("a field changed after the action is named and nothing is undone; the patch's own tests refuse it too", () => {
    fc.assert(fc.property(actionArb, fc.nat(), ({ d, patch }, pick) => {
      const { after, pre } = act(d, patch);
      const fields = pre.fields ?? [];
      fc.pre(fields.length > 0);
      const field = fields[pick % fields.length]!;
      // Someone else writes the field: a different value, or back where the action removed it.
      // (A removed list element past the end of its list cannot be added back at its index: not this case.)
      let touched: unknown;
      try {
        touched = apply(after, [{ op: field.removed ? "add" : "replace", path: field.path, value: { changedBy: "someone-else" } }]);
      } catch {
        return fc.pre(false);
      }
      const refused = inversePatch(pre, touched);
      expect(refused).toMatchObject({ ok: false, reason: "TargetChangedSinceAction", field: { path: field.path } });
      if (!field.removed) {
        // Even if the check were skipped, the JSON patch computed earlier refuses the changed object.
        const inv = inversePatch(pre, after);
        if (!inv.ok) throw new Error(inv.message);
        expect(() => apply(touched, inv.patch)).toThrow(/test failed/);
      }
    }), { numRuns: 300 });
  });
});

describe("patchPreState", () => {
  const d = { spec: { replicas: 2, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "app:1" }] } } } };

  it("records each field's value before and the value set as JSON text; spec.replicas before as replicas", () => {
    const after = mergePatch(d, { spec: { replicas: 4, template: { spec: { containers: [{ name: "app", image: "app:2" }] } } } });
    expect(patchPreState(diffObjects(d, after), d, after)).toEqual({
      reversible: true, replicas: 2,
      fields: [
        { path: "/spec/replicas", before: "2", after: "4" },
        { path: "/spec/template/spec/containers/0/image", before: '"app:1"', after: '"app:2"' },
      ],
    });
  });

  it("a map the patch creates is recorded whole as absent before, so the undo removes it rather than leaving it empty", () => {
    const after = mergePatch(d, { spec: { template: { metadata: { annotations: { a: "1", b: "2" } } } } });
    expect(patchPreState(diffObjects(d, after), d, after).fields).toEqual([
      { path: "/spec/template/metadata/annotations", absent: true, after: '{"a":"1","b":"2"}' },
    ]);
  });

  it("a map the patch removes whole is recorded whole, as removed", () => {
    const withEnv = mergePatch(d, { spec: { template: { metadata: { annotations: { a: "1" } } } } });
    const after = mergePatch(withEnv, { spec: { template: { metadata: { annotations: null } } } });
    expect(patchPreState(diffObjects(withEnv, after), withEnv, after).fields).toEqual([
      { path: "/spec/template/metadata/annotations", before: '{"a":"1"}', removed: true },
    ]);
  });

  it("never takes metadata or metadata.annotations whole: the operator's stamp lives there", () => {
    const bare = { metadata: { name: "web" } };
    const after = { metadata: { name: "web", annotations: { team: "a", "smartops.io/last-action": "uid" } } };
    expect(patchPreState(diffObjects(bare, after), bare, after).fields).toEqual([{ path: "/metadata/annotations/team", absent: true, after: '"a"' }]);
  });

  it(`more than ${PRE_STATE_MAX_FIELDS} fields, or a value over ${PRE_STATE_MAX_VALUE_BYTES} bytes: not reversible, and says so`, () => {
    const many = { spec: { template: { metadata: { annotations: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])) } } } };
    const before = { spec: { template: { metadata: { annotations: { k0: "old" } } } } };
    const tooMany = patchPreState(diffObjects(before, many), before, many);
    expect(tooMany).toEqual({ reversible: false, reason: expect.stringMatching(/too large to record: it changes 65 fields \(at most 64/) });
    const big = { spec: { template: { metadata: { annotations: { k0: "x".repeat(PRE_STATE_MAX_VALUE_BYTES) } } } } };
    expect(patchPreState(diffObjects(before, big), before, big)).toEqual({
      reversible: false, reason: expect.stringMatching(/value set at \/spec\/template\/metadata\/annotations\/k0 is 4098 bytes of JSON \(at most 4096\).*not reversible/),
    });
    expect(inversePatch(tooMany, many)).toMatchObject({ ok: false, reason: "NotReversible", message: tooMany.reason });
  });
});

describe("scale, restart and delete-pod", () => {
  it("a scale's inverse sets the replicas back, only while they hold the count it set", () => {
    const pre = scalePreState(2, 5);
    expect(pre).toEqual({ reversible: true, replicas: 2, fields: [{ path: "/spec/replicas", before: "2", after: "5" }] });
    const now = { metadata: { resourceVersion: "9" }, spec: { replicas: 5 } };
    expect(inversePatch(pre, now)).toEqual({
      ok: true,
      patch: [
        { op: "test", path: "/metadata/resourceVersion", value: "9" },
        { op: "test", path: "/spec/replicas", value: 5 },
        { op: "replace", path: "/spec/replicas", value: 2 },
      ],
    });
    expect(inversePatch(pre, { spec: { replicas: 7 } })).toEqual({
      ok: false, reason: "TargetChangedSinceAction",
      field: { path: "/spec/replicas", set: 5, found: 7, message: "/spec/replicas holds 7, not 5 as the action set it" },
      message: "/spec/replicas holds 7, not 5 as the action set it",
    });
  });

  it.each(Object.entries(NOT_REVERSIBLE))("%s has no inverse, and says why", (_type, reason) => {
    const pre: PreState = notReversible(reason);
    expect(inversePatch(pre, { spec: {} })).toEqual({ ok: false, reason: "NotReversible", message: reason });
  });

  it("list elements added are removed from the highest index down; removed ones are added back from the lowest up", () => {
    const before = { c: [{ n: 0 }, { n: 1 }, { n: 2 }], e: [1] };
    const after = { c: [{ n: 0 }], e: [1, 2, 3] };
    const pre = patchPreState(diffObjects(before, after), before, after);
    const inv = inversePatch(pre, after);
    if (!inv.ok) throw new Error(inv.message);
    expect(inv.patch.filter((o) => o.op !== "test").map((o) => `${o.op} ${o.path}`)).toEqual(["remove /e/2", "remove /e/1", "add /c/1", "add /c/2"]);
    expect(apply(after, inv.patch)).toEqual(before);
  });
});
