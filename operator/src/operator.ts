// The operator process: informer caches on every replica (standbys stay warm),
// leader election, and — only while leading — the work queues and reconcilers.
// Losing the lease aborts the workers at once; every status write and mutation
// checks leadership first, and resourceVersion guards catch the rest.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Server } from "node:http";
import type { RemediationAction } from "./api/v1alpha1/objects.ts";
import { isOpenAction } from "./api/v1alpha1/remediation-action.ts";
import { ActionController } from "./controllers/action/controller.ts";
import { FloorRestoreController } from "./controllers/floor-restore.ts";
import { PolicyController } from "./controllers/policy-controller.ts";
import { NotLeaderError } from "./controllers/reconcile.ts";
import { EffectivenessController, type MeasureMetric } from "./controllers/effectiveness-controller.ts";
import { SignalController } from "./controllers/signal-controller.ts";
import { AuditController } from "./controllers/audit-controller.ts";
import { type RetentionConfig, RetentionController } from "./controllers/retention-controller.ts";
import { type AuditSink, logSink } from "./audit/sink.ts";
import {
  actionControllerSpec, auditControllerSpec, declareIndexes, retentionControllerSpec, effectivenessControllerSpec, floorRestoreControllerSpec, type Informers, policyControllerSpec, signalControllerSpec,
} from "./controllers/watches.ts";
import { connect, loadKubeConfig } from "./k8s/client.ts";
import type { NotifyConfig } from "./notify/config.ts";
import { notifyingRecorder } from "./notify/events.ts";
import { createNotifier } from "./notify/webhook.ts";
import { eventRecorder } from "./k8s/events.ts";
import { leaseClient } from "./k8s/leases.ts";
import { served } from "./k8s/autoscalers.ts";
import {
  ANOMALY_SIGNALS, DEPLOYMENTS, GUARDRAIL_POLICIES, HORIZONTAL_POD_AUTOSCALERS, PODS, RCA_SIGNALS, REMEDIATION_ACTIONS, REPLICASETS, type Resource, SCALED_OBJECTS,
} from "./k8s/resources.ts";
import { Informer } from "./runtime/informer.ts";
import { DEFAULT_OWNERSHIP, type OwnershipSettings } from "./controllers/action/field-owners.ts";
import { LeaderElector } from "./runtime/leader-election.ts";
import { Manager } from "./runtime/manager.ts";
import { queueMetrics, reconcileMetrics } from "./telemetry/queue-metrics.ts";
import type { Logger } from "./telemetry/logger.ts";
import { informerLastEventAge, informerRestartsTotal, leaderGauge, loopDuration, loopQueueDepth } from "./telemetry/metrics.ts";
import { startTelemetryServer } from "./telemetry/server.ts";

export interface OperatorConfig {
  kubeconfig?: string;
  /** Namespace of the leader Lease and of policies that may cover other namespaces. */
  operatorNamespace: string;
  /** Watch only this namespace; empty = all namespaces. */
  watchNamespace?: string;
  identity: string;
  listenHost: string;
  listenPort: number;
  leaderElection: { enabled: boolean; leaseName: string; leaseDurationSeconds: number; renewDeadlineSeconds: number; retryPeriodSeconds: number };
  workers: { actions: number; signals: number; policies: number };
  resyncPeriodMs: number;
  /** Liveness fails when no informer event or bookmark arrived for this long. */
  maxEventAgeMs: number;
  /** Webhooks that hear of blocks, automatic undos, RepeatedFailures and the ladder's notify step. */
  notifications?: NotifyConfig;
  /** Reads a metric check's query from Prometheus; unset when none is configured (checks then end Unknown). */
  measure?: MeasureMetric;
  /** The field manager of the operator's writes and how Argo CD tracks resources; unset: smartops-operator, annotation. */
  ownership?: OwnershipSettings;
  /** Retention of terminal signals and actions; unset: nothing is deleted. */
  retention?: RetentionConfig;
  /** Where audit records go besides nothing; the log stream when unset. */
  audit?: AuditSink;
}

type InformerView = Pick<Informer<KubernetesObject>, "hasSynced" | "listError" | "lastEventAgeMs">;

/** Alive while every synced informer has heard from the API server (an event or a bookmark) within maxEventAgeMs. */
export function liveness(informers: readonly { resource: string; inf: InformerView }[], maxEventAgeMs: number): { ok: boolean; detail: string } {
  const stale = informers.filter(({ inf }) => inf.hasSynced() && inf.lastEventAgeMs() > maxEventAgeMs).map((i) => i.resource);
  return { ok: stale.length === 0, detail: stale.length ? `no events for ${maxEventAgeMs / 1000}s: ${stale.join(", ")}` : "ok" };
}

