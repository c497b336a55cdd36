// RemediationAction: one action on one target. Carries what the shim's execute
// request carries (type, target, scale, patch, dryRun, verify, verifyTimeoutSeconds, reason),
// plus where it came from and who approved it. The spec is immutable once
// created except for a one-time approval, so the audit trail cannot be rewritten.
import { z } from "zod";
import { conditions, dnsLabel, dnsSubdomain, observedGeneration, timestamp, withCel } from "./meta.ts";

/** The types that change a Deployment forward: what policies allow, rules produce and the shim's execute accepts. */
export const ACTION_TYPES = ["scale", "restart", "patch", "delete-pod"] as const;
export const actionType = z.enum(ACTION_TYPES);
export type ActionType = z.infer<typeof actionType>;
/** Every type a RemediationAction may have: the forward types and `revert`, the undo of an earlier action (spec.revertOf). */
export const SPEC_ACTION_TYPES = [...ACTION_TYPES, "revert"] as const;
export const specActionType = z.enum(SPEC_ACTION_TYPES);
export type SpecActionType = z.infer<typeof specActionType>;

export const ACTION_SOURCES = ["closed-loop", "manual", "policy-engine", "ai-agent"] as const;

export const target = z
  .object({
    kind: z.literal("Deployment").default("Deployment").describe("Kind of the target; only Deployment is supported."),
    namespace: dnsLabel
      .optional()
      .describe("Namespace of the target. Must equal the action's own namespace (an action acts only in its namespace, so RBAC can stay namespaced); defaults to it. A different value ends the action Blocked with reason TargetNamespaceMismatch."),
    name: dnsSubdomain.describe("Name of the target Deployment."),
  })
  .strict();
export type Target = z.infer<typeof target>;

/** Longest patch text a RemediationAction stores (characters). */
export const PATCH_TEXT_MAX_LENGTH = 16384;
/**
 * Deepest nesting of objects and lists inside a patch. A Deployment nests about
 * 12 deep; the API server cannot read back objects nested more than 10,000 deep.
 */
export const PATCH_MAX_DEPTH = 32;
/** Most RFC 6902 operations in one json patch. */
export const JSON_PATCH_MAX_OPS = 32;

/** One patch document as bounded JSON text; the operator parses it (remediation/patch-document.ts). */
const patchText = (description: string) => z.string().min(2).max(PATCH_TEXT_MAX_LENGTH).describe(description);

export const patchSpec = withCel(
  z
    .object({
      merge: patchText(
        `RFC 7386 JSON merge patch as JSON text, e.g. '{"spec":{"template":{"metadata":{"annotations":{"a":"b"}}}}}'. A JSON object, nested at most ${PATCH_MAX_DEPTH} deep.`,
      ).optional(),
      strategic: patchText(`Kubernetes strategic merge patch as JSON text: a JSON object, nested at most ${PATCH_MAX_DEPTH} deep.`).optional(),
      json: patchText(
        `RFC 6902 JSON patch as JSON text: a list of 1 to ${JSON_PATCH_MAX_OPS} operations {op, path, from?, value?}, e.g. '[{"op":"replace","path":"/spec/replicas","value":3}]', nested at most ${PATCH_MAX_DEPTH} deep.`,
      ).optional(),
    })
    .strict()
    .refine((p) => [p.merge, p.strategic, p.json].filter((x) => x !== undefined).length === 1, {
      message: "exactly one of merge, strategic or json must be set",
    }),
  [{ rule: "[has(self.merge), has(self.strategic), has(self.json)].filter(x, x).size() == 1", message: "exactly one of merge, strategic or json must be set" }],
).describe(
  "The patch, as JSON text so its size and depth stay bounded; the operator parses it and an action whose text does not parse ends Blocked with reason InvalidPatch. Only paths the guardrail policy's patch safelist allows are applied.",
);

export const approval = z
  .object({
    decision: z.enum(["Approved", "Rejected"]).describe("The approver's decision."),
    approvedBy: z.string().min(1).max(256).describe("User who decided; checked against the requesting user by admission."),
    reason: z.string().max(1024).optional().describe("Why."),
    decidedAt: timestamp.optional().describe("When the decision was made."),
  })
  .strict();
export type Approval = z.infer<typeof approval>;

