// Shadow policies: a GuardrailPolicy with mode Shadow never changes what happens.
// When an action is judged, each covering shadow policy is judged beside the
// enforced ones — the guardrails with the enforced policies and that one
// combined, as if it were enforced — and the result is recorded on the action
// and counted, agreeing or not. The way to trial a stricter policy in production
// before enforcing it.
import type { V1Deployment } from "@kubernetes/client-node";
import type { RemediationActionStatus } from "../../api/v1alpha1/remediation-action.ts";
import { evaluateGuardrails, type GuardrailDecision } from "../../remediation/guardrails.ts";
import { effectivePolicy } from "../../remediation/policy.ts";
import { shadowDecisionsTotal } from "../../telemetry/metrics.ts";
import { coveringPolicies, shadowPolicies } from "../policies.ts";
import { type ActionContext, guardrailInput } from "./context.ts";
import type { PatchEffect } from "./patch-effect.ts";

type ShadowDecision = NonNullable<RemediationActionStatus["shadowDecisions"]>[number];

const verdictOf = (d: GuardrailDecision) => (d.verdict === "block" ? "Blocked" : "Allowed");

export function shadowJudgements(ctx: ActionContext, d: V1Deployment | undefined, changes: PatchEffect["changes"] | undefined): ShadowDecision[] {
  const a = ctx.action;
  if (a.spec.type === "revert") return [];
  const target = { namespace: a.metadata.namespace, name: a.spec.target.name, labels: d?.metadata?.labels };
  const shadows = shadowPolicies(target, ctx.deps.policies, ctx.deps.operatorNamespace);
  if (shadows.length === 0) return [];
  const enforced = coveringPolicies(target, ctx.deps.policies, ctx.deps.operatorNamespace);
  const input = guardrailInput(ctx, d, changes);
  const actual = evaluateGuardrails({ ...input, policy: effectivePolicy(enforced) });
  return shadows.slice(0, 16).map((p) => {
    const would = evaluateGuardrails({ ...input, policy: effectivePolicy([...enforced, p]) });
    const agrees = verdictOf(would) === verdictOf(actual) && (would.verdict !== "block" || actual.verdict !== "block" || would.reason === actual.reason);
    shadowDecisionsTotal.inc({ result: agrees ? "agree" : "disagree", reason: would.verdict === "block" ? would.reason : "Allowed" });
    return {
      policy: `${p.metadata.namespace}/${p.metadata.name}`,
      verdict: verdictOf(would),
      ...(would.verdict === "block" ? { reason: would.reason } : {}),
      agrees,
      message: would.message.slice(0, 1024),
    };
  });
}
