// The fake API server keeps the semantics controllers rely on: optimistic
// concurrency, the status subresource, merge and JSON patch, dry runs that store
// nothing, eviction preconditions, injected failures and the write log.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import * as b from "../../controllers/testing/builders.ts";
import { execute, stampOf } from "../executors/index.ts";
import { previewPatch } from "../executors/patch.ts";
import { writeStatus } from "../smartops.ts";
import { isAlreadyExists, isConflict, isNotFound, KubeApiError } from "../errors.ts";
import { DEPLOYMENTS, PODS, REMEDIATION_ACTIONS } from "../resources.ts";
import { apiError, FakeKubeApi } from "./fake-api.ts";

interface Deployment {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; generation?: number; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
  status?: { replicas?: number; observedGeneration?: number };
}

const deployment = (name: string, replicas = 2, labels: Record<string, string> = {}): Deployment => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "team-a", labels, annotations: { keep: "yes" } },
  spec: { replicas, template: { metadata: { annotations: {} } } },
});

const action = () => ({
  apiVersion: "smartops.io/v1alpha1",
  kind: "RemediationAction",
  metadata: { name: "scale-web", namespace: "team-a" },
  spec: { type: "scale", target: { name: "web" }, scale: { replicas: 3 } },
});

async function rejected(p: Promise<unknown>): Promise<KubeApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KubeApiError);
  return err as KubeApiError;
}

describe("FakeKubeApi create, get, list", () => {
  it("create fills uid, resourceVersion, generation and creationTimestamp from the clock; a duplicate is AlreadyExists", async () => {
    const api = new FakeKubeApi({ now: () => Date.parse("2026-01-02T03:04:05Z") });
    const d = await api.create<Deployment>(DEPLOYMENTS, "team-a", deployment("web"));
    expect(d.metadata).toMatchObject({ uid: "uid-1", resourceVersion: "1", generation: 1, creationTimestamp: "2026-01-02T03:04:05.000Z", namespace: "team-a" });
    expect(isAlreadyExists(await rejected(api.create(DEPLOYMENTS, "team-a", deployment("web"))))).toBe(true);
    expect(await api.get<Deployment>(DEPLOYMENTS, "team-a", "web")).toEqual(d);
  });

  it("get of a missing object is 404 NotFound", async () => {
    const err = await rejected(new FakeKubeApi().get(DEPLOYMENTS, "team-a", "nope"));
    expect(isNotFound(err)).toBe(true);
    expect(err.reason).toBe("NotFound");
  });

  it("list filters by namespace and equality label selectors, with the current resourceVersion", async () => {
    const api = new FakeKubeApi();
    api.seed(DEPLOYMENTS, deployment("b", 1, { app: "x" }));
    api.seed(DEPLOYMENTS, deployment("a", 1, { app: "y" }));
    api.seed(DEPLOYMENTS, { ...deployment("c", 1, { app: "x" }), metadata: { name: "c", namespace: "team-b", labels: { app: "x" } } });
    const names = async (ns: string | undefined, labelSelector?: string) =>
      (await api.list<Deployment>(DEPLOYMENTS, ns, { labelSelector })).items.map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
    expect(await names("team-a")).toEqual(["team-a/a", "team-a/b"]);
    expect(await names(undefined, "app=x")).toEqual(["team-a/b", "team-b/c"]);
    expect(await names("team-a", "app!=x")).toEqual(["team-a/a"]);
    expect((await api.list(DEPLOYMENTS, "team-a")).metadata?.resourceVersion).toBe("3");
  });

  it("returns copies: changing a returned object changes nothing stored", async () => {
    const api = new FakeKubeApi();
    const seeded = api.seed(DEPLOYMENTS, deployment("web"));
    seeded.spec!.replicas = 99;
    const got = await api.get<Deployment>(DEPLOYMENTS, "team-a", "web");
    got.spec!.replicas = 42;
    expect((await api.get<Deployment>(DEPLOYMENTS, "team-a", "web")).spec?.replicas).toBe(2);
  });

  it("watch says the fake has none", async () => {
    await expect(new FakeKubeApi().watch(DEPLOYMENTS, "team-a", {})).rejects.toThrow(/no watches/);
  });
});