// A scale is absolute (replicas: what a human asked for, obeyed as given) or
// relative (by: what the closed loop asks for). A relative target is computed when
// the intent is recorded, from a fresh read of the Deployment, so an action that
// waited — in the queue, for approval, across a restart — never applies a number
// decided for a Deployment that has moved since, and never moves replicas against
// the sign of `by`.
export const scaleSpec = withCel(
  z
    .object({
      replicas: z.int32().min(0).max(1000).optional().describe("Absolute replica count. Obeyed as given (also downwards) once the guardrails allow it. Exactly one of replicas and by is set."),
      by: z
        .int32()
        .min(-1000)
        .max(1000)
        .refine((n) => n !== 0, { message: "by must not be 0" })
        .optional()
        .describe("Relative change: replicas to add (positive) or remove (negative), from what the Deployment has when the action executes, within the policy's replica caps. A scale by a positive number never lowers replicas; one that finds nothing to add ends Blocked with MaxReplicasReached (MinReplicasReached for a negative one)."),
      decidedAtReplicas: z.int32().min(0).max(1000).optional().describe("Replicas the Deployment had when the action was decided (audit only; the target is computed at execution)."),
    })
    .strict()
    .refine((s) => (s.replicas === undefined) !== (s.by === undefined), { message: "exactly one of replicas or by must be set" })
    .refine((s) => s.by !== undefined || s.decidedAtReplicas === undefined, { message: "decidedAtReplicas is only allowed with by", path: ["decidedAtReplicas"] }),
  [
    { rule: "has(self.replicas) != has(self.by)", message: "exactly one of replicas or by must be set" },
    { rule: "!has(self.by) || self.by != 0", message: "by must not be 0", fieldPath: ".by" },
    { rule: "has(self.by) || !has(self.decidedAtReplicas)", message: "decidedAtReplicas is only allowed with by", fieldPath: ".decidedAtReplicas", reason: "FieldValueForbidden" },
  ],
).describe("Parameters of a scale action.");
export type ScaleSpec = z.infer<typeof scaleSpec>;

const MUTABLE_SPEC_FIELDS = new Set(["approval"]);
const IMMUTABLE_SPEC_FIELDS = [
  "type", "target", "scale", "patch", "deletePod", "revertOf", "dryRun", "verify",
  "verifyTimeoutSeconds", "reason", "source", "signalRef", "recommendation", "escalation",
] as const;

/** Most ranked causes a recommendation keeps (the most probable first). */
export const RECOMMENDATION_MAX_CAUSES = 5;

/**
 * What the agent recommended, copied from the signal when the action is created,
 * so the audit record holds it even after the signal is gone.
 */
export const recommendation = z
  .object({
    service: z.string().max(253).optional().describe("Service the signal was about."),
    anomalyType: z.string().max(63).optional().describe("For an anomaly: its type. An anomaly of the same type inside the effectiveness window makes the action ineffective."),
    score: z.number().optional().describe("For an anomaly: its score."),
    causes: z
      .array(
        z
          .object({
            svc: z.string().max(253).describe("Service the cause was attributed to."),
            cause: z.string().max(63).describe("The cause."),
            probability: z.number().describe("Its probability."),
          })
          .strict(),
      )
      .max(RECOMMENDATION_MAX_CAUSES)
      .optional()
      .describe(`For an RCA: the ranked causes, most probable first (at most ${RECOMMENDATION_MAX_CAUSES}). An RCA with the same top cause inside the effectiveness window makes the action ineffective.`),
    confidence: z.number().optional().describe("The signal's confidence."),
    explanation: z.string().max(1024).optional().describe("The agent's explanation (first 1024 characters)."),
    modelVersion: z.string().max(128).optional().describe("Version of the model that produced the signal."),
    rule: z.string().max(256).optional().describe("The rule that turned the signal into this action, e.g. latency anomaly -> restart (default rule)."),
  })
  .strict()
  .describe("The recommendation this action carries out, for the audit record.");
export type Recommendation = z.infer<typeof recommendation>;

/** CEL that keeps every spec field but approval from changing, set or unset. */
function immutableExceptApproval(): string {
  return IMMUTABLE_SPEC_FIELDS.filter((f) => !MUTABLE_SPEC_FIELDS.has(f))
    .map((f) => `has(self.${f}) == has(oldSelf.${f}) && (!has(self.${f}) || self.${f} == oldSelf.${f})`)
    .join(" && ");
}

