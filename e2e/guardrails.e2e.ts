// Every guardrail blocks on the real control plane, computed from the
// RemediationActions in the cluster, and the blocked action says why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { action, createDeployment, policy, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac } from "./support/operator.ts";

const c = clients();
const NS = "e2e-guardrails";
let op: OperatorProcess;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  op = await operatorUnderOwnRbac(c, "guardrails");
});

afterAll(async () => {
  await op?.stop();
});

/** A Deployment with a policy that covers only it. */
async function target(name: string, spec: Record<string, unknown>, replicas = 2) {
  await applySmartops(c, policy(NS, name, { targets: { selector: { matchLabels: { "app.kubernetes.io/name": name } } }, ...spec }));
  await createDeployment(c, NS, name, replicas);
}

const scale = (name: string, deployment: string, replicas: number) => action(NS, name, { type: "scale", target: { name: deployment }, scale: { replicas }, verifyTimeoutSeconds: 30 });
const restart = (name: string, deployment: string) => action(NS, name, { type: "restart", target: { name: deployment }, verifyTimeoutSeconds: 30 });

async function run(a: ReturnType<typeof action>) {
  await applySmartops(c, a);
  return waitForPhase(c, NS, a.metadata.name);
}

describe("guardrails", () => {
  it("max replicas: scaling past the cap is blocked", async () => {
    await target("g-max", { replicas: { min: 1, max: 3, maxStep: 5 } });
    const a = await run(scale("g-max-4", "g-max", 4));
    expect(a.status).toMatchObject({ phase: "Blocked", reason: "MaxReplicasExceeded" });
    expect(a.status?.message).toContain("3");
    expect((await c.apps.readNamespacedDeployment({ name: "g-max", namespace: NS })).spec?.replicas).toBe(2);
  });

  it("max step: a jump larger than maxStep is blocked", async () => {
    await target("g-step", { replicas: { min: 1, max: 8, maxStep: 2 } });
    expect((await run(scale("g-step-5", "g-step", 5))).status).toMatchObject({ phase: "Blocked", reason: "MaxScaleStepExceeded" });
    expect((await run(scale("g-step-4", "g-step", 4))).status?.phase).toBe("Succeeded");
  });

  it("cooldown: a second restart within the cooldown is blocked", async () => {
    await target("g-cool", { cooldownSeconds: { scale: 0, restart: 300, patch: 0, deletePod: 0 } });
    expect((await run(restart("g-cool-1", "g-cool"))).status?.phase).toBe("Succeeded");
    const second = await run(restart("g-cool-2", "g-cool"));
    expect(second.status).toMatchObject({ phase: "Blocked", reason: "CooldownActive" });
  });

  it("actions per hour: the action past the hourly budget is blocked", async () => {
    await target("g-hour", { cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 }, rateLimits: { maxActionsPerHour: 2, maxScaleIncreasePer15Minutes: 10 } });
    expect((await run(restart("g-hour-1", "g-hour"))).status?.phase).toBe("Succeeded");
    expect((await run(restart("g-hour-2", "g-hour"))).status?.phase).toBe("Succeeded");
    expect((await run(restart("g-hour-3", "g-hour"))).status).toMatchObject({ phase: "Blocked", reason: "HourlyActionLimitReached" });
  });

  it("scale increase per 15 minutes: the increase past the window budget is blocked", async () => {
    await target("g-15m", { cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 }, rateLimits: { maxActionsPerHour: 100, maxScaleIncreasePer15Minutes: 3 } });
    expect((await run(scale("g-15m-4", "g-15m", 4))).status?.phase).toBe("Succeeded");
    expect((await run(scale("g-15m-6", "g-15m", 6))).status).toMatchObject({ phase: "Blocked", reason: "ScaleIncreaseLimitReached" });
    expect((await run(scale("g-15m-5", "g-15m", 5))).status?.phase).toBe("Succeeded");
  });

  it("patch safelist: an image change is forbidden, an annotation is allowed", async () => {
    await target("g-patch", { cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 } });
    const image = await run(action(NS, "g-patch-image", {
      type: "patch", target: { name: "g-patch" },
      patch: { json: JSON.stringify([{ op: "replace", path: "/spec/template/spec/containers/0/image", value: "nginx:1.17.1" }]) },
    }));
    expect(image.status).toMatchObject({ phase: "Blocked", reason: "PatchPathForbidden" });
    const replaced = await run(action(NS, "g-patch-containers", {
      type: "patch", target: { name: "g-patch" },
      patch: { merge: JSON.stringify({ spec: { template: { spec: { containers: [{ name: "app", image: "evil:1" }] } } } }) },
    }));
    expect(replaced.status).toMatchObject({ phase: "Blocked", reason: "PatchPathForbidden" });
    const ok = await run(action(NS, "g-patch-annotation", {
      type: "patch", target: { name: "g-patch" },
      patch: { merge: JSON.stringify({ spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } }) },
    }));
    expect(ok.status?.phase, ok.status?.message).toBe("Succeeded");
    const d = await c.apps.readNamespacedDeployment({ name: "g-patch", namespace: NS });
    expect(d.spec?.template?.metadata?.annotations?.["smartops/test-patch"]).toBe("hello");
    expect(d.spec?.template?.spec?.containers?.[0]?.image).toBe("registry.invalid/app:1");
  });

  it("paused policy: every action on a covered target is blocked", async () => {
    await target("g-paused", { paused: true });
    expect((await run(restart("g-paused-1", "g-paused"))).status).toMatchObject({ phase: "Blocked", reason: "PolicyPaused" });
    expect((await run(scale("g-paused-2", "g-paused", 3))).status).toMatchObject({ phase: "Blocked", reason: "PolicyPaused" });
  });

  it("the policy reconciler reports validity and how many Deployments a policy covers", async () => {
    const status = (name: string) => waitFor(`policy ${name} status`, async () => {
      const p = (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: NS, plural: "guardrailpolicies", name })) as { metadata: { generation: number }; status?: { observedGeneration?: number; selectedTargets?: number; conditions?: { type: string; status: string; reason: string; message: string }[] } };
      return p.status?.observedGeneration === p.metadata.generation ? p.status : undefined;
    });
    const all = await status("g-max");
    expect(all.selectedTargets).toBe(1);
    expect(all.conditions?.find((x) => x.type === "Ready")).toMatchObject({ status: "True", reason: "PolicyValid" });
    await applySmartops(c, policy(NS, "g-duplicate-rules", { rules: { anomaly: [{ type: "latency", action: "restart" }, { type: "latency", action: "none" }] } }));
    const invalid = await status("g-duplicate-rules");
    expect(invalid.conditions?.find((x) => x.type === "Ready")).toMatchObject({ status: "False", reason: "PolicyInvalid" });
    expect(invalid.conditions?.find((x) => x.type === "Ready")?.message).toContain("latency");
    expect(invalid.selectedTargets).toBeGreaterThanOrEqual(7);
  });

  it("a target in another namespace is refused at admission", async () => {
    await expect(applySmartops(c, action(NS, "g-other-ns", { type: "restart", target: { name: "x", namespace: "default" } }))).rejects.toThrow(/own namespace/);
  });
});
