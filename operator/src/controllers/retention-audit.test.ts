// Audit records, retention and quota refusals on the in-memory API: what each
// controller writes and deletes, and what it leaves alone.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { GuardrailPolicy, RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { auditRecord, type AuditRecord, buildAuditRecord, expectedAuditIds } from "../audit/record.ts";
import type { AuditSink } from "../audit/sink.ts";
import { KubeApiError } from "../k8s/errors.ts";
import type { EventRecorder } from "../k8s/events.ts";
import { ANOMALY_SIGNALS, DEPLOYMENTS, GUARDRAIL_POLICIES, RCA_SIGNALS, REMEDIATION_ACTIONS, type Resource } from "../k8s/resources.ts";
import { FakeKubeApi } from "../k8s/testing/fake-api.ts";
import { DEFAULT_RETENTION } from "../remediation/retention.ts";
import { silentLogger } from "../telemetry/logger.ts";
import { registry } from "../telemetry/metrics.ts";
import { AuditController } from "./audit-controller.ts";
import { RetentionController } from "./retention-controller.ts";
import { SignalController } from "./signal-controller.ts";
import {
  action, available, cooldown, deployment, fromSignal, NAMESPACE, policy, rfc3339, T0, withApproval, withPhase, withStatus, withType,
} from "./testing/builders.ts";
import { anomalySignal, finished, judged } from "./testing/signals.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function world(now: number) {
  const api = new FakeKubeApi({ now: () => now });
  const cache = <T>(r: Resource) => ({ get: (ns: string, n: string) => api.stored<T>(r, ns, n), list: (ns?: string) => api.storedAll<T>(r, ns) });
  const events: string[] = [];
  const recorder: EventRecorder = { record: (r, type, reason, _a, note) => events.push(`${type} ${reason} ${r.kind}: ${note}`) };
  return {
    api, events, recorder,
    actions: cache<RemediationAction>(REMEDIATION_ACTIONS), anomalies: cache<Signal>(ANOMALY_SIGNALS), rcas: cache<Signal>(RCA_SIGNALS),
    deployments: cache<V1Deployment>(DEPLOYMENTS), policies: cache<GuardrailPolicy>(GUARDRAIL_POLICIES),
  };
}

/** A seeded copy as the API server stores it (uid and resourceVersion of the store). */
function seed<T>(api: FakeKubeApi, r: Resource, obj: T): T {
  return api.seed(r, obj);
}

function memorySink(): AuditSink & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return { records, emit: (r) => records.push(r), flush: () => Promise.resolve(), shutdown: () => Promise.resolve() };
}

describe("audit records", () => {
  const done = T0 + 60_000;

  it("a terminal action: one record with the decision, recommendation, policy values, approval, states and trace id; then the marker", async () => {
    const w = world(done + 1000);
    const a = seed(w.api, REMEDIATION_ACTIONS, action("scale-1", fromSignal("AnomalySignal", "sig-1"), withApproval("Approved", "alice"), finished(done),
      withStatus({ judgedBy: { policies: ["team-a/default"], cooldownSeconds: 300 }, guardrailPolicies: ["default"], preState: { reversible: true, replicas: 2 } })));
    const sink = memorySink();
    const ctl = new AuditController({ api: w.api, actions: w.actions, sink, log: silentLogger(), now: () => done + 1000 });
    await ctl.reconcile(`${NAMESPACE}/scale-1`);
    expect(sink.records).toHaveLength(1);
    const r = sink.records[0]!;
    expect(auditRecord.parse(r)).toEqual(r);
    expect(r).toMatchObject({
      schema: "smartops.io/audit/v1", id: `${a.metadata.uid}/Succeeded`, event: "ActionFinished", time: rfc3339(done),
      action: { name: "scale-1", type: "scale", target: { name: "web", namespace: NAMESPACE }, signalRef: { name: "sig-1" } },
      decision: { phase: "Succeeded", reason: "RolloutComplete" },
      policy: { judgedBy: { cooldownSeconds: 300 }, guardrailPolicies: ["default"] },
      approval: { decision: "Approved", approvedBy: "alice" },
      state: { pre: { reversible: true, replicas: 2 }, intent: { recordedAt: expect.any(String) } },
    });
    expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    const stored = w.api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, "scale-1")!;
    expect(stored.status?.audit).toEqual([{ id: r.id, writtenAt: rfc3339(done + 1000) }]);
    // Converged: a second pass emits and writes nothing.
    w.api.reset();
    await ctl.reconcile(`${NAMESPACE}/scale-1`);
    expect(sink.records).toHaveLength(1);
    expect(w.api.writes()).toEqual([]);
  });

  it("the effectiveness decision is a second record with its own id; an open action has none", async () => {
    const w = world(done);
    const a = seed(w.api, REMEDIATION_ACTIONS, action("r-1", withType("restart"), finished(done), judged("Ineffective", done)));
    seed(w.api, REMEDIATION_ACTIONS, action("open-1", withPhase("PendingApproval", "ApprovalRequired")));
    const sink = memorySink();
    const ctl = new AuditController({ api: w.api, actions: w.actions, sink, log: silentLogger() });
    await ctl.reconcile(`${NAMESPACE}/r-1`);
    await ctl.reconcile(`${NAMESPACE}/open-1`);
    expect(sink.records.map((r) => [r.id, r.event])).toEqual([
      [`${a.metadata.uid}/Succeeded`, "ActionFinished"],
      [`${a.metadata.uid}/Succeeded/effectiveness/Ineffective`, "EffectivenessDecided"],
    ]);
    expect(expectedAuditIds(w.api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, "open-1")!)).toEqual([]);
  });

  it("at least once: a marker write that fails leaves the record to be emitted again, with the same id, by the next process", async () => {
    const w = world(done);
    seed(w.api, REMEDIATION_ACTIONS, action("b-1", withPhase("Blocked", "CooldownActive"), withStatus({ completedAt: rfc3339(done) })));
    const first = memorySink();
    w.api.failNext({ verb: "replace", subresource: "status" }, new KubeApiError("fake", 409, { reason: "Conflict", message: "conflict" }));
    await expect(new AuditController({ api: w.api, actions: w.actions, sink: first, log: silentLogger() }).reconcile(`${NAMESPACE}/b-1`)).rejects.toThrow();
    expect(first.records).toHaveLength(1);
    const second = memorySink();
    await new AuditController({ api: w.api, actions: w.actions, sink: second, log: silentLogger() }).reconcile(`${NAMESPACE}/b-1`);
    expect(second.records.map((r) => r.id)).toEqual(first.records.map((r) => r.id));
    expect(w.api.stored<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, "b-1")!.status?.audit?.map((m) => m.id)).toEqual([first.records[0]!.id]);
  });

  it("the record of a revert names what it undid", () => {
    const r = buildAuditRecord(action("undo-1", withType("revert"), (x) => { x.spec.revertOf = "scale-1"; }, withPhase("Succeeded", "RolloutComplete")), "u/Succeeded");
    expect(r.revert).toEqual({ revertOf: "scale-1" });
  });
});

