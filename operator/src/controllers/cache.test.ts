import { describe, expect, it } from "vitest";
import { type Cache, OverlayCache } from "./cache.ts";

type Obj = { metadata: { namespace: string; name: string; resourceVersion: string }; v: string };
const obj = (name: string, rv: string, v = rv): Obj => ({ metadata: { namespace: "ns", name, resourceVersion: rv }, v });

function base(items: Obj[]): Cache<Obj> {
  return {
    get: (ns, name) => items.find((o) => o.metadata.namespace === ns && o.metadata.name === name),
    list: () => [...items],
  };
}

describe("OverlayCache", () => {
  it("serves an own write until the informer catches up", () => {
    const items = [obj("a", "10")];
    const c = new OverlayCache(base(items));
    c.remember(obj("a", "12", "mine"));
    expect(c.get("ns", "a")?.v).toBe("mine");
    expect(c.list("ns").map((o) => o.v)).toEqual(["mine"]);
    items[0] = obj("a", "12", "informer");
    expect(c.get("ns", "a")?.v).toBe("informer");
  });

  it("shows an object the informer has not delivered at all yet", () => {
    const c = new OverlayCache(base([]));
    c.remember(obj("new", "5"));
    expect(c.list("ns").map((o) => o.metadata.name)).toEqual(["new"]);
    expect(c.list("other")).toEqual([]);
  });

  it("drops an own write after its time to live", () => {
    let now = 0;
    const c = new OverlayCache(base([obj("a", "1", "old")]), () => now);
    c.remember(obj("a", "2", "mine"));
    now = 10 * 60 * 1000;
    expect(c.get("ns", "a")?.v).toBe("old");
  });
});
