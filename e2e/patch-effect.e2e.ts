// The patch safelist judges what a patch really changes — the API server's dry
// run of it, diffed — so no syntax of any patch type gets a denied field past it:
// JSON-pointer indices the API server reads as list positions (-1, +0, -0), pod
// annotations that weaken confinement, pod labels that move pods between
// Services and NetworkPolicy peers. Every check reads the cluster.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { inversePatch } from "../operator/src/remediation/inverse.ts";
import { action, createDeployment, deploymentAvailable, getAction, policy, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, type OperatorProcess, serviceAccountKubeconfig, startOperator } from "./support/operator.ts";

const c = clients();
const NS = "e2e-patch-effect";
let op: OperatorProcess;
let n = 0;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  // The attack review's policy: containers allowed, the default deny list in force.
  await applySmartops(c, policy(NS, "containers-allowed", {
    cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
    rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 100 },
    patch: { allowedPaths: ["spec.template.spec.containers", "spec.template.metadata.annotations", 'spec.template.metadata.labels["example.com/canary"]'] },
  }));
  installOperatorRbac();
  op = await startOperator({ kubeconfig: await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator"), identity: "patch-effect" });
}, 300_000);

afterAll(async () => {
  await op?.stop();
});

async function patchAction(deployment: string, patch: Record<string, unknown>) {
  const name = `patch-${++n}`;
  // An action stores its patch as JSON text.
  const text = Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, JSON.stringify(v)]));
  await applySmartops(c, action(NS, name, { type: "patch", target: { name: deployment }, patch: text, verify: false }));
  return waitForPhase(c, NS, name);
}

const read = (name: string) => c.apps.readNamespacedDeployment({ name, namespace: NS });

