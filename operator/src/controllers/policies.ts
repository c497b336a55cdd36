// The effective guardrail policy of one target, from the policies in the cache.
// Only policies in the target's namespace or the operator's namespace can cover it.
import type { GuardrailPolicy } from "../api/v1alpha1/objects.ts";
import { effectivePolicy, type EffectivePolicy, policyCovers, type TargetRef } from "../remediation/policy.ts";
import type { Cache } from "./cache.ts";

export function coveringPolicies(target: TargetRef, policies: Cache<GuardrailPolicy>, operatorNamespace: string): GuardrailPolicy[] {
  const candidates = policies.list(target.namespace);
  if (operatorNamespace !== target.namespace) candidates.push(...policies.list(operatorNamespace));
  return candidates.filter((p) => policyCovers(p, target, operatorNamespace));
}

export function policyFor(target: TargetRef, policies: Cache<GuardrailPolicy>, operatorNamespace: string): EffectivePolicy {
  return effectivePolicy(coveringPolicies(target, policies, operatorNamespace));
}
