// Rollout restart as kubectl does it: the restartedAt template annotation, with
// the timestamp recorded in the action's intent first — re-applying the same
// timestamp after a crash does not start a second rollout. Stamped atomically.
import { ANNOTATIONS } from "../../api/v1alpha1/objects.ts";
import { k8sRestartTotal } from "../../telemetry/metrics.ts";
import type { KubeApi } from "../api.ts";
import { DEPLOYMENTS } from "../resources.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";

export async function restart(api: KubeApi, { action, intent, dryRun }: ExecutorInput): Promise<ExecutionResult> {
  const { namespace, name } = { namespace: action.metadata.namespace, name: action.spec.target.name };
  const body = {
    metadata: { annotations: { [ANNOTATIONS.lastAction]: action.metadata.uid! } },
    spec: { template: { metadata: { annotations: { [ANNOTATIONS.restartedAt]: intent.restartedAt! } } } },
  };
  await api.patch(DEPLOYMENTS, namespace, name, "merge", body, { dryRun });
  if (!dryRun) k8sRestartTotal.inc({ namespace, deployment: name });
  return { summary: `${dryRun ? "would restart" : "restart triggered on"} Deployment ${namespace}/${name} at ${intent.restartedAt}` };
}
