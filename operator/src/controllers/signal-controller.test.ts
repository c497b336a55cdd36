// The signal reconciler against a scripted API server: what it writes, and the
// one metric family it owns. Each series of orchestrator_closed_loop_signals_total
// has one producer, the shim (ingest); the reconciler's outcomes are counted in
// orchestrator_closed_loop_signal_outcomes_total, so no sum counts a signal twice.
import type { V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { GuardrailPolicy, RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { connect } from "../k8s/client.ts";
import { kubeConfigFor, ScriptedApiServer } from "../runtime/testing/scripted-apiserver.ts";
import { registry } from "../telemetry/metrics.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { SignalController } from "./signal-controller.ts";
import { cacheOf } from "./testing/builders.ts";

const anomaly = (name: string): Signal => ({
  apiVersion: "smartops.io/v1alpha1",
  kind: "AnomalySignal",
  metadata: { name, namespace: "team-a", uid: `uid-${name}`, generation: 1, resourceVersion: "7" },
  spec: { windowId: name, service: "nowhere", isAnomaly: true, score: 0.9, type: "latency", modelVersion: "v1" },
} as unknown as Signal);

async function series(metric: string): Promise<Record<string, number>> {
  const m = registry.getSingleMetric(metric);
  if (!m) return {};
  const out: Record<string, number> = {};
  for (const v of (await m.get()).values) out[JSON.stringify(v.labels)] = v.value;
  return out;
}

let srv: ScriptedApiServer;
const written: unknown[] = [];

beforeAll(async () => {
  srv = await new ScriptedApiServer().listen();
  srv.handler = (req) => {
    const body = JSON.parse(req.body || "{}") as { metadata?: Record<string, unknown> };
    written.push({ method: req.method, path: req.path, body });
    return { body: { ...body, metadata: { ...body.metadata, resourceVersion: "8" } } };
  };
});

afterAll(async () => {
  await srv.close();
});

beforeEach(() => {
  written.length = 0;
  registry.resetMetrics();
});

describe("SignalController outcome metrics", () => {
  it("counts a reconcile outcome in its own family, never in the shim's ingest counter", async () => {
    const signals = [anomaly("lat-1")];
    const ctl = new SignalController({
      api: connect(kubeConfigFor(srv.url)).api,
      anomalies: cacheOf(signals),
      rcas: cacheOf<Signal>([]),
      actions: cacheOf<RemediationAction>([]),
      deployments: cacheOf<V1Deployment>([]),
      policies: cacheOf<GuardrailPolicy>([]),
      events: { record: () => undefined },
      operatorNamespace: "smartops-system",
      log: silentLogger(),
    });
    await ctl.reconcile("AnomalySignal/team-a/lat-1");

    expect(written).toEqual([expect.objectContaining({ method: "PUT", path: "/apis/smartops.io/v1alpha1/namespaces/team-a/anomalysignals/lat-1/status" })]);
    expect(await series("orchestrator_closed_loop_signals_total")).toEqual({});
    expect(await series("orchestrator_closed_loop_signal_outcomes_total")).toEqual({ [JSON.stringify({ kind: "anomaly", result: "no_target" })]: 1 });
  });
});