describe("FakeKubeApi replace", () => {
  it("a status replace changes only the status, bumps resourceVersion, keeps generation; a stale one is 409 Conflict", async () => {
    const api = new FakeKubeApi();
    const d = api.seed(DEPLOYMENTS, deployment("web"));
    const written = await api.replace<Deployment>(DEPLOYMENTS, "team-a", "web", { ...d, spec: { replicas: 7 }, status: { replicas: 2 } }, { subresource: "status" });
    expect(written.status).toEqual({ replicas: 2 });
    expect(written.spec?.replicas).toBe(2);
    expect(written.metadata.generation).toBe(1);
    expect(written.metadata.resourceVersion).not.toBe(d.metadata.resourceVersion);
    // d still carries the old resourceVersion: the write it guards is refused.
    const err = await rejected(api.replace(DEPLOYMENTS, "team-a", "web", { ...d, status: { replicas: 5 } }, { subresource: "status" }));
    expect(isConflict(err)).toBe(true);
    expect(err.reason).toBe("Conflict");
    expect(api.stored<Deployment>(DEPLOYMENTS, "team-a", "web")?.status).toEqual({ replicas: 2 });
  });

  it("a main replace keeps the status and bumps generation only when the spec changed", async () => {
    const api = new FakeKubeApi();
    const d = api.seed(DEPLOYMENTS, { ...deployment("web"), status: { replicas: 2 } });
    const labelled = await api.replace<Deployment>(DEPLOYMENTS, "team-a", "web", { ...d, metadata: { ...d.metadata, labels: { a: "b" } }, status: {} });
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status).toEqual({ replicas: 2 });
    const scaled = await api.replace<Deployment>(DEPLOYMENTS, "team-a", "web", { ...labelled, spec: { replicas: 4 } });
    expect(scaled.metadata.generation).toBe(2);
    expect(scaled.metadata.uid).toBe(d.metadata.uid);
  });

  it("our kinds are validated: an invalid status is 422 Invalid naming the field, and nothing is stored", async () => {
    const api = new FakeKubeApi();
    const a = await api.create<ReturnType<typeof action>>(REMEDIATION_ACTIONS, "team-a", action());
    expect(a.spec).toMatchObject({ verify: true, verifyTimeoutSeconds: 60, dryRun: false });
    const err = await rejected(api.replace(REMEDIATION_ACTIONS, "team-a", "scale-web", { ...a, status: { phase: "Sleeping" } }, { subresource: "status" }));
    expect(err.status).toBe(422);
    expect(err.fields).toEqual(["status.phase"]);
    expect(api.stored<{ status?: unknown }>(REMEDIATION_ACTIONS, "team-a", "scale-web")?.status).toBeUndefined();
  });
});