describe("retention controller", () => {
  const NOW = T0 + 40 * DAY;
  const base = { ...DEFAULT_RETENTION, intervalSeconds: 60, batch: 100, ratePerSecond: 20 };
  const audited = (a: RemediationAction) => withStatus({ audit: expectedAuditIds(a).map((id) => ({ id, writtenAt: rfc3339(T0) })) });

  function setup(config = base) {
    const w = world(NOW);
    seed(w.api, DEPLOYMENTS, deployment("web", available()));
    const sleeps: number[] = [];
    const ctl = new RetentionController({
      api: w.api, actions: w.actions, anomalies: w.anomalies, rcas: w.rcas, deployments: w.deployments, policies: w.policies,
      operatorNamespace: "smartops-system", config, log: silentLogger(), now: () => NOW, sleep: (ms) => { sleeps.push(ms); return Promise.resolve(); },
    });
    return { ...w, ctl, sleeps };
  }
  const seedAudited = (api: FakeKubeApi, a: RemediationAction) => {
    const stored = seed(api, REMEDIATION_ACTIONS, a);
    return api.mutate<RemediationAction>(REMEDIATION_ACTIONS, NAMESPACE, stored.metadata.name, (x) => audited(x)(x));
  };
  const names = (api: FakeKubeApi) => api.storedAll<RemediationAction>(REMEDIATION_ACTIONS).map((a) => a.metadata.name).sort();

  it("deletes expired terminal actions with uid + resourceVersion preconditions, paced, and counts them", async () => {
    registry.resetMetrics();
    const s = setup();
    for (const n of ["old-1", "old-2", "old-3"]) seedAudited(s.api, action(n, withType("restart"), withPhase("Blocked", "CooldownActive"), withStatus({ completedAt: rfc3339(T0) })));
    seedAudited(s.api, action("fresh", withType("restart"), withPhase("Blocked", "CooldownActive"), withStatus({ completedAt: rfc3339(NOW - HOUR * 2) })));
    const result = await s.ctl.reconcile("sweep");
    expect(names(s.api)).toEqual(["fresh"]);
    const deletes = s.api.writes().filter((c) => c.verb === "delete");
    expect(deletes).toHaveLength(3);
    expect(deletes[0]!.body).toEqual({ preconditions: { uid: expect.any(String), resourceVersion: expect.any(String) } });
    expect(s.sleeps).toEqual([50, 50]);
    expect(result).toEqual({ requeueAfterMs: 60_000 });
    const counted = (await registry.getSingleMetric("smartops_retention_deleted_total")!.get()).values;
    expect(counted).toEqual([expect.objectContaining({ labels: { kind: "RemediationAction" }, value: 3 })]);
  });

  it("keeps an expired action whose audit record is not out, one in a cooldown of a covering policy, and an open one", async () => {
    const s = setup();
    seed(s.api, GUARDRAIL_POLICIES, policy("long", cooldown("restart", 86_400)));
    seed(s.api, REMEDIATION_ACTIONS, action("unaudited", withType("restart"), withPhase("Blocked", "CooldownActive"), withStatus({ completedAt: rfc3339(T0) })));
    seedAudited(s.api, action("in-cooldown", withType("restart"), finished(NOW - 2 * HOUR)));
    seed(s.api, REMEDIATION_ACTIONS, action("waiting", withType("restart"), withPhase("PendingApproval", "ApprovalRequired")));
    const small = setup({ ...base, actions: { ttlSeconds: 60, maxPerTarget: 1 } });
    for (const o of s.api.storedAll<object>(GUARDRAIL_POLICIES)) small.api.seed(GUARDRAIL_POLICIES, o);
    for (const o of s.api.storedAll<object>(REMEDIATION_ACTIONS)) small.api.seed(REMEDIATION_ACTIONS, o);
    await small.ctl.reconcile("sweep");
    expect(names(small.api)).toEqual(["in-cooldown", "unaudited", "waiting"]);
  });

  it("a changed object is not deleted: the precondition's 409 leaves it for the next pass", async () => {
    const s = setup();
    seedAudited(s.api, action("old", withType("restart"), withPhase("Blocked", "CooldownActive"), withStatus({ completedAt: rfc3339(T0) })));
    s.api.failNext({ verb: "delete" }, new KubeApiError("fake", 409, { reason: "Conflict", message: "Precondition failed" }));
    await s.ctl.reconcile("sweep");
    expect(names(s.api)).toEqual(["old"]);
  });

  it("a namespace's policy lengthens the TTL (retention.actions.ttlSeconds)", async () => {
    const s = setup({ ...base, actions: { ttlSeconds: 60, maxPerTarget: 100 } });
    s.api.seed(GUARDRAIL_POLICIES, { ...policy("keep"), spec: { ...policy("keep").spec, retention: { actions: { ttlSeconds: 31_536_000 } } } });
    seedAudited(s.api, action("old", withType("restart"), withPhase("Blocked", "CooldownActive"), withStatus({ completedAt: rfc3339(T0) })));
    await s.ctl.reconcile("sweep");
    expect(names(s.api)).toEqual(["old"]);
  });

  it("deletes expired terminal signals, not those still Pending", async () => {
    const s = setup();
    s.api.seed(ANOMALY_SIGNALS, anomalySignal("s-old", T0));
    const { status: _none, ...pending } = anomalySignal("s-pending", T0);
    s.api.seed(ANOMALY_SIGNALS, pending);
    await s.ctl.reconcile("sweep");
    expect(s.api.storedAll<Signal>(ANOMALY_SIGNALS).map((x) => x.metadata.name)).toEqual(["s-pending"]);
  });
});

