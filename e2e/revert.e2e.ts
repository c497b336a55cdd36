// Reverts on the real control plane: a human undoes a scale with kubectl (inside
// the scale's cooldown: a revert has none), and both actions name each other; a
// revert refused because another field manager changed the field since, naming
// that manager from managedFields; and kill -9 of a revert after its intent (and
// after its patch): the undo happens exactly once. Every check reads the cluster.
import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { action, createDeployment, getAction, policy, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, startOperator } from "./support/operator.ts";

const c = clients();
const NS = "e2e-revert";
let kubeconfig: string;
let op: OperatorProcess | undefined;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  // The default cooldowns (300 s) stay in force: the reverts below run seconds after the scales they undo.
  await applySmartops(c, policy(NS, "reverts", {
    rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 100 },
    replicas: { min: 1, max: 8, maxStep: 2 },
  }));
  installOperatorRbac();
  kubeconfig = await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator");
  op = await startOperator({ kubeconfig, identity: "revert" });
}, 300_000);

afterAll(async () => {
  await op?.stop();
});

const read = (name: string) => c.apps.readNamespacedDeployment({ name, namespace: NS });

/** A scale of `deployment` to `replicas`, waited for until it is terminal. */
async function scaled(deployment: string, name: string, replicas: number) {
  await applySmartops(c, action(NS, name, { type: "scale", target: { name: deployment }, scale: { replicas } }));
  const done = await waitForPhase(c, NS, name);
  expect(done.status?.phase, done.status?.message).toBe("Succeeded");
  return done;
}

/** As a human does it: kubectl create of a revert. */
function createRevert(name: string, deployment: string, of: string): void {
  kubectl(["create", "-f", "-"], JSON.stringify({
    apiVersion: "smartops.io/v1alpha1", kind: "RemediationAction", metadata: { name, namespace: NS },
    spec: { type: "revert", revertOf: of, target: { name: deployment }, reason: "the extra replica did not help" },
  }));
}

