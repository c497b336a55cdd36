// Approval tiers: an action the policy marks Required waits in
// PendingApproval until a user the API server allows approves it, and expires.
// Plus dry-run and verification timeouts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, kubectl, waitFor } from "./support/kube.ts";
import { action, createDeployment, getAction, policy, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac } from "./support/operator.ts";

const c = clients();
const NS = "e2e-approval";
let op: OperatorProcess;

beforeAll(async () => {
  await ensureNamespace(c, NS);
  kubectl(["apply", "--server-side", "-f", "-"], `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-approves, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: smartops-approver}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: edit-actions, namespace: ${NS}}
rules: [{apiGroups: [smartops.io], resources: [remediationactions], verbs: [get, list, patch, update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-edits, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: edit-actions}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
`);
  await applySmartops(c, policy(NS, "approvals", {
    cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
    approval: { scale: "Required", restart: "None", patch: "None", deletePod: "None", timeoutSeconds: 10 },
  }));
  await createDeployment(c, NS, "erp", 2);
  op = await operatorUnderOwnRbac(c, "approval");
});

afterAll(async () => {
  await op?.stop();
});

const approve = (user: string, name: string, decision = "Approved", approvedBy = user) =>
  kubectl(["--as", user, "-n", NS, "patch", "remediationactions.smartops.io", name, "--type=merge", "-p", JSON.stringify({ spec: { approval: { decision, approvedBy } } })]);

describe("approval", () => {
  it("waits in PendingApproval, refuses approvers without the approve verb or a forged name, then runs when approved", async () => {
    await applySmartops(c, action(NS, "scale-to-3", { type: "scale", target: { name: "erp" }, scale: { replicas: 3 } }));
    const pending = await waitForPhase(c, NS, "scale-to-3", ["PendingApproval"]);
    expect(pending.status?.conditions?.find((x) => x.type === "Approved")).toMatchObject({ status: "False", reason: "ApprovalRequired" });
    expect((await c.apps.readNamespacedDeployment({ name: "erp", namespace: NS })).spec?.replicas).toBe(2);

    expect(() => approve("bob", "scale-to-3")).toThrow(/may not approve/);
    expect(() => approve("alice", "scale-to-3", "Approved", "carol")).toThrow(/must be the requesting user/);
    approve("alice", "scale-to-3");
    const done = await waitForPhase(c, NS, "scale-to-3");
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    expect(done.status?.conditions?.find((x) => x.type === "Approved")).toMatchObject({ status: "True", reason: "ApprovedByUser" });
    expect((await c.apps.readNamespacedDeployment({ name: "erp", namespace: NS })).spec?.replicas).toBe(3);
  });

  it("a rejected action never runs", async () => {
    await applySmartops(c, action(NS, "scale-rejected", { type: "scale", target: { name: "erp" }, scale: { replicas: 4 } }));
    await waitForPhase(c, NS, "scale-rejected", ["PendingApproval"]);
    approve("alice", "scale-rejected", "Rejected");
    expect((await waitForPhase(c, NS, "scale-rejected")).status).toMatchObject({ phase: "Rejected", reason: "RejectedByUser" });
    expect((await c.apps.readNamespacedDeployment({ name: "erp", namespace: NS })).spec?.replicas).toBe(3);
  });

  it("an action nobody approves expires after the policy's timeout", async () => {
    await applySmartops(c, action(NS, "scale-expires", { type: "scale", target: { name: "erp" }, scale: { replicas: 4 } }));
    const a = await waitForPhase(c, NS, "scale-expires", ["Expired"], 30_000);
    expect(a.status?.reason).toBe("ApprovalExpired");
    expect((await c.apps.readNamespacedDeployment({ name: "erp", namespace: NS })).spec?.replicas).toBe(3);
  });

  it("a recorded decision can be neither removed nor changed, with or without the approve verb", async () => {
    const remove = (user: string, name: string) =>
      kubectl(["--as", user, "-n", NS, "patch", "remediationactions.smartops.io", name, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/approval" }])]);
    const nullify = (user: string, name: string) =>
      kubectl(["--as", user, "-n", NS, "patch", "remediationactions.smartops.io", name, "--type=merge", "-p", JSON.stringify({ spec: { approval: null } })]);
    const REFUSED = /approval cannot be removed or changed/;

    // A rejection: removing it and approving afresh must not turn it into an approval.
    await applySmartops(c, action(NS, "scale-rejected-for-good", { type: "scale", target: { name: "erp" }, scale: { replicas: 4 } }));
    await waitForPhase(c, NS, "scale-rejected-for-good", ["PendingApproval"]);
    approve("alice", "scale-rejected-for-good", "Rejected");
    await waitForPhase(c, NS, "scale-rejected-for-good", ["Rejected"]);
    expect(() => remove("alice", "scale-rejected-for-good")).toThrow(REFUSED);
    expect(() => nullify("alice", "scale-rejected-for-good")).toThrow(REFUSED);
    expect(() => approve("alice", "scale-rejected-for-good", "Approved")).toThrow(/cannot be (removed or )?changed/);
    expect(() => remove("bob", "scale-rejected-for-good")).toThrow(REFUSED);
    const rejected = await getAction(c, NS, "scale-rejected-for-good");
    expect(rejected.spec.approval).toMatchObject({ decision: "Rejected", approvedBy: "alice" });
    expect(rejected.status?.phase).toBe("Rejected");

    // An approval on a finished action: bob may patch actions but not approve, and cannot erase it either.
    await applySmartops(c, action(NS, "scale-approved-for-good", { type: "scale", target: { name: "erp" }, scale: { replicas: 3 } }));
    await waitForPhase(c, NS, "scale-approved-for-good", ["PendingApproval"]);
    approve("alice", "scale-approved-for-good");
    await waitForPhase(c, NS, "scale-approved-for-good");
    expect(() => remove("bob", "scale-approved-for-good")).toThrow(REFUSED);
    expect(() => nullify("bob", "scale-approved-for-good")).toThrow(REFUSED);
    expect(() => remove("alice", "scale-approved-for-good")).toThrow(REFUSED);
    expect((await getAction(c, NS, "scale-approved-for-good")).spec.approval).toMatchObject({ decision: "Approved", approvedBy: "alice" });
    // The admin too: the rule binds everyone.
    expect(() => kubectl(["-n", NS, "patch", "remediationactions.smartops.io", "scale-approved-for-good", "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/spec/approval" }])])).toThrow(REFUSED);
  });

  it("a restart needs no approval (seed 004: trivial tier)", async () => {
    await applySmartops(c, action(NS, "restart-now", { type: "restart", target: { name: "erp" } }));
    expect((await waitForPhase(c, NS, "restart-now")).status?.phase).toBe("Succeeded");
  });
});

