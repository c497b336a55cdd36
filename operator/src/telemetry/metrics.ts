// Every Prometheus metric the operator exports, in one registry. Names keep the
// families existing dashboards query (smartops_k8s_*, smartops_orchestrator_*,
// orchestrator_closed_loop_*) and controller-runtime's (controller_runtime_*,
// workqueue_*). Label values come from bounded sets only: action types, reasons,
// results, controller names — and the namespace/deployment pair, bounded by the
// watched workloads.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LOOP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

// --- Kubernetes actions -----------------------------------------------------------
export const k8sScaleTotal = new Counter({ name: "smartops_k8s_scale_total", help: "Scale mutations applied to Deployments.", labelNames: ["namespace", "deployment"], registers: [registry] });
export const k8sRestartTotal = new Counter({ name: "smartops_k8s_restart_total", help: "Rollout restarts triggered on Deployments.", labelNames: ["namespace", "deployment"], registers: [registry] });
export const k8sPatchTotal = new Counter({ name: "smartops_k8s_patch_total", help: "Patches applied to Deployments.", labelNames: ["namespace", "deployment"], registers: [registry] });
export const k8sEvictionTotal = new Counter({ name: "smartops_k8s_eviction_total", help: "Pods evicted through the Eviction API.", labelNames: ["namespace", "deployment"], registers: [registry] });
export const k8sApiCallsTotal = new Counter({ name: "smartops_k8s_api_calls_total", help: "Kubernetes API calls made by the operator.", labelNames: ["operation"], registers: [registry] });
export const k8sApiErrorsTotal = new Counter({ name: "smartops_k8s_api_errors_total", help: "Kubernetes API calls that failed.", labelNames: ["operation", "code"], registers: [registry] });
export const k8sApiLatency = new Histogram({ name: "smartops_k8s_api_latency_seconds", help: "Latency of Kubernetes API calls.", labelNames: ["operation"], buckets: LATENCY_BUCKETS, registers: [registry] });
export const k8sEventsDroppedTotal = new Counter({ name: "smartops_k8s_events_dropped_total", help: "Normal Events not written because the operator's event budget was spent (Warnings are always written).", registers: [registry] });
export const k8sDesiredReplicas = new Gauge({ name: "smartops_k8s_deployment_desired_replicas", help: "spec.replicas of Deployments the operator acted on.", labelNames: ["namespace", "deployment"], registers: [registry] });
export const k8sReadyReplicas = new Gauge({ name: "smartops_k8s_deployment_ready_replicas", help: "status.readyReplicas of Deployments the operator acted on.", labelNames: ["namespace", "deployment"], registers: [registry] });

// --- Orchestrator actions -----------------------------------------------------------
export const actionsTotal = new Counter({
  name: "smartops_orchestrator_actions_total",
  help: "RemediationActions that reached a terminal phase.",
  labelNames: ["action_type", "namespace", "deployment", "source", "dry_run", "status"],
  registers: [registry],
});
export const actionLatency = new Histogram({ name: "smartops_orchestrator_action_latency_seconds", help: "Time from an action's creation to its mutation being applied.", labelNames: ["action_type"], buckets: LATENCY_BUCKETS, registers: [registry] });
export const verificationDuration = new Histogram({ name: "smartops_orchestrator_verification_duration_seconds", help: "Time from mutation to verification outcome.", labelNames: ["action_type", "status"], buckets: LOOP_BUCKETS, registers: [registry] });