/**
 * Ready when every cache has synced and every informer can list. One that
 * cannot (RBAC revoked, an object the API server cannot read back, a CRD gone)
 * leaves its cache stale and the leader blind to new objects of that kind, so
 * the process is not ready, and says which informer fails and why.
 */
export function readiness(informers: readonly { resource: string; inf: InformerView }[], role: "leader" | "standby"): { ok: boolean; detail: string } {
  const failing = informers.flatMap(({ resource, inf }) => {
    const err = inf.listError();
    return err === undefined ? [] : [`${resource}: ${err.slice(0, 512)}`];
  });
  if (failing.length > 0) return { ok: false, detail: `cannot list ${failing.join("; ")}` };
  const pending = informers.filter(({ inf }) => !inf.hasSynced()).map((i) => i.resource);
  if (pending.length > 0) return { ok: false, detail: `caches not synced: ${pending.join(", ")}` };
  return { ok: true, detail: `ok (${role})` };
}

export interface RunningOperator {
  server: Server;
  stop(): Promise<void>;
}

export async function runOperator(cfg: OperatorConfig, log: Logger): Promise<RunningOperator> {
  const ownership = cfg.ownership ?? DEFAULT_OWNERSHIP;
  const { api, transport } = connect(loadKubeConfig(cfg.kubeconfig), ownership.fieldManager);
  const informer = <T extends KubernetesObject>(r: Resource) =>
    new Informer<T>({ api, resource: r, namespace: cfg.watchNamespace || undefined, resyncPeriodMs: cfg.resyncPeriodMs, logger: log.child({ informer: r.plural }) });
  const inf: Informers = {
    anomalies: informer(ANOMALY_SIGNALS),
    rcas: informer(RCA_SIGNALS),
    actions: informer(REMEDIATION_ACTIONS),
    policies: informer(GUARDRAIL_POLICIES),
    deployments: informer(DEPLOYMENTS),
    pods: informer(PODS),
    // Pod ownership is decided through the ReplicaSets' controller references.
    replicaSets: informer(REPLICASETS),
    // Autoscalers own spec.replicas of the Deployments they target; KEDA's only when its CRD is installed.
    hpas: informer(HORIZONTAL_POD_AUTOSCALERS),
    ...(await served(api, SCALED_OBJECTS, cfg.watchNamespace || undefined) ? { scaledObjects: informer(SCALED_OBJECTS) } : {}),
  };
  log.info("autoscalers watched", { horizontalPodAutoscalers: true, kedaScaledObjects: inf.scaledObjects !== undefined });
  declareIndexes(inf);
  const all = Object.values(inf).map((i: Informer<KubernetesObject>) => ({ resource: i.resource, inf: i }));
  for (const { resource, inf: i } of all) {
    i.on("error", (_err, info) => informerRestartsTotal.inc({ resource, reason: `${info.phase}_error` }));
    i.on("expired", () => informerRestartsTotal.inc({ resource, reason: "expired" }));
  }

  let leading: AbortSignal | undefined;
  const guard = () => {
    if (cfg.leaderElection.enabled && (!leading || leading.aborted)) throw new NotLeaderError();
  };
  const notifier = createNotifier(cfg.notifications, { log: log.child({ component: "notify" }) });
  const targetOf = (r: { kind: string; namespace: string; name: string }) =>
    r.kind === "RemediationAction" ? inf.actions.get(r.namespace, r.name)?.spec.target.name : undefined;
  const events = notifyingRecorder(eventRecorder(api, cfg.identity, (err) => log.debug("event not recorded", { err: String(err) })), notifier, targetOf);
  const common = { api, events, log, guard, operatorNamespace: cfg.operatorNamespace };
  const manager = new Manager({ log, queueMetrics, reconcileMetrics });
  manager.add(actionControllerSpec(new ActionController({
    ...common, actions: inf.actions, deployments: inf.deployments, pods: inf.pods, replicaSets: inf.replicaSets, policies: inf.policies,
    autoscalers: { hpas: inf.hpas, ...(inf.scaledObjects ? { scaledObjects: inf.scaledObjects } : {}) },
    onTerminal: (a) => observeLoopDuration(a, inf), ownership,
  }), inf, cfg.workers.actions));
  manager.add(signalControllerSpec(new SignalController({
    ...common, anomalies: inf.anomalies, rcas: inf.rcas, actions: inf.actions, deployments: inf.deployments, policies: inf.policies,
  }), inf, cfg.workers.signals));
  manager.add(effectivenessControllerSpec(new EffectivenessController({
    ...common, actions: inf.actions, anomalies: inf.anomalies, rcas: inf.rcas, deployments: inf.deployments, policies: inf.policies,
    ...(cfg.measure ? { measure: cfg.measure } : {}),
  }), inf, cfg.workers.signals));
  manager.add(floorRestoreControllerSpec(new FloorRestoreController({ api, actions: inf.actions, log, guard }), inf, 1));
  const audit = cfg.audit ?? logSink();
  manager.add(auditControllerSpec(new AuditController({ ...common, actions: inf.actions, sink: audit }), inf, cfg.workers.signals));
  if (cfg.retention) {
    manager.add(retentionControllerSpec(new RetentionController({
      ...common, actions: inf.actions, anomalies: inf.anomalies, rcas: inf.rcas, deployments: inf.deployments, policies: inf.policies, config: cfg.retention,
    })));
  }
  manager.add(policyControllerSpec(new PolicyController({ ...common, policies: inf.policies, deployments: inf.deployments }), inf, cfg.workers.policies, cfg.operatorNamespace));

  const stopAll = new AbortController();
  for (const { inf: i } of all) i.start(stopAll.signal);
  const lead = async (signal: AbortSignal) => {
    leading = signal;
    leaderGauge.set(1);
    log.info("started leading", { identity: cfg.identity });
    await Promise.all(all.map(({ inf: i }) => i.waitForSync(signal)));
    await manager.lead(signal);
  };
  const elector = cfg.leaderElection.enabled
    ? new LeaderElector({
      ...cfg.leaderElection,
      leaseClient: leaseClient(api, cfg.operatorNamespace, cfg.leaderElection.leaseName),
      namespace: cfg.operatorNamespace,
      name: cfg.leaderElection.leaseName,
      identity: cfg.identity,
      onStartedLeading: (signal) => {
        lead(signal).catch((err: unknown) => log.error("leading failed", { err: String(err) }));
      },
      onStoppedLeading: () => {
        manager.stopped();
        leaderGauge.set(0);
        log.warn("stopped leading: no longer acting", { identity: cfg.identity });
      },
      onNewLeader: (id) => log.info("leader is", { leader: id }),
      logger: log.child({ component: "leader-election" }),
    })
    : undefined;
  const leaderRun = elector ? elector.run(stopAll.signal) : lead(stopAll.signal);

  const depthTimer = setInterval(() => {
    loopQueueDepth.set(inf.actions.list().filter(isOpenAction).length);
    for (const { resource, inf: i } of all) informerLastEventAge.set({ resource }, i.lastEventAgeMs() / 1000);
  }, 5000);
  depthTimer.unref();

  const server = await startTelemetryServer(cfg.listenHost, cfg.listenPort, {
    live: () => liveness(all, cfg.maxEventAgeMs),
    ready: () => readiness(all, elector?.isLeader() === false ? "standby" : "leader"),
  });
  log.info("operator started", { identity: cfg.identity, listen: `${cfg.listenHost}:${cfg.listenPort}`, watchNamespace: cfg.watchNamespace ?? "(all)", leaderElection: cfg.leaderElection.enabled });

  return {
    server,
    stop: async () => {
      log.info("shutting down");
      clearInterval(depthTimer);
      // Finish in-flight reconciles before handing the lease over, so the next
      // leader never overlaps with this one; bounded so a hung call cannot block exit.
      await manager.drain(10_000);
      if (elector) await elector.release().catch((err: unknown) => log.warn("lease not released", { err: String(err) }));
      stopAll.abort();
      await leaderRun.catch(() => {});
      await Promise.all(all.map(({ inf: i }) => i.stop()));
      // What is still queued gets a few seconds; webhooks are best effort (Events are the record).
      await notifier.flush(3_000);
      await notifier.close();
      await Promise.race([audit.shutdown(), new Promise((r) => setTimeout(r, 3_000).unref())]).catch(() => undefined);
      await transport.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Signal creation → the action's terminal phase, per signal kind. */
function observeLoopDuration(a: RemediationAction, inf: Informers): void {
  const ref = a.spec.signalRef;
  if (!ref) return;
  const signal = (ref.kind === "AnomalySignal" ? inf.anomalies : inf.rcas).get(a.metadata.namespace, ref.name);
  const created = Date.parse(signal?.metadata.creationTimestamp as unknown as string);
  if (Number.isFinite(created)) loopDuration.observe({ kind: ref.kind === "AnomalySignal" ? "anomaly" : "rca" }, (Date.now() - created) / 1000);
}
