// The seed orchestrator's request bodies (seed 000 §3 and §6), as zod schemas.
// Signal bodies are the CRD specs themselves plus an optional namespace; action
// bodies keep the seed's snake_case and are mapped onto a RemediationAction spec.
import { z } from "zod";
import { dnsLabel, dnsSubdomain } from "../api/v1alpha1/meta.ts";
import { ACTION_TYPES } from "../api/v1alpha1/remediation-action.ts";

export const SHIM_SOURCES = ["manual", "policy-engine", "ai-agent"] as const;

const namespace = dnsLabel.optional().describe("Namespace of the object; the shim's default namespace when absent.");
const dryRun = z.boolean().optional().describe("Run guardrails and a server-side dry run only.");
const verify = z.boolean().optional().describe("Verify the rollout and wait for the outcome before answering (default false: answer 202 at once).");
const verifyTimeout = z.int().min(1).max(3600).optional().describe("Seconds one verification attempt may take (default 60).");
const reason = z.string().max(1024).optional().describe("Why the action was requested, for the audit trail.");
const source = z.enum(SHIM_SOURCES).optional().describe("Who asks: manual (default), policy-engine or ai-agent.");

/**
 * A patch as agents send it: one RFC 6902 op, a list of ops, or a merge-patch
 * object. Its depth, numbers and size are checked when it becomes the action's
 * patch text (mapping.ts), with the limits the operator parses it with.
 */
export const patchBody = z
  .union([
    z.array(z.record(z.string(), z.unknown())).min(1).max(32),
    z.record(z.string(), z.unknown()).describe("RFC 7386 merge patch, or one RFC 6902 operation {op, path, value}.").meta({ type: "object" }),
  ])
  .describe("An RFC 7386 merge patch object, one RFC 6902 operation ({op, path, value}) or a list of them.");

const common = { namespace, dry_run: dryRun, verify, verify_timeout_seconds: verifyTimeout, reason, source };

export const scaleRequest = z
  .object({ ...common, deployment: dnsSubdomain.describe("Deployment name; erp-simulator resolves to smartops-erp-simulator."), replicas: z.int().min(0).max(1000).describe("Desired replicas (absolute).") })
  .strict();
/** A revert of the action named in the path: its target is the action's own. */
export const revertRequest = z.object({ ...common, namespace: dnsLabel.optional().describe("Namespace of the action to revert; the shim's default namespace when absent.") }).strict();
export const restartRequest = z.object({ ...common, deployment: dnsSubdomain.describe("Deployment name.") }).strict();
export const patchRequest = z.object({ ...common, deployment: dnsSubdomain.describe("Deployment name."), patch: patchBody }).strict();

/**
 * Which section of an execute request each action type needs and allows: the
 * cross-field rules that field schemas alone cannot say. The validation below and
 * the OpenAPI document are both made from this list.
 */
export const EXECUTE_SECTIONS = [
  { section: "scale", type: "scale", requires: "scale.replicas" },
  { section: "patch", type: "patch", requires: "patch.patch" },
  { section: "delete_pod", type: "delete-pod", requires: undefined },
] as const;

const executeFields = z
  .object({
    type: z.enum(ACTION_TYPES).describe("scale, restart, patch or delete-pod."),
    target: z
      .object({
        kind: z.literal("Deployment").optional().describe("Only Deployment."),
        namespace,
        name: dnsSubdomain.describe("Deployment name."),
      })
      .strict(),
    scale: z.object({ replicas: z.int().min(0).max(1000) }).strict().optional(),
    patch: z.object({ patch: patchBody }).strict().optional(),
    delete_pod: z
      .object({ pod_name: dnsSubdomain.optional(), not_ready_threshold_seconds: z.int().min(0).max(86400).optional() })
      .strict()
      .optional(),
    dry_run: dryRun,
    verify,
    verify_timeout_seconds: verifyTimeout,
    reason,
    source,
  })
  .strict();

export const executeRequest = executeFields.superRefine((r, ctx) => {
  for (const s of EXECUTE_SECTIONS) {
    if (s.requires !== undefined && r.type === s.type && r[s.section] === undefined) ctx.addIssue({ code: "custom", message: `type ${s.type} requires ${s.requires}`, path: [s.section] });
  }
  for (const s of EXECUTE_SECTIONS) {
    if (r.type !== s.type && r[s.section] !== undefined) ctx.addIssue({ code: "custom", message: `${s.section} is only allowed with type ${s.type}`, path: [s.section] });
  }
});

export const verifyDeploymentRequest = z
  .object({
    namespace,
    deployment: dnsSubdomain.describe("Deployment name."),
    timeout_seconds: z.number().min(0).max(600).optional().describe("How long to wait for the rollout (default 60, at most 600)."),
    poll_interval_seconds: z.number().min(0.1).max(60).optional().describe("How often to look (default 5)."),
  })
  .strict();

export type ScaleRequest = z.infer<typeof scaleRequest>;
export type RestartRequest = z.infer<typeof restartRequest>;
export type RevertRequest = z.infer<typeof revertRequest>;
export type PatchRequest = z.infer<typeof patchRequest>;
export type ExecuteRequest = z.infer<typeof executeRequest>;
export type VerifyDeploymentRequest = z.infer<typeof verifyDeploymentRequest>;
