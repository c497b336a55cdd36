import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { controllerOf, type OwnedObject, type OwnerReference, owningDeploymentName, podsOwnedBy, replicaSetsOf } from "./ownership.ts";

interface Obj extends OwnedObject {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; ownerReferences?: OwnerReference[] };
}

const obj = (namespace: string, name: string, uid: string, refs: OwnerReference[] = [], labels: Record<string, string> = {}): Obj =>
  ({ metadata: { name, namespace, uid, labels, ownerReferences: refs } });
const ctrl = (kind: string, o: Obj, over: Partial<OwnerReference> = {}): OwnerReference =>
  ({ apiVersion: "apps/v1", kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, ...over });

describe("podsOwnedBy (examples)", () => {
  const web = obj("ns", "web", "d-web");
  const canary = obj("ns", "web-canary", "d-canary");
  const webRs = obj("ns", "web-7d9", "rs-web", [ctrl("Deployment", web)]);
  const canaryRs = obj("ns", "web-canary-5f4", "rs-canary", [ctrl("Deployment", canary)]);
  // Both Deployments select app=web: labels overlap completely.
  const webPod = obj("ns", "web-7d9-a", "p-web", [ctrl("ReplicaSet", webRs)], { app: "web" });
  const canaryPod = obj("ns", "web-canary-5f4-b", "p-canary", [ctrl("ReplicaSet", canaryRs)], { app: "web" });
  const rs = [webRs, canaryRs];

  it("a pod of another Deployment with the same labels is not the target's", () => {
    expect(podsOwnedBy(web, rs, [webPod, canaryPod])).toEqual([webPod]);
    expect(podsOwnedBy(canary, rs, [webPod, canaryPod])).toEqual([canaryPod]);
  });

  it("a hand-made look-alike pod, or one that only names the ReplicaSet without being controlled by it, is nobody's", () => {
    const bare = obj("ns", "web-7d9-fake", "p-bare", [], { app: "web" });
    const notController = obj("ns", "web-7d9-c", "p-nc", [ctrl("ReplicaSet", webRs, { controller: false })], { app: "web" });
    const wrongUid = obj("ns", "web-7d9-d", "p-wu", [ctrl("ReplicaSet", webRs, { uid: "rs-old" })], { app: "web" });
    const wrongGroup = obj("ns", "web-7d9-e", "p-wg", [ctrl("ReplicaSet", webRs, { apiVersion: "v1" })], { app: "web" });
    expect(podsOwnedBy(web, rs, [bare, notController, wrongUid, wrongGroup])).toEqual([]);
  });

  it("a pod with two controller references is nobody's", () => {
    const twice = obj("ns", "web-7d9-f", "p-2", [ctrl("ReplicaSet", webRs), ctrl("ReplicaSet", canaryRs)]);
    expect(controllerOf(twice, "ReplicaSet")).toBeUndefined();
    expect(podsOwnedBy(web, rs, [twice])).toEqual([]);
    expect(podsOwnedBy(canary, rs, [twice])).toEqual([]);
  });

  it("a Deployment deleted and created again under the same name does not inherit the old pods", () => {
    const reborn = obj("ns", "web", "d-web-2");
    expect(replicaSetsOf(reborn, rs)).toEqual([]);
    expect(podsOwnedBy(reborn, rs, [webPod])).toEqual([]);
  });

  it("the same names in another namespace are not the target's", () => {
    const elsewhereRs = obj("other", "web-7d9", "rs-web", [ctrl("Deployment", web)]);
    const elsewherePod = obj("other", "web-7d9-a", "p-web", [ctrl("ReplicaSet", webRs)]);
    expect(podsOwnedBy(web, [elsewhereRs], [elsewherePod])).toEqual([]);
    expect(podsOwnedBy(web, [webRs], [elsewherePod])).toEqual([]);
  });

  it("owningDeploymentName follows the chain", () => {
    expect(owningDeploymentName(webPod, rs)).toBe("web");
    expect(owningDeploymentName(canaryPod, rs)).toBe("web-canary");
    expect(owningDeploymentName(obj("ns", "x", "p-x", [], { app: "web" }), rs)).toBeUndefined();
  });
});

// A world the way the controllers build it (Deployments → ReplicaSets → pods, each
// with its controller reference), plus noise an attacker or an accident can add:
// look-alike pods with the same labels, non-controller references, stale uids,
// other groups, the same names in another namespace. Ground truth is kept by the
// generator, not recomputed.
type Noise = "bare" | "notController" | "staleUid" | "otherGroup" | "twoControllers" | "otherNamespace";
const NOISE: Noise[] = ["bare", "notController", "staleUid", "otherGroup", "twoControllers", "otherNamespace"];

