// GuardrailPolicy: the limits that automation must stay within, kept in Git by
// platform owners. Unset fields take the built-in defaults (server-side defaulting),
// so every stored policy is complete; overlapping policies combine to the most
// restrictive value of each field.
import { z } from "zod";
import { conditions, dnsLabel, labelSelector, observedGeneration, probability, withCel } from "./meta.ts";
import { actionType } from "./remediation-action.ts";

/**
 * The default patch safelist, as paths with [] for any list index and ["key"] for
 * a map key holding '.' or '/' (a quoted key ending in * names every key with that
 * prefix). Pod labels are not allowed: they select Services' endpoints and
 * NetworkPolicy peers, so a label patch moves pods into another traffic or policy
 * group. Allow the few label keys you need explicitly, e.g.
 * spec.template.metadata.labels["example.com/canary"].
 */
export const DEFAULT_PATCH_ALLOWED_PATHS = [
  "spec.template.metadata.annotations",
  "spec.replicas",
  "spec.template.spec.containers[].resources",
] as const;

/**
 * What a patch may never change, even under a broader allow list. Pod-spec fields
 * that run other code, widen privileges or reach other identities and networks;
 * and the pod annotations that do the same through admission controllers and
 * node agents (each one is explained in docs/guardrails.md).
 */
export const DEFAULT_PATCH_DENIED_PATHS = [
  "spec.template.spec.containers[].image",
  "spec.template.spec.initContainers[].image",
  "spec.template.spec.ephemeralContainers",
  "spec.template.spec.containers[].command",
  "spec.template.spec.containers[].args",
  "spec.template.spec.containers[].envFrom",
  "spec.template.spec.containers[].env[].valueFrom",
  "spec.template.spec.securityContext",
  "spec.template.spec.containers[].securityContext",
  "spec.template.spec.initContainers[].securityContext",
  "spec.template.spec.hostNetwork",
  "spec.template.spec.hostPID",
  "spec.template.spec.hostIPC",
  "spec.template.spec.volumes",
  "spec.template.spec.tolerations",
  "spec.template.spec.nodeSelector",
  "spec.template.spec.serviceAccountName",
  "spec.template.spec.serviceAccount",
  "spec.template.spec.automountServiceAccountToken",
  "spec.template.spec.hostAliases",
  'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/*"]',
  'spec.template.metadata.annotations["seccomp.security.alpha.kubernetes.io/*"]',
  'spec.template.metadata.annotations["container.seccomp.security.alpha.kubernetes.io/*"]',
  'spec.template.metadata.annotations["sidecar.istio.io/*"]',
  'spec.template.metadata.annotations["traffic.sidecar.istio.io/*"]',
  'spec.template.metadata.annotations["linkerd.io/inject"]',
  'spec.template.metadata.annotations["config.linkerd.io/*"]',
  'spec.template.metadata.annotations["vault.hashicorp.com/*"]',
  'spec.template.metadata.annotations["iam.amazonaws.com/*"]',
  'spec.template.metadata.annotations["k8s.v1.cni.cncf.io/*"]',
  'spec.template.metadata.annotations["cni.projectcalico.org/*"]',
] as const;

const patchPath = z
  .string()
  .min(1)
  .max(512)
  .regex(
    /^([A-Za-z0-9_-]+|\["[^"\\*]+\*?"\])(\.[A-Za-z0-9_-]+|\[\]|\["[^"\\*]+\*?"\])*$/,
    'must be a path such as spec.template.spec.containers[].resources, with [] for any list index and ["key"] for a key holding . or / (a quoted key may end in * to name every key with that prefix)',
  );

const seconds = (max: number) => z.int32().min(0).max(max);

export const cooldowns = z
  .object({
    scale: seconds(86400).default(300).describe("Seconds between two scale actions on one Deployment."),
    restart: seconds(86400).default(300).describe("Seconds between two restarts of one Deployment (300 by default)."),
    patch: seconds(86400).default(300).describe("Seconds between two patches of one Deployment."),
    deletePod: seconds(86400).default(300).describe("Seconds between two pod evictions on one Deployment."),
  })
  .strict();

export const approvalTier = z.enum(["None", "Required"]);

const ruleAction = z.enum(["scale-up", "restart", "delete-pod", "none"]);

/** Longest PromQL text of a metric check. */
export const METRIC_QUERY_MAX_LENGTH = 2048;

