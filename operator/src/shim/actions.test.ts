import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { silentLogger } from "../telemetry/logger.ts";
import type { PatchDocument } from "../remediation/patch-document.ts";
import { stored } from "../remediation/testing/patches.ts";
import { FakeBackend } from "./fake-backend.ts";
import { patchForm } from "./mapping.ts";
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
});

async function post(path: string, body: unknown) {
  const res = await fetch(base + path, { method: "POST", headers: { authorization: "Bearer t" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const only = (): RemediationAction => {
  expect(backend.actions.size).toBe(1);
  return [...backend.actions.values()][0]!;
};

const target = { kind: "Deployment", namespace: NS, name: "erp-simulator" };

describe("action routes → RemediationAction", () => {
  it("scale (seed §3.2.1): name resolved through the smartops- prefix, 202 with the action name", async () => {
    const r = await post("/v1/k8s/scale", { namespace: NS, deployment: "erp-simulator", replicas: 4, dry_run: false });
    expect(r.status).toBe(202);
    const a = only();
    expect(r.body).toEqual({ accepted: true, action: a.metadata.name, namespace: NS, target: "smartops-erp-simulator", dry_run: false });
    expect(a.spec).toEqual({ type: "scale", target: { kind: "Deployment", namespace: NS, name: "smartops-erp-simulator" }, scale: { replicas: 4 }, dryRun: false, verify: false, verifyTimeoutSeconds: 60, source: "manual" });
    expect(a.metadata.annotations?.["smartops.io/traceparent"]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it("restart (seed §3.2.2)", async () => {
    expect((await post("/v1/k8s/restart", { namespace: NS, deployment: "erp-simulator", dry_run: true })).status).toBe(202);
    expect(only().spec).toMatchObject({ type: "restart", dryRun: true });
  });

  it.each([
    ["one RFC 6902 op (seed §3.2.3)", { op: "add", path: "/spec/template/spec.containers[0].image", value: "nginx:1.17.1" }, { json: [{ op: "add", path: "/spec/template/spec.containers[0].image", value: "nginx:1.17.1" }] }],
    ["a list of ops", [{ op: "replace", path: "/spec/replicas", value: 3 }], { json: [{ op: "replace", path: "/spec/replicas", value: 3 }] }],
    ["a merge patch", { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } }, { merge: { spec: { template: { metadata: { annotations: { "smartops/test-patch": "hello" } } } } } }],
    ["a {patch: …} wrapper (seed §6.2.3)", { patch: { spec: { paused: false } } }, { merge: { spec: { paused: false } } }],
  ])("patch with %s", async (_what, patch, expected) => {
    expect((await post("/v1/k8s/patch", { namespace: NS, deployment: "erp-simulator", patch, dry_run: false })).status).toBe(202);
    // The action stores the patch as JSON text; the document is the one posted.
    expect(only().spec.patch).toEqual(stored(expected as PatchDocument));
  });

  it("execute (seed §3.3.1): scale, patch, delete-pod, with source and reason", async () => {
    expect((await post("/v1/actions/execute", { type: "patch", dry_run: false, verify: false, target, patch: { patch: { spec: { template: { metadata: { annotations: { a: "b" } } } } } }, source: "policy-engine", reason: "policy p1" })).status).toBe(202);
    expect(only().spec).toMatchObject({ type: "patch", source: "policy-engine", reason: "policy p1", patch: stored({ merge: { spec: { template: { metadata: { annotations: { a: "b" } } } } } }) });
    backend.actions.clear();
    expect((await post("/v1/actions/execute", { type: "delete-pod", target, delete_pod: { pod_name: "p-1" }, source: "ai-agent" })).status).toBe(202);
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
  ])("/v1/k8s/patch with a %s → 400 naming the field (202 at the limit)", async (_what, raw, field, message) => {
    const r = await post("/v1/k8s/patch", raw);
    if (field === "") {
      expect(r.status).toBe(202);
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

describe("verify: true waits for the action's terminal phase", () => {
  const finish = (status: RemediationAction["status"]) => (a: RemediationAction) => setTimeout(() => { a.status = status; }, 20);

  it("Succeeded → 200 in the seed's ActionResult shape", async () => {
    backend.onAction = finish({ phase: "Succeeded", reason: "RolloutComplete", message: "3 of 3 ready", completedAt: new Date(Date.now() + 1500).toISOString(), verification: { status: "SUCCESS", attempts: 1, observed: { desiredReplicas: 6, updatedReplicas: 6, readyReplicas: 6, availableReplicas: 6 } } });
    const r = await post("/v1/actions/execute", { type: "scale", dry_run: false, verify: true, verify_timeout_seconds: 60, target, scale: { replicas: 6 } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      success: true,
      message: expect.stringContaining("SCALE Deployment smartops-dev/smartops-erp-simulator -> 6"),
      dry_run: false,
      details: { runner: { status: "success", attempts: 1, result: { name: "smartops-erp-simulator", namespace: NS, replicas: 6, dry_run: false }, error: null } },
      verification: { status: "SUCCESS", observed: { updated_replicas: 6, ready_replicas: 6, available_replicas: 6, desired_replicas: 6 } },
      warnings: null,
    });
    expect((r.body.details as { runner: { duration_seconds: number } }).runner.duration_seconds).toBeGreaterThan(0);
  });

  it.each([
    ["MaxReplicasExceeded", 400, "replicas"],
    ["CooldownActive", 409, undefined],
    ["PolicyPaused", 403, undefined],
  ])("Blocked %s → %i with reason and message", async (reason, code, field) => {
    backend.onAction = finish({ phase: "Blocked", reason, message: `guardrail says ${reason}` });
    const r = await post("/v1/k8s/scale", { deployment: "erp-simulator", replicas: 50, verify: true });
    expect(r.status).toBe(code);
    expect(r.body).toMatchObject({ error: "GuardrailBlocked", reason, success: false });
    expect(r.body.field).toBe(field);
    expect(String(r.body.message)).toContain(`guardrail says ${reason}`);
  });

  it("Failed → 200 success:false with the error; PendingApproval → 202; still running past the deadline → 202", async () => {
    backend.onAction = finish({ phase: "Failed", reason: "RolloutTimedOut", message: "not ready", verification: { status: "TIMED_OUT" } });
    const f = await post("/v1/k8s/restart", { deployment: "erp-simulator", verify: true });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ success: false, details: { runner: { status: "failed", error: "not ready" } }, verification: { status: "TIMED_OUT" } });
    backend.onAction = finish({ phase: "PendingApproval", message: "needs approval" });
    expect((await post("/v1/k8s/restart", { deployment: "erp-simulator", verify: true })).body).toMatchObject({ accepted: true, phase: "PendingApproval" });
    backend.onAction = () => {};
    const slow = await post("/v1/k8s/restart", { deployment: "erp-simulator", verify: true, verify_timeout_seconds: 1 });
    expect(slow.status).toBe(202);
    expect(slow.body).toMatchObject({ accepted: true, phase: "Pending" });
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