// --- Closed loop ------------------------------------------------------------------
// Each series has one producer, so a sum over either family counts a signal once:
// the shim counts signals at ingest (accepted, duplicate, rejected), the
// operator's signal reconciler counts what it decided (action, ignored, no_target, notified, refused).
export const loopSignalsTotal = new Counter({ name: "orchestrator_closed_loop_signals_total", help: "Signals received by the shim, by ingest result (accepted, duplicate, rejected).", labelNames: ["kind", "result"], registers: [registry] });
export const loopSignalOutcomesTotal = new Counter({ name: "orchestrator_closed_loop_signal_outcomes_total", help: "Signals reconciled by the operator, by outcome (action, ignored, no_target, notified: the escalation ladder told a human, refused: a quota refused the action).", labelNames: ["kind", "result"], registers: [registry] });
export const loopActionsTotal = new Counter({ name: "orchestrator_closed_loop_actions_total", help: "Closed-loop actions that reached a terminal phase.", labelNames: ["type", "status"], registers: [registry] });
export const loopRetriesTotal = new Counter({ name: "orchestrator_closed_loop_retries_total", help: "Verification retries.", labelNames: ["type"], registers: [registry] });
export const loopDuration = new Histogram({ name: "orchestrator_closed_loop_duration_seconds", help: "Time from a signal's creation to its action's terminal phase.", labelNames: ["kind"], buckets: LOOP_BUCKETS, registers: [registry] });
export const loopActionDuration = new Histogram({ name: "orchestrator_closed_loop_action_duration_seconds", help: "Time from an action's creation to its terminal phase.", labelNames: ["type"], buckets: LOOP_BUCKETS, registers: [registry] });
export const loopQueueDepth = new Gauge({ name: "orchestrator_closed_loop_queue_depth", help: "RemediationActions not yet in a terminal phase.", registers: [registry] });
export const shadowDecisionsTotal = new Counter({ name: "smartops_shadow_decisions_total", help: "Judgements of shadow GuardrailPolicies beside the enforced ones, by whether they agreed and the reason the shadow one gave (Allowed when it would allow).", labelNames: ["result", "reason"], registers: [registry] });
export const effectivenessTotal = new Counter({ name: "smartops_action_effectiveness_total", help: "Succeeded actions judged effective or not after their window, by action type and state (Effective, Ineffective, Unknown).", labelNames: ["type", "state"], registers: [registry] });
export const loopGuardrailBlocksTotal = new Counter({ name: "orchestrator_closed_loop_guardrail_blocks_total", help: "Actions blocked by a guardrail, by reason.", labelNames: ["reason"], registers: [registry] });

// --- Audit and retention ----------------------------------------------------------------
export const auditRecordsTotal = new Counter({ name: "smartops_audit_records_total", help: "Audit records emitted, by event (ActionFinished, EffectivenessDecided); a record emitted again after a crash counts again.", labelNames: ["event"], registers: [registry] });
export const auditPendingGauge = new Gauge({ name: "smartops_audit_pending", help: "Terminal actions whose audit record is not yet marked written in status.audit.", registers: [registry] });
export const retentionDeletedTotal = new Counter({ name: "smartops_retention_deleted_total", help: "Objects deleted by retention, by kind.", labelNames: ["kind"], registers: [registry] });
export const retentionKeptTotal = new Counter({ name: "smartops_retention_kept_total", help: "Objects past their TTL or count that retention kept because something still needs them, by kind and why.", labelNames: ["kind", "reason"], registers: [registry] });

// --- controller-runtime names ----------------------------------------------------------
export const reconcileTotal = new Counter({ name: "controller_runtime_reconcile_total", help: "Reconciliations per controller and result.", labelNames: ["controller", "result"], registers: [registry] });
export const reconcileErrorsTotal = new Counter({ name: "controller_runtime_reconcile_errors_total", help: "Reconciliations that returned an error.", labelNames: ["controller"], registers: [registry] });
export const reconcileTime = new Histogram({ name: "controller_runtime_reconcile_time_seconds", help: "Time per reconciliation.", labelNames: ["controller"], buckets: LATENCY_BUCKETS, registers: [registry] });
export const workqueueDepth = new Gauge({ name: "workqueue_depth", help: "Current depth of the work queue.", labelNames: ["name"], registers: [registry] });
export const workqueueAdds = new Counter({ name: "workqueue_adds_total", help: "Adds handled by the work queue.", labelNames: ["name"], registers: [registry] });
export const workqueueQueueDuration = new Histogram({ name: "workqueue_queue_duration_seconds", help: "How long an item stays in the queue before being processed.", labelNames: ["name"], buckets: LATENCY_BUCKETS, registers: [registry] });
export const workqueueWorkDuration = new Histogram({ name: "workqueue_work_duration_seconds", help: "How long processing an item takes.", labelNames: ["name"], buckets: LATENCY_BUCKETS, registers: [registry] });
export const workqueueRetries = new Counter({ name: "workqueue_retries_total", help: "Retries handled by the work queue.", labelNames: ["name"], registers: [registry] });
export const workqueueUnfinished = new Gauge({ name: "workqueue_unfinished_work_seconds", help: "Seconds of work in progress not yet observed by work_duration.", labelNames: ["name"], registers: [registry] });
export const workqueueLongestRunning = new Gauge({ name: "workqueue_longest_running_processor_seconds", help: "Seconds the longest running processor has been running.", labelNames: ["name"], registers: [registry] });

// --- runtime health ------------------------------------------------------------------
export const informerLastEventAge = new Gauge({ name: "smartops_informer_last_event_age_seconds", help: "Seconds since an informer last received an event or bookmark.", labelNames: ["resource"], registers: [registry] });
export const informerRestartsTotal = new Counter({ name: "smartops_informer_restarts_total", help: "Informer list/watch restarts after errors.", labelNames: ["resource", "reason"], registers: [registry] });
export const leaderGauge = new Gauge({ name: "smartops_leader", help: "1 while this replica holds the leader lease.", registers: [registry] });
