// The effective guardrail policy of one target, from the policies in the cache.
// Only policies in the target's namespace or the operator's namespace can cover it.
import type { GuardrailPolicy } from "../api/v1alpha1/objects.ts";
import { effectivePolicy, type EffectivePolicy, policyCovers, type TargetRef } from "../remediation/policy.ts";
import type { Cache } from "./cache.ts";

/** The names a status records of the policies that judged an action (status.guardrailPolicies: at most 16). */
export const policyNames = (policy: EffectivePolicy): string[] => policy.sources.slice(0, 16).map((s) => s.split("/")[1] ?? s);

/** Every policy covering the target, enforced and shadow alike. */
function allCovering(target: TargetRef, policies: Cache<GuardrailPolicy>, operatorNamespace: string): GuardrailPolicy[] {
  const candidates = policies.list(target.namespace);
  if (operatorNamespace !== target.namespace) candidates.push(...policies.list(operatorNamespace));
  return candidates.filter((p) => policyCovers(p, target, operatorNamespace));
}

const isShadow = (p: GuardrailPolicy) => p.spec.mode === "Shadow";

/** The enforced policies covering the target: what decides. */
export function coveringPolicies(target: TargetRef, policies: Cache<GuardrailPolicy>, operatorNamespace: string): GuardrailPolicy[] {
  return allCovering(target, policies, operatorNamespace).filter((p) => !isShadow(p));
}

/** The shadow policies covering the target: each judged beside the enforced ones, never deciding. */
export function shadowPolicies(target: TargetRef, policies: Cache<GuardrailPolicy>, operatorNamespace: string): GuardrailPolicy[] {
  return allCovering(target, policies, operatorNamespace).filter(isShadow);
}

export function policyFor(target: TargetRef, policies: Cache<GuardrailPolicy>, operatorNamespace: string): EffectivePolicy {
  return effectivePolicy(coveringPolicies(target, policies, operatorNamespace));
}
