import { describe, expect, it } from "vitest";
import type { EventRecorder } from "../k8s/events.ts";
import type { Notification } from "./notification.ts";
import { notifyingRecorder } from "./events.ts";

function setup() {
  const events: string[] = [];
  const sent: Notification[] = [];
  const inner: EventRecorder = { record: (r, type, reason) => events.push(`${type} ${reason} ${r.kind}/${r.name}`) };
  const rec = notifyingRecorder(inner, { notify: (n) => sent.push(n), close: async () => {} }, (r) => (r.name === "act-1" ? "web" : undefined), () => Date.parse("2026-05-01T00:00:00Z"));
  return { events, sent, rec };
}

const action = { apiVersion: "smartops.io/v1alpha1", kind: "RemediationAction", namespace: "team-a", name: "act-1" };

describe("notifyingRecorder", () => {
  it("records every Event and notifies blocks, auto-reverts, RepeatedFailures and the ladder's notify step with the target", () => {
    const { events, sent, rec } = setup();
    rec.record(action, "Warning", "CooldownActive", "Scale", "cooldown 300s");
    rec.record(action, "Warning", "AutoRevertCreated", "Revert", "undo act-1");
    rec.record(action, "Warning", "RepeatedFailures", "Scale", "3 in a row");
    rec.record({ apiVersion: "apps/v1", kind: "Deployment", namespace: "team-a", name: "api" }, "Warning", "EscalatedToHuman", "Escalate", "ladder done");
    expect(events).toHaveLength(4);
    expect(sent.map((n) => [n.reason, n.severity, n.target, n.action])).toEqual([
      ["CooldownActive", "warning", "web", "act-1"],
      ["AutoRevertCreated", "warning", "web", "act-1"],
      ["RepeatedFailures", "critical", "web", "act-1"],
      ["EscalatedToHuman", "critical", "api", undefined],
    ]);
    expect(sent[0]).toMatchObject({ namespace: "team-a", message: "cooldown 300s", at: "2026-05-01T00:00:00.000Z" });
  });

  it("does not notify Normal Events nor Warnings of other reasons", () => {
    const { events, sent, rec } = setup();
    rec.record(action, "Normal", "RolloutComplete", "Scale", "ok");
    rec.record(action, "Warning", "VerificationRetry", "Verify", "again");
    rec.record(action, "Normal", "CooldownActive", "Scale", "odd but Normal");
    expect(events).toHaveLength(3);
    expect(sent).toEqual([]);
  });
});
