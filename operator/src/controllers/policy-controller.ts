// The GuardrailPolicy reconciler: reports what CEL cannot check, and how many
// Deployments the policy covers now. Policies take effect through policyFor();
// this controller only makes their state visible.
import type { V1Deployment } from "@kubernetes/client-node";
import { setCondition } from "../api/v1alpha1/conditions.ts";
import type { GuardrailPolicyStatus } from "../api/v1alpha1/guardrail-policy.ts";
import type { GuardrailPolicy } from "../api/v1alpha1/objects.ts";
import { ConditionType, Reason } from "../api/v1alpha1/reasons.ts";
import type { KubeApi } from "../k8s/api.ts";
import { writeStatus } from "../k8s/smartops.ts";
import { policyCovers, validatePolicy } from "../remediation/policy.ts";
import type { Cache } from "./cache.ts";
import type { ReconcileResult } from "./reconcile.ts";

export interface PolicyControllerDeps {
  api: KubeApi;
  policies: Cache<GuardrailPolicy>;
  deployments: Cache<V1Deployment>;
  operatorNamespace: string;
  now?: () => number;
  /** Throws when this replica may no longer act (lost the lease). */
  guard?: () => void;
}

export class PolicyController {
  private readonly d: PolicyControllerDeps;

  constructor(deps: PolicyControllerDeps) {
    this.d = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const policy = this.d.policies.get(namespace, name);
    if (!policy) return {};
    const { errors, warnings } = validatePolicy(policy, this.d.operatorNamespace);
    const namespaces = policy.metadata.namespace === this.d.operatorNamespace && policy.spec.targets?.namespaces?.length
      ? policy.spec.targets.namespaces
      : [policy.metadata.namespace];
    const selected = namespaces
      .flatMap((ns) => this.d.deployments.list(ns))
      .filter((dep) => policyCovers(policy, { namespace: dep.metadata!.namespace!, name: dep.metadata!.name!, labels: dep.metadata?.labels }, this.d.operatorNamespace)).length;

    const valid = errors.length === 0;
    const message = valid
      ? `covers ${selected} Deployment(s)${warnings.length ? `; warnings: ${warnings.map((w) => w.message).join("; ")}` : ""}`
      : `invalid: ${errors.join("; ")}`;
    const reason = valid ? (warnings.some((w) => w.code === "NamespacesIgnored") ? Reason.NamespacesIgnored : Reason.PolicyValid) : Reason.PolicyInvalid;
    const prev = policy.status;
    const ready = prev?.conditions?.find((c) => c.type === ConditionType.Ready);
    if (prev && prev.observedGeneration === policy.metadata.generation && prev.selectedTargets === selected && ready?.message === message && ready.reason === reason) return {};
    const status: GuardrailPolicyStatus = {
      observedGeneration: policy.metadata.generation,
      selectedTargets: selected,
      conditions: setCondition(prev?.conditions, {
        type: ConditionType.Ready,
        status: valid ? "True" : "False",
        reason,
        message,
        observedGeneration: policy.metadata.generation,
      }, new Date((this.d.now ?? Date.now)())),
    };
    this.d.guard?.();
    await writeStatus(this.d.api, policy, status);
    return {};
  }
}