describe("FakeKubeApi patch", () => {
  it("merge patch: objects merge, null removes, resourceVersion bumps", async () => {
    const api = new FakeKubeApi();
    const d = api.seed(DEPLOYMENTS, deployment("web"));
    const patched = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "merge", { metadata: { annotations: { keep: null, added: "1" } }, spec: { replicas: 5 } });
    expect(patched.metadata.annotations).toEqual({ added: "1" });
    expect(patched.spec).toEqual({ replicas: 5, template: { metadata: { annotations: {} } } });
    expect(patched.metadata.generation).toBe(2);
    expect(patched.metadata.resourceVersion).not.toBe(d.metadata.resourceVersion);
  });

  it("a patch carrying a resourceVersion other than the stored one is 409 Conflict; the stored one passes", async () => {
    const api = new FakeKubeApi();
    const d = api.seed(DEPLOYMENTS, deployment("web"));
    api.mutate<Deployment>(DEPLOYMENTS, "team-a", "web", (o) => { o.spec!.replicas = 3; });
    const stale = await rejected(api.patch(DEPLOYMENTS, "team-a", "web", "merge", { metadata: { resourceVersion: d.metadata.resourceVersion }, spec: { replicas: 9 } }));
    expect(isConflict(stale)).toBe(true);
    const jsonStale = await rejected(api.patch(DEPLOYMENTS, "team-a", "web", "json", [{ op: "replace", path: "/metadata/resourceVersion", value: d.metadata.resourceVersion }]));
    expect(isConflict(jsonStale)).toBe(true);
    expect(api.stored<Deployment>(DEPLOYMENTS, "team-a", "web")?.spec?.replicas).toBe(3);
    const current = api.stored<Deployment>(DEPLOYMENTS, "team-a", "web")!.metadata.resourceVersion;
    const ok = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "merge", { metadata: { resourceVersion: current }, spec: { replicas: 9 } });
    expect(ok.spec?.replicas).toBe(9);
  });

  it("json patch: add with ~1 escapes, replace, remove, test; a failed test is 422 Invalid and changes nothing", async () => {
    const api = new FakeKubeApi();
    api.seed(DEPLOYMENTS, deployment("web"));
    const patched = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "json", [
      { op: "test", path: "/spec/replicas", value: 2 },
      { op: "add", path: "/metadata/annotations/smartops.io~1last-action", value: "uid-9" },
      { op: "add", path: "/metadata/annotations/a~0b", value: "tilde" },
      { op: "remove", path: "/metadata/annotations/keep" },
      { op: "replace", path: "/spec/replicas", value: 4 },
    ]);
    expect(patched.metadata.annotations).toEqual({ "smartops.io/last-action": "uid-9", "a~b": "tilde" });
    expect(patched.spec?.replicas).toBe(4);
    const err = await rejected(api.patch(DEPLOYMENTS, "team-a", "web", "json", [{ op: "replace", path: "/spec/replicas", value: 1 }, { op: "test", path: "/spec/replicas", value: 4 }]));
    expect(err.status).toBe(422);
    expect(err.reason).toBe("Invalid");
    expect(api.stored<Deployment>(DEPLOYMENTS, "team-a", "web")?.spec?.replicas).toBe(4);
    expect((await rejected(api.patch(DEPLOYMENTS, "team-a", "web", "json", [{ op: "remove", path: "/spec/nothing" }]))).status).toBe(422);
  });

  it("strategic patch is applied as a merge patch", async () => {
    const api = new FakeKubeApi();
    api.seed(DEPLOYMENTS, deployment("web"));
    const patched = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "strategic", { spec: { template: { metadata: { annotations: { r: "1" } } } } });
    expect(patched.spec).toEqual({ replicas: 2, template: { metadata: { annotations: { r: "1" } } } });
  });

  it("a status patch changes only the status", async () => {
    const api = new FakeKubeApi();
    api.seed(DEPLOYMENTS, deployment("web"));
    const patched = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 8 }, status: { observedGeneration: 1 } }, { subresource: "status" });
    expect(patched.status).toEqual({ observedGeneration: 1 });
    expect(patched.spec?.replicas).toBe(2);
  });

  it("patch of a missing object is 404", async () => {
    expect(isNotFound(await rejected(new FakeKubeApi().patch(DEPLOYMENTS, "team-a", "web", "merge", {})))).toBe(true);
  });

  it("dry run answers the would-be object and stores nothing, resourceVersion unchanged", async () => {
    const api = new FakeKubeApi();
    const d = api.seed(DEPLOYMENTS, deployment("web"));
    const preview = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 6 } }, { dryRun: true });
    expect(preview.spec?.replicas).toBe(6);
    expect(preview.metadata.resourceVersion).toBe(d.metadata.resourceVersion);
    await api.replace(DEPLOYMENTS, "team-a", "web", { ...d, status: { replicas: 1 } }, { subresource: "status", dryRun: true });
    await api.create(DEPLOYMENTS, "team-a", deployment("other"), { dryRun: true });
    expect(api.stored(DEPLOYMENTS, "team-a", "web")).toEqual(d);
    expect(api.stored(DEPLOYMENTS, "team-a", "other")).toBeUndefined();
    // The next real write gets the next version: nothing was consumed by the dry runs.
    const real = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 6 } });
    expect(real.metadata.resourceVersion).toBe(String(Number(d.metadata.resourceVersion) + 1));
    expect(api.writes().map((c) => c.verb)).toEqual(["patch"]);
  });
});