describe("signal controller: a ResourceQuota refuses the action", () => {
  it("the signal ends Refused with QuotaExceeded and the API server's message, and is not retried", async () => {
    const w = world(T0 + 1000);
    w.api.seed(DEPLOYMENTS, deployment("web", available()));
    const { status: _drop, ...fresh } = anomalySignal("lat-q", T0);
    w.api.seed(ANOMALY_SIGNALS, fresh);
    const quota = new KubeApiError("create_remediationaction", 403, {
      kind: "Status", code: 403, reason: "Forbidden",
      message: 'remediationactions.smartops.io "x" is forbidden: exceeded quota: actions, requested: count/remediationactions.smartops.io=1, used: count/remediationactions.smartops.io=1, limited: count/remediationactions.smartops.io=1',
    });
    w.api.failNext({ verb: "create", resource: REMEDIATION_ACTIONS }, quota);
    const ctl = new SignalController({
      api: w.api, anomalies: w.anomalies, rcas: w.rcas, actions: w.actions, deployments: w.deployments, policies: w.policies,
      events: w.recorder, operatorNamespace: "smartops-system", log: silentLogger(),
    });
    await expect(ctl.reconcile(`AnomalySignal/${NAMESPACE}/lat-q`)).resolves.toEqual({});
    const st = w.api.stored<Signal>(ANOMALY_SIGNALS, NAMESPACE, "lat-q")!.status!;
    expect(st).toMatchObject({ phase: "Refused", reason: "QuotaExceeded", message: expect.stringContaining("exceeded quota: actions") });
    expect(w.events.some((e) => e.startsWith("Warning QuotaExceeded"))).toBe(true);
    w.api.reset();
    await ctl.reconcile(`AnomalySignal/${NAMESPACE}/lat-q`);
    expect(w.api.writes()).toEqual([]);
  });
});
