// Readiness follows what the informers can see: a leader whose informer cannot
// list (the cache goes stale, new objects of that kind go unseen) is not ready.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "./k8s/client.ts";
import { ANOMALY_SIGNALS } from "./k8s/resources.ts";
import { liveness, readiness } from "./operator.ts";
import { Informer } from "./runtime/informer.ts";
import { kubeConfigFor, type Reply, ScriptedApiServer, statusBody } from "./runtime/testing/scripted-apiserver.ts";
import { startTelemetryServer } from "./telemetry/server.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const list = (rv: string): Reply => ({
  body: { apiVersion: "smartops.io/v1alpha1", kind: "AnomalySignalList", metadata: { resourceVersion: rv }, items: [{ metadata: { name: "a", namespace: "ns", resourceVersion: rv } }] },
});

describe("readiness", () => {
  it("fails while a synced informer cannot list, naming it and the error, and recovers when it lists again", async () => {
    const srv = await new ScriptedApiServer().listen();
    cleanups.push(() => srv.close());
    // The first watch ends, when told, with the error the API server gives for an object it cannot read back.
    let breakWatch!: () => void;
    const broken = new Promise<void>((r) => (breakWatch = r));
    srv.watches.push(async (w) => {
      w.open();
      await broken;
      w.event("ERROR", statusBody(500, "InternalError", "exceeded max depth of 10000"));
    });
    const { api, transport } = connect(kubeConfigFor(srv.url));
    const inf = new Informer<KubernetesObject>({ api, resource: ANOMALY_SIGNALS, backoff: { initialMs: 20, maxMs: 50 } });
    cleanups.push(() => transport.close(), () => inf.stop());
    const informers = [{ resource: "anomalysignals", inf }];

    let failLists = false;
    srv.handler = () => (failLists ? { status: 500, body: statusBody(500, "InternalError", "exceeded max depth of 10000") } : list("5"));
    const server: Server = await startTelemetryServer("127.0.0.1", 0, { live: () => ({ ok: true, detail: "ok" }), ready: () => readiness(informers, "leader") });
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
      return { status: res.status, body: (await res.json()) as { status: string; detail: string } };
    };

    expect(readiness(informers, "leader")).toEqual({ ok: false, detail: "caches not synced: anomalysignals" });
    failLists = true;
    inf.start();
    await until("a failed list", () => inf.listError() !== undefined);
    expect(inf.hasSynced()).toBe(false);
    failLists = false;
    await inf.waitForSync();
    expect(await readyz()).toEqual({ status: 200, body: { status: "ok", detail: "ok (leader)" } });

    // Synced once, then the relist after the watch error fails: the cache is stale.
    failLists = true;
    breakWatch();
    await until("the relist fails", () => inf.listError() !== undefined, 10_000);
    expect(inf.hasSynced()).toBe(true);
    const r = await readyz();
    expect(r.status).toBe(503);
    expect(r.body.status).toBe("unavailable");
    expect(r.body.detail).toMatch(/^cannot list anomalysignals: .*exceeded max depth of 10000/);

    failLists = false;
    await until("a list succeeds again", () => inf.listError() === undefined, 10_000);
    expect(await readyz()).toEqual({ status: 200, body: { status: "ok", detail: "ok (leader)" } });
  });

  it("names every informer that cannot list, before the ones still syncing", () => {
    const view = (synced: boolean, err?: string) => ({ hasSynced: () => synced, listError: () => err, lastEventAgeMs: () => 0 });
    expect(readiness([{ resource: "pods", inf: view(false) }, { resource: "deployments", inf: view(true, "forbidden") }, { resource: "actions", inf: view(true, "x".repeat(600)) }], "standby"))
      .toEqual({ ok: false, detail: `cannot list deployments: forbidden; actions: ${"x".repeat(512)}` });
    expect(readiness([{ resource: "pods", inf: view(true) }], "standby")).toEqual({ ok: true, detail: "ok (standby)" });
  });
});

describe("liveness", () => {
  it("fails when a synced informer heard nothing for longer than the limit, naming it; an unsynced one does not count", () => {
    const view = (synced: boolean, ageMs: number) => ({ hasSynced: () => synced, listError: () => undefined, lastEventAgeMs: () => ageMs });
    expect(liveness([{ resource: "pods", inf: view(true, 1000) }, { resource: "deployments", inf: view(false, 999_999) }], 60_000)).toEqual({ ok: true, detail: "ok" });
    expect(liveness([{ resource: "pods", inf: view(true, 61_000) }, { resource: "deployments", inf: view(true, 10) }], 60_000)).toEqual({ ok: false, detail: "no events for 60s: pods" });
  });
});