describe("FakeKubeApi eviction", () => {
  const pod = (name: string, uid: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "team-a", uid } });
  const eviction = (name: string, uid?: string) => ({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "team-a" }, deleteOptions: { preconditions: { uid } } });

  it("deletes the pod whose uid matches the precondition", async () => {
    const api = new FakeKubeApi();
    api.seed(PODS, pod("web-1", "pod-uid"));
    await api.create(PODS, "team-a", eviction("web-1", "pod-uid"), { subresource: "eviction" });
    expect(api.stored(PODS, "team-a", "web-1")).toBeUndefined();
    expect(api.writes()).toEqual([expect.objectContaining({ verb: "create", resource: "pods", name: "web-1", subresource: "eviction", dryRun: false })]);
  });

  it("refuses another pod of the same name (409) and a missing one (404); a dry run deletes nothing", async () => {
    const api = new FakeKubeApi();
    api.seed(PODS, pod("web-1", "new-uid"));
    expect(isConflict(await rejected(api.create(PODS, "team-a", eviction("web-1", "old-uid"), { subresource: "eviction" })))).toBe(true);
    expect(isNotFound(await rejected(api.create(PODS, "team-a", eviction("web-2"), { subresource: "eviction" })))).toBe(true);
    await api.create(PODS, "team-a", eviction("web-1", "new-uid"), { subresource: "eviction", dryRun: true });
    expect(api.stored(PODS, "team-a", "web-1")).toBeDefined();
  });
});

describe("FakeKubeApi failure injection and the call log", () => {
  it("failNext fails the matching calls only, as often as asked, and changes nothing", async () => {
    const api = new FakeKubeApi();
    api.seed(DEPLOYMENTS, deployment("web"));
    api.failNext({ verb: "patch", resource: DEPLOYMENTS, dryRun: false }, apiError(429, "TooManyRequests", "slow down", 3), 2);
    const preview = await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 5 } }, { dryRun: true });
    expect(preview.spec?.replicas).toBe(5);
    for (let i = 0; i < 2; i++) {
      const err = await rejected(api.patch(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 5 } }));
      expect({ status: err.status, reason: err.reason, retry: err.retryAfterSeconds }).toEqual({ status: 429, reason: "TooManyRequests", retry: 3 });
    }
    expect(api.stored<Deployment>(DEPLOYMENTS, "team-a", "web")?.spec?.replicas).toBe(2);
    expect((await api.patch<Deployment>(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 5 } })).spec?.replicas).toBe(5);
  });

  it("failNext matches the status subresource and the name", async () => {
    const api = new FakeKubeApi();
    const d = api.seed(DEPLOYMENTS, deployment("web"));
    api.failNext({ verb: "replace", subresource: "status", name: "web" }, apiError(500, "InternalError"));
    expect((await rejected(api.replace(DEPLOYMENTS, "team-a", "web", d, { subresource: "status" }))).status).toBe(500);
    await api.replace(DEPLOYMENTS, "team-a", "web", d, { subresource: "status" });
  });

  it("logs every call; writes() keeps the real writes, failed attempts marked; reset() clears the log; seed and mutate are not logged", async () => {
    const api = new FakeKubeApi();
    api.seed(DEPLOYMENTS, deployment("web"));
    api.mutate<Deployment>(DEPLOYMENTS, "team-a", "web", (o) => { o.spec!.replicas = 3; });
    await api.get(DEPLOYMENTS, "team-a", "web");
    await api.list(DEPLOYMENTS, "team-a");
    await api.patch(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 4 } }, { dryRun: true });
    await api.patch(DEPLOYMENTS, "team-a", "web", "merge", { spec: { replicas: 4 } });
    await rejected(api.patch(DEPLOYMENTS, "team-a", "gone", "json", []));
    expect(api.calls.map((c) => c.verb)).toEqual(["get", "list", "patch", "patch", "patch"]);
    expect(api.writes()).toEqual([
      { verb: "patch", resource: "deployments", namespace: "team-a", name: "web", dryRun: false, patchType: "merge", body: { spec: { replicas: 4 } } },
      { verb: "patch", resource: "deployments", namespace: "team-a", name: "gone", dryRun: false, patchType: "json", body: [], error: { status: 404, reason: "NotFound" } },
    ]);
    api.reset();
    expect(api.calls).toEqual([]);
    expect(api.writes()).toEqual([]);
  });
});

