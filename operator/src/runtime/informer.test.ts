import type { KubernetesObject } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../k8s/client.ts";
import { ANOMALY_SIGNALS } from "../k8s/resources.ts";
import { Informer, type InformerErrorInfo, type InformerOptions } from "./informer.ts";
import { freePort, kubeConfigFor, type RecordedRequest, type Reply, ScriptedApiServer, statusBody } from "./testing/scripted-apiserver.ts";

interface Obj extends KubernetesObject {
  spec?: { v?: number };
}

const PATH = "/apis/smartops.io/v1alpha1/namespaces/ns/anomalysignals";

function obj(name: string, rv: number | string, extra: Partial<Obj> = {}): Obj {
  return {
    metadata: { name, namespace: "ns", resourceVersion: String(rv), managedFields: [{ manager: "kubectl", operation: "Apply" }] },
    spec: { v: Number(rv) },
    ...extra,
  };
}

function watchObj(name: string, rv: number | string): Obj {
  return { apiVersion: "smartops.io/v1alpha1", kind: "AnomalySignal", ...obj(name, rv) };
}

/** A LIST handler that pages `items` by the client's limit, with the offset as continue token. */
function paginate(items: () => Obj[], rv: () => string): (req: RecordedRequest) => Reply {
  return (req) => {
    const all = items();
    const limit = Number(req.query.get("limit") ?? all.length) || all.length;
    const start = Number(req.query.get("continue") ?? 0);
    const next = start + limit;
    return {
      body: {
        apiVersion: "smartops.io/v1alpha1",
        kind: "AnomalySignalList",
        metadata: { resourceVersion: rv(), ...(next < all.length ? { continue: String(next) } : {}) },
        items: structuredClone(all.slice(start, next)),
      },
    };
  };
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const servers: ScriptedApiServer[] = [];
const informers: Informer<Obj>[] = [];

const transports: Array<ReturnType<typeof connect>["transport"]> = [];

afterEach(async () => {
  for (const i of informers.splice(0)) await i.stop();
  for (const t of transports.splice(0)) await t.close();
  for (const s of servers.splice(0)) await s.close();
});

async function server(): Promise<ScriptedApiServer> {
  const s = await new ScriptedApiServer().listen();
  servers.push(s);
  return s;
}

function informer(url: string, opts: Partial<InformerOptions> = {}) {
  const { api, transport } = connect(kubeConfigFor(url));
  transports.push(transport);
  const inf = new Informer<Obj>({ api, resource: ANOMALY_SIGNALS, namespace: "ns", backoff: { initialMs: 10, maxMs: 40 }, ...opts });
  informers.push(inf);
  const events: string[] = [];
  const errors: Array<{ err: unknown; info: InformerErrorInfo }> = [];
  inf.on("add", (o) => events.push(`add ${o.metadata?.name}@${o.metadata?.resourceVersion}`));
  inf.on("update", (a, b) => events.push(`update ${b.metadata?.name}@${a.metadata?.resourceVersion}->${b.metadata?.resourceVersion}`));
  inf.on("delete", (o, info) => events.push(`delete ${o.metadata?.name}@${o.metadata?.resourceVersion}${info.finalStateUnknown ? " (relist)" : ""}`));
  inf.on("error", (err, info) => errors.push({ err, info }));
  return { inf, events, errors, transport };
}

describe("Informer", () => {
  it("lists across pages, fills kind and apiVersion, strips managedFields and watches from the list's resourceVersion", async () => {
    const srv = await server();
    const items = ["a", "b", "c", "d", "e"].map((n, i) => obj(n, i + 1));
    srv.handler = paginate(() => items, () => "100");
    const { inf, events } = informer(srv.url, { pageSize: 2 });
    inf.start();
    await inf.waitForSync();
    expect(events).toEqual(["add a@1", "add b@2", "add c@3", "add d@4", "add e@5"]);
    const lists = srv.lists();
    expect(lists.map((r) => [r.query.get("limit"), r.query.get("continue")])).toEqual([["2", null], ["2", "2"], ["2", "4"]]);
    expect(lists.every((r) => r.path === PATH)).toBe(true);
    const a = inf.get("ns", "a");
    expect(a?.kind).toBe("AnomalySignal");
    expect(a?.apiVersion).toBe("smartops.io/v1alpha1");
    expect(a?.metadata?.managedFields).toBeUndefined();
    expect(inf.list("ns")).toHaveLength(5);
    expect(inf.list("other")).toHaveLength(0);
    const w = await until("a watch", () => srv.watchRequests()[0]);
    expect(w.query.get("resourceVersion")).toBe("100");
    expect(w.query.get("allowWatchBookmarks")).toBe("true");
    const timeout = Number(w.query.get("timeoutSeconds"));
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThan(600);
  });

  it("passes label and field selectors to list and watch", async () => {
    const srv = await server();
    srv.handler = paginate(() => [], () => "1");
    const { inf } = informer(srv.url, { labelSelector: "app=x", fieldSelector: "metadata.name=y" });
    inf.start();
    await until("a watch", () => srv.watchRequests()[0]);
    for (const r of srv.requests) {
      expect(r.query.get("labelSelector")).toBe("app=x");
      expect(r.query.get("fieldSelector")).toBe("metadata.name=y");
    }
  });

  it("delivers watch adds, updates and deletes and keeps the cache in step", async () => {
    const srv = await server();
    srv.handler = paginate(() => [obj("a", 1)], () => "1");
    srv.watches.push((w) => {
      w.event("ADDED", watchObj("b", 2));
      w.event("MODIFIED", watchObj("a", 3));
      w.event("DELETED", watchObj("b", 4));
      w.event("MODIFIED", { ...watchObj("c", 5), metadata: { ...watchObj("c", 5).metadata, namespace: "ns" } });
    });
    const { inf, events } = informer(srv.url);
    inf.start();
    await until("events", () => events.length === 5);
    expect(events).toEqual(["add a@1", "add b@2", "update a@1->3", "delete b@4", "add c@5"]);
    expect(inf.get("ns", "b")).toBeUndefined();
    expect(inf.get("ns", "a")?.metadata?.resourceVersion).toBe("3");
    expect(inf.get("ns", "c")?.metadata?.managedFields).toBeUndefined();
    expect(inf.resourceVersion()).toBe("5");
  });

  it("resumes from the last resourceVersion, and from a bookmark's, when the server ends a watch", async () => {
    const srv = await server();
    srv.handler = paginate(() => [obj("a", 1)], () => "10");
    srv.watches.push((w) => {
      w.event("ADDED", watchObj("b", 11));
      w.event("MODIFIED", watchObj("b", 12));
      w.end();
    });
    srv.watches.push((w) => {
      w.event("BOOKMARK", { kind: "AnomalySignal", apiVersion: "smartops.io/v1alpha1", metadata: { resourceVersion: "20" } });
      w.end();
    });
    const { inf, events } = informer(srv.url);
    inf.start();
    await until("three watches", () => srv.watchRequests().length === 3);
    expect(srv.watchRequests().map((r) => r.query.get("resourceVersion"))).toEqual(["10", "12", "20"]);
    expect(srv.lists()).toHaveLength(1);
    expect(events).toEqual(["add a@1", "add b@11", "update b@11->12"]);
  });

  it("relists on 410 from the watch and delivers the diff, including deletes for vanished objects", async () => {
    const srv = await server();
    let items = [obj("a", 1), obj("b", 2), obj("c", 3)];
    let rv = "3";
    srv.handler = paginate(() => items, () => rv);
    srv.watches.push((w) => {
      items = [obj("a", 1), obj("b", 7), obj("d", 8)];
      rv = "8";
      w.fail(410, statusBody(410, "Expired", "too old resource version: 3 (7)"));
    });
    const { inf, events, errors } = informer(srv.url);
    const expired: (string | undefined)[] = [];
    inf.on("expired", (rv) => expired.push(rv));
    inf.start();
    await until("the relist's watch", () => srv.watchRequests().length === 2);
    expect(expired).toEqual(["3"]);
    expect(events).toEqual(["add a@1", "add b@2", "add c@3", "update b@2->7", "add d@8", "delete c@3 (relist)"]);
    expect(srv.lists()).toHaveLength(2);
    expect(srv.watchRequests()[1]?.query.get("resourceVersion")).toBe("8");
    expect(inf.list().map((o) => o.metadata?.name).sort()).toEqual(["a", "b", "d"]);
    expect(errors).toEqual([]);
  });

  it("keeps its indexes in step with watch adds, updates, deletes and relists", async () => {
    const srv = await server();
    let items = [obj("a", 1, { spec: { v: 1 } }), obj("b", 2, { spec: { v: 2 } })];
    let rv = "2";
    srv.handler = paginate(() => items, () => rv);
    srv.watches.push((w) => {
      w.event("ADDED", { ...watchObj("c", 3), spec: { v: 1 } });
      w.event("MODIFIED", { ...watchObj("a", 4), spec: { v: 2 } }); // moves from v=1 to v=2
      w.event("ADDED", { ...watchObj("x", 5), metadata: { ...watchObj("x", 5).metadata, namespace: "other" }, spec: { v: 1 } });
      w.event("DELETED", { ...watchObj("b", 6), spec: { v: 2 } });
      items = [obj("c", 3, { spec: { v: 1 } }), obj("d", 7, { spec: { v: 3 } })];
      rv = "7";
      w.event("ERROR", statusBody(410, "Expired", "too old resource version: 6 (7)"));
    });
    const { inf, events } = informer(srv.url);
    inf.addIndex("v", (o) => [String(o.spec?.v)]);
    expect(() => inf.addIndex("v", () => [])).toThrow(/twice/);
    const names = (value: string) => inf.byIndex("v", value).map((o) => o.metadata!.name!).sort();
    const seen: Record<string, string[]>[] = [];
    inf.on("delete", () => seen.push({ v1: names("1"), v2: names("2"), ns: inf.list("ns").map((o) => o.metadata!.name!).sort(), other: inf.list("other").map((o) => o.metadata!.name!) }));
    inf.start();
    expect(() => inf.addIndex("late", () => [])).toThrow(/after start/);
    await until("the relist's watch", () => srv.watchRequests().length === 2);
    // At the watch's DELETE of b: a moved to v=2, c and x (another namespace) added under v=1.
    expect(seen[0]).toEqual({ v1: ["c", "x"], v2: ["a"], ns: ["a", "c"], other: ["x"] });
    // After the relist, only what the list returned: a and x vanished, d came.
    expect(events.at(-1)).toMatch(/^delete/);
    expect(names("1")).toEqual(["c"]);
    expect(names("2")).toEqual([]);
    expect(names("3")).toEqual(["d"]);
    expect(inf.list("other")).toEqual([]);
    expect(inf.list("ns").map((o) => o.metadata?.name).sort()).toEqual(["c", "d"]);
    expect(() => inf.byIndex("nope", "1")).toThrow(/no index/);
  });

  it("relists on an ERROR event with code 410", async () => {
    const srv = await server();
    let items = [obj("a", 1), obj("b", 2)];
    srv.handler = paginate(() => items, () => String(Math.max(...items.map((o) => Number(o.metadata?.resourceVersion)))));
    srv.watches.push((w) => {
      w.event("MODIFIED", watchObj("a", 5));
      items = [obj("a", 5)];
      w.event("ERROR", statusBody(410, "Expired", "too old resource version: 5 (9)"));
    });
    const { inf, events, errors } = informer(srv.url);
    inf.start();
    await until("the relist's watch", () => srv.watchRequests().length === 2);
    expect(events).toEqual(["add a@1", "add b@2", "update a@1->5", "delete b@2 (relist)"]);
    expect(srv.lists()).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it("starts the list over when a continue token has expired", async () => {
    const srv = await server();
    const items = [obj("a", 1), obj("b", 2), obj("c", 3)];
    const pages = paginate(() => items, () => "3");
    let expiredOnce = false;
    srv.handler = (req) => {
      if (req.query.get("continue") && !expiredOnce) {
        expiredOnce = true;
        return { status: 410, body: statusBody(410, "Expired", "The provided continue parameter is too old") };
      }
      return pages(req);
    };
    const { inf, events, errors } = informer(srv.url, { pageSize: 2 });
    inf.start();
    await inf.waitForSync();
    expect(srv.lists().map((r) => r.query.get("continue"))).toEqual([null, "2", null, "2"]);
    expect(events).toEqual(["add a@1", "add b@2", "add c@3"]);
    expect(errors).toEqual([]);
  });

  it("keeps going after consecutive failures of every kind, with growing backoff, and recovers", async () => {
    const srv = await server();
    const items = [obj("a", 1)];
    let listCalls = 0;
    const pages = paginate(() => items, () => "1");
    srv.handler = (req) => {
      listCalls++;
      if (listCalls <= 2) return { status: 500, body: statusBody(500, "InternalError") };
      if (listCalls === 3) return { status: 403, body: statusBody(403, "Forbidden") };
      if (listCalls === 4) return { body: "{not json" };
      return pages(req);
    };
    srv.watches.push((w) => w.raw("{this is not json}\n"));
    srv.watches.push(async (w) => {
      w.event("ADDED", watchObj("x", 2));
      await new Promise((r) => setTimeout(r, 30));
      w.destroy();
    });
    srv.watches.push((w) => w.fail(503, statusBody(503, "ServiceUnavailable")));
    srv.watches.push((w) => w.event("ERROR", statusBody(500, "InternalError", "etcd is sad")));
    srv.watches.push((w) => w.event("ADDED", watchObj("y", 3)));
    const { inf, events, errors } = informer(srv.url);
    const states: string[] = [];
    inf.on("state", (s) => states.push(s));
    inf.start();
    await until("recovery", () => events.includes("add y@3"), 10_000);
    expect(errors.map((e) => e.info.phase)).toEqual(["list", "list", "list", "list", "watch", "watch", "watch", "watch"]);
    // Failures count up until a watch makes progress; the cut after "x" starts a new count.
    expect(errors.map((e) => e.info.consecutiveFailures)).toEqual([1, 2, 3, 4, 5, 1, 2, 3]);
    const delays = errors.map((e) => e.info.retryInMs);
    expect(delays[0]).toBeLessThanOrEqual(10);
    expect(delays[3]).toBeGreaterThanOrEqual(32);
    expect(Math.max(...delays)).toBeLessThanOrEqual(40);
    expect(errors.map((e) => String(e.err))).toEqual([
      expect.stringContaining("500"),
      expect.stringContaining("500"),
      expect.stringContaining("403"),
      expect.stringContaining("malformed JSON"),
      expect.stringContaining("malformed event line"),
      expect.anything(),
      expect.stringContaining("503"),
      expect.stringContaining("etcd is sad"),
    ]);
    expect(states).toContain("backoff");
    expect(inf.state()).toBe("watching");
    expect(inf.get("ns", "y")).toBeDefined();
  });

  it("retries while the API server refuses connections and syncs once it is up", async () => {
    const port = await freePort();
    const { inf, errors } = informer(`http://127.0.0.1:${port}`);
    inf.start();
    await until("three refused connections", () => errors.length >= 3);
    expect(String((errors[0]?.err as Error).cause ?? errors[0]?.err)).toMatch(/ECONNREFUSED/);
    expect(inf.hasSynced()).toBe(false);
    const srv = new ScriptedApiServer();
    servers.push(srv);
    srv.handler = paginate(() => [obj("a", 1)], () => "1");
    await srv.listen(port);
    await inf.waitForSync();
    expect(inf.get("ns", "a")).toBeDefined();
  });

  it("backs off when the server ends watches at once without events", async () => {
    const srv = await server();
    srv.handler = paginate(() => [], () => "1");
    for (let i = 0; i < 3; i++) srv.watches.push((w) => w.end());
    const { inf, errors } = informer(srv.url);
    inf.start();
    await until("three short watches", () => errors.length === 3);
    expect(errors.map((e) => e.info.consecutiveFailures)).toEqual([1, 2, 3]);
    expect(String(errors[0]?.err)).toMatch(/ended the watch at once/);
  });

  it("resyncs by re-delivering every cached object as an update of itself", async () => {
    const srv = await server();
    srv.handler = paginate(() => [obj("a", 1), obj("b", 2)], () => "2");
    const { inf } = informer(srv.url, { resyncPeriodMs: 30 });
    const resynced: Array<[Obj, Obj]> = [];
    inf.on("update", (a, b) => resynced.push([a, b]));
    inf.start();
    await until("two resyncs", () => resynced.length >= 4);
    for (const [a, b] of resynced) expect(a).toBe(b);
    expect(new Set(resynced.map(([, b]) => b.metadata?.name))).toEqual(new Set(["a", "b"]));
  });

  it("survives a throwing handler", async () => {
    const srv = await server();
    srv.handler = paginate(() => [obj("a", 1)], () => "1");
    srv.watches.push((w) => w.event("ADDED", watchObj("b", 2)));
    const { inf, events } = informer(srv.url);
    inf.on("add", () => {
      throw new Error("handler bug");
    });
    inf.start();
    await until("both adds", () => events.length === 2);
    expect(events).toEqual(["add a@1", "add b@2"]);
  });

  it("stop() ends the watch, the retries and every connection", async () => {
    const srv = await server();
    srv.handler = paginate(() => [obj("a", 1)], () => "1");
    let watchClosed: Promise<void> | undefined;
    srv.watches.push((w) => {
      w.open();
      watchClosed = w.closed;
    });
    const { inf } = informer(srv.url);
    inf.start();
    await until("an open watch", () => watchClosed !== undefined);
    expect(srv.openConnections()).toBeGreaterThan(0);
    const before = srv.requests.length;
    await inf.stop();
    await watchClosed;
    await until("no connections", () => srv.openConnections() === 0);
    expect(inf.state()).toBe("stopped");
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.requests.length).toBe(before);
  });

  it("stop() leaves the shared pool to its owner, whose close() ends the idle connections at once", async () => {
    const srv = await server();
    srv.handler = paginate(() => [obj("a", 1)], () => "1");
    srv.watches.push((w) => w.fail(500));
    const { inf, errors, transport } = informer(srv.url, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    inf.start();
    await until("a failed watch", () => errors.length === 1);
    // The list and the failed watch were read in full, so their keep-alive sockets sit in the pool.
    expect(srv.openConnections()).toBeGreaterThan(0);
    await inf.stop();
    expect(srv.openConnections()).toBeGreaterThan(0);
    await transport.close();
    await until("no connections", () => srv.openConnections() === 0, 300);
  });

  it("stop() during backoff ends the loop and fails pending waitForSync", async () => {
    const port = await freePort();
    const { inf, errors } = informer(`http://127.0.0.1:${port}`, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    inf.start();
    const sync = inf.waitForSync();
    await until("a failure", () => errors.length === 1);
    const t0 = Date.now();
    await inf.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(sync).rejects.toThrow(/stopped before it synced/);
  });

  it("an aborted start signal stops the informer", async () => {
    const srv = await server();
    srv.handler = paginate(() => [obj("a", 1)], () => "1");
    const ac = new AbortController();
    const { inf } = informer(srv.url);
    inf.start(ac.signal);
    await inf.waitForSync();
    ac.abort();
    await until("stopped", () => inf.state() === "stopped");
    await until("no connections", () => srv.openConnections() === 0);
  });

  it("reports how long ago the API server was heard from", async () => {
    const srv = await server();
    srv.handler = paginate(() => [], () => "1");
    let send: ((rv: number) => void) | undefined;
    srv.watches.push((w) => {
      w.open();
      send = (rv) => w.event("BOOKMARK", { metadata: { resourceVersion: String(rv) } });
    });
    const { inf } = informer(srv.url);
    inf.start();
    await until("an open watch", () => send !== undefined);
    await new Promise((r) => setTimeout(r, 60));
    expect(inf.lastEventAgeMs()).toBeGreaterThanOrEqual(50);
    send?.(2);
    await until("the bookmark", () => inf.resourceVersion() === "2");
    expect(inf.lastEventAgeMs()).toBeLessThan(50);
  });
});
