import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { silentLogger } from "../telemetry/logger.ts";
import type { PatchDocument } from "../remediation/patch-document.ts";
import { stored } from "../remediation/testing/patches.ts";
import { FakeBackend } from "./fake-backend.ts";
import { patchForm } from "./mapping.ts";
import { BLOCK_STATUS } from "./results.ts";
import { DEFAULT_CONFIG, type ShimServer, startShim } from "./server.ts";

const NS = "smartops-dev";
const USER = "policy-engine";
let backend: FakeBackend;
let shim: ShimServer;
let base: string;

afterEach(() => shim.close());
beforeEach(async () => {
  backend = new FakeBackend();
  shim = await startShim("127.0.0.1", 0, backend, { ...DEFAULT_CONFIG, verifyMarginSeconds: 0 }, silentLogger());
  base = `http://127.0.0.1:${shim.port}`;
  backend.tokens.set("t", { user: { username: USER, groups: [] }, audiences: ["smartops-shim"] });
  backend.grant(USER, "create", "smartops.io/remediationactions", NS);
  backend.grant(USER, "get", "apps/deployments", NS);
  backend.addDeployment(NS, "smartops-erp-simulator");
  // The "operator": executes every action a moment after it is created.
  backend.onAction = (a) => setTimeout(() => { a.status = { phase: "Succeeded", reason: "Executed", message: "done", completedAt: new Date().toISOString() }; }, 5);
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, { method: "POST", headers: { authorization: "Bearer t", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const only = (): RemediationAction => {
  expect(backend.actions.size).toBe(1);
  return [...backend.actions.values()][0]!;
};

const target = { kind: "Deployment", namespace: NS, name: "erp-simulator" };

describe("action routes → RemediationAction", () => {
  it("scale (seed §3.2.1): name resolved through the smartops- prefix; Prefer: respond-async → 202 with the action name at once", async () => {
    backend.onAction = () => {};
    const r = await post("/v1/k8s/scale", { namespace: NS, deployment: "erp-simulator", replicas: 4, dry_run: false }, { prefer: "respond-async" });
    expect(r.status).toBe(202);
    expect(r.headers.get("preference-applied")).toBe("respond-async");
    const a = only();
    expect(r.body).toEqual({ accepted: true, action: a.metadata.name, namespace: NS, target: "smartops-erp-simulator", dry_run: false });
    expect(a.spec).toEqual({ type: "scale", target: { kind: "Deployment", namespace: NS, name: "smartops-erp-simulator" }, scale: { replicas: 4 }, dryRun: false, verify: false, verifyTimeoutSeconds: 60, source: "manual" });
    expect(a.metadata.annotations?.["smartops.io/traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it("restart (seed §3.2.2)", async () => {
    expect((await post("/v1/k8s/restart", { namespace: NS, deployment: "erp-simulator", dry_run: true })).status).toBe(200);
    expect(only().spec).toMatchObject({ type: "restart", dryRun: true });
  });

  it.each([
    ["one RFC 6902 op (seed §3.2.3)", { op: "add", path: "/spec/template/spec.containers[0].image", value: "nginx:1.17.1" }, { json: [{ op: "add", path: "/spec/template/spec.containers[0].image", value: "nginx:1.17.1" }] }],
    ["a list of ops", [{ op: "replace", path: "/spec/replicas", value: 3 }], { json: [{ op: "replace", path: "/spec/replicas", value: 3 }] }],
    ["a merge patch", { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } }, { merge: { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } } }],
    ["a {patch: …} wrapper (seed §6.2.3)", { patch: { spec: { paused: false } } }, { merge: { spec: { paused: false } } }],
  ])("patch with %s", async (_what, patch, expected) => {
    expect((await post("/v1/k8s/patch", { namespace: NS, deployment: "erp-simulator", patch, dry_run: false })).status).toBe(200);
    // The action stores the patch as JSON text; the document is the one posted.
    expect(only().spec.patch).toEqual(stored(expected as PatchDocument));
  });

  it("execute (seed §3.3.1): scale, patch, delete-pod, with source and reason", async () => {
    expect((await post("/v1/actions/execute", { type: "patch", dry_run: false, verify: false, target, patch: { patch: { spec: { template: { metadata: { annotations: { a: "b" } } } } } }, source: "policy-engine", reason: "policy p1" })).status).toBe(200);
    expect(only().spec).toMatchObject({ type: "patch", source: "policy-engine", reason: "policy p1", patch: stored({ merge: { spec: { template: { metadata: { annotations: { a: "b" } } } } } }) });
    backend.actions.clear();
    expect((await post("/v1/actions/execute", { type: "delete-pod", target, delete_pod: { pod_name: "p-1" }, source: "ai-agent" })).status).toBe(200);
    expect(only().spec).toMatchObject({ type: "delete-pod", source: "ai-agent", deletePod: { podName: "p-1", notReadyThresholdSeconds: 120 } });
  });

  it.each([
    ["/v1/k8s/scale", { deployment: "erp-simulator", replicas: -1 }, "replicas"],
    ["/v1/k8s/scale", { deployment: "erp-simulator" }, "replicas"],
    ["/v1/k8s/scale", { deployment: "erp-simulator", replicas: 2, force: true }, "force"],
    ["/v1/k8s/patch", { deployment: "erp-simulator", patch: { op: "explode", path: "/x" } }, "patch.op"],
    ["/v1/k8s/patch", { deployment: "erp-simulator", patch: [{ op: "add", path: "nope" }] }, "patch[0].path"],
    ["/v1/actions/execute", { type: "scale", target }, "scale"],
    ["/v1/actions/execute", { type: "restart", target, scale: { replicas: 2 } }, "scale"],
    ["/v1/actions/execute", { type: "nuke", target }, "type"],
    ["/v1/actions/execute", { type: "restart", target: { ...target, kind: "StatefulSet" } }, "target.kind"],
    ["/v1/actions/execute", { type: "patch", target, patch: { patch: { op: "move", path: "/a" } } }, "patch.patch.from"],
    ["/v1/actions/execute", { type: "restart", target, source: "closed-loop" }, "source"],
    ["/v1/verify/deployment", { deployment: "erp-simulator", timeout_seconds: -1 }, "timeout_seconds"],
  ])("%s %j → 400 naming %s", async (path, body, field) => {
    const r = await post(path, body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: "BadRequest", field });
    expect(backend.actions.size).toBe(0);
  });

  it.each([
    ["merge patch nested 33 deep", `{"deployment":"erp-simulator","patch":{"spec":${'{"a":'.repeat(32)}1${"}".repeat(32)}}}`, "patch", "more than 32 levels deep"],
    // Deeper than any valid body: refused by the body reader before JSON.parse, no field to name.
    ["merge patch nested 9,990 deep", `{"deployment":"erp-simulator","patch":${'{"a":'.repeat(9990)}1${"}".repeat(9990)}}`, undefined, "nested deeper than 40 levels"],
    ["1e309 in a merge patch (would be stored as null: a delete)", '{"deployment":"erp-simulator","patch":{"spec":{"replicas":1e309}}}', "patch", "/spec/replicas"],
    ["1e309 in an op's value", '{"deployment":"erp-simulator","patch":{"op":"replace","path":"/spec/replicas","value":-1e309}}', "patch", "/0/value"],
    ["a patch over the size limit", JSON.stringify({ deployment: "erp-simulator", patch: { metadata: { annotations: { a: "x".repeat(16_400) } } } }), "patch", "at most 16384"],
    ["merge patch nested 32 deep (the limit)", `{"deployment":"erp-simulator","patch":{"spec":${'{"a":'.repeat(31)}1${"}".repeat(31)}}}`, "", ""],
  ])("/v1/k8s/patch with a %s → 400 naming the field (200 at the limit)", async (_what, raw, field, message) => {
    const r = await post("/v1/k8s/patch", raw);
    if (field === "") {
      expect(r.status).toBe(200);
      return;
    }
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: "BadRequest", ...(field !== undefined ? { field } : {}) });
    expect(String(r.body.message)).toContain(message);
    expect(backend.actions.size).toBe(0);
  });

  it("unknown deployment → 404 naming the field", async () => {
    const r = await post("/v1/actions/execute", { type: "restart", target: { ...target, name: "ghost" } });
    expect(r.status).toBe(404);
    expect(r.body.field).toBe("target.name");
  });
});

describe("action routes answer with the outcome, as the seed does", () => {
  const finish = (status: RemediationAction["status"], afterMs = 20) => (a: RemediationAction) => setTimeout(() => { a.status = status; }, afterMs);

  it("without verify the answer waits until the action is executed: 200 in the seed's words", async () => {
    // Executed only 150 ms after creation: an answer given before would say Pending.
    backend.onAction = finish({ phase: "Succeeded", reason: "Executed", message: "replicas 2 -> 4", intent: { fromReplicas: 2, replicas: 4 }, completedAt: new Date().toISOString() }, 150);
    const r = await post("/v1/k8s/scale", { namespace: NS, deployment: "erp-simulator", replicas: 4, dry_run: false });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      success: true,
      message: `Deployment ${NS}/smartops-erp-simulator scaled to 4`,
      dry_run: false,
      phase: "Succeeded",
      details: { runner: { status: "success", attempts: 1, result: { name: "smartops-erp-simulator", namespace: NS, replicas: 4, dry_run: false }, error: null, message: "replicas 2 -> 4" } },
      verification: null,
      warnings: null,
    });
    expect(r.body.accepted).toBeUndefined();
  });

  it("restart says when it was triggered; a dry run says what would happen", async () => {
    backend.onAction = finish({ phase: "Succeeded", reason: "Executed", intent: { restartedAt: "2026-11-29T10:00:00Z" } });
    expect((await post("/v1/k8s/restart", { deployment: "erp-simulator" })).body.message).toBe(`Deployment ${NS}/smartops-erp-simulator restart triggered at 2026-11-29T10:00:00Z`);
    backend.onAction = finish({ phase: "Succeeded", reason: "DryRunSucceeded", dryRunResult: { summary: "replicas 2 -> 4", fromReplicas: 2, toReplicas: 4 } });
    const dry = await post("/v1/k8s/scale", { deployment: "erp-simulator", replicas: 4, dry_run: true });
    expect(dry.body).toMatchObject({ success: true, dry_run: true, message: `Deployment ${NS}/smartops-erp-simulator would be scaled to 4 (dry run)`, warnings: ["dry run only: replicas 2 -> 4"] });
    backend.onAction = finish({ phase: "Succeeded", reason: "Executed" });
    expect((await post("/v1/actions/execute", { type: "patch", target, patch: { patch: { spec: { paused: false } } } })).body.message).toBe(`PATCH Deployment ${NS}/smartops-erp-simulator`);
  });

  it("Succeeded with verify → 200 with the verification", async () => {
    backend.onAction = finish({ phase: "Succeeded", reason: "RolloutComplete", message: "3 of 3 ready", intent: { replicas: 6 }, completedAt: new Date(Date.now() + 1500).toISOString(), verification: { status: "SUCCESS", attempts: 1, observed: { desiredReplicas: 6, updatedReplicas: 6, readyReplicas: 6, availableReplicas: 6 } } });
    const r = await post("/v1/actions/execute", { type: "scale", dry_run: false, verify: true, verify_timeout_seconds: 60, target, scale: { replicas: 6 } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      success: true,
      message: `SCALE Deployment ${NS}/smartops-erp-simulator -> 6`,
      dry_run: false,
      details: { runner: { status: "success", attempts: 1, result: { name: "smartops-erp-simulator", namespace: NS, replicas: 6, dry_run: false }, error: null } },
      verification: { status: "SUCCESS", observed: { updated_replicas: 6, ready_replicas: 6, available_replicas: 6, desired_replicas: 6 } },
      warnings: null,
    });
    expect((r.body.details as { runner: { duration_seconds: number } }).runner.duration_seconds).toBeGreaterThan(0);
  });

  // Every block reason, on the route whose request field it names.
  it.each(Object.entries(BLOCK_STATUS))("Blocked %s → %i with reason, message and field, with and without verify", async (reason, code) => {
    backend.onAction = finish({ phase: "Blocked", reason, message: `guardrail says ${reason}` });
    const fields: Record<string, [string, string]> = {
      MaxReplicasExceeded: ["replicas", "scale.replicas"], MinReplicasViolated: ["replicas", "scale.replicas"], MaxScaleStepExceeded: ["replicas", "scale.replicas"],
      PatchPathForbidden: ["patch", "patch.patch"], PatchPathNotAllowed: ["patch", "patch.patch"], InvalidPatch: ["patch", "patch.patch"],
      PodNotOwnedByTarget: ["delete_pod.pod_name", "delete_pod.pod_name"],
    };
    const [k8sField, executeField] = fields[reason] ?? [undefined, undefined];
    for (const verify of [false, true]) {
      const k8s = await post("/v1/k8s/scale", { deployment: "erp-simulator", replicas: 50, verify });
      expect(k8s.status).toBe(code);
      expect(k8s.body).toMatchObject({ error: "GuardrailBlocked", reason, success: false, phase: "Blocked", details: { runner: { status: "blocked", error: `guardrail says ${reason}` } } });
      expect(k8s.body.field).toBe(k8sField);
      expect(String(k8s.body.message)).toBe(`blocked by guardrail ${reason}: guardrail says ${reason}`);
      const execute = await post("/v1/actions/execute", { type: "scale", target, scale: { replicas: 50 }, verify });
      expect(execute.status).toBe(code);
      expect(execute.body.field).toBe(executeField);
    }
  });

  it("a forbidden patch is 400 (seed: any forbidden patch → 400), with and without verify", async () => {
    backend.onAction = finish({ phase: "Blocked", reason: "PatchPathForbidden", message: "spec.template.spec.containers[0].image is forbidden" });
    for (const verify of [false, true]) {
      const r = await post("/v1/k8s/patch", { deployment: "erp-simulator", patch: { op: "add", path: "/spec/template/spec/containers/0/image", value: "nginx:1.17.1" }, verify });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: "GuardrailBlocked", reason: "PatchPathForbidden", field: "patch", success: false });
    }
  });

  it("an unknown reason (a newer operator's) is 409, the same request may pass later", async () => {
    backend.onAction = finish({ phase: "Blocked", reason: "SomethingNew", message: "new guardrail" });
    expect((await post("/v1/k8s/restart", { deployment: "erp-simulator" })).status).toBe(409);
  });

  it("Failed → 200 success:false with the error; Rejected → 403", async () => {
    backend.onAction = finish({ phase: "Failed", reason: "RolloutTimedOut", message: "not ready", verification: { status: "TIMED_OUT" } });
    const f = await post("/v1/k8s/restart", { deployment: "erp-simulator", verify: true });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ success: false, details: { runner: { status: "failed", error: "not ready" } }, verification: { status: "TIMED_OUT" } });
    backend.onAction = finish({ phase: "Rejected", reason: "RejectedByUser", message: "alice said no" });
    const rej = await post("/v1/k8s/restart", { deployment: "erp-simulator" });
    expect(rej.status).toBe(403);
    expect(rej.body).toMatchObject({ error: "ActionRejected", success: false, reason: "RejectedByUser" });
  });

  it("PendingApproval → 202 at once with the phase and the action's name to follow", async () => {
    backend.onAction = finish({ phase: "PendingApproval", reason: "ApprovalRequired", message: "needs approval" });
    const started = Date.now();
    const r = await post("/v1/k8s/restart", { deployment: "erp-simulator" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.status).toBe(202);
    const a = only();
    expect(r.body).toMatchObject({ accepted: true, success: false, phase: "PendingApproval", action: a.metadata.name, namespace: NS, target: "smartops-erp-simulator", details: { runner: { status: "pending_approval", error: null } } });
    expect(String(r.body.message)).toContain(`kubectl get remediationaction ${a.metadata.name} -n ${NS}`);
  });

  it("still running at the bound → 202 with the phase; Prefer: wait=1 shortens the bound", async () => {
    backend.onAction = () => {};
    const started = Date.now();
    const slow = await post("/v1/k8s/restart", { deployment: "erp-simulator" }, { prefer: "wait=1" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(slow.status).toBe(202);
    expect(slow.body).toMatchObject({ accepted: true, success: false, phase: "Pending", details: { runner: { status: "pending" } } });
    expect(String(slow.body.message)).toMatch(/still Pending after 1 s; follow it with kubectl get remediationaction/);
    const verifying = await post("/v1/k8s/restart", { deployment: "erp-simulator", verify: true, verify_timeout_seconds: 1 });
    expect(verifying.status).toBe(202);
  });
});

describe("/v1/verify/deployment", () => {
  it("healthy → SUCCESS with observed counts (seed §3.5.1)", async () => {
    const r = await post("/v1/verify/deployment", { namespace: NS, deployment: "erp-simulator", timeout_seconds: 60, poll_interval_seconds: 5 });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: "SUCCESS", message: "Deployment healthy", deployment: "smartops-erp-simulator", namespace: NS, observed: { updated_replicas: 2, ready_replicas: 2, available_replicas: 2, desired_replicas: 2 } });
  });

  it("not ready within the timeout → TIMED_OUT; progress deadline exceeded → FAILED", async () => {
    backend.addDeployment(NS, "slow", { status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 } });
    expect((await post("/v1/verify/deployment", { deployment: "slow", timeout_seconds: 0.2, poll_interval_seconds: 0.1 })).body).toMatchObject({ status: "TIMED_OUT", observed: { ready_replicas: 1 } });
    backend.addDeployment(NS, "stuck", { status: { observedGeneration: 1, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] } });
    expect((await post("/v1/verify/deployment", { deployment: "stuck", timeout_seconds: 1 })).body).toMatchObject({ status: "FAILED" });
  });
});