describe("the executors and the status writer against the fake", () => {
  const setup = () => {
    const api = new FakeKubeApi();
    const d = api.seed(DEPLOYMENTS, b.deployment("web"));
    return { api, d };
  };

  it("a scale guarded by the current resourceVersion sets replicas and the stamp in one write; a stale one is 409 and changes nothing", async () => {
    const { api, d } = setup();
    const a = b.action("scale-web", b.withScale({ replicas: 3 }));
    await execute(api, { action: a, intent: { replicas: 3, fromReplicas: 2, resourceVersion: d.metadata!.resourceVersion }, dryRun: false });
    const after = api.stored<V1Deployment>(DEPLOYMENTS, "team-a", "web")!;
    expect(after.spec?.replicas).toBe(3);
    expect(stampOf(after)).toBe(a.metadata.uid);
    expect(api.writes()).toHaveLength(1);
    const stale = await rejected(execute(api, { action: a, intent: { replicas: 4, resourceVersion: d.metadata!.resourceVersion }, dryRun: false }));
    expect(isConflict(stale)).toBe(true);
    expect(api.stored<V1Deployment>(DEPLOYMENTS, "team-a", "web")).toEqual(after);
  });

  it("a JSON patch is previewed by a dry run that stores nothing, then applied with the stamp", async () => {
    const { api, d } = setup();
    const a = b.action("patch-web", b.withPatch('[{"op":"add","path":"/spec/template/metadata/annotations","value":{"x":"1"}}]', "json"));
    const preview = await previewPatch(api, a, d);
    expect(preview.spec?.template.metadata?.annotations).toEqual({ x: "1" });
    expect(api.stored(DEPLOYMENTS, "team-a", "web")).toEqual(d);
    await execute(api, { action: a, intent: { resourceVersion: d.metadata!.resourceVersion }, dryRun: false, deployment: d });
    const after = api.stored<V1Deployment>(DEPLOYMENTS, "team-a", "web")!;
    expect(after.spec?.template.metadata?.annotations).toEqual({ x: "1" });
    expect(stampOf(after)).toBe(a.metadata.uid);
    expect(after.metadata?.generation).toBe(2);
  });

  it("an eviction of a pod whose name now belongs to another uid reports it gone and deletes nothing", async () => {
    const api = new FakeKubeApi();
    const p = api.seed(PODS, b.pod(b.replicaSet(b.deployment())));
    const a = b.action("evict", b.withDeletePod());
    const result = await execute(api, { action: a, intent: { podName: p.metadata!.name, podUID: "old-uid" }, dryRun: false });
    expect(result.summary).toMatch(/already gone/);
    expect(api.stored(PODS, "team-a", p.metadata!.name!)).toBeDefined();
    await execute(api, { action: a, intent: { podName: p.metadata!.name, podUID: p.metadata!.uid }, dryRun: false });
    expect(api.stored(PODS, "team-a", p.metadata!.name!)).toBeUndefined();
  });

  it("writeStatus of an action read before another write is 409", async () => {
    const api = new FakeKubeApi();
    const a = api.seed(REMEDIATION_ACTIONS, b.action());
    const first = await writeStatus(api, a, { phase: "Executing" });
    expect(first.status?.phase).toBe("Executing");
    expect(isConflict(await rejected(writeStatus(api, a, { phase: "Failed" })))).toBe(true);
    expect((await writeStatus(api, first, { phase: "Verifying" })).status?.phase).toBe("Verifying");
  });
});