describe("the safelist judges a patch by its effect", () => {
  it.each([
    ["-1", "/spec/template/spec/containers/-1/image"],
    ["+0", "/spec/template/spec/containers/+0/image"],
    ["-0", "/spec/template/spec/containers/-0/image"],
  ])("a JSON patch of containers/%s/image is refused: the effect is an image change", async (index, path) => {
    const name = `img${index.replace(/[^0-9]/g, "")}-${index.startsWith("-") ? "m" : "p"}`;
    await createDeployment(c, NS, name);
    const before = await read(name);
    const a = await patchAction(name, { json: [{ op: "replace", path, value: "attacker.example/evil:1" }] });
    // Either the dry run finds the image changed, or the API server refuses the pointer: never applied.
    expect(a.status?.phase, a.status?.message).toBe("Blocked");
    expect(["PatchPathForbidden", "InvalidPatch"]).toContain(a.status?.reason);
    if (a.status?.reason === "PatchPathForbidden") expect(a.status?.message).toContain("spec.template.spec.containers[].image");
    const after = await read(name);
    expect(after.spec?.template?.spec?.containers?.[0]?.image).toBe("registry.invalid/app:1");
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
  });

  it("a JSON patch adding SYS_ADMIN through containers/+0/securityContext is refused", async () => {
    await createDeployment(c, NS, "caps");
    const a = await patchAction("caps", { json: [{ op: "add", path: "/spec/template/spec/containers/+0/securityContext", value: { capabilities: { add: ["SYS_ADMIN"] } } }] });
    expect(a.status?.phase, a.status?.message).toBe("Blocked");
    expect(["PatchPathForbidden", "InvalidPatch"]).toContain(a.status?.reason);
    expect((await read("caps")).spec?.template?.spec?.containers?.[0]?.securityContext).toBeUndefined();
  });

  it("a strategic patch that changes the image by merging into the container list is refused", async () => {
    await createDeployment(c, NS, "strategic");
    const a = await patchAction("strategic", { strategic: { spec: { template: { spec: { containers: [{ name: "app", image: "attacker.example/evil:1" }] } } } } });
    expect(a.status).toMatchObject({ phase: "Blocked", reason: "PatchPathForbidden" });
    expect((await read("strategic")).spec?.template?.spec?.containers?.[0]?.image).toBe("registry.invalid/app:1");
  });

  it("an AppArmor-unconfined pod annotation is refused by default; an ordinary annotation is applied and its path recorded", async () => {
    await createDeployment(c, NS, "confined");
    const bad = await patchAction("confined", { merge: { spec: { template: { metadata: { annotations: { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" } } } } } });
    expect(bad.status, bad.status?.message).toMatchObject({ phase: "Blocked", reason: "PatchPathForbidden" });
    expect(bad.status?.message).toContain('annotations["container.apparmor.security.beta.kubernetes.io/app"]');
    expect((await read("confined")).spec?.template?.metadata?.annotations?.["container.apparmor.security.beta.kubernetes.io/app"]).toBeUndefined();

    const good = await patchAction("confined", { merge: { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } } });
    expect(good.status?.phase, good.status?.message).toBe("Succeeded");
    expect(good.status?.intent?.changedPaths).toEqual(['spec.template.metadata.annotations["smartops/test-patch"]']);
    const d = await read("confined");
    expect(d.spec?.template?.metadata?.annotations?.["smartops/test-patch"]).toBe("hello");
    expect(d.metadata?.annotations?.["smartops.io/last-action"]).toBe(good.metadata.uid);
  });

  it("pod labels are refused unless the policy names the key; a named key is applied", async () => {
    await createDeployment(c, NS, "labels");
    const bad = await patchAction("labels", { merge: { spec: { template: { metadata: { labels: { tier: "internal-api", role: "db-client" } } } } } });
    expect(bad.status, bad.status?.message).toMatchObject({ phase: "Blocked", reason: "PatchPathNotAllowed" });
    expect((await read("labels")).spec?.template?.metadata?.labels).toEqual({ app: "labels" });

    const good = await patchAction("labels", { json: [{ op: "add", path: "/spec/template/metadata/labels/example.com~1canary", value: "true" }] });
    expect(good.status?.phase, good.status?.message).toBe("Succeeded");
    expect((await read("labels")).spec?.template?.metadata?.labels).toEqual({ app: "labels", "example.com/canary": "true" });
  });

  it("a patch the API server refuses ends Blocked with InvalidPatch and changes nothing", async () => {
    await createDeployment(c, NS, "invalid");
    const a = await patchAction("invalid", { merge: { spec: { template: { metadata: { annotations: { "bad key!": "x" } } } } } });
    expect(a.status, a.status?.message).toMatchObject({ phase: "Blocked", reason: "InvalidPatch" });
    expect(a.status?.intent).toBeUndefined();
  });
});

describe("pre-state: what a patch replaces, recorded before it acts", () => {
  it("the undo computed from the record restores the template exactly; it is refused while a field differs from what the action set", async () => {
    await createDeployment(c, NS, "undo");
    const before = await read("undo");
    const a = await patchAction("undo", { strategic: { spec: { template: { metadata: { annotations: { "smartops/undo": "1" } }, spec: { containers: [{ name: "app", resources: { limits: { memory: "256Mi" } } }] } } } } });
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    const pre = a.status!.preState!;
    // The API server defaults resources to {}, so the limits map is what the patch creates.
    expect(pre).toEqual({
      reversible: true,
      fields: [
        { path: "/spec/template/metadata/annotations", absent: true, after: '{"smartops/undo":"1"}' },
        { path: "/spec/template/spec/containers/0/resources/limits", absent: true, after: '{"memory":"256Mi"}' },
      ],
    });
    const stale = inversePatch(pre, await read("undo"));
    if (!stale.ok) throw new Error(stale.message);

    // Another writer changes a field the action set: the undo names it, and the patch computed before is refused by the API server.
    const limit = "/spec/template/spec/containers/0/resources/limits/memory";
    await c.apps.patchNamespacedDeployment({ name: "undo", namespace: NS, body: [{ op: "replace", path: limit, value: "512Mi" }] });
    expect(inversePatch(pre, await read("undo"))).toMatchObject({ ok: false, reason: "TargetChangedSinceAction", field: { path: "/spec/template/spec/containers/0/resources/limits" } });
    // Without its resourceVersion test, so that the value tests alone are what refuse it.
    const valuesOnly = stale.patch.filter((op) => op.path !== "/metadata/resourceVersion");
    await expect(c.apps.patchNamespacedDeployment({ name: "undo", namespace: NS, body: valuesOnly })).rejects.toThrow();
    expect((await read("undo")).spec?.template?.spec?.containers[0]?.resources?.limits).toEqual({ memory: "512Mi" });

    await c.apps.patchNamespacedDeployment({ name: "undo", namespace: NS, body: [{ op: "replace", path: limit, value: "256Mi" }] });
    // The undo holds for the reading it was computed from: the Deployment controller's
    // own status writes move the resourceVersion, and the first test op then refuses
    // it (422). Read, check and compute again, as a revert must.
    await waitFor("the undo applied", async () => {
      const undo = inversePatch(pre, await read("undo"));
      if (!undo.ok) throw new Error(undo.message);
      try {
        await c.apps.patchNamespacedDeployment({ name: "undo", namespace: NS, body: undo.patch });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 422) return undefined;
        throw err;
      }
    }, 30_000);
    expect((await read("undo")).spec?.template).toEqual(before.spec?.template);
  });
});

describe("the effect judged is the effect applied", () => {
  it("kill -9 after the intent, the Deployment changes meanwhile: the patch is judged again on the new object before it is applied", async () => {
    await createDeployment(c, NS, "moved");
    await op.stop();
    const doomed = await startOperator({ kubeconfig: await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator"), identity: "patch-effect-doomed", env: { SMARTOPS_FAILPOINT: "after-intent" } });
    await applySmartops(c, action(NS, "moved-patch", { type: "patch", target: { name: "moved" }, patch: { merge: JSON.stringify({ spec: { template: { metadata: { annotations: { "smartops/test-patch": "v2" } } } } }) }, verify: false }));
    await doomed.exited;
    const recorded = await getAction(c, NS, "moved-patch");
    expect(recorded.status?.phase).toBe("Executing");
    // The pre-state went into the intent's own write, before the crash.
    expect(recorded.status?.preState).toMatchObject({ reversible: true, fields: [{ path: "/spec/template/metadata/annotations", absent: true }] });
    const rv = recorded.status?.intent?.resourceVersion;
    expect(rv).toBeDefined();

    // Someone else writes the Deployment: the recorded resourceVersion is stale now.
    await c.apps.patchNamespacedDeployment({ name: "moved", namespace: NS, body: [{ op: "add", path: "/metadata/labels/touched", value: "yes" }] });
    await waitFor("moved available", () => deploymentAvailable(c, NS, "moved"));
    op = await startOperator({ kubeconfig: await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator"), identity: "patch-effect-2" });
    const done = await waitForPhase(c, NS, "moved-patch");
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(done.status?.intent?.resourceVersion).not.toBe(rv);
    expect((await read("moved")).spec?.template?.metadata?.annotations?.["smartops/test-patch"]).toBe("v2");
  });
});