const specObject = z
  .object({
    type: specActionType.describe("What to do: scale, restart (rollout restart), patch, delete-pod (eviction), or revert (undo the action named in revertOf)."),
    target: target.describe("The workload to act on."),
    scale: scaleSpec.optional(),
    patch: patchSpec.optional(),
    deletePod: z
      .object({
        podName: dnsSubdomain
          .optional()
          .describe("Pod to evict. When absent, the target's unhealthy pods (CrashLoopBackOff, OOMKilled, not Ready past the threshold) are evicted one at a time."),
        notReadyThresholdSeconds: z
          .int32()
          .min(0)
          .max(86400)
          .default(120)
          .describe("How long a pod must be not Ready to count as unhealthy."),
      })
      .strict()
      .optional()
      .describe("Parameters of a delete-pod action."),
    revertOf: dnsSubdomain
      .optional()
      .describe("For type revert: the name of the action (in this namespace, on the same target) to undo. The revert restores exactly the fields that action changed, from its status.preState, and only while they still hold the values it set. Required with type revert, forbidden otherwise."),
    dryRun: z.boolean().default(false).describe("Evaluate guardrails and run the mutation as a server-side dry run only."),
    verify: z.boolean().default(true).describe("Wait for the rollout to complete and record the verification."),
    verifyTimeoutSeconds: z.int32().min(1).max(3600).default(60).describe("How long one verification attempt may take."),
    reason: z.string().max(1024).optional().describe("Why the action was requested, for the audit trail."),
    source: z.enum(ACTION_SOURCES).default("manual").describe("Who asked for the action."),
    signalRef: z
      .object({
        kind: z.enum(["AnomalySignal", "RcaSignal"]).describe("Kind of the signal."),
        name: dnsSubdomain.describe("Name of the signal in the action's namespace."),
        uid: z.string().max(64).optional().describe("UID of the signal."),
      })
      .strict()
      .optional()
      .describe("The signal this action was derived from, for closed-loop actions."),
    recommendation: recommendation.optional(),
    escalation: z
      .object({
        from: dnsSubdomain.describe("The earlier action on this target and signal kind that was ineffective or failed."),
        step: z.int32().min(0).max(7).describe("Index of this action's step in the ladder."),
        ladder: z.array(z.string().max(16)).max(8).describe("The ladder as it was when this step was chosen."),
      })
      .strict()
      .optional()
      .describe("Why this action is not the rule's first choice: the previous one did not work, so the ladder's next step was taken."),
    approval: withCel(approval, [{ rule: "self == oldSelf", message: "an approval decision cannot be changed once made" }])
      .optional()
      .describe("A human decision on an action waiting in PendingApproval."),
  })
  .strict();

export const remediationActionSpec = withCel(
  specObject
    .refine((s) => s.type !== "scale" || s.scale !== undefined, { message: "type scale requires scale.replicas or scale.by", path: ["scale"] })
    .refine((s) => s.type !== "patch" || s.patch !== undefined, { message: "type patch requires patch", path: ["patch"] })
    .refine((s) => s.type === "scale" || s.scale === undefined, { message: "scale is only allowed with type scale", path: ["scale"] })
    .refine((s) => s.type === "patch" || s.patch === undefined, { message: "patch is only allowed with type patch", path: ["patch"] })
    .refine((s) => s.type === "delete-pod" || s.deletePod === undefined, { message: "deletePod is only allowed with type delete-pod", path: ["deletePod"] })
    .refine((s) => s.type !== "revert" || s.revertOf !== undefined, { message: "type revert requires revertOf", path: ["revertOf"] })
    .refine((s) => s.type === "revert" || s.revertOf === undefined, { message: "revertOf is only allowed with type revert", path: ["revertOf"] }),
  [
    { rule: "self.type != 'scale' || has(self.scale)", message: "type scale requires scale.replicas or scale.by", fieldPath: ".scale", reason: "FieldValueRequired" },
    { rule: "self.type != 'patch' || has(self.patch)", message: "type patch requires patch", fieldPath: ".patch", reason: "FieldValueRequired" },
    { rule: "self.type == 'scale' || !has(self.scale)", message: "scale is only allowed with type scale", fieldPath: ".scale", reason: "FieldValueForbidden" },
    { rule: "self.type == 'patch' || !has(self.patch)", message: "patch is only allowed with type patch", fieldPath: ".patch", reason: "FieldValueForbidden" },
    { rule: "self.type == 'delete-pod' || !has(self.deletePod)", message: "deletePod is only allowed with type delete-pod", fieldPath: ".deletePod", reason: "FieldValueForbidden" },
    { rule: "self.type != 'revert' || has(self.revertOf)", message: "type revert requires revertOf", fieldPath: ".revertOf", reason: "FieldValueRequired" },
    { rule: "self.type == 'revert' || !has(self.revertOf)", message: "revertOf is only allowed with type revert", fieldPath: ".revertOf", reason: "FieldValueForbidden" },
    { rule: immutableExceptApproval(), message: "spec is immutable except for approval: create a new action instead" },
    // Approval is written once: removing it (and adding it back) would erase a
    // Rejected from the audit trail or flip it to Approved. The field's own rule
    // (self == oldSelf) only runs while both sides have it, so removal needs this one.
    { rule: "!has(oldSelf.approval) || (has(self.approval) && self.approval == oldSelf.approval)", message: "an approval cannot be removed or changed once made", fieldPath: ".approval", reason: "FieldValueForbidden" },
  ],
).describe("The action to take.");

