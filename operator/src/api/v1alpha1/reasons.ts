// Condition types and CamelCase reasons, in one place: status, events, metrics
// labels and docs all use these names.

export const ConditionType = {
  /** RemediationAction: guardrails allowed the action. */
  GuardrailsPassed: "GuardrailsPassed",
  /** RemediationAction: a human approved (only when the policy requires it). */
  Approved: "Approved",
  /** RemediationAction: the mutation was applied (or dry-run). */
  Executed: "Executed",
  /** RemediationAction: the rollout was verified. */
  Verified: "Verified",
  /** RemediationAction: whether a succeeded action fixed the problem (judged over the effectiveness window). */
  Effective: "Effective",
  /** Every kind: summary. */
  Ready: "Ready",
  /** Signals: an action was derived. */
  ActionCreated: "ActionCreated",
} as const;
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** Why a guardrail blocked an action. Also the `reason` label of guardrail metrics (bounded set). */
export const BlockReason = {
  PolicyPaused: "PolicyPaused",
  ActionTypeNotAllowed: "ActionTypeNotAllowed",
  TargetNamespaceMismatch: "TargetNamespaceMismatch",
  TargetNotFound: "TargetNotFound",
  MaxReplicasExceeded: "MaxReplicasExceeded",
  MinReplicasViolated: "MinReplicasViolated",
  MaxScaleStepExceeded: "MaxScaleStepExceeded",
  /** A relative scale-up finds the Deployment at or above maxReplicas: nothing to add, and it never lowers replicas. */
  MaxReplicasReached: "MaxReplicasReached",
  /** A relative scale-down finds the Deployment at or below minReplicas. */
  MinReplicasReached: "MinReplicasReached",
  CooldownActive: "CooldownActive",
  HourlyActionLimitReached: "HourlyActionLimitReached",
  ScaleIncreaseLimitReached: "ScaleIncreaseLimitReached",
  PatchPathForbidden: "PatchPathForbidden",
  PatchPathNotAllowed: "PatchPathNotAllowed",
  InvalidPatch: "InvalidPatch",
  NoUnhealthyPods: "NoUnhealthyPods",
  PodNotOwnedByTarget: "PodNotOwnedByTarget",
  /** A revert of an action that cannot be undone: a restart, a delete-pod, a dry run, a revert, or one whose pre-state is missing or not reversible. */
  NotReversible: "NotReversible",
  /** A revert whose spec.revertOf names no action in its namespace. */
  RevertTargetMissing: "RevertTargetMissing",
  /** A revert whose target differs from the target of the action it undoes. */
  RevertTargetMismatch: "RevertTargetMismatch",
  /** A revert of an action that has not changed the Deployment (not executed, or its mutation failed). */
  NotExecuted: "NotExecuted",
  /** A revert of an action that another revert already undid (or is undoing). */
  AlreadyReverted: "AlreadyReverted",
  /** A revert finds a field no longer holding the value the action set: someone changed it since; nothing is undone. */
  TargetChangedSinceAction: "TargetChangedSinceAction",
  /** Automatic actions on a target whose last actions failed or were ineffective, N in a row, until a human resumes it. */
  RepeatedFailures: "RepeatedFailures",
  /** A scale or patch (by default) of a Deployment Argo CD or Flux applies from Git: the next sync would revert it. */
  ManagedByGitOps: "ManagedByGitOps",
  /** A scale or patch would change a field a protected field manager (GitOps controller, Helm, or one the policy lists) owns. */
  FieldOwnedByOtherManager: "FieldOwnedByOtherManager",
  /** A scale (or a patch of spec.replicas) of a Deployment a HorizontalPodAutoscaler or KEDA ScaledObject scales, which the policy's autoscaler mode does not turn into a raised floor. */
  ManagedByAutoscaler: "ManagedByAutoscaler",
} as const;
export type BlockReasonName = (typeof BlockReason)[keyof typeof BlockReason];

/** Reasons of the other phases and conditions. */
export const Reason = {
  ...BlockReason,
  GuardrailsPassed: "GuardrailsPassed",
  ApprovalRequired: "ApprovalRequired",
  ApprovedByUser: "ApprovedByUser",
  RejectedByUser: "RejectedByUser",
  ApprovalExpired: "ApprovalExpired",
  IntentRecorded: "IntentRecorded",
  Executed: "Executed",
  DryRunSucceeded: "DryRunSucceeded",
  /** A patch that changes nothing on the Deployment as it is: done without a write. */
  NoChange: "NoChange",
  ExecutionFailed: "ExecutionFailed",
  /** The action could not be processed (it kept failing for a reason other than the API server's availability). */
  ProcessingFailed: "ProcessingFailed",
  EvictionRetry: "EvictionRetry",
  RolloutComplete: "RolloutComplete",
  RolloutInProgress: "RolloutInProgress",
  RolloutTimedOut: "RolloutTimedOut",
  ProgressDeadlineExceeded: "ProgressDeadlineExceeded",
  CrashLoopDetected: "CrashLoopDetected",
  VerificationSkipped: "VerificationSkipped",
  VerificationRetry: "VerificationRetry",
  // Effectiveness and undo
  EffectivenessPending: "EffectivenessPending",
  /** The same problem was signalled again inside the effectiveness window. */
  AnomalyRecurred: "AnomalyRecurred",
  /** The window ended with no recurrence (and every metric check passed). */
  NoRecurrence: "NoRecurrence",
  /** A metric check's outcome did not meet its threshold. */
  MetricNotRecovered: "MetricNotRecovered",
  /** A metric check could not be evaluated (no Prometheus, no data, an error). */
  MetricUnavailable: "MetricUnavailable",
  /** Verification failed and the policy says Revert: the operator created the undo. */
  AutoRevertCreated: "AutoRevertCreated",
  /** A signal whose ladder step is notify: no action, a human is told. */
  EscalatedToHuman: "EscalatedToHuman",
  /** An action allowed on a GitOps-managed Deployment: the change is drift from Git (Warning Event on the Deployment). */
  GitOpsDrift: "GitOpsDrift",
  /** The previous action for this service and signal kind did not work: the ladder's next step was taken. */
  Escalated: "Escalated",
  // Signals
  ActionCreated: "ActionCreated",
  NotAnomalous: "NotAnomalous",
  BelowScoreThreshold: "BelowScoreThreshold",
  BelowConfidenceThreshold: "BelowConfidenceThreshold",
  UnverifiedSignalIgnored: "UnverifiedSignalIgnored",
  UnverifiedSignalDryRun: "UnverifiedSignalDryRun",
  RuleSaysNoAction: "RuleSaysNoAction",
  NoMatchingDeployment: "NoMatchingDeployment",
  /** The API server refused the signal's action for a ResourceQuota: the signal ends Refused instead of retrying forever. */
  QuotaExceeded: "QuotaExceeded",
  // Policies
  PolicyValid: "PolicyValid",
  PolicyInvalid: "PolicyInvalid",
  NamespacesIgnored: "NamespacesIgnored",
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];
