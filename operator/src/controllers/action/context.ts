// What every phase of one action sees: the action, the time of this pass, the
// caches and the API. Built once per action per reconcile (Argo Rollouts'
// per-object context), so phases take one argument and tests build it from fakes.
import type { V1Deployment, V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import type { GuardrailPolicy, RemediationAction } from "../../api/v1alpha1/objects.ts";
import type { RemediationActionStatus } from "../../api/v1alpha1/remediation-action.ts";
import type { KubeApi } from "../../k8s/api.ts";
import { writeStatus } from "../../k8s/smartops.ts";
import type { EventRecorder } from "../../k8s/events.ts";
import type { FieldChange } from "../../remediation/change.ts";
import type { ActionRecord, GuardrailInput } from "../../remediation/guardrails.ts";
import type { Logger } from "../../telemetry/logger.ts";
import type { AutoscalerCaches } from "../autoscalers.ts";
import type { Cache, OverlayCache } from "../cache.ts";
import type { Indexed } from "../indexes.ts";
import { podsOf } from "../pods.ts";
import type { OwnershipSettings } from "./field-owners.ts";

export interface ActionDeps {
  api: KubeApi;
  /** The informer's actions with this process's own writes laid over them. */
  actions: OverlayCache<RemediationAction>;
  deployments: Cache<V1Deployment>;
  pods: Indexed<V1Pod>;
  /** Decides which pods are the target's (Pod → ReplicaSet → Deployment controller references). */
  replicaSets: Indexed<V1ReplicaSet>;
  policies: Cache<GuardrailPolicy>;
  events: EventRecorder;
  /** HPAs and ScaledObjects by target Deployment; unset: no autoscaler is ever found. */
  autoscalers?: AutoscalerCaches;
  operatorNamespace: string;
  log: Logger;
  now: () => number;
  /** Throws when this replica may no longer act (lost the lease). Called before every write. */
  guard: () => void;
  /** How GitOps tools are recognised and the operator's own field manager; unset: the defaults. */
  ownership?: OwnershipSettings;
  /** Called when an action reaches a terminal phase (loop duration metric). */
  onTerminal?: (action: RemediationAction) => void;
}

export interface ActionContext {
  readonly action: RemediationAction;
  /** The time of this pass: every timestamp and deadline of one transition uses it. */
  readonly now: number;
  readonly deps: ActionDeps;
}

/**
 * The one way an action's status is written: after the leadership check, guarded
 * by the action's resourceVersion, and laid over the informer's copy until the
 * informer delivers it.
 */
export async function storeStatus(deps: ActionDeps, a: RemediationAction, status: RemediationActionStatus): Promise<RemediationAction> {
  deps.guard();
  const pending = deps.actions.begin(a.metadata.namespace, a.metadata.name);
  let stored: RemediationAction;
  try {
    stored = await writeStatus(deps.api, a, status);
  } catch (err) {
    deps.actions.abandon(pending);
    throw err;
  }
  deps.actions.remember(pending, stored);
  return stored;
}

export function contextFor(deps: ActionDeps, action: RemediationAction): ActionContext {
  return { action, now: deps.now(), deps };
}

/** The target's actions, through the overlay. */
export function actionsOfTarget(deps: ActionDeps, namespace: string, target: string): RemediationAction[] {
  return deps.actions.list(namespace).filter((a) => a.spec.target.name === target);
}

/** Executed (intent recorded), non-dry-run actions on the same target, this one excluded: the guardrails' history. */
export function history(ctx: ActionContext): ActionRecord[] {
  const a = ctx.action;
  return actionsOfTarget(ctx.deps, a.metadata.namespace, a.spec.target.name)
    .filter((o) => o.metadata.name !== a.metadata.name && !o.spec.dryRun && o.status?.intent?.recordedAt)
    .map((o) => ({
      name: o.metadata.name,
      type: o.spec.type,
      executedAt: Date.parse(o.status!.intent!.recordedAt!),
      fromReplicas: o.status?.intent?.fromReplicas,
      toReplicas: o.status?.intent?.replicas,
    }));
}

export function targetPods(ctx: ActionContext, d: V1Deployment | undefined): V1Pod[] {
  return d ? podsOf(d, ctx.deps.pods, ctx.deps.replicaSets) : [];
}

/** What the guardrails judge of this action on the Deployment as read (the policy is the caller's: enforced, or with a shadow one). */
export function guardrailInput(ctx: ActionContext, d: V1Deployment | undefined, changes: readonly FieldChange[] | undefined): Omit<GuardrailInput, "policy"> {
  const a = ctx.action;
  return {
    action: {
      name: a.metadata.name, namespace: a.metadata.namespace, type: a.spec.type, targetNamespace: a.spec.target.namespace,
      ...(a.spec.scale ? { scale: a.spec.scale } : {}),
      ...(changes ? { changes } : {}),
    },
    target: { exists: d !== undefined, replicas: d?.spec?.replicas ?? 0 },
    history: history(ctx),
    now: ctx.now,
  };
}
