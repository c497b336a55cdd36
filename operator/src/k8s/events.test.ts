import { describe, expect, it } from "vitest";
import { registry } from "../telemetry/metrics.ts";
import { eventRecorder } from "./events.ts";
import { EVENTS } from "./resources.ts";
import { FakeKubeApi } from "./testing/fake-api.ts";

const target = { apiVersion: "apps/v1", kind: "Deployment", namespace: "team-a", name: "web" };
const settle = () => new Promise((r) => setTimeout(r, 50));
const dropped = async () => (await registry.getSingleMetric("smartops_k8s_events_dropped_total")!.get()).values[0]?.value ?? 0;

describe("eventRecorder", () => {
  it("writes Normal events within the budget and drops the rest, counted; Warnings are always written", async () => {
    const api = new FakeKubeApi();
    const events = eventRecorder(api, "test", () => undefined, { ratePerSecond: 0.001, burst: 10 });
    const before = await dropped();
    for (let i = 0; i < 25; i++) events.record({ ...target, name: `web-${i}` }, "Normal", "SmartopsRemediation", "Scale", `note ${i}`);
    for (let i = 0; i < 15; i++) events.record({ ...target, name: `web-${i}` }, "Warning", "RolloutTimedOut", "Verify", `failed ${i}`);
    await settle();
    const written = api.storedAll<{ type: string }>(EVENTS, "team-a");
    expect(written.filter((e) => e.type === "Normal")).toHaveLength(10);
    expect(written.filter((e) => e.type === "Warning")).toHaveLength(15);
    expect((await dropped()) - before).toBe(15);
  });

  it("a repeat within the window extends the first Event's series instead of creating another", async () => {
    const api = new FakeKubeApi();
    const events = eventRecorder(api, "test");
    for (let i = 0; i < 3; i++) {
      events.record(target, "Warning", "VerificationRetry", "Verify", "same note");
      await settle();
    }
    const written = api.storedAll<{ series?: { count: number } }>(EVENTS, "team-a");
    expect(written).toHaveLength(1);
    expect(written[0]!.series?.count).toBe(3);
  });
});
