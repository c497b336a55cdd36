// The operator process: informer caches on every replica (standbys stay warm),
// leader election, and — only while leading — the work queues and reconcilers.
// Losing the lease aborts the workers at once; every status write and mutation
// checks leadership first, and resourceVersion guards catch the rest.
import type { KubernetesObject, V1Deployment, V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import type { Server } from "node:http";
import type { GuardrailPolicy, RemediationAction, Signal } from "./api/v1alpha1/objects.ts";
import { TERMINAL_PHASES } from "./api/v1alpha1/remediation-action.ts";
import { ActionController, targetKey } from "./controllers/action/controller.ts";
import { PolicyController } from "./controllers/policy-controller.ts";
import { NotLeaderError, type Reconciler } from "./controllers/reconcile.ts";
import { SignalController, signalKey } from "./controllers/signal-controller.ts";
import { connect, loadKubeConfig } from "./k8s/client.ts";
import { eventRecorder } from "./k8s/events.ts";
import { leaseClient } from "./k8s/leases.ts";
import { ANOMALY_SIGNALS, DEPLOYMENTS, GUARDRAIL_POLICIES, PODS, RCA_SIGNALS, REMEDIATION_ACTIONS, REPLICASETS, type Resource } from "./k8s/resources.ts";
import { Informer } from "./runtime/informer.ts";
import { LeaderElector } from "./runtime/leader-election.ts";
import { controllerOf, owningDeploymentName } from "./remediation/ownership.ts";
import { runWorkers, WorkQueue } from "./runtime/queue.ts";
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
}

