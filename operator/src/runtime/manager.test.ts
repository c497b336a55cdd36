import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { InformerHandlers } from "./informer.ts";
import { type EventSource, Manager, watch } from "./manager.ts";
import { silentLogger } from "./logger.ts";

/** An informer's event side only: tests fire the events. */
class Source implements EventSource<KubernetesObject> {
  readonly handlers: { [K in keyof InformerHandlers<KubernetesObject>]?: Array<InformerHandlers<KubernetesObject>[K]> } = {};
  on<E extends keyof InformerHandlers<KubernetesObject>>(event: E, handler: InformerHandlers<KubernetesObject>[E]): () => void {
    ((this.handlers[event] ??= []) as Array<InformerHandlers<KubernetesObject>[E]>).push(handler);
    return () => undefined;
  }
  fire(event: "add" | "update" | "delete", name: string): void {
    const obj = { metadata: { name, namespace: "ns" } };
    if (event === "update") for (const h of this.handlers.update ?? []) h(obj, obj);
    else if (event === "add") for (const h of this.handlers.add ?? []) h(obj);
    else for (const h of this.handlers.delete ?? []) h(obj, { finalStateUnknown: false });
  }
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe("Manager", () => {
  it("queues a watch's keys only while leading, starting with the initial keys, for the declared events only", async () => {
    const src = new Source();
    const seen: string[] = [];
    const m = new Manager({ log: silentLogger });
    m.add({
      name: "c",
      workers: 1,
      reconcile: async (key) => void seen.push(key),
      initialKeys: () => ["start"],
      watches: [watch(src, (o) => [`key-${o.metadata?.name}`, "shared"], ["add", "update"])],
    });
    src.fire("add", "before-leading");
    const stop = new AbortController();
    const running = m.lead(stop.signal);
    await settle();
    src.fire("add", "a");
    src.fire("update", "b");
    src.fire("delete", "c");
    await settle();
    stop.abort();
    await running;
    m.stopped();
    src.fire("add", "after");
    await settle();
    expect(seen).toContain("start");
    expect(seen).toEqual(expect.arrayContaining(["key-a", "key-b", "shared"]));
    expect(seen).not.toContain("key-before-leading");
    expect(seen).not.toContain("key-c");
    expect(seen).not.toContain("key-after");
  });

  it("gives each controller its own queue: one's keys never reach another", async () => {
    const a = new Source();
    const b = new Source();
    const got: Record<string, string[]> = { x: [], y: [] };
    const m = new Manager({ log: silentLogger });
    for (const [name, src] of [["x", a], ["y", b]] as const) {
      m.add({ name, workers: 2, reconcile: async (key) => void got[name]!.push(key), initialKeys: () => [], watches: [watch(src, (o) => [o.metadata!.name!])] });
    }
    const stop = new AbortController();
    const running = m.lead(stop.signal);
    await settle();
    a.fire("add", "for-x");
    b.fire("delete", "for-y");
    await settle();
    stop.abort();
    await running;
    expect(got).toEqual({ x: ["for-x"], y: ["for-y"] });
  });
});
