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
    c.remember(c.begin("ns", "a"), obj("a", "12", "mine"));
    expect(c.get("ns", "a")?.v).toBe("mine");
    expect(c.list("ns").map((o) => o.v)).toEqual(["mine"]);
    items[0] = obj("a", "12", "informer");
    c.observe(items[0]);
    expect(c.get("ns", "a")?.v).toBe("informer");
  });

  it("shows an object the informer has not delivered at all yet", () => {
    const c = new OverlayCache(base([]));
    c.remember(c.begin("ns", "new"), obj("new", "5"));
    expect(c.list("ns").map((o) => o.metadata.name)).toEqual(["new"]);
    expect(c.list("other")).toEqual([]);
  });

  it("drops an own write after its time to live", () => {
    let now = 0;
    const c = new OverlayCache(base([obj("a", "1", "old")]), () => now);
    c.remember(c.begin("ns", "a"), obj("a", "2", "mine"));
    now = 10 * 60 * 1000;
    expect(c.get("ns", "a")?.v).toBe("old");
  });

  // resourceVersions are opaque: only equality means anything. The overlay is
  // cleared when the informer delivers the write itself (client-go's expectations).
  it("keeps an own write whose resourceVersion compares lower until the informer delivers that version", () => {
    const items = [obj("a", "100", "old")];
    const c = new OverlayCache(base(items));
    const key = c.begin("ns", "a");
    c.remember(key, obj("a", "99", "mine"));
    expect(c.get("ns", "a")?.v).toBe("mine");
    items[0] = obj("a", "99", "informer");
    c.observe(items[0]);
    expect(c.get("ns", "a")?.v).toBe("informer");
  });

  it("serves the informer's newer object once the write was delivered, whatever the versions look like", () => {
    const items = [obj("a", "x1", "old")];
    const c = new OverlayCache(base(items));
    const key = c.begin("ns", "a");
    c.remember(key, obj("a", "x2", "mine"));
    expect(c.get("ns", "a")?.v).toBe("mine");
    c.observe(obj("a", "x2", "mine"));
    items[0] = obj("a", "x3", "theirs");
    c.observe(items[0]);
    expect(c.get("ns", "a")?.v).toBe("theirs");
    expect(c.list("ns").map((o) => o.v)).toEqual(["theirs"]);
  });

  it("an older version delivered after the write does not clear it", () => {
    const items = [obj("a", "5", "old")];
    const c = new OverlayCache(base(items));
    const key = c.begin("ns", "a");
    c.remember(key, obj("a", "7", "mine"));
    items[0] = obj("a", "6", "in flight");
    c.observe(items[0]);
    expect(c.get("ns", "a")?.v).toBe("mine");
  });

  it("a write the informer delivered before the response arrived is not overlaid", () => {
    const items = [obj("a", "1", "old")];
    const c = new OverlayCache(base(items));
    const key = c.begin("ns", "a");
    items[0] = obj("a", "2", "mine");
    c.observe(items[0]);
    items[0] = obj("a", "3", "theirs");
    c.observe(items[0]);
    c.remember(key, obj("a", "2", "mine"));
    expect(c.get("ns", "a")?.v).toBe("theirs");
  });

  it("a failed write keeps the last own write; a delete clears the overlay", () => {
    const items = [obj("a", "1", "old")];
    const c = new OverlayCache(base(items));
    c.remember(c.begin("ns", "a"), obj("a", "2", "mine"));
    const failed = c.begin("ns", "a");
    c.observe(obj("a", "1", "old"));
    c.abandon(failed);
    expect(c.get("ns", "a")?.v).toBe("mine");
    items.length = 0;
    c.observe(obj("a", "2", "mine"), true);
    expect(c.get("ns", "a")).toBeUndefined();
  });
});