/** Phases an action ends in: nothing acts on it again. */
export const TERMINAL_ACTION_PHASES = ["Succeeded", "Failed", "Blocked", "Rejected", "Expired"] as const;
export type TerminalPhase = (typeof TERMINAL_ACTION_PHASES)[number];
export const ACTION_PHASES = ["Pending", "PendingApproval", "Executing", "Verifying", ...TERMINAL_ACTION_PHASES] as const;
export type ActionPhase = (typeof ACTION_PHASES)[number];
export const TERMINAL_PHASES: ReadonlySet<string> = new Set<string>(TERMINAL_ACTION_PHASES);
/** Not yet in a terminal phase (an action without a status is Pending). */
export const isOpenAction = (a: { status?: { phase?: string } }): boolean => !TERMINAL_PHASES.has(a.status?.phase ?? "Pending");

/** Longest revert patch an intent records: the tests and restores of a pre-state at its largest, plus JSON overhead. */
export const REVERT_PATCH_MAX_LENGTH = 262144;

/** Most fields a pre-state records; an action changing more is recorded as not reversible. */
export const PRE_STATE_MAX_FIELDS = 64;
/** Longest JSON text of one recorded value (bytes). */
export const PRE_STATE_MAX_VALUE_BYTES = 4096;
/** All recorded values together (bytes of JSON), so a status stays far below the object size limit. */
export const PRE_STATE_MAX_TOTAL_BYTES = 65536;
/** Longest pointer of one recorded field. */
export const PRE_STATE_MAX_PATH_LENGTH = 1024;

export const preStateField = z
  .object({
    path: z.string().min(1).max(PRE_STATE_MAX_PATH_LENGTH).describe("The field as a JSON pointer into the Deployment, list indices included, e.g. /spec/template/spec/containers/0/image. Where the action created or removed a whole map or list, the pointer names that map or list."),
    before: z.string().max(PRE_STATE_MAX_VALUE_BYTES).optional().describe("The field's value before the action, as JSON text (a string value keeps its quotes). Absent when the field did not exist (absent: true)."),
    absent: z.boolean().optional().describe("True when the field did not exist before the action: undoing it removes the field."),
    after: z.string().max(PRE_STATE_MAX_VALUE_BYTES).optional().describe("The value the action set, as JSON text. An undo applies only while the field still holds it. Absent when the action removed the field (removed: true)."),
    removed: z.boolean().optional().describe("True when the action removed the field: undoing it adds the value before back."),
  })
  .strict();
export type PreStateField = z.infer<typeof preStateField>;

