// The signal reconciler's ladder on the in-memory API: the rule's action first;
// after an ineffective or failed action for the same service and problem, the
// next step; past it, no action and a human told. And the recommendation every
// closed-loop action carries for its audit record.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import type { EventRecorder } from "../k8s/events.ts";
import { ANOMALY_SIGNALS, DEPLOYMENTS, GUARDRAIL_POLICIES, RCA_SIGNALS, REMEDIATION_ACTIONS } from "../k8s/resources.ts";
import { FakeKubeApi } from "../k8s/testing/fake-api.ts";
import { actionName } from "../remediation/names.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { SignalController } from "./signal-controller.ts";
import { action, available, deployment, fromSignal, NAMESPACE, type Opt, policy, T0, withPolicySpec, withScale, withType } from "./testing/builders.ts";
import { anomalySignal, finished, judged, rcaSignal, withRecommendation } from "./testing/signals.ts";

const S = 1000;

function harness(signal: Signal, history: RemediationAction[] = [], policies: ReturnType<typeof policy>[] = []) {
  const api = new FakeKubeApi({ now: () => Date.parse(signal.metadata.creationTimestamp as unknown as string) + S });
  api.seed(DEPLOYMENTS, deployment("web", available()));
  for (const p of policies) api.seed(GUARDRAIL_POLICIES, p);
  for (const a of history) api.seed(REMEDIATION_ACTIONS, a);
  const { status: _drop, ...fresh } = signal;
  api.seed(signal.kind === "AnomalySignal" ? ANOMALY_SIGNALS : RCA_SIGNALS, fresh);
  const events: string[] = [];
  const recorder: EventRecorder = { record: (r, type, reason, _a, note) => events.push(`${type} ${reason} ${r.kind}: ${note}`) };
  const cache = <T>(r: typeof DEPLOYMENTS) => ({ get: (ns: string, n: string) => api.stored<T>(r, ns, n), list: (ns?: string) => api.storedAll<T>(r, ns) });
  const ctl = new SignalController({
    api, anomalies: cache<Signal>(ANOMALY_SIGNALS), rcas: cache<Signal>(RCA_SIGNALS), actions: cache<RemediationAction>(REMEDIATION_ACTIONS),
    deployments: cache<V1Deployment>(DEPLOYMENTS), policies: cache(GUARDRAIL_POLICIES), events: recorder, operatorNamespace: "smartops-system", log: silentLogger(),
  });
  const created = () => api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, actionName(signal.kind, signal.metadata.name, signal.metadata.uid!));
  const status = () => api.stored<Signal>(signal.kind === "AnomalySignal" ? ANOMALY_SIGNALS : RCA_SIGNALS, NAMESPACE, signal.metadata.name)!.status;
  return { reconcile: () => ctl.reconcile(`${signal.kind}/${NAMESPACE}/${signal.metadata.name}`), created, status, events };
}

const DONE = T0 + 60_000;
const latencyAction = (name: string, ...opts: Opt<RemediationAction>[]) =>
  action(name, withType("restart"), fromSignal("AnomalySignal", `${name}-signal`), withRecommendation({ service: "web", anomalyType: "latency" }), ...opts);