export const metricCheck = z
  .object({
    query: z
      .string()
      .min(1)
      .max(METRIC_QUERY_MAX_LENGTH)
      .describe("PromQL instant query returning one series (aggregate in the query); $namespace, $deployment and $service are replaced by the action's values, e.g. sum(rate(http_errors_total{namespace=\"$namespace\"}[1m]))."),
    comparison: z.enum(["<", "<=", ">", ">=", "==", "!="]).describe("How the outcome is compared with the threshold."),
    threshold: z.number().describe("The action is effective on this check when the query's value at the end of the window compares true with it."),
  })
  .strict()
  .describe("A metric that decides effectiveness with the signals: evaluated when the window starts (baseline) and when it ends (outcome), against the Prometheus the operator is configured with.");

/** Our default escalation ladder (restart, then more capacity, then a human). */
export const DEFAULT_LADDER = ["restart", "scale-up", "notify"] as const;
const ladderStep = z.enum(["restart", "scale-up", "delete-pod", "notify"]);
const ladder = z
  .array(ladderStep)
  .min(1)
  .max(8)
  .default([...DEFAULT_LADDER])
  .describe("Steps in order. When the last action for a service and this kind was ineffective, the next signal takes the step after it; notify acts on nothing and tells a human (Event and webhooks).");

const revertOrKeep = z.enum(["Revert", "Keep"]);
const gitOpsMode = z.enum(["Block", "Allow"]);
/** A field manager as the API server accepts it: at most 128 printable characters. */
const fieldManagerName = z.string().min(1).max(128).regex(/^[\x21-\x7e][\x20-\x7e]*$/, "must be a field manager name: printable ASCII, at most 128 characters");


/**
 * How long terminal objects of the covered namespaces stay in etcd; unset fields
 * keep the operator's settings. Where several policies set one, the longest TTL
 * and the largest count win (deleting less is the safe side).
 */
export const retention = z
  .object({
    signals: z
      .object({
        ttlSeconds: z.int32().min(60).max(31536000).optional().describe("Seconds a terminal signal is kept after its creation."),
        maxPerNamespace: z.int32().min(1).max(1000000).optional().describe("Most terminal signals kept per namespace and kind (the newest)."),
      })
      .strict()
      .optional()
      .describe("Terminal AnomalySignals and RcaSignals."),
    actions: z
      .object({
        ttlSeconds: z.int32().min(60).max(31536000).optional().describe("Seconds a terminal action is kept after it completed."),
        maxPerTarget: z.int32().min(1).max(100000).optional().describe("Most terminal actions kept per Deployment (the newest)."),
      })
      .strict()
      .optional()
      .describe("Terminal RemediationActions."),
  })
  .strict()
  .describe("Retention of terminal signals and actions in the policy's namespaces (docs/deployment.md#retention). Never shortens what a guardrail, effectiveness or undo window, an approval or an unwritten audit record needs.");

