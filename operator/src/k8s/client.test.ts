import type * as k8s from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { kubeConfigFor, ScriptedApiServer, statusBody } from "../runtime/testing/scripted-apiserver.ts";
import { connect } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import { DEPLOYMENTS, PODS } from "./resources.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<ScriptedApiServer> {
  const srv = await new ScriptedApiServer().listen();
  cleanups.push(() => srv.close());
  return srv;
}

describe("the one transport", () => {
  it("carries reads, writes and watches of every resource over one keep-alive pool", async () => {
    const srv = await server();
    srv.handler = (req) => ({ body: req.method === "GET" ? { items: [], metadata: { resourceVersion: "1" } } : JSON.parse(req.body || "{}") });
    srv.watches.push((w) => w.end());
    const { api, transport } = connect(kubeConfigFor(srv.url));
    cleanups.push(() => transport.close());
    await api.list(DEPLOYMENTS, "a");
    await api.get(PODS, "a", "p").catch(() => undefined);
    await api.patch(DEPLOYMENTS, "a", "web", "merge", { spec: { replicas: 2 } });
    await api.create(PODS, "a", { metadata: { name: "p" } }, { subresource: "eviction", dryRun: true });
    const w = await api.watch(DEPLOYMENTS, "a", { resourceVersion: "1" });
    for await (const _ of w.events()) break;
    w.close();
    await api.list(DEPLOYMENTS, undefined);
    expect(srv.connections).toBeLessThanOrEqual(2);
    const paths = srv.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain("PATCH /apis/apps/v1/namespaces/a/deployments/web");
    expect(paths).toContain("POST /api/v1/namespaces/a/pods/p/eviction");
    expect(paths).toContain("GET /apis/apps/v1/deployments");
    const patch = srv.requests.find((r) => r.method === "PATCH")!;
    expect(patch.query.get("fieldManager")).toBe("smartops-operator");
    expect(patch.query.get("fieldValidation")).toBe("Strict");
    expect(srv.requests.find((r) => r.path.endsWith("/eviction"))!.query.get("dryRun")).toBe("All");
  });

  it("one error type: status, reason, Retry-After; no answer is status 0", async () => {
    const srv = await server();
    srv.handler = () => ({ status: 429, body: { ...statusBody(429, "TooManyRequests", "slow down") as object, details: { retryAfterSeconds: 7 } } });
    const { api, transport } = connect(kubeConfigFor(srv.url));
    cleanups.push(() => transport.close());
    const throttled = (await api.get(DEPLOYMENTS, "a", "web").catch((e: unknown) => e)) as KubeApiError;
    expect(throttled).toBeInstanceOf(KubeApiError);
    expect(throttled).toMatchObject({ status: 429, reason: "TooManyRequests", retryAfterSeconds: 7 });
    await srv.close();
    const down = (await api.get(DEPLOYMENTS, "a", "web", { timeoutMs: 2000 }).catch((e: unknown) => e)) as KubeApiError;
    expect(down).toBeInstanceOf(KubeApiError);
    expect(down.status).toBe(0);
  });

  it("gives a different TLS identity its own pool and keeps the old one for its identity", async () => {
    const srv = await server();
    srv.handler = () => ({ body: { items: [] } });
    const kc = kubeConfigFor(srv.url);
    const { api, transport } = connect(kc);
    cleanups.push(() => transport.close());
    // undici may open a second socket while the first is being released; never one per request.
    for (let i = 0; i < 10; i++) await api.list(DEPLOYMENTS, "a");
    const first = srv.connections;
    expect(first).toBeLessThanOrEqual(2);
    // A rotated identity (here: a different server name to verify) must not reuse the old pool.
    kc.clusters[0] = { ...kc.clusters[0]!, tlsServerName: "other" } as k8s.Cluster;
    for (let i = 0; i < 10; i++) await api.list(DEPLOYMENTS, "a");
    expect(srv.connections).toBeGreaterThan(first);
    expect(srv.connections).toBeLessThanOrEqual(first + 2);
  });
});