describe("patchForm", () => {
  it("names the bad field inside a JSON patch list", () => {
    const r = patchForm([{ op: "add", path: "/a" }, { op: "copy", path: "/b" }], "patch");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.field)).toContain("patch[1].from");
  });
});

describe("POST /v1/actions/{name}/revert", () => {
  const original = (name: string, targetName = "smartops-erp-simulator"): RemediationAction => ({
    apiVersion: "smartops.io/v1alpha1", kind: "RemediationAction",
    metadata: { name, namespace: NS, uid: `${name}-uid` },
    spec: { type: "scale", target: { kind: "Deployment", namespace: NS, name: targetName }, scale: { replicas: 4 }, dryRun: false, verify: false, verifyTimeoutSeconds: 60, source: "ai-agent" },
    status: { phase: "Succeeded", reason: "Executed", message: "scaled" },
  });
  beforeEach(() => {
    backend.actions.set(`${NS}/scale-web-1`, original("scale-web-1"));
  });
  const created = () => [...backend.actions.values()].filter((a) => a.spec.type === "revert");
  const finish = (status: RemediationAction["status"]) => (a: RemediationAction) => setTimeout(() => { a.status = status; }, 20);

  it("creates a revert of the named action on that action's own target, answered with its outcome", async () => {
    const r = await post("/v1/actions/scale-web-1/revert", { namespace: NS, reason: "did not help", source: "ai-agent" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const [a] = created();
    expect(created()).toHaveLength(1);
    expect(a!.spec).toEqual({
      type: "revert", revertOf: "scale-web-1", target: { kind: "Deployment", namespace: NS, name: "smartops-erp-simulator" },
      dryRun: false, verify: false, verifyTimeoutSeconds: 60, source: "ai-agent", reason: "did not help",
    });
    expect(a!.metadata.name).toMatch(/^revert-smartops-erp-simulator-[0-9a-f]{10}$/);
    expect(r.body).toMatchObject({ success: true, action: a!.metadata.name, phase: "Succeeded" });
  });

  it("Prefer: respond-async → 202 with the revert's name at once", async () => {
    backend.onAction = () => {};
    const r = await post("/v1/actions/scale-web-1/revert", {}, { prefer: "respond-async" });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: true, action: created()[0]!.metadata.name, target: "smartops-erp-simulator" });
  });

  it.each([
    ["no such action", "/v1/actions/nope/revert", {}, 404, "name"],
    ["a name that is not a DNS subdomain", "/v1/actions/Bad_Name/revert", {}, 400, "name"],
    ["a malformed percent-encoding", "/v1/actions/%E0%A4%A/revert", {}, 400, "name"],
    ["an unknown body field", "/v1/actions/scale-web-1/revert", { revertOf: "other" }, 400, "revertOf"],
  ])("%s: POST %s %j → %i naming the field %s, nothing created", async (_what, path, body, code, field) => {
    const r = await post(path, body);
    expect(r.status).toBe(code);
    expect(r.body.field).toBe(field);
    expect(created()).toEqual([]);
  });

  it("is authorized like the other action routes: create remediationactions in the namespace", async () => {
    backend.grants.clear();
    const r = await post("/v1/actions/scale-web-1/revert", { namespace: NS });
    expect(r.status).toBe(403);
    expect(created()).toEqual([]);
  });

  it.each([
    ["NotReversible", 400], ["NotExecuted", 400], ["RevertTargetMismatch", 400], ["RevertTargetMissing", 404], ["AlreadyReverted", 409], ["TargetChangedSinceAction", 409],
  ])("the operator's refusal %s → %i, field name", async (reason, code) => {
    backend.onAction = finish({ phase: "Blocked", reason, message: `refused: ${reason}` });
    const r = await post("/v1/actions/scale-web-1/revert", {});
    expect(r.status).toBe(code);
    expect(r.body).toMatchObject({ error: "GuardrailBlocked", reason, field: "name", success: false });
  });
});