const worldArb = fc.record({
  deployments: fc.array(fc.record({ rs: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 3 }) }), { minLength: 1, maxLength: 4 }),
  noise: fc.array(fc.record({ kind: fc.constantFrom(...NOISE), target: fc.nat(), rsLevel: fc.boolean() }), { maxLength: 12 }),
  shuffleSeed: fc.nat(),
});

type World = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

function build(w: World) {
  const ns = "team";
  const deployments = w.deployments.map((_, i) => obj(ns, `app-${i}`, `d-${i}`));
  const replicaSets: Obj[] = [];
  const pods: Obj[] = [];
  const truth = new Map<string, Set<string>>(deployments.map((d) => [d.metadata.uid, new Set<string>()]));
  w.deployments.forEach((spec, i) => {
    const d = deployments[i]!;
    spec.rs.forEach((podCount, j) => {
      const rs = obj(ns, `app-${i}-rs${j}`, `rs-${i}-${j}`, [ctrl("Deployment", d)], { app: "shared" });
      replicaSets.push(rs);
      for (let k = 0; k < podCount; k++) {
        const p = obj(ns, `app-${i}-rs${j}-p${k}`, `p-${i}-${j}-${k}`, [ctrl("ReplicaSet", rs)], { app: "shared" });
        pods.push(p);
        truth.get(d.metadata.uid)!.add(p.metadata.uid);
      }
    });
  });
  w.noise.forEach((n, idx) => {
    const d = deployments[n.target % deployments.length]!;
    const rs = replicaSets.length > 0 ? replicaSets[n.target % replicaSets.length]! : undefined;
    const owner = n.rsLevel || !rs ? d : rs;
    const kind = owner === d ? "Deployment" : "ReplicaSet";
    const refs: OwnerReference[] = {
      bare: [],
      notController: [ctrl(kind, owner, { controller: false })],
      staleUid: [ctrl(kind, owner, { uid: `${owner.metadata.uid}-old` })],
      otherGroup: [ctrl(kind, owner, { apiVersion: "example.com/v1" })],
      twoControllers: [ctrl(kind, owner), ctrl(kind, owner, { name: "other", uid: "other" })],
      otherNamespace: [ctrl(kind, owner)],
    }[n.kind];
    const namespace = n.kind === "otherNamespace" ? "elsewhere" : ns;
    if (owner === d) {
      // A ReplicaSet that is not really the Deployment's, with a pod properly under it.
      const fakeRs = obj(namespace, `noise-rs-${idx}`, `noise-rs-${idx}`, refs, { app: "shared" });
      replicaSets.push(fakeRs);
      pods.push(obj(namespace, `noise-rs-${idx}-p`, `noise-rs-p-${idx}`, [ctrl("ReplicaSet", fakeRs)], { app: "shared" }));
    } else {
      pods.push(obj(namespace, `noise-p-${idx}`, `noise-p-${idx}`, refs, { app: "shared" }));
    }
  });
  // Order must not matter.
  const rot = <T>(xs: T[]) => (xs.length ? [...xs.slice(w.shuffleSeed % xs.length), ...xs.slice(0, w.shuffleSeed % xs.length)] : xs);
  return { deployments, replicaSets: rot(replicaSets), pods: rot(pods), truth };
}

describe("podsOwnedBy (properties)", () => {
  it("returns exactly the pods the controllers made for the Deployment, whatever noise shares their labels", () => {
    fc.assert(fc.property(worldArb, (w) => {
      const { deployments, replicaSets, pods, truth } = build(w);
      for (const d of deployments) {
        const got = new Set(podsOwnedBy(d, replicaSets, pods).map((p) => p.metadata!.uid));
        expect(got).toEqual(truth.get(d.metadata.uid));
      }
    }));
  });

  it("no pod belongs to two Deployments, and owningDeploymentName agrees with podsOwnedBy", () => {
    fc.assert(fc.property(worldArb, (w) => {
      const { deployments, replicaSets, pods } = build(w);
      const owners = new Map<string, string[]>();
      for (const d of deployments) {
        for (const p of podsOwnedBy(d, replicaSets, pods)) owners.set(p.metadata!.uid!, [...(owners.get(p.metadata!.uid!) ?? []), d.metadata.name]);
      }
      for (const p of pods) {
        const mine = owners.get(p.metadata.uid) ?? [];
        expect(mine.length).toBeLessThanOrEqual(1);
        if (mine.length === 1) expect(owningDeploymentName(p, replicaSets)).toBe(mine[0]);
      }
    }));
  });
});
