// The concrete change an action will make, decided before acting and recorded in
// status (invariant 3): target replicas, the restartedAt timestamp, or the pod
// and its UID. Pure.
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { RemediationAction } from "../api/v1alpha1/objects.ts";
import { BlockReason, type BlockReasonName } from "../api/v1alpha1/reasons.ts";
import type { Intent, PreState } from "../api/v1alpha1/remediation-action.ts";
import type { FieldChange } from "../remediation/change.ts";
import { NOT_REVERSIBLE, notReversible, patchPreState, scalePreState } from "../remediation/pre-state.ts";
import { unhealthyPods } from "../remediation/rollout.ts";

export type IntentDecision = { ok: true; intent: Intent } | { ok: false; reason: BlockReasonName; message: string };

/**
 * `replicas` is the count the guardrails computed and allowed for a scale (or a
 * patch of spec.replicas), from the same reading of `d`; the intent keeps that
 * reading's resourceVersion so the write can be refused if the Deployment moved
 * in between.
 */
export function concreteIntent(action: RemediationAction, d: V1Deployment, targetPods: readonly V1Pod[], now: number, replicas?: number, changes?: readonly FieldChange[]): IntentDecision {
  const recordedAt = new Date(now).toISOString();
  switch (action.spec.type) {
    case "scale": {
      const to = replicas ?? action.spec.scale?.replicas;
      if (to === undefined) return { ok: false, reason: BlockReason.MinReplicasViolated, message: "scale action has no computed target" };
      const rv = d.metadata?.resourceVersion;
      return { ok: true, intent: { fromReplicas: d.spec?.replicas ?? 1, replicas: to, ...(rv ? { resourceVersion: rv } : {}), recordedAt } };
    }
    case "restart":
      return { ok: true, intent: { restartedAt: recordedAt, recordedAt } };
    case "patch": {
      // A patch that sets spec.replicas counts toward the scale windows like a scale.
      const rv = d.metadata?.resourceVersion;
      return {
        ok: true,
        intent: {
          ...(typeof replicas === "number" ? { fromReplicas: d.spec?.replicas ?? 1, replicas } : {}),
          ...(rv ? { resourceVersion: rv } : {}),
          ...(changes?.length ? { changedPaths: [...new Set(changes.map((c) => c.path))].slice(0, 64) } : {}),
          recordedAt,
        },
      };
    }
    case "delete-pod": {
      const named = action.spec.deletePod?.podName;
      const live = targetPods.filter((p) => !p.metadata?.deletionTimestamp);
      if (named) {
        const pod = live.find((p) => p.metadata?.name === named);
        if (!pod) {
          return { ok: false, reason: BlockReason.PodNotOwnedByTarget, message: `pod ${named} is not a running pod of Deployment ${action.spec.target.name}` };
        }
        return { ok: true, intent: { podName: named, podUID: pod.metadata!.uid!, recordedAt } };
      }
      const threshold = action.spec.deletePod?.notReadyThresholdSeconds ?? 120;
      const [worst] = unhealthyPods(live, now, threshold);
      if (!worst) {
        return { ok: false, reason: BlockReason.NoUnhealthyPods, message: `Deployment ${action.spec.target.name} has no unhealthy pod (CrashLoopBackOff, OOMKilled, or not Ready for ${threshold}s)` };
      }
      return { ok: true, intent: { podName: worst.metadata!.name!, podUID: worst.metadata!.uid!, recordedAt } };
    }
    case "revert":
      // A revert's intent is its inverse patch, computed from the action it undoes (controllers/action/revert.ts).
      return { ok: false, reason: BlockReason.NotReversible, message: "a revert's intent is computed from the action it undoes" };
  }
}

/**
 * What the action will replace, from the same reading `d` its intent was computed
 * from: recorded with the intent in one status write, before anything changes, so
 * a crash never loses it and a replay never recomputes it from a Deployment the
 * action has already changed. For a patch, from its dry run's effect (`changes`,
 * and `after`, the Deployment as the dry run leaves it).
 */
export function preStateFor(action: RemediationAction, intent: Intent, d: V1Deployment, effect?: { changes: readonly FieldChange[]; after?: unknown }): PreState {
  switch (action.spec.type) {
    case "scale":
      return scalePreState(intent.fromReplicas ?? d.spec?.replicas ?? 1, intent.replicas ?? d.spec?.replicas ?? 1);
    case "patch":
      return patchPreState(effect?.changes ?? [], d, effect?.after);
    case "restart":
      return notReversible(NOT_REVERSIBLE.restart);
    case "delete-pod":
      return notReversible(NOT_REVERSIBLE["delete-pod"]);
    case "revert":
      return notReversible(NOT_REVERSIBLE.revert);
  }
}

/** Did the recorded intent already take effect (a crash between acting and recording)? */
export function alreadyApplied(action: RemediationAction, intent: Intent, d: V1Deployment | undefined, targetPods: readonly V1Pod[], stamp: string | undefined): boolean {
  switch (action.spec.type) {
    case "scale":
    case "patch":
    case "revert":
      return stamp === action.metadata.uid;
    case "restart":
      return d?.spec?.template?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"] === intent.restartedAt;
    case "delete-pod":
      return !targetPods.some((p) => p.metadata?.uid === intent.podUID && !p.metadata?.deletionTimestamp);
  }
}