export const guardrailPolicySpec = z
  .object({
    mode: z
      .enum(["Enforce", "Shadow"])
      .default("Enforce")
      .describe("Enforce: the policy judges actions. Shadow: it never changes what happens; each action on a covered target records what the enforced policies together with this one would have decided (status.shadowDecisions), to trial a policy before enforcing it."),
    paused: z.boolean().default(false).describe("Kill switch: when true no action on a covered target is executed; they end Blocked with reason PolicyPaused."),
    targets: z
      .object({
        namespaces: z
          .array(dnsLabel)
          .max(64)
          .optional()
          .describe("Namespaces covered. Empty: the policy's own namespace. Other namespaces are honoured only for policies in the operator's namespace."),
        selector: labelSelector.optional().describe("Deployments covered, by label. Empty: every Deployment."),
      })
      .strict()
      .default({})
      .describe("Which Deployments the policy covers."),
    replicas: withCel(
      z
        .object({
          min: z.int32().min(0).max(1000).default(1).describe("Fewest replicas an action may leave."),
          max: z.int32().min(1).max(1000).default(8).describe("Most replicas an action may set (8 by default)."),
          maxStep: z.int32().min(1).max(1000).default(2).describe("Largest change of replicas in one action."),
        })
        .strict()
        .refine((r) => r.min <= r.max, { message: "min must not exceed max", path: ["min"] }),
      [{ rule: "self.min <= self.max", message: "min must not exceed max", fieldPath: ".min" }],
    )
      .default({ min: 1, max: 8, maxStep: 2 })
      .describe("Replica caps for scale actions."),
    cooldownSeconds: cooldowns.default({ scale: 300, restart: 300, patch: 300, deletePod: 300 }).describe("Cooldown per (namespace, Deployment, action type)."),
    rateLimits: z
      .object({
        maxActionsPerHour: z.int32().min(0).max(10000).default(6).describe("Most actions per Deployment and action type in any 60 minutes."),
        maxScaleIncreasePer15Minutes: z.int32().min(0).max(1000).default(3).describe("Most replicas added to one Deployment in any 15 minutes."),
      })
      .strict()
      .default({ maxActionsPerHour: 6, maxScaleIncreasePer15Minutes: 3 })
      .describe("Rate limits that hold across restarts, replicas and leader changes."),
    patch: z
      .object({
        allowedPaths: z.array(patchPath).max(64).default([...DEFAULT_PATCH_ALLOWED_PATHS]).describe("Paths a patch may touch (a path and everything below it)."),
        deniedPaths: z.array(patchPath).max(64).default([...DEFAULT_PATCH_DENIED_PATHS]).describe("Paths a patch may never touch; deny wins over allow."),
      })
      .strict()
      .default({ allowedPaths: [...DEFAULT_PATCH_ALLOWED_PATHS], deniedPaths: [...DEFAULT_PATCH_DENIED_PATHS] })
      .describe("Patch safelist, checked on the paths a patch really touches."),
    approval: z
      .object({
        scale: approvalTier.default("None").describe("Whether scale actions wait for a human."),
        restart: approvalTier.default("None").describe("Whether restarts wait for a human (by default a single restart needs none: it is reversible)."),
        patch: approvalTier.default("None").describe("Whether patches wait for a human."),
        deletePod: approvalTier.default("None").describe("Whether evictions wait for a human."),
        revert: approvalTier.default("None").describe("Whether reverts (undoing an earlier action, type revert) wait for a human. Its own tier, not the undone action's: an undo restores values the target already had, so by default it needs none."),
        timeoutSeconds: z.int32().min(10).max(604800).default(1800).describe("How long an action waits for approval before it ends Expired."),
      })
      .strict()
      .default({ scale: "None", restart: "None", patch: "None", deletePod: "None", revert: "None", timeoutSeconds: 1800 })
      .describe("Human-approval tiers per action type."),
    signals: z
      .object({
        minScore: probability.default(0).describe("Anomaly signals scoring below this produce no action."),
        minConfidence: probability.default(0).describe("Signals with a confidence below this produce no action."),
        unverified: z
          .enum(["DryRun", "Ignore"])
          .default("DryRun")
          .describe("What to do with a signal lacking modelVersion, confidence or causes: force its action to dry-run, or ignore it."),
        scaleStep: z.int32().min(1).max(10).default(1).describe("Replicas a scale-up rule adds."),
      })
      .strict()
      .default({ minScore: 0, minConfidence: 0, unverified: "DryRun", scaleStep: 1 })
      .describe("How signals are admitted and turned into actions."),
    rules: z
      .object({
        anomaly: z
          .array(z.object({ type: z.string().min(1).max(63).describe("Anomaly type."), action: ruleAction.describe("Action to take."), check: metricCheck.optional() }).strict())
          .max(32)
          .optional()
          .describe("Overrides of the anomaly type -> action table; unlisted types keep the defaults."),
        rca: z
          .array(z.object({ cause: z.string().min(1).max(63).describe("RCA cause."), action: ruleAction.describe("Action to take."), check: metricCheck.optional() }).strict())
          .max(32)
          .optional()
          .describe("Overrides of the RCA cause -> action table; unlisted causes keep the defaults."),
      })
      .strict()
      .optional()
      .describe("Signal -> action rules; the defaults are listed in docs/guardrails.md."),
    onFailure: z
      .object({
        scale: revertOrKeep.default("Revert").describe("Revert: when a scale's verification fails, the operator undoes it (a revert action); Keep: it stays for a human."),
        patch: revertOrKeep.default("Revert").describe("Revert: when a patch's verification fails, the operator undoes it; Keep: it stays for a human."),
      })
      .strict()
      .default({ scale: "Revert", patch: "Revert" })
      .describe("What happens to an action whose verification fails (timeout, crash loop, progress deadline). Restarts and evictions cannot be undone, so they have no entry."),
    effectiveness: z
      .object({
        windowSeconds: z.int32().min(10).max(86400).default(300).describe("How long after an action succeeds the signals (and metric checks) decide whether it worked."),
      })
      .strict()
      .default({ windowSeconds: 300 })
      .describe("Whether a succeeded action fixed the problem: an anomaly of the same type or an RCA with the same top cause inside the window makes it ineffective."),
    escalation: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe("Whether the ladder replaces an action that did not work. False: every signal takes its rule's action (for a problem where repeating it is right, e.g. scale-ups under rising load — the caps and rate limits still hold); the RepeatedFailures stop still applies."),
        ladders: z
          .object({ anomaly: ladder, rca: ladder })
          .strict()
          .default({ anomaly: [...DEFAULT_LADDER], rca: [...DEFAULT_LADDER] })
          .describe("One ladder per signal kind."),
        maxConsecutiveFailures: z
          .int32()
          .min(1)
          .max(100)
          .default(3)
          .describe("Failed or ineffective actions in a row on one Deployment after which automatic actions on it are blocked (RepeatedFailures) until a human resumes it."),
        blockExpirySeconds: z
          .int32()
          .min(60)
          .max(2592000)
          .optional()
          .describe("When set, a RepeatedFailures block lifts this long after the last failure; unset, only a human resumes."),
      })
      .strict()
      .default({ enabled: true, ladders: { anomaly: [...DEFAULT_LADDER], rca: [...DEFAULT_LADDER] }, maxConsecutiveFailures: 3 })
      .describe("What happens when actions do not work: the next step of a ladder, then a block."),
    gitops: z
      .object({
        scale: gitOpsMode.default("Block").describe("Scales of a GitOps-managed Deployment: Block, or Allow (drift the next sync reverts)."),
        restart: gitOpsMode.default("Allow").describe("Restarts of a GitOps-managed Deployment (Git does not undo them)."),
        patch: gitOpsMode.default("Block").describe("Patches of a GitOps-managed Deployment: Block, or Allow (drift the next sync reverts)."),
        deletePod: gitOpsMode.default("Allow").describe("Evictions of a GitOps-managed Deployment's pods (Git does not undo them)."),
      })
      .strict()
      .default({ scale: "Block", restart: "Allow", patch: "Block", deletePod: "Allow" })
      .describe("Actions on Deployments that Argo CD (tracking annotation, or instance label when the operator is told Argo CD tracks by label) or Flux (kustomize/helm toolkit labels) apply from Git. Block ends the action with ManagedByGitOps; Allow records the drift in status.drift and a Warning Event."),
    fieldConflicts: z
      .object({
        mode: z.enum(["Block", "Force"]).default("Block").describe("A scale or patch changing a field a protected field manager owns: Block (FieldOwnedByOtherManager) or Force (change it; the owner is recorded in status.previousOwners)."),
        protectedManagers: z
          .array(fieldManagerName)
          .max(32)
          .default([])
          .describe("Field managers protected on top of the defaults (argocd-controller, argocd-application-controller, kustomize-controller, helm-controller, helm)."),
      })
      .strict()
      .default({ mode: "Block", protectedManagers: [] })
      .describe("Fields owned by other field managers (metadata.managedFields). Fields owned by unprotected managers (kubectl, CI tools) are changed and their previous owner recorded in status.previousOwners."),
    retention: retention.optional(),
    autoscaler: z
      .object({
        mode: z
          .enum(["Block", "AdjustAutoscaler"])
          .default("Block")
          .describe("What a scale (or a patch of spec.replicas) of a Deployment that a HorizontalPodAutoscaler or KEDA ScaledObject scales does. Block: it ends Blocked with reason ManagedByAutoscaler naming the autoscaler. AdjustAutoscaler: instead of the Deployment, the autoscaler's floor (HPA spec.minReplicas, ScaledObject spec.minReplicaCount) is raised to the requested replicas, capped by replicas.max and the autoscaler's max, for adjustSeconds; then the previous floor is restored."),
        adjustSeconds: z
          .int32()
          .min(10)
          .max(86400)
          .default(1800)
          .describe("How long a floor raised by AdjustAutoscaler holds before the operator restores the previous one (a revert action). Restoring the floor does not scale the Deployment down by itself: the autoscaler does that from its metrics."),
      })
      .strict()
      .default({ mode: "Block", adjustSeconds: 1800 })
      .describe("Deployments scaled by an autoscaler: block a scale, or raise the autoscaler's floor for a while."),
    allowedActions: z
      .array(actionType)
      .max(4)
      .optional()
      .describe("Action types allowed on covered targets. Empty: all. A revert is allowed wherever the type of the action it undoes is allowed (revert is not listed here); approval.revert and paused govern reverts."),
  })
  .strict()
  .describe("Limits for automation on the covered Deployments.");

export const guardrailPolicyStatus = z
  .object({
    observedGeneration: observedGeneration.optional(),
    selectedTargets: z.int32().min(0).optional().describe("How many Deployments the policy covers now."),
    conditions: conditions.optional(),
  })
  .strict()
  .describe("Whether the policy is valid and what it covers.");

export type GuardrailPolicySpec = z.infer<typeof guardrailPolicySpec>;
export type MetricCheck = z.infer<typeof metricCheck>;
export type LadderStep = z.infer<typeof ladderStep>;
export type GuardrailPolicyStatus = z.infer<typeof guardrailPolicyStatus>;
