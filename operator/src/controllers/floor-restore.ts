// The end of a raised autoscaler floor (policy autoscaler.mode AdjustAutoscaler):
// when the action's intent.autoscaler.restoreAt has passed, the operator creates
// the revert of that action (type revert, spec.revertOf), and the revert path
// restores the previous floor — only while the floor still holds the value the
// action set; otherwise the revert ends Blocked TargetChangedSinceAction naming
// the field manager that changed it, and the floor is left as it is. Keyed by
// action; the revert's name is derived from the action's, so a retried or
// replayed create meets AlreadyExists and the floor is restored at most once.
// Restoring the floor does not scale the Deployment down: the autoscaler does
// that from its metrics.
import { ConditionType } from "../api/v1alpha1/reasons.ts";
import { LABELS, type RemediationAction } from "../api/v1alpha1/objects.ts";
import type { KubeApi } from "../k8s/api.ts";
import { isAlreadyExists } from "../k8s/errors.ts";
import { createAction } from "../k8s/smartops.ts";
import { fnv1a32 } from "../remediation/names.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Cache } from "./cache.ts";
import { BY_TARGET, type Indexed, targetKey } from "./indexes.ts";
import type { ReconcileResult } from "./reconcile.ts";

export interface FloorRestoreDeps {
  api: KubeApi;
  actions: Cache<RemediationAction> & Indexed<RemediationAction>;
  log: Logger;
  now?: () => number;
  /** Throws when this replica may no longer act (lost the lease). */
  guard?: () => void;
}

const executed = (a: RemediationAction) => a.status?.conditions?.some((c) => c.type === ConditionType.Executed && c.status === "True") ?? false;

/** An action that raised an autoscaler's floor and has not been undone: its restore is due at restoreAt. */
export function raisedFloor(a: RemediationAction): boolean {
  const i = a.status?.intent?.autoscaler;
  return !a.spec.dryRun && a.spec.type !== "revert" && i?.toMinReplicas !== undefined && i.restoreAt !== undefined && executed(a) && !a.status?.revertedBy;
}

/** The name of the revert that ends `action`'s raised floor: derived, so every replica and retry derives the same. */
export function restoreName(action: string): string {
  const suffix = "-restore-floor";
  return action.length + suffix.length <= 253 ? `${action}${suffix}` : `${action.slice(0, 253 - suffix.length - 9).replace(/[-.]+$/, "")}-${fnv1a32(action)}${suffix}`;
}

export class FloorRestoreController {
  private readonly d: FloorRestoreDeps;
  private readonly now: () => number;

  constructor(deps: FloorRestoreDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const a = this.d.actions.get(namespace, name);
    if (!a || !raisedFloor(a)) return {};
    // Undone already, or being undone (a human's revert, an automatic revert after a failed verification).
    const reverts = this.d.actions.byIndex(BY_TARGET, targetKey(a)).filter((o) => o.spec.type === "revert" && o.spec.revertOf === name && !o.spec.dryRun);
    if (reverts.length > 0) return {};
    const i = a.status!.intent!.autoscaler!;
    const due = Date.parse(i.restoreAt!);
    const now = this.now();
    if (Number.isFinite(due) && now < due) return { requeueAfterMs: due - now };
    const revert: RemediationAction = {
      apiVersion: "smartops.io/v1alpha1",
      kind: "RemediationAction",
      metadata: { name: restoreName(name), namespace, labels: { ...(a.metadata.labels?.[LABELS.target] ? { [LABELS.target]: a.metadata.labels[LABELS.target] } : {}) } },
      spec: {
        type: "revert",
        target: { kind: "Deployment", namespace, name: a.spec.target.name },
        revertOf: name,
        dryRun: false,
        verify: true,
        verifyTimeoutSeconds: 60,
        source: "policy-engine",
        reason: `the floor of ${i.kind} ${i.name} raised by ${name} (${i.fromMinReplicas ?? "unset"} -> ${i.toMinReplicas}) held until ${i.restoreAt} (policy autoscaler.adjustSeconds): restoring it`,
      },
    };
    this.d.guard?.();
    try {
      await createAction(this.d.api, revert);
      this.d.log.info("raised autoscaler floor ended: revert created", { action: `${namespace}/${name}`, revert: revert.metadata.name });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    return {};
  }
}