describe("dry run and verification", () => {
  it("dry run: guardrails and a server-side dry run, the Deployment untouched, the would-be result in status", async () => {
    const before = await c.apps.readNamespacedDeployment({ name: "erp", namespace: NS });
    await applySmartops(c, action(NS, "dry-restart", { type: "restart", target: { name: "erp" }, dryRun: true }));
    const a = await waitForPhase(c, NS, "dry-restart");
    expect(a.status).toMatchObject({ phase: "Succeeded", reason: "DryRunSucceeded" });
    expect(a.status?.dryRunResult?.summary).toContain("would restart");
    const after = await c.apps.readNamespacedDeployment({ name: "erp", namespace: NS });
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(after.metadata?.annotations?.["smartops.io/last-action"]).toBe(before.metadata?.annotations?.["smartops.io/last-action"]);
  });

  it("verification fails fast when the new pods crash-loop", async () => {
    // minReadySeconds keeps the rollout incomplete long enough to see the new pods fail.
    await c.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "crashy", namespace: NS, labels: { "app.kubernetes.io/name": "crashy" } },
        spec: {
          replicas: 1,
          minReadySeconds: 60,
          selector: { matchLabels: { app: "crashy" } },
          template: { metadata: { labels: { app: "crashy" } }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
        },
      },
    });
    await applySmartops(c, action(NS, "restart-crashy", { type: "restart", target: { name: "crashy" }, verifyTimeoutSeconds: 120 }));
    const verifying = await waitForPhase(c, NS, "restart-crashy", ["Verifying"], 30_000);
    const startedAt = Date.parse(verifying.status!.startedAt!);
    const fresh = await waitFor("a new pod", async () => (await c.core.listNamespacedPod({ namespace: NS, labelSelector: "app=crashy" })).items
      .find((p) => Date.parse(p.metadata!.creationTimestamp as unknown as string) >= startedAt - 1000 && p.status?.phase === "Running"));
    await c.core.patchNamespacedPodStatus({
      name: fresh.metadata!.name!,
      namespace: NS,
      body: [{ op: "replace", path: "/status/containerStatuses", value: [{ name: "app", image: "registry.invalid/app:1", imageID: "", ready: false, restartCount: 4, state: { waiting: { reason: "CrashLoopBackOff" } } }] }],
    });
    const a = await waitForPhase(c, NS, "restart-crashy", ["Failed", "Succeeded"], 30_000);
    expect(a.status).toMatchObject({ phase: "Failed", reason: "CrashLoopDetected", verification: { status: "FAILED" } });
    expect(Date.parse(a.status!.completedAt!) - startedAt).toBeLessThan(60_000);
  });

  it("verification timeout: retries with backoff, then Failed with the reason", async () => {
    // Pods of this Deployment can never be scheduled, so no rollout completes.
    await c.apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "stuck", namespace: NS, labels: { "app.kubernetes.io/name": "stuck" } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "stuck" } },
          template: { metadata: { labels: { app: "stuck" } }, spec: { nodeSelector: { nowhere: "true" }, containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
        },
      },
    });
    await applySmartops(c, action(NS, "restart-stuck", { type: "restart", target: { name: "stuck" }, verifyTimeoutSeconds: 2 }));
    const verifying = await waitForPhase(c, NS, "restart-stuck", ["Verifying"], 30_000);
    expect(verifying.status?.verification?.status).toBe("IN_PROGRESS");
    const a = await waitForPhase(c, NS, "restart-stuck", ["Failed"], 60_000);
    expect(a.status).toMatchObject({ reason: "RolloutTimedOut", verification: { status: "TIMED_OUT", attempts: 3 } });
    const elapsed = Date.parse(a.status!.completedAt!) - Date.parse(a.status!.startedAt!);
    // 3 attempts of 2 s plus backoffs of 5 s and 10 s.
    expect(elapsed).toBeGreaterThanOrEqual(20_000);
    expect((await getAction(c, NS, "restart-stuck")).status?.conditions?.find((x) => x.type === "Verified")).toMatchObject({ status: "False", reason: "RolloutTimedOut" });
  });
});