describe("revert", () => {
  it("a scale, then a human revert inside the scale's cooldown: replicas restored, verified, both actions linked", async () => {
    await createDeployment(c, NS, "web", 2);
    await scaled("web", "scale-web", 3);
    expect((await read("web")).spec?.replicas).toBe(3);

    createRevert("undo-web", "web", "scale-web");
    const undo = await waitForPhase(c, NS, "undo-web");
    expect(undo.status?.phase, undo.status?.message).toBe("Succeeded");
    expect(undo.status?.verification?.status).toBe("SUCCESS");
    expect(undo.status?.message).toMatch(/reverted scale-web on Deployment e2e-revert\/web: restored \/spec\/replicas/);
    const d = await read("web");
    expect(d.spec?.replicas).toBe(2);
    expect(d.metadata?.annotations?.["smartops.io/last-action"]).toBe(undo.metadata.uid);
    // The intent recorded the exact guarded patch it sent.
    expect(JSON.parse(undo.status!.intent!.revertPatch!)).toEqual(expect.arrayContaining([
      { op: "test", path: "/spec/replicas", value: 3 },
      { op: "replace", path: "/spec/replicas", value: 2 },
    ]));
    // Linked both ways.
    expect(undo.spec.revertOf).toBe("scale-web");
    const original = await waitFor("scale-web names its revert", async () => {
      const a = await getAction(c, NS, "scale-web");
      return a.status?.revertedBy ? a : undefined;
    }, 30_000);
    expect(original.status?.revertedBy).toBe("undo-web");

    // A second revert of the same action is refused at once.
    createRevert("undo-web-again", "web", "scale-web");
    const again = await waitForPhase(c, NS, "undo-web-again");
    expect(again.status, again.status?.message).toMatchObject({ phase: "Blocked", reason: "AlreadyReverted" });
  });

  it("a patch, then its revert: the template is restored exactly (the annotations map it created is removed), judged by the safelist on its dry-run effect", async () => {
    await createDeployment(c, NS, "patched", 2);
    const before = await read("patched");
    await applySmartops(c, action(NS, "patch-patched", {
      type: "patch", target: { name: "patched" },
      patch: { merge: JSON.stringify({ spec: { template: { metadata: { annotations: { "smartops/revert-me": "1" } } } } }) },
    }));
    const patched = await waitForPhase(c, NS, "patch-patched");
    expect(patched.status?.phase, patched.status?.message).toBe("Succeeded");
    expect((await read("patched")).spec?.template?.metadata?.annotations).toEqual({ "smartops/revert-me": "1" });

    createRevert("undo-patched", "patched", "patch-patched");
    const undo = await waitForPhase(c, NS, "undo-patched");
    expect(undo.status?.phase, undo.status?.message).toBe("Succeeded");
    expect((await read("patched")).spec?.template).toEqual(before.spec?.template);
  });

  it.each([
    [{ type: "revert" }, "type revert requires revertOf"],
    [{ type: "scale", scale: { replicas: 3 }, revertOf: "scale-web" }, "revertOf is only allowed with type revert"],
  ])("the API server refuses %j: %s", (spec, message) => {
    const body = JSON.stringify({ apiVersion: "smartops.io/v1alpha1", kind: "RemediationAction", metadata: { name: "bad-revert", namespace: NS }, spec: { target: { name: "web" }, ...spec } });
    expect(() => kubectl(["create", "-f", "-"], body)).toThrow(message);
  });

  it("refused when another field manager changed the field since: names the field and that manager, undoes nothing", async () => {
    await createDeployment(c, NS, "shared", 2);
    await scaled("shared", "scale-shared", 3);
    // Someone else takes spec.replicas over with a server-side apply of their own.
    await c.objects.patch(
      { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "shared", namespace: NS }, spec: { replicas: 4 } } as k8s.KubernetesObject,
      undefined, undefined, "capacity-planner", true, k8s.PatchStrategy.ServerSideApply,
    );
    createRevert("undo-shared", "shared", "scale-shared");
    const undo = await waitForPhase(c, NS, "undo-shared");
    expect(undo.status, undo.status?.message).toMatchObject({ phase: "Blocked", reason: "TargetChangedSinceAction" });
    expect(undo.status?.message).toContain("/spec/replicas holds 4, not 3 as the action set it");
    expect(undo.status?.message).toContain('last changed by field manager "capacity-planner" (Apply)');
    expect((await read("shared")).spec?.replicas).toBe(4);
    expect((await getAction(c, NS, "scale-shared")).status?.revertedBy).toBeUndefined();
  });

  it.each(["after-intent", "after-act"])("kill -9 of a revert %s, restart: the undo happens exactly once", async (point) => {
    const deployment = `crash-${point}`;
    await createDeployment(c, NS, deployment, 2);
    await scaled(deployment, `scale-${point}`, 3);
    const generation = (await read(deployment)).metadata?.generation;

    await op?.stop();
    op = undefined;
    const doomed = await startOperator({ kubeconfig, identity: `revert-doomed-${point}`, env: { SMARTOPS_FAILPOINT: point } });
    createRevert(`undo-${point}`, deployment, `scale-${point}`);
    await doomed.exited;
    expect(doomed.proc.signalCode).toBe("SIGKILL");
    const recorded = await getAction(c, NS, `undo-${point}`);
    // The intent — the exact patch — was recorded before the crash.
    expect(recorded.status?.phase).toBe("Executing");
    expect(recorded.status?.intent?.revertPatch).toBeDefined();
    expect((await read(deployment)).spec?.replicas).toBe(point === "after-intent" ? 3 : 2);

    op = await startOperator({ kubeconfig, identity: `revert-recover-${point}` });
    const done = await waitForPhase(c, NS, `undo-${point}`);
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    if (point === "after-act") expect(done.status?.message).toContain("already applied");
    const d = await read(deployment);
    expect(d.spec?.replicas).toBe(2);
    // One write of the spec for the undo: the generation moved exactly once.
    expect(d.metadata?.generation).toBe((generation ?? 0) + 1);
    expect(d.metadata?.annotations?.["smartops.io/last-action"]).toBe(done.metadata.uid);
    expect((await waitFor("linked", async () => (await getAction(c, NS, `scale-${point}`)).status?.revertedBy, 30_000))).toBe(`undo-${point}`);
  });
});
