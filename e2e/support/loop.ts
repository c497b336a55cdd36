// Helpers for closed-loop scenarios: workloads, signals, policies, and waiting
// for actions to reach a phase — all by reading the cluster.
import type * as k8s from "@kubernetes/client-node";
import type { RemediationAction } from "../../operator/src/api/v1alpha1/objects.ts";
import { deploymentAvailable as isAvailable } from "../../operator/src/remediation/rollout.ts";
import { applySmartops, type Clients, FIELD_MANAGER, type SmartopsObject, waitFor } from "./kube.ts";

export const TERMINAL = ["Succeeded", "Failed", "Blocked", "Rejected", "Expired"];

export async function createDeployment(c: Clients, namespace: string, name: string, replicas = 2): Promise<void> {
  const body: k8s.V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { "app.kubernetes.io/name": name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
    },
  };
  await c.apps.createNamespacedDeployment({ namespace, body, fieldManager: FIELD_MANAGER });
  await waitFor(`${namespace}/${name} available`, () => deploymentAvailable(c, namespace, name), 60_000);
}

/** The Deployment once it has settled (remediation/rollout.ts's deploymentAvailable), else undefined. */
export async function deploymentAvailable(c: Clients, namespace: string, name: string): Promise<k8s.V1Deployment | undefined> {
  const d = await c.apps.readNamespacedDeployment({ name, namespace });
  return isAvailable(d) ? d : undefined;
}

export function policy(namespace: string, name: string, spec: Record<string, unknown>): SmartopsObject {
  return { apiVersion: "smartops.io/v1alpha1", kind: "GuardrailPolicy", metadata: { name, namespace }, spec };
}

/** A policy that lets scenarios run back to back: no cooldowns, generous rates. */
export const permissive = (namespace: string, extra: Record<string, unknown> = {}, name = "permissive") =>
  policy(namespace, name, {
    cooldownSeconds: { scale: 0, restart: 0, patch: 0, deletePod: 0 },
    rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 100 },
    replicas: { min: 1, max: 8, maxStep: 2 },
    ...extra,
  });

export function anomaly(namespace: string, name: string, spec: Record<string, unknown>): SmartopsObject {
  return { apiVersion: "smartops.io/v1alpha1", kind: "AnomalySignal", metadata: { name, namespace }, spec: { windowId: name, isAnomaly: true, score: 0.9, modelVersion: "v1", ...spec } };
}

export function rca(namespace: string, name: string, service: string, cause: string, extra: Record<string, unknown> = {}): SmartopsObject {
  return {
    apiVersion: "smartops.io/v1alpha1",
    kind: "RcaSignal",
    metadata: { name, namespace },
    spec: { windowId: name, service, rankedCauses: [{ svc: service, cause, probability: 0.93 }], confidence: 0.88, modelVersion: "v1", ...extra },
  };
}

export function action(namespace: string, name: string, spec: Record<string, unknown>): SmartopsObject {
  return { apiVersion: "smartops.io/v1alpha1", kind: "RemediationAction", metadata: { name, namespace }, spec };
}

export async function getAction(c: Clients, namespace: string, name: string): Promise<RemediationAction> {
  return (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace, plural: "remediationactions", name })) as RemediationAction;
}

export async function listActions(c: Clients, namespace: string): Promise<RemediationAction[]> {
  const res = (await c.custom.listNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace, plural: "remediationactions" })) as { items: RemediationAction[] };
  return res.items;
}

export async function waitForPhase(c: Clients, namespace: string, name: string, phases: string[] = TERMINAL, timeoutMs = 90_000): Promise<RemediationAction> {
  return waitFor(`action ${namespace}/${name} in ${phases.join("|")}`, async () => {
    const a = await getAction(c, namespace, name);
    return phases.includes(a.status?.phase ?? "") ? a : undefined;
  }, timeoutMs, 100);
}

/** Applies a signal and waits until the signal reconciler names its action. */
export async function signalToAction(c: Clients, signal: SmartopsObject, timeoutMs = 30_000): Promise<string> {
  await applySmartops(c, signal);
  const plural = signal.kind === "AnomalySignal" ? "anomalysignals" : "rcasignals";
  return waitFor(`action of ${signal.kind} ${signal.metadata.name}`, async () => {
    const s = (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: signal.metadata.namespace, plural, name: signal.metadata.name })) as { status?: { phase?: string; actionRef?: { name: string }; message?: string } };
    if (s.status?.phase && s.status.phase !== "ActionCreated") throw new Error(`signal ended ${s.status.phase}: ${s.status.message}`);
    return s.status?.actionRef?.name;
  }, timeoutMs, 100);
}

export async function signalStatus(c: Clients, kind: "AnomalySignal" | "RcaSignal", namespace: string, name: string) {
  const plural = kind === "AnomalySignal" ? "anomalysignals" : "rcasignals";
  return ((await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace, plural, name })) as { status?: Record<string, unknown> }).status;
}
