import { describe, expect, it } from "vitest";
import { served } from "./autoscalers.ts";
import { SCALED_OBJECTS } from "./resources.ts";
import { apiError, FakeKubeApi } from "./testing/fake-api.ts";

describe("served: is KEDA's ScaledObject CRD installed", () => {
  it("a list that answers: yes", async () => {
    expect(await served(new FakeKubeApi(), SCALED_OBJECTS, undefined)).toBe(true);
  });

  it("404 (no such resource): no, and the operator runs without the informer", async () => {
    const api = new FakeKubeApi();
    api.failNext({ verb: "list", resource: SCALED_OBJECTS }, apiError(404, "NotFound", "the server could not find the requested resource"));
    expect(await served(api, SCALED_OBJECTS, "team-a")).toBe(false);
  });

  it("anything else (403: RBAC without scaledobjects) fails the start rather than ignoring KEDA", async () => {
    const api = new FakeKubeApi();
    api.failNext({ verb: "list", resource: SCALED_OBJECTS }, apiError(403, "Forbidden"));
    await expect(served(api, SCALED_OBJECTS, undefined)).rejects.toThrow(/Forbidden/);
  });
});
