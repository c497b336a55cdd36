import type { V1Deployment } from "@kubernetes/client-node";
import type { RemediationAction } from "../../api/v1alpha1/objects.ts";
import type { Intent } from "../../api/v1alpha1/remediation-action.ts";

export interface ExecutorInput {
  action: RemediationAction;
  intent: Intent;
  dryRun: boolean;
  /** The target as last seen (for JSON patches that must know whether annotations exist). */
  deployment?: V1Deployment;
}

export interface ExecutionResult {
  summary: string;
  fromReplicas?: number;
  toReplicas?: number;
}
