// The one place a RemediationAction's type becomes a mutation.
import type { SpecActionType } from "../../api/v1alpha1/remediation-action.ts";
import type { KubeApi } from "../api.ts";
import { deletePod } from "./delete-pod.ts";
import { patch } from "./patch.ts";
import { restart } from "./restart.ts";
import { revert } from "./revert.ts";
import { scale } from "./scale.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";

export type { ExecutionResult, ExecutorInput } from "./types.ts";
export { stampOf } from "./stamp.ts";

const EXECUTORS: Record<SpecActionType, (api: KubeApi, input: ExecutorInput) => Promise<ExecutionResult>> = {
  scale,
  restart,
  patch,
  "delete-pod": deletePod,
  revert,
};

export function execute(api: KubeApi, input: ExecutorInput): Promise<ExecutionResult> {
  return EXECUTORS[input.action.spec.type](api, input);
}