type InformerView = Pick<Informer<KubernetesObject>, "hasSynced" | "listError">;

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
  const { api, transport } = connect(loadKubeConfig(cfg.kubeconfig));
  const informer = <T extends KubernetesObject>(r: Resource) => ({
    resource: r.plural,
    inf: new Informer<T>({ api, resource: r, namespace: cfg.watchNamespace || undefined, resyncPeriodMs: cfg.resyncPeriodMs, logger: log.child({ informer: r.plural }) }),
  });

  const anomalies = informer<Signal>(ANOMALY_SIGNALS);
  const rcas = informer<Signal>(RCA_SIGNALS);
  const actions = informer<RemediationAction>(REMEDIATION_ACTIONS);
  const policies = informer<GuardrailPolicy>(GUARDRAIL_POLICIES);
  const deployments = informer<V1Deployment>(DEPLOYMENTS);
  const pods = informer<V1Pod>(PODS);
  // Pod ownership is decided through the ReplicaSets' controller references.
  const replicaSets = informer<V1ReplicaSet>(REPLICASETS);
  // Indexes instead of scans on every event (client-go's Indexers): actions by the
  // Deployment they target; list(namespace) is indexed by every informer.
  actions.inf.addIndex("target", (a) => [targetKey(a)]);
  const all = [anomalies, rcas, actions, policies, deployments, pods, replicaSets];
  for (const { resource, inf } of all) {
    inf.on("error", (_err, info) => informerRestartsTotal.inc({ resource, reason: `${info.phase}_error` }));
    inf.on("expired", () => informerRestartsTotal.inc({ resource, reason: "expired" }));
  }

  const stopAll = new AbortController();
  for (const { inf } of all) void inf.start(stopAll.signal);

  let leading: AbortSignal | undefined;
  const guard = () => {
    if (cfg.leaderElection.enabled && (!leading || leading.aborted)) throw new NotLeaderError();
  };
  const events = eventRecorder(api, cfg.identity, (err) => log.debug("event not recorded", { err: String(err) }));

  const actionController = new ActionController({
    api, events, log, guard,
    actions: actions.inf, deployments: deployments.inf, pods: pods.inf, replicaSets: replicaSets.inf, policies: policies.inf,
    operatorNamespace: cfg.operatorNamespace,
    onTerminal: (a) => {
      const ref = a.spec.signalRef;
      if (!ref) return;
      const signal = (ref.kind === "AnomalySignal" ? anomalies : rcas).inf.get(a.metadata.namespace, ref.name);
      const created = Date.parse(signal?.metadata.creationTimestamp as unknown as string);
      if (Number.isFinite(created)) loopDuration.observe({ kind: ref.kind === "AnomalySignal" ? "anomaly" : "rca" }, (Date.now() - created) / 1000);
    },
  });
  const signalController = new SignalController({
    api, events, log, guard,
    anomalies: anomalies.inf, rcas: rcas.inf, actions: actions.inf, deployments: deployments.inf, policies: policies.inf,
    operatorNamespace: cfg.operatorNamespace,
  });
  const policyController = new PolicyController({ api, guard, policies: policies.inf, deployments: deployments.inf, operatorNamespace: cfg.operatorNamespace });

  // Queues exist while leading; handlers enqueue into whatever queues are current.
  let queues: { actions: WorkQueue; signals: WorkQueue; policies: WorkQueue } | undefined;
  const openActionTargets = (namespace?: string) =>
    new Set(actions.inf.list(namespace).filter((a) => !TERMINAL_PHASES.has(a.status?.phase ?? "Pending")).map(targetKey));

  const enqueueTarget = (namespace: string, name: string) => {
    const key = `${namespace}/${name}`;
    if (actions.inf.byIndex("target", key).some((a) => !TERMINAL_PHASES.has(a.status?.phase ?? "Pending"))) queues?.actions.add(key);
  };
  const enqueuePolicies = (namespace: string) => {
    for (const p of [...policies.inf.list(namespace), ...(namespace === cfg.operatorNamespace ? [] : policies.inf.list(cfg.operatorNamespace))]) {
      queues?.policies.add(`${p.metadata.namespace}/${p.metadata.name}`);
    }
  };
  for (const s of [anomalies, rcas]) {
    s.inf.on("add", (o) => queues?.signals.add(signalKey(o)));
    s.inf.on("update", (_old, o) => queues?.signals.add(signalKey(o)));
  }
  // The action controller's overlay of its own writes clears when they arrive here.
  actions.inf.on("add", (a) => {
    actionController.observe(a);
    queues?.actions.add(targetKey(a));
  });
  actions.inf.on("update", (_old, a) => {
    actionController.observe(a);
    queues?.actions.add(targetKey(a));
  });
  actions.inf.on("delete", (a) => actionController.observe(a, true));
  const onDeployment = (d: V1Deployment) => {
    enqueueTarget(d.metadata!.namespace!, d.metadata!.name!);
    enqueuePolicies(d.metadata!.namespace!);
  };
  deployments.inf.on("add", onDeployment);
  deployments.inf.on("update", (_old, d) => onDeployment(d));
  deployments.inf.on("delete", onDeployment);
  const onPod = (p: V1Pod) => {
    const namespace = p.metadata?.namespace ?? "";
    // The pod's controlling ReplicaSet by name, then ownership checked by uid.
    const rsName = controllerOf(p, "ReplicaSet")?.name;
    const rs = rsName ? replicaSets.inf.get(namespace, rsName) : undefined;
    const owner = rs ? owningDeploymentName(p, [rs]) : undefined;
    if (owner) enqueueTarget(namespace, owner);
  };
  pods.inf.on("update", (_old, p) => onPod(p));
  pods.inf.on("delete", onPod);
  // A pod seen before its ReplicaSet counted as nobody's: look again once the ReplicaSet is known.
  const onReplicaSet = (rs: V1ReplicaSet) => {
    const owner = controllerOf(rs, "Deployment")?.name;
    if (owner) enqueueTarget(rs.metadata?.namespace ?? "", owner);
  };
  replicaSets.inf.on("add", onReplicaSet);
  replicaSets.inf.on("update", (_old, rs) => onReplicaSet(rs));
  const onPolicy = (p: GuardrailPolicy) => {
    queues?.policies.add(`${p.metadata.namespace}/${p.metadata.name}`);
    for (const key of openActionTargets()) queues?.actions.add(key);
  };
  policies.inf.on("add", onPolicy);
  policies.inf.on("update", (_old, p) => onPolicy(p));
  policies.inf.on("delete", onPolicy);

  const lead = async (signal: AbortSignal) => {
    leading = signal;
    leaderGauge.set(1);
    log.info("started leading", { identity: cfg.identity });
    await Promise.all(all.map(({ inf }) => inf.waitForSync(signal)));
    const q = {
      actions: new WorkQueue({ name: "remediationaction", metrics: queueMetrics("remediationaction") }),
      signals: new WorkQueue({ name: "signal", metrics: queueMetrics("signal") }),
      policies: new WorkQueue({ name: "guardrailpolicy", metrics: queueMetrics("guardrailpolicy") }),
    };
    queues = q;
    for (const o of [...anomalies.inf.list(), ...rcas.inf.list()]) q.signals.add(signalKey(o));
    for (const key of openActionTargets()) q.actions.add(key);
    for (const p of policies.inf.list()) q.policies.add(`${p.metadata.namespace}/${p.metadata.name}`);
    const run = (name: string, queue: WorkQueue, concurrency: number, reconcile: Reconciler) =>
      runWorkers(queue, {
        concurrency,
        reconcile,
        signal,
        onError: (key, err) => log.warn("reconcile failed", { controller: name, key, err: err instanceof Error ? err.message : String(err) }),
        controller: name,
        metrics: reconcileMetrics(name),
      });
    signal.addEventListener("abort", () => {
      for (const queue of Object.values(q)) queue.shutDown();
    }, { once: true });
    await Promise.all([
      run("remediationaction", q.actions, cfg.workers.actions, (k) => actionController.reconcile(k)),
      run("signal", q.signals, cfg.workers.signals, (k) => signalController.reconcile(k)),
      run("guardrailpolicy", q.policies, cfg.workers.policies, (k) => policyController.reconcile(k)),
    ]);
  };

  const elector = cfg.leaderElection.enabled
    ? new LeaderElector({
      leaseClient: leaseClient(api, cfg.operatorNamespace, cfg.leaderElection.leaseName),
      namespace: cfg.operatorNamespace,
      name: cfg.leaderElection.leaseName,
      identity: cfg.identity,
      leaseDurationSeconds: cfg.leaderElection.leaseDurationSeconds,
      renewDeadlineSeconds: cfg.leaderElection.renewDeadlineSeconds,
      retryPeriodSeconds: cfg.leaderElection.retryPeriodSeconds,
      onStartedLeading: (signal) => {
        lead(signal).catch((err: unknown) => log.error("leading failed", { err: String(err) }));
      },
      onStoppedLeading: () => {
        queues = undefined;
        leaderGauge.set(0);
        log.warn("stopped leading: no longer acting", { identity: cfg.identity });
      },
      onNewLeader: (id) => log.info("leader is", { leader: id }),
      logger: log.child({ component: "leader-election" }),
    })
    : undefined;
  const leaderRun = elector ? elector.run(stopAll.signal) : lead(stopAll.signal);

  const depthTimer = setInterval(() => {
    loopQueueDepth.set(actions.inf.list().filter((a) => !TERMINAL_PHASES.has(a.status?.phase ?? "Pending")).length);
    for (const { resource, inf } of all) informerLastEventAge.set({ resource }, inf.lastEventAgeMs() / 1000);
  }, 5000);
  depthTimer.unref();

  const server = await startTelemetryServer(cfg.listenHost, cfg.listenPort, {
    live: () => {
      const stale = all.filter(({ inf }) => inf.hasSynced() && inf.lastEventAgeMs() > cfg.maxEventAgeMs).map((i) => i.resource);
      return { ok: stale.length === 0, detail: stale.length ? `no events for ${cfg.maxEventAgeMs / 1000}s: ${stale.join(", ")}` : "ok" };
    },
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
      const drained = Promise.all(Object.values(queues ?? {}).map((q) => q.shutDownWithDrain()));
      await Promise.race([drained, new Promise((r) => setTimeout(r, 10_000))]);
      if (elector) await elector.release().catch((err: unknown) => log.warn("lease not released", { err: String(err) }));
      stopAll.abort();
      await leaderRun.catch(() => {});
      await Promise.all(all.map(({ inf }) => inf.stop()));
      await transport.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