export const preState = z
  .object({
    object: z
      .object({
        apiVersion: z.string().max(253).describe("API version of the object, e.g. autoscaling/v2."),
        kind: z.enum(["HorizontalPodAutoscaler", "ScaledObject"]).describe("Its kind."),
        name: dnsSubdomain.describe("Its name, in the action's namespace."),
      })
      .strict()
      .optional()
      .describe("The object the fields belong to when it is not the target Deployment: the autoscaler whose floor the action raised (policy autoscaler.mode AdjustAutoscaler). Absent: the target Deployment."),
    reversible: z.boolean().describe("Whether the action can be undone from what is recorded here. Scale and patch actions are, unless their pre-state was too large to record; restart and delete-pod actions never are."),
    reason: z.string().max(1024).optional().describe("Why the action is not reversible: a restart re-triggers a rollout, an evicted pod is replaced rather than restored, or the fields it changes are too many or too large to record."),
    replicas: z.int32().min(0).optional().describe("spec.replicas before the action, when the action changes it (a scale, or a patch of spec.replicas)."),
    fields: z
      .array(preStateField)
      .max(PRE_STATE_MAX_FIELDS)
      .optional()
      .describe(`Every field the action changes, with its value before and the value the action set: what an undo restores and what it checks first. At most ${PRE_STATE_MAX_FIELDS} fields, each value at most ${PRE_STATE_MAX_VALUE_BYTES} bytes of JSON and all of them together at most ${PRE_STATE_MAX_TOTAL_BYTES / 1024} KiB; beyond that no field is recorded and the action is not reversible.`),
  })
  .strict()
  .describe("What the action replaces, recorded in the same status write as the intent, before anything changes (a dry run records it with its result): the Deployment's values before, from the same reading the action was judged on.");
export type PreState = z.infer<typeof preState>;

export const EFFECTIVENESS_STATES = ["Pending", "Effective", "Ineffective", "Unknown"] as const;

export const metricOutcome = z
  .object({
    query: z.string().max(4096).describe("The query as evaluated (placeholders replaced)."),
    comparison: z.string().max(2).describe("How the outcome was compared with the threshold."),
    threshold: z.number().describe("The threshold the outcome had to meet."),
    baseline: z.number().optional().describe("Its value when the window started."),
    baselineAt: timestamp.optional().describe("When the baseline was taken."),
    outcome: z.number().optional().describe("Its value when the window ended."),
    outcomeAt: timestamp.optional().describe("When the outcome was taken."),
    message: z.string().max(1024).optional().describe("What the check found, e.g. 0.42 -> 0.01 (< 0.05), or why it could not be evaluated."),
  })
  .strict();

export const effectiveness = z
  .object({
    state: z.enum(EFFECTIVENESS_STATES).describe("Pending while the window runs; Effective or Ineffective once decided; Unknown when a metric check could not be evaluated."),
    windowSeconds: z.int32().min(0).describe("The effectiveness window."),
    windowEndsAt: timestamp.describe("When the window ends."),
    recurrence: z
      .object({
        kind: z.enum(["AnomalySignal", "RcaSignal"]).describe("Kind of the signal."),
        name: dnsSubdomain.describe("Name of the signal in the action's namespace."),
        at: timestamp.optional().describe("When the signal was created."),
      })
      .strict()
      .optional()
      .describe("The signal inside the window that showed the problem again."),
    normalWindows: z.int32().min(0).optional().describe("Signals for the service inside the window that reported no anomaly."),
    metrics: z.array(metricOutcome).max(8).optional().describe("Metric checks: baseline -> outcome."),
    decidedAt: timestamp.optional().describe("When the state was decided."),
    message: z.string().max(1024).optional().describe("How the state was decided."),
  })
  .strict()
  .describe("Whether the action fixed the problem, judged after it succeeded (the Effective condition says the same).");

export const judgedBy = z
  .object({
    policies: z.array(z.string().max(507)).max(16).describe("namespace/name of the GuardrailPolicies that covered the target (empty: the built-in defaults)."),
    cooldownSeconds: z.int32().min(0).optional().describe("Cooldown of this action type."),
    replicas: z
      .object({
        min: z.int32().describe("Fewest replicas an action may leave."),
        max: z.int32().describe("Most replicas an action may set."),
        maxStep: z.int32().describe("Largest change of replicas in one action."),
      })
      .strict()
      .optional()
      .describe("Replica caps."),
    maxActionsPerHour: z.int32().min(0).optional().describe("Hourly action limit of this action type."),
    maxScaleIncreasePer15Minutes: z.int32().min(0).optional().describe("Replicas that may be added in any 15 minutes."),
    approvalTier: z.enum(["None", "Required"]).optional().describe("Approval tier of this action type."),
    onFailure: z.enum(["Revert", "Keep"]).optional().describe("What a failed verification leads to."),
    effectivenessWindowSeconds: z.int32().min(0).optional().describe("The effectiveness window."),
  })
  .strict()
  .describe("The policy values that judged this action, as they were when it was admitted.");

