// The commands against an in-memory PluginClient: what they write, and the
// errors a user gets when the cluster refuses.
import { describe, expect, it } from "vitest";
import type { GuardrailPolicy, Signal } from "../api/v1alpha1/objects.ts";
import { KubeApiError } from "../k8s/errors.ts";
import { parse } from "./args.ts";
import type { DeploymentInfo, PluginClient } from "./client.ts";
import { CommandError, type Io, run } from "./commands.ts";
import { paint } from "./format.ts";
import type { Action } from "./views.ts";

const NOW = Date.parse("2026-03-01T10:00:00Z");
const notFound = (what: string) => new KubeApiError(`get_${what}`, 404, { reason: "NotFound", message: `${what} not found` });

class FakeClient implements PluginClient {
  readonly namespace = "shop";
  actions = new Map<string, Action>();
  policies = new Map<string, GuardrailPolicy>();
  deployments = new Map<string, DeploymentInfo>([["shop/web", { name: "web", namespace: "shop", labels: {}, annotations: {} }]]);
  user = "alice";
  mayApprove = true;
  patchError: Error | undefined;
  patches: unknown[] = [];
  listActions = async (ns: string | undefined) => [...this.actions.values()].filter((a) => !ns || a.metadata.namespace === ns);
  getAction = async (ns: string, name: string) => {
    const a = this.actions.get(`${ns}/${name}`);
    if (!a) throw notFound("remediationaction");
    return structuredClone(a);
  };
  createAction = async (ns: string, body: unknown) => {
    const a = structuredClone(body) as Action;
    a.metadata.name = `${(a.metadata as { generateName?: string }).generateName ?? ""}abcde`;
    a.status = { phase: "Succeeded", reason: "Reverted", message: "replicas 3 -> 2" };
    this.actions.set(`${ns}/${a.metadata.name}`, a);
    return a;
  };
  patchAction = async (ns: string, name: string, patch: unknown) => {
    if (this.patchError) throw this.patchError;
    this.patches.push(patch);
    const a = await this.getAction(ns, name);
    Object.assign(a.spec, (patch as { spec: object }).spec);
    return a;
  };
  listPolicies = async () => [...this.policies.values()];
  signals: Signal[] = [];
  listSignals = async (ns: string | undefined) => this.signals.filter((x) => !ns || x.metadata.namespace === ns);
  listDeployments = async (ns: string | undefined) => [...this.deployments.values()].filter((d) => !ns || d.namespace === ns);
  getPolicy = async (ns: string, name: string) => {
    const p = this.policies.get(`${ns}/${name}`);
    if (!p) throw notFound("guardrailpolicy");
    return p;
  };
  createPolicy = async (ns: string, body: GuardrailPolicy) => {
    if (this.policies.has(`${ns}/${body.metadata.name}`)) throw new KubeApiError("create_guardrailpolicy", 409, { reason: "AlreadyExists", message: "exists" });
    this.policies.set(`${ns}/${body.metadata.name}`, body);
    return body;
  };
  deletePolicy = async (ns: string, name: string) => {
    this.policies.delete(`${ns}/${name}`);
  };
  getDeployment = async (ns: string, name: string) => {
    const d = this.deployments.get(`${ns}/${name}`);
    if (!d) throw notFound("deployment");
    return d;
  };
  annotateDeployment = async (ns: string, name: string, annotations: Record<string, string>) => {
    Object.assign((await this.getDeployment(ns, name)).annotations, annotations);
  };
  whoami = async () => this.user;
  canI = async (verb: string) => verb !== "approve" || this.mayApprove;
}

const waiting = (name: string): Action => ({
  metadata: { name, namespace: "shop", creationTimestamp: new Date(NOW - 60_000).toISOString() as unknown as Date },
  spec: { type: "scale", target: { kind: "Deployment", name: "web" }, scale: { replicas: 3 }, dryRun: false, verify: true, verifyTimeoutSeconds: 60, source: "manual" },
  status: { phase: "PendingApproval", reason: "ApprovalRequired" },
});

async function exec(c: FakeClient, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), now: () => NOW, sleep: async () => undefined, paint: paint(false), operatorNamespace: "smartops-system" };
  const p = parse(argv);
  if (p.kind !== "run") throw new Error("not a run");
  return { code: await run(p.invocation, c, io), out, err };
}