describe("SignalController: the escalation ladder (restart → scale-up → notify)", () => {
  it("first signal: the rule's restart, carrying the recommendation", async () => {
    const h = harness(anomalySignal("lat-1", DONE));
    await h.reconcile();
    expect(h.created()?.spec).toMatchObject({
      type: "restart",
      recommendation: { service: "web", anomalyType: "latency", score: 0.9, modelVersion: "m1", rule: expect.stringContaining("restart") },
    });
    expect(h.created()?.spec.escalation).toBeUndefined();
  });

  it("after an ineffective restart: scale-up, naming the restart it escalates from", async () => {
    const h = harness(anomalySignal("lat-2", DONE + 600 * S), [latencyAction("r1", finished(DONE), judged("Ineffective", DONE))]);
    await h.reconcile();
    expect(h.created()?.spec).toMatchObject({ type: "scale", scale: { by: 1 }, escalation: { from: "r1", step: 1, ladder: ["restart", "scale-up", "notify"] } });
    expect(h.status()).toMatchObject({ phase: "ActionCreated", reason: "Escalated" });
  });

  it("the signal that recurs inside a restart's window escalates at once, before the window is judged", async () => {
    const h = harness(anomalySignal("lat-2", DONE + 60 * S), [latencyAction("r1", finished(DONE))]);
    await h.reconcile();
    expect(h.created()?.spec).toMatchObject({ type: "scale", escalation: { from: "r1" } });
  });

  it("after a failed scale-up of the ladder: no action, the signal Notified and a Warning telling a human", async () => {
    const up = action("s1", withScale({ by: 1 }), fromSignal("AnomalySignal", "s1-signal"), withRecommendation({ service: "web", anomalyType: "latency" }), finished(DONE, "Failed"), (a) => {
      a.spec.escalation = { from: "r1", step: 1, ladder: ["restart", "scale-up", "notify"] };
    });
    const h = harness(anomalySignal("lat-3", DONE + 600 * S), [up]);
    await h.reconcile();
    expect(h.created()).toBeUndefined();
    expect(h.status()).toMatchObject({ phase: "Notified", reason: "EscalatedToHuman" });
    expect(h.events).toEqual([expect.stringMatching(/^Warning EscalatedToHuman Deployment: AnomalySignal lat-3: .*s1 \(scale\) was failed/)]);
  });

  it("an effective previous action, another problem, or another kind does not escalate", async () => {
    for (const history of [
      [latencyAction("r1", finished(DONE), judged("Effective", DONE))],
      [action("r2", withType("restart"), fromSignal("AnomalySignal", "x"), withRecommendation({ service: "web", anomalyType: "error" }), finished(DONE), judged("Ineffective", DONE))],
      [action("r3", withType("restart"), fromSignal("RcaSignal", "y"), withRecommendation({ service: "web", causes: [{ svc: "web", cause: "memory_leak", probability: 1 }] }), finished(DONE), judged("Ineffective", DONE))],
    ]) {
      const h = harness(anomalySignal("lat-4", DONE + 600 * S), history);
      await h.reconcile();
      expect(h.created()?.spec.type, history[0]!.metadata.name).toBe("restart");
    }
  });

  it("escalation.enabled false: the rule's action every time, even after an ineffective one", async () => {
    const p = policy("p", withPolicySpec({ escalation: { enabled: false } }));
    const h = harness(anomalySignal("lat-2", DONE + 60 * S), [latencyAction("r1", finished(DONE), judged("Ineffective", DONE))], [p]);
    await h.reconcile();
    expect(h.created()?.spec.type).toBe("restart");
    expect(h.created()?.spec.escalation).toBeUndefined();
  });

  it("the policy's ladder per kind: rca [restart, notify] notifies after one ineffective restart", async () => {
    const p = policy("p", withPolicySpec({ escalation: { ladders: { anomaly: ["restart", "scale-up", "notify"], rca: ["restart", "notify"] } } }));
    const prev = action("r1", withType("restart"), fromSignal("RcaSignal", "leak-1"), withRecommendation({ service: "web", causes: [{ svc: "web", cause: "memory_leak", probability: 0.8 }] }), finished(DONE), judged("Ineffective", DONE));
    const h = harness(rcaSignal("leak-2", DONE + 600 * S), [prev], [p]);
    await h.reconcile();
    expect(h.created()).toBeUndefined();
    expect(h.status()?.phase).toBe("Notified");
  });

  it("an RCA's recommendation keeps the ranked causes (most probable first), the explanation and the model", async () => {
    const h = harness(rcaSignal("leak-1", DONE, "memory_leak", {
      rankedCauses: [{ svc: "web", cause: "cpu_saturation", probability: 0.2 }, { svc: "web", cause: "memory_leak", probability: 0.7 }],
      explanation: "heap grows 40 MiB/min",
    }));
    await h.reconcile();
    expect(h.created()?.spec.recommendation).toEqual({
      service: "web", causes: [{ svc: "web", cause: "memory_leak", probability: 0.7 }, { svc: "web", cause: "cpu_saturation", probability: 0.2 }],
      explanation: "heap grows 40 MiB/min", confidence: 0.9, modelVersion: "m1", rule: expect.stringContaining("memory_leak"),
    });
  });
});

describe("SignalController: a notified signal's outcome", () => {
  it("counts as notified in orchestrator_closed_loop_signal_outcomes_total", async () => {
    const { registry } = await import("../telemetry/metrics.ts");
    registry.resetMetrics();
    const up = action("s1", withScale({ by: 1 }), fromSignal("AnomalySignal", "s1-signal"), withRecommendation({ service: "web", anomalyType: "latency" }), finished(DONE, "Failed"), (a) => {
      a.spec.escalation = { from: "r1", step: 1, ladder: ["restart", "scale-up", "notify"] };
    });
    const h = harness(anomalySignal("lat-9", DONE + 600 * S), [up]);
    await h.reconcile();
    const values = (await registry.getSingleMetric("orchestrator_closed_loop_signal_outcomes_total")!.get()).values.map((v) => `${v.labels.kind}/${v.labels.result}=${v.value}`);
    expect(values).toEqual(["anomaly/notified=1"]);
  });
});
