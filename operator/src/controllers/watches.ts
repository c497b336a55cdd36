// What each controller watches and which keys an event asks it to reconcile
// (controller-runtime's Watches with EnqueueRequestsFromMapFunc). The manager
// (runtime/manager.ts) feeds the keys into the controller's queue while leading.
import type { KubernetesObject, V1Deployment, V1Pod, V1ReplicaSet, V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import type { ScaledObjectObject } from "../remediation/autoscaler.ts";
import type { GuardrailPolicy, RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { isOpenAction as isOpen } from "../api/v1alpha1/remediation-action.ts";
import { mayNeedAutoRevert } from "../remediation/auto-revert.ts";
import { controllerOf, owningDeploymentName } from "../remediation/ownership.ts";
import type { Informer } from "../runtime/informer.ts";
import { type ControllerSpec, watch } from "../runtime/manager.ts";
import type { ActionController } from "./action/controller.ts";
import { awaitsJudgement, type EffectivenessController } from "./effectiveness-controller.ts";
import { BY_SCALE_TARGET, hpaIndex, scaledObjectIndex } from "./autoscalers.ts";
import { type FloorRestoreController, raisedFloor } from "./floor-restore.ts";
import { BY_CONTROLLER, BY_TARGET, controllerIndex, targetIndex, targetKey } from "./indexes.ts";
import type { PolicyController } from "./policy-controller.ts";
import { type SignalController, signalKey } from "./signal-controller.ts";
import type { AuditController } from "./audit-controller.ts";
import { RETENTION_KEY, type RetentionController } from "./retention-controller.ts";
import { auditPending } from "../audit/record.ts";

export interface Informers {
  anomalies: Informer<Signal>;
  rcas: Informer<Signal>;
  actions: Informer<RemediationAction>;
  policies: Informer<GuardrailPolicy>;
  deployments: Informer<V1Deployment>;
  pods: Informer<V1Pod>;
  replicaSets: Informer<V1ReplicaSet>;
  hpas: Informer<V2HorizontalPodAutoscaler>;
  /** Only when KEDA's ScaledObject CRD is installed. */
  scaledObjects?: Informer<KubernetesObject & ScaledObjectObject>;
}

/** The indexes the watches and controllers look up by; declared before the informers start. */
export function declareIndexes(inf: Informers): void {
  inf.actions.addIndex(BY_TARGET, targetIndex);
  inf.replicaSets.addIndex(BY_CONTROLLER, controllerIndex("Deployment"));
  inf.pods.addIndex(BY_CONTROLLER, controllerIndex("ReplicaSet"));
  inf.hpas.addIndex(BY_SCALE_TARGET, hpaIndex);
  inf.scaledObjects?.addIndex(BY_SCALE_TARGET, scaledObjectIndex);
}

/**
 * Keyed by target. A Deployment, its ReplicaSets and pods matter only to a
 * target with an open action; a policy change may unblock any open action.
 */
export function actionControllerSpec(ctl: ActionController, inf: Informers, workers: number): ControllerSpec {
  const openTarget = (namespace: string, name: string | undefined) => {
    const key = `${namespace}/${name}`;
    return name !== undefined && inf.actions.byIndex(BY_TARGET, key).some(isOpen) ? [key] : [];
  };
  const openTargets = () => new Set(inf.actions.list().filter(isOpen).map(targetKey));
  // The overlay of the controller's own writes clears when the informer delivers them.
  inf.actions.on("add", (a) => ctl.observe(a));
  inf.actions.on("update", (_old, a) => ctl.observe(a));
  inf.actions.on("delete", (a) => ctl.observe(a, true));
  return {
    name: "remediationaction",
    workers,
    reconcile: (key) => ctl.reconcile(key),
    // At start, also the targets of failed actions that may be owed an undo (lost to a crash).
    initialKeys: () => new Set([...openTargets(), ...inf.actions.list().filter((a) => mayNeedAutoRevert(a, Date.now())).map(targetKey)]),
    watches: [
      watch(inf.actions, (a) => [targetKey(a)], ["add", "update"]),
      watch(inf.deployments, (d) => openTarget(d.metadata?.namespace ?? "", d.metadata?.name)),
      // A pod seen before its ReplicaSet counted as nobody's: the ReplicaSet's arrival looks again.
      watch(inf.replicaSets, (rs) => openTarget(rs.metadata?.namespace ?? "", controllerOf(rs, "Deployment")?.name), ["add", "update"]),
      watch(inf.pods, (p) => {
        const namespace = p.metadata?.namespace ?? "";
        const rs = inf.replicaSets.get(namespace, controllerOf(p, "ReplicaSet")?.name ?? "");
        return rs ? openTarget(namespace, owningDeploymentName(p, [rs])) : [];
      }, ["update", "delete"]),
      watch(inf.policies, () => openTargets()),
      // An autoscaler's floor decides whether a raised-floor action is verified.
      watch(inf.hpas, (h) => hpaIndex(h).flatMap((k) => openTarget(...splitKey(k)))),
      ...(inf.scaledObjects ? [watch(inf.scaledObjects, (o) => scaledObjectIndex(o).flatMap((k) => openTarget(...splitKey(k))))] : []),
    ],
  };
}

const splitKey = (key: string): [string, string] => key.split("/") as [string, string];

/** Keyed by action: an action that raised an autoscaler's floor comes back when its period ends. */
export function floorRestoreControllerSpec(ctl: FloorRestoreController, inf: Informers, workers: number): ControllerSpec {
  const keyOf = (a: RemediationAction) => `${a.metadata.namespace}/${a.metadata.name}`;
  return {
    name: "floorrestore",
    workers,
    reconcile: (key) => ctl.reconcile(key),
    initialKeys: () => inf.actions.list().filter(raisedFloor).map(keyOf),
    watches: [watch(inf.actions, (a) => (raisedFloor(a) ? [keyOf(a)] : []), ["add", "update"])],
  };
}

export function signalControllerSpec(ctl: SignalController, inf: Informers, workers: number): ControllerSpec {
  return {
    name: "signal",
    workers,
    reconcile: (key) => ctl.reconcile(key),
    initialKeys: () => [...inf.anomalies.list(), ...inf.rcas.list()].map(signalKey),
    watches: [watch(inf.anomalies, (s) => [signalKey(s)], ["add", "update"]), watch(inf.rcas, (s) => [signalKey(s)], ["add", "update"])],
  };
}

/** A policy's status names the Deployments it covers: a Deployment change re-checks the policies that could cover it. */
export function policyControllerSpec(ctl: PolicyController, inf: Informers, workers: number, operatorNamespace: string): ControllerSpec {
  const keyOf = (p: GuardrailPolicy) => `${p.metadata.namespace}/${p.metadata.name}`;
  return {
    name: "guardrailpolicy",
    workers,
    reconcile: (key) => ctl.reconcile(key),
    initialKeys: () => inf.policies.list().map(keyOf),
    watches: [
      watch(inf.policies, (p) => [keyOf(p)]),
      watch(inf.deployments, (d) => {
        const namespace = d.metadata?.namespace ?? "";
        return [...inf.policies.list(namespace), ...(namespace === operatorNamespace ? [] : inf.policies.list(operatorNamespace))].map(keyOf);
      }),
    ],
  };
}

/**
 * Keyed by action. A succeeded action opens its window; a signal in the
 * namespace may end the window of the actions on the Deployment it resolved to
 * (the signal reconciler records that target in the signal's status).
 */
export function effectivenessControllerSpec(ctl: EffectivenessController, inf: Informers, workers: number): ControllerSpec {
  const keyOf = (a: RemediationAction) => `${a.metadata.namespace}/${a.metadata.name}`;
  const judging = (namespace: string, target: string | undefined) =>
    target === undefined ? [] : inf.actions.byIndex(BY_TARGET, `${namespace}/${target}`).filter(awaitsJudgement).map(keyOf);
  const onSignal = (s: Signal) => judging(s.metadata.namespace, s.status?.target);
  return {
    name: "effectiveness",
    workers,
    reconcile: (key) => ctl.reconcile(key),
    initialKeys: () => inf.actions.list().filter(awaitsJudgement).map(keyOf),
    watches: [
      watch(inf.actions, (a) => (awaitsJudgement(a) ? [keyOf(a)] : []), ["add", "update"]),
      watch(inf.anomalies, onSignal, ["add", "update"]),
      watch(inf.rcas, onSignal, ["add", "update"]),
    ],
  };
}

/** Keyed by action: each action whose audit record is not marked written (a sweep of all of them when leading starts). */
export function auditControllerSpec(ctl: AuditController, inf: Informers, workers: number): ControllerSpec {
  const keyOf = (a: RemediationAction) => `${a.metadata.namespace}/${a.metadata.name}`;
  return {
    name: "audit",
    workers,
    reconcile: (key) => ctl.reconcile(key),
    initialKeys: () => inf.actions.list().filter(auditPending).map(keyOf),
    watches: [watch(inf.actions, (a) => (auditPending(a) ? [keyOf(a)] : []), ["add", "update"])],
  };
}

/** One key, swept on a timer while leading; no watches (a pass reads every cache). */
export function retentionControllerSpec(ctl: RetentionController): ControllerSpec {
  return { name: "retention", workers: 1, reconcile: (key) => ctl.reconcile(key), initialKeys: () => [RETENTION_KEY], watches: [] };
}