describe("approve and reject", () => {
  it("sets spec.approval as the current user, with the reason and the time", async () => {
    const c = new FakeClient();
    c.actions.set("shop/scale-1", waiting("scale-1"));
    expect(await exec(c, ["approve", "scale-1", "--reason", "peak"])).toMatchObject({ code: 0, out: "remediationaction.smartops.io/scale-1 approved by alice\n" });
    expect(c.patches).toEqual([{ spec: { approval: { decision: "Approved", approvedBy: "alice", reason: "peak", decidedAt: "2026-03-01T10:00:00Z" } } }]);
    c.actions.set("shop/scale-2", waiting("scale-2"));
    await exec(c, ["reject", "scale-2", "--reason", "freeze", "-n", "shop"]);
    expect(c.patches[1]).toMatchObject({ spec: { approval: { decision: "Rejected", approvedBy: "alice", reason: "freeze" } } });
  });

  it("a user without the approve verb is told so, and nothing is written", async () => {
    const c = new FakeClient();
    c.user = "bob";
    c.mayApprove = false;
    c.actions.set("shop/scale-1", waiting("scale-1"));
    await expect(exec(c, ["approve", "scale-1"])).rejects.toThrow(/user bob may not approve remediationactions in namespace shop: it needs the approve verb .*smartops-approver/);
    expect(c.patches).toEqual([]);
  });

  it("the admission policy's refusal becomes the same clear error", async () => {
    const c = new FakeClient();
    c.actions.set("shop/scale-1", waiting("scale-1"));
    c.patchError = new KubeApiError("patch_remediationaction", 403, { reason: "Forbidden", message: "ValidatingAdmissionPolicy 'smartops-remediationaction-approval' denied request: user alice may not approve remediationactions in shop (needs the approve verb)" });
    await expect(exec(c, ["approve", "scale-1"])).rejects.toThrow(/user alice may not approve .* the admission policy refused it/);
  });

  it("refuses an action that is not waiting, or already decided", async () => {
    const c = new FakeClient();
    c.actions.set("shop/done", { ...waiting("done"), status: { phase: "Succeeded" } });
    c.actions.set("shop/decided", { ...waiting("decided"), spec: { ...waiting("decided").spec, approval: { decision: "Rejected", approvedBy: "carol" } } });
    await expect(exec(c, ["approve", "done"])).rejects.toThrow("remediationaction done is Succeeded, not waiting for approval");
    await expect(exec(c, ["approve", "decided"])).rejects.toThrow("already rejected by carol");
    await expect(exec(c, ["approve", "missing"])).rejects.toThrow(CommandError);
  });
});

describe("pause and resume", () => {
  it("pause creates the plugin's policy once; resume deletes it; resume <deployment> sets resumed-at", async () => {
    const c = new FakeClient();
    const first = await exec(c, ["pause", "--reason", "incident"]);
    expect(first.out).toBe("paused namespace shop: guardrailpolicy.smartops.io/smartops-pause created (paused by alice at 2026-03-01T10:00:00Z: incident)\n");
    expect(c.policies.get("shop/smartops-pause")?.spec.paused).toBe(true);
    expect((await exec(c, ["pause", "--reason", "again"])).out).toContain("already paused");

    const resumed = await exec(c, ["resume", "web"]);
    expect(resumed.out).toContain("failures before 2026-03-01T10:00:00Z no longer count");
    expect(resumed.out).toContain("paused policies remain in shop (smartops-pause)");
    expect(c.deployments.get("shop/web")?.annotations).toEqual({ "smartops.io/resumed-at": "2026-03-01T10:00:00Z" });
    expect(c.policies.has("shop/smartops-pause")).toBe(true);

    expect((await exec(c, ["resume"])).out).toContain("resumed namespace shop: guardrailpolicy.smartops.io/smartops-pause deleted");
    expect(c.policies.size).toBe(0);
    await expect(exec(c, ["resume"])).rejects.toThrow(/not paused by kubectl smartops.*resume <deployment>/);
  });

  it("a selector pause is found again by the same selector", async () => {
    const c = new FakeClient();
    await exec(c, ["pause", "-l", "app=web,tier=front", "--reason", "x"]);
    await expect(exec(c, ["resume", "-l", "app=web"])).rejects.toThrow(/--selector 'app=web,tier=front'/);
    expect((await exec(c, ["resume", "-l", "tier=front,app=web"])).code).toBe(0);
    await expect(exec(c, ["pause", "-l", "a in (", "--reason", "x"])).rejects.toThrow(CommandError);
  });
});

describe("revert", () => {
  it("creates a revert of the action and exits with its outcome", async () => {
    const c = new FakeClient();
    c.actions.set("shop/scale-1", { ...waiting("scale-1"), status: { phase: "Succeeded", preState: { reversible: true } } });
    const r = await exec(c, ["revert", "scale-1", "--reason", "did not help"]);
    expect(r).toMatchObject({ code: 0, out: "remediationaction.smartops.io/scale-1-revert-abcde Succeeded (Reverted): replicas 3 -> 2\n" });
    expect(c.actions.get("shop/scale-1-revert-abcde")?.spec).toMatchObject({ type: "revert", revertOf: "scale-1", target: { name: "web" }, reason: "did not help", source: "manual" });
  });

  it("refuses what cannot be reverted before creating anything", async () => {
    const c = new FakeClient();
    c.actions.set("shop/restart-1", { ...waiting("restart-1"), status: { phase: "Succeeded", preState: { reversible: false, reason: "a restart re-triggers a rollout" } } });
    await expect(exec(c, ["revert", "restart-1"])).rejects.toThrow("cannot be reverted: a restart re-triggers a rollout");
    expect(c.actions.size).toBe(1);
  });
});