export const remediationActionStatus = z
  .object({
    observedGeneration: observedGeneration.optional(),
    phase: z.enum(ACTION_PHASES).optional().describe("Where the action is in its lifecycle."),
    reason: z.string().max(128).optional().describe("CamelCase reason for the phase, e.g. CooldownActive."),
    message: z.string().max(4096).optional().describe("Human-readable explanation of the phase."),
    intent: z
      .object({
        fromReplicas: z.int32().min(0).optional().describe("Replicas before a scale."),
        replicas: z.int32().min(0).optional().describe("Replicas a scale sets: for a relative scale, computed from fromReplicas when the intent was recorded."),
        resourceVersion: z.string().max(64).optional().describe("resourceVersion of the Deployment this intent was computed from (a scale's target, a patch's dry-run effect); the write is refused if the Deployment changed since, and the intent is computed again."),
        changedPaths: z.array(z.string().max(512)).max(64).optional().describe("Fields a patch changes, from the API server's dry run of it on the Deployment as it was; the safelist judged these."),
        restartedAt: timestamp.optional().describe("Timestamp a restart writes into kubectl.kubernetes.io/restartedAt."),
        podName: dnsSubdomain.optional().describe("Pod a delete-pod evicts."),
        revertPatch: z
          .string()
          .max(REVERT_PATCH_MAX_LENGTH)
          .optional()
          .describe("For a revert: the RFC 6902 JSON patch it sends, as JSON text, recorded before it is sent: a test of the reading's resourceVersion and of every value the original action set, the restores, and the crash-safety stamp, all in one request."),
        podUID: z.string().max(64).optional().describe("UID precondition of the eviction."),
        autoscaler: z
          .object({
            kind: z.enum(["HorizontalPodAutoscaler", "ScaledObject"]).describe("Kind of the autoscaler (HorizontalPodAutoscaler autoscaling/v2, ScaledObject keda.sh/v1alpha1)."),
            name: dnsSubdomain.describe("Its name, in the action's namespace."),
            resourceVersion: z.string().max(64).optional().describe("resourceVersion of the autoscaler as read when the intent was recorded."),
            fromMinReplicas: z.int32().min(0).optional().describe("Its floor (HPA spec.minReplicas, ScaledObject spec.minReplicaCount) before; absent when the field was unset."),
            toMinReplicas: z.int32().min(0).optional().describe("The floor the action sets (AdjustAutoscaler); absent for a revert, whose revertPatch says what it restores."),
            restoreAt: timestamp.optional().describe("When the operator restores the previous floor (the policy's autoscaler.adjustSeconds after the intent)."),
          })
          .strict()
          .optional()
          .describe("Set when the action changes an autoscaler instead of the Deployment: a scale turned into a raised floor by the policy's autoscaler mode AdjustAutoscaler, or the revert of one. The write is a JSON patch of the autoscaler that tests the floor before, so it never overwrites a floor changed since."),
        recordedAt: timestamp.optional().describe("When the intent was recorded, before acting."),
      })
      .strict()
      .optional()
      .describe("The concrete change, recorded before it is made so a crash never acts twice."),
    preState: preState.optional(),
    dryRunResult: z
      .object({
        summary: z.string().max(1024).describe("What the mutation would do, e.g. replicas 4 -> 5."),
        fromReplicas: z.int32().min(0).optional(),
        toReplicas: z.int32().min(0).optional(),
      })
      .strict()
      .optional()
      .describe("Result of a server-side dry run."),
    verification: z
      .object({
        status: z
          .enum(["IN_PROGRESS", "SUCCESS", "TIMED_OUT", "FAILED"])
          .describe("Outcome as the HTTP API reports it (SUCCESS, TIMED_OUT, FAILED), or IN_PROGRESS while verifying."),
        message: z.string().max(4096).optional().describe("What the last check observed."),
        attempts: z.int32().min(0).optional().describe("Verification attempts made (the first plus retries)."),
        deadline: timestamp.optional().describe("When the current attempt times out; kept in status so a restarted operator resumes the same window."),
        observed: z
          .object({
            desiredReplicas: z.int32().min(0).optional(),
            updatedReplicas: z.int32().min(0).optional(),
            readyReplicas: z.int32().min(0).optional(),
            availableReplicas: z.int32().min(0).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional()
      .describe("Rollout verification of the target after the action."),
    revertedBy: dnsSubdomain.optional().describe("The revert action that undid this action, once that revert succeeded (its spec.revertOf names this action)."),
    autoRevert: z
      .object({
        action: dnsSubdomain.describe("The revert action the operator created (its spec.revertOf names this action)."),
        createdAt: timestamp.describe("When it was created."),
      })
      .strict()
      .optional()
      .describe("Set when verification failed and the policy's onFailure is Revert: the undo the operator started."),
    effectiveness: effectiveness.optional(),
    judgedBy: judgedBy.optional(),
    shadowDecisions: z
      .array(
        z
          .object({
            policy: z.string().max(507).describe("namespace/name of the shadow GuardrailPolicy."),
            verdict: z.enum(["Allowed", "Blocked"]).describe("What the enforced policies together with this one would have decided."),
            reason: z.string().max(128).optional().describe("The block reason it would have given."),
            agrees: z.boolean().describe("Whether that is what the enforced policies decided."),
            message: z.string().max(1024).optional().describe("Its explanation."),
          })
          .strict(),
      )
      .max(16)
      .optional()
      .describe("What every covering shadow policy (mode: Shadow) would have decided, recorded when the action was judged; nothing here changed what happened."),
    drift: z
      .object({
        tool: z.enum(["ArgoCD", "Flux"]).describe("The GitOps tool that applies the Deployment from Git."),
        app: z.string().max(512).describe("Its Argo CD Application, or Flux Kustomization / HelmRelease (namespace/name)."),
        revertedBySync: z.boolean().describe("True for a scale or patch: the next sync sets the changed fields back to what Git holds unless the change is committed. False for a restart or eviction, which Git does not undo."),
        message: z.string().max(1024).describe("What the drift means, in words."),
      })
      .strict()
      .optional()
      .describe("Set when the action was allowed on a GitOps-managed Deployment (policy gitops: Allow): the change is drift from Git."),
    previousOwners: z
      .array(
        z
          .object({
            path: z.string().max(PRE_STATE_MAX_PATH_LENGTH).describe("The field the action changes, as a JSON pointer."),
            manager: z.string().max(128).describe("The field manager that owned it (metadata.managedFields)."),
            operation: z.string().max(16).optional().describe("How that manager last wrote it: Apply or Update."),
            time: z.string().max(64).optional().describe("When it did."),
            protected: z.boolean().optional().describe("True when the manager is protected and the change went on only because fieldConflicts.mode is Force."),
          })
          .strict(),
      )
      .max(64)
      .optional()
      .describe("Field managers other than the operator that owned the fields a scale or patch changes, before it changed them."),
    guardrailPolicies: z.array(dnsSubdomain).max(16).optional().describe("Names of the GuardrailPolicies that applied."),
    audit: z
      .array(
        z
          .object({
            id: z.string().max(128).describe("The audit record's id: <action uid>/<phase>, or <action uid>/<phase>/effectiveness/<state> for the effectiveness decision."),
            writtenAt: timestamp.describe("When the record was emitted."),
          })
          .strict(),
      )
      .max(8)
      .optional()
      .describe("Audit records already emitted (docs/audit.md), written after each record is out: a terminal action whose record is missing here is emitted again, and retention never deletes it."),
    startedAt: timestamp.optional().describe("When execution started."),
    completedAt: timestamp.optional().describe("When the action reached a terminal phase."),
    conditions: conditions.optional(),
  })
  .strict()
  .describe("What happened to the action.");

export type RemediationActionSpec = z.infer<typeof remediationActionSpec>;
export type RemediationActionStatus = z.infer<typeof remediationActionStatus>;
/** The concrete change an action makes, recorded before it is made (status.intent). */
export type Intent = NonNullable<RemediationActionStatus["intent"]>;
