import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Autoscaler, autoscalersOf, decideAutoscaler, deploymentKey, floorOf, type HpaObject, KEDA_SCALED_OBJECT_LABEL, type ScaledObjectObject,
} from "./autoscaler.ts";

const hpa = (name: string, target: string, min: number | undefined, max: number, more: Partial<NonNullable<HpaObject["metadata"]>> = {}): HpaObject => ({
  metadata: { namespace: "team-a", name, ...more },
  spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, ...(min !== undefined ? { minReplicas: min } : {}), maxReplicas: max },
});
const so = (name: string, target: string, min?: number, max?: number): ScaledObjectObject => ({
  metadata: { namespace: "team-a", name },
  spec: { scaleTargetRef: { name: target }, ...(min !== undefined ? { minReplicaCount: min } : {}), ...(max !== undefined ? { maxReplicaCount: max } : {}) },
});
const H = (min: number | undefined, max: number): Autoscaler => ({ kind: "HorizontalPodAutoscaler", namespace: "team-a", name: "web", ...(min !== undefined ? { min } : {}), max });
const block = { mode: "Block" as const, adjustSeconds: 1800, maxReplicas: 8 };
const adjust = { ...block, mode: "AdjustAutoscaler" as const };

describe("which Deployment an autoscaler targets", () => {
  it.each([
    [{ apiVersion: "apps/v1", kind: "Deployment", name: "web" }, undefined, "team-a/web"],
    [{ kind: "Deployment", name: "web" }, undefined, "team-a/web"],
    [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web" }, undefined, undefined],
    [{ apiVersion: "apps/v1beta1", kind: "Deployment", name: "web" }, undefined, undefined],
    [{ name: "web" }, undefined, undefined],
    [{ name: "web" }, "Deployment", "team-a/web"],
  ])("%j (default kind %s) -> %s", (ref, defaultKind, key) => {
    expect(deploymentKey("team-a", ref, defaultKind)).toBe(key);
  });
});

describe("autoscalersOf", () => {
  it("the HPA KEDA generates for a ScaledObject counts as that ScaledObject", () => {
    const generated = hpa("keda-hpa-web", "web", 1, 10, { labels: { [KEDA_SCALED_OBJECT_LABEL]: "web-so" } });
    expect(autoscalersOf([generated], [so("web-so", "web", 2, 10)])).toEqual([{ kind: "ScaledObject", namespace: "team-a", name: "web-so", min: 2, max: 10 }]);
    // Without a ScaledObject informer the generated HPA still names its ScaledObject.
    expect(autoscalersOf([generated], [])).toEqual([{ kind: "ScaledObject", namespace: "team-a", name: "web-so", min: 1, max: 10 }]);
    const owned = hpa("keda-hpa-web", "web", 1, 10, { ownerReferences: [{ apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", name: "web-so", controller: true }] });
    expect(autoscalersOf([owned], [so("web-so", "web")]).map((a) => `${a.kind}/${a.name}`)).toEqual(["ScaledObject/web-so"]);
  });

  it("an HPA of its own and a ScaledObject are two autoscalers, sorted", () => {
    expect(autoscalersOf([hpa("b", "web", 2, 6)], [so("a", "web")]).map((a) => `${a.kind}/${a.name}`)).toEqual(["HorizontalPodAutoscaler/b", "ScaledObject/a"]);
  });

  it("unset floors take the autoscaler's defaults", () => {
    expect(floorOf(autoscalersOf([hpa("h", "web", undefined, 6)], [])[0]!)).toBe(1);
    const [s] = autoscalersOf([], [so("s", "web")]);
    expect([floorOf(s!), s!.max]).toEqual([0, 100]);
  });
});

describe("decideAutoscaler", () => {
  const input = (over: Partial<Parameters<typeof decideAutoscaler>[0]>) => ({ type: "scale" as const, deployment: "team-a/web", requested: 4, autoscalers: [H(2, 6)], policy: block, ...over });
  it.each([
    ["not autoscaled", input({ autoscalers: [] }), "none", ""],
    ["a restart", input({ type: "restart" }), "none", ""],
    ["a patch not touching replicas", input({ type: "patch", changes: [{ path: "spec.template.metadata.annotations", pointer: "/spec/template/metadata/annotations/a", after: "b" }] }), "none", ""],
    ["Block names the HPA and its min/max", input({}), "block", "HorizontalPodAutoscaler web (min 2, max 6)"],
    ["Block: a patch of spec.replicas", input({ type: "patch", changes: [{ path: "spec.replicas", pointer: "/spec/replicas", before: 2, after: 4 }] }), "block", "a patch of spec.replicas"],
    ["Adjust raises the floor", input({ policy: adjust }), "adjust", "floor 2 -> 4"],
    ["Adjust caps at the HPA's max and says so", input({ policy: adjust, requested: 8 }), "adjust", "the requested 8 is above its max 6: capped at 6"],
    ["Adjust caps at the policy's max and says so", input({ policy: { ...adjust, maxReplicas: 3 }, requested: 5 }), "adjust", "above the policy's replicas.max 3: capped at 3"],
    ["Adjust never lowers the floor", input({ policy: adjust, requested: 1 }), "block", "never lowers"],
    ["Adjust: two autoscalers are ambiguous", input({ policy: adjust, autoscalers: [H(2, 6), { ...H(1, 4), kind: "ScaledObject", name: "so" }] }), "block", "ambiguous"],
    ["Adjust: a patch of replicas and more is refused", input({ policy: adjust, type: "patch", changes: [{ path: "spec.replicas", pointer: "/spec/replicas", before: 2, after: 4 }, { path: "x", pointer: "/spec/minReadySeconds", after: 3 }] }), "block", "other fields"],
  ])("%s", (_name, i, kind, text) => {
    const d = decideAutoscaler(i);
    expect(d.kind).toBe(kind);
    if (d.kind !== "none") expect(d.message).toContain(text);
    if (d.kind === "block") expect(d.reason).toBe("ManagedByAutoscaler");
  });

  const autoscalerArb = fc.record({
    kind: fc.constantFrom("HorizontalPodAutoscaler" as const, "ScaledObject" as const),
    namespace: fc.constant("team-a"),
    name: fc.constantFrom("a", "b", "c"),
    min: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    max: fc.integer({ min: 1, max: 12 }),
  }).map((a) => (a.min === undefined ? { kind: a.kind, namespace: a.namespace, name: a.name, max: a.max } : a));
  const inputArb = (mode: "Block" | "AdjustAutoscaler") => fc.record({
    type: fc.constantFrom("scale" as const, "patch" as const),
    deployment: fc.constant("team-a/web"),
    changes: fc.constant([{ path: "spec.replicas", pointer: "/spec/replicas", before: 2, after: 3 }]),
    requested: fc.integer({ min: 0, max: 20 }),
    autoscalers: fc.array(autoscalerArb, { minLength: 1, maxLength: 3 }),
    policy: fc.record({ mode: fc.constant(mode), adjustSeconds: fc.integer({ min: 10, max: 86400 }), maxReplicas: fc.integer({ min: 1, max: 12 }) }),
  });

  it("under Block no scale of an autoscaled Deployment is ever allowed", () => {
    fc.assert(fc.property(inputArb("Block"), (i) => {
      const d = decideAutoscaler(i);
      expect(d.kind).toBe("block");
    }), { numRuns: 500 });
  });

  it("under Adjust the new floor never exceeds min(policy max, autoscaler max) and never lowers the floor", () => {
    fc.assert(fc.property(inputArb("AdjustAutoscaler"), (i) => {
      const d = decideAutoscaler(i);
      expect(d.kind).not.toBe("none");
      if (d.kind === "adjust") {
        expect(d.to).toBeLessThanOrEqual(Math.min(i.policy.maxReplicas, d.autoscaler.max));
        expect(d.to).toBeGreaterThan(floorOf(d.autoscaler));
        expect(d.to).toBeLessThanOrEqual(i.requested);
        expect(d.from).toBe(d.autoscaler.min);
        expect(i.autoscalers).toHaveLength(1);
      }
    }), { numRuns: 500 });
  });
});
