// Scale through the deployments/scale subresource to an absolute replica count,
// then stamp the Deployment. Repeating either step after a crash changes nothing.
import { call, FIELD_MANAGER, type KubeClients, mergePatch } from "../client.ts";
import { k8sScaleTotal } from "../../telemetry/metrics.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";
import { stampPatch } from "./stamp.ts";

export async function scale(c: KubeClients, { action, intent, dryRun }: ExecutorInput): Promise<ExecutionResult> {
  const { namespace, name } = { namespace: action.metadata.namespace, name: action.spec.target.name };
  const to = intent.replicas!;
  const result = await call("patch_deployment_scale", () =>
    c.apps.patchNamespacedDeploymentScale(
      { name, namespace, body: { spec: { replicas: to } }, fieldManager: FIELD_MANAGER, ...(dryRun ? { dryRun: "All" } : {}) },
      mergePatch(),
    ),
  );
  if (!dryRun) {
    await call("patch_deployment", () =>
      c.apps.patchNamespacedDeployment({ name, namespace, body: stampPatch(action.metadata.uid!), fieldManager: FIELD_MANAGER }, mergePatch()),
    );
    k8sScaleTotal.inc({ namespace, deployment: name });
  }
  const from = intent.fromReplicas;
  return {
    summary: `${dryRun ? "would scale" : "scaled"} Deployment ${namespace}/${name} ${from ?? "?"} -> ${result.spec?.replicas ?? to}`,
    fromReplicas: from,
    toReplicas: result.spec?.replicas ?? to,
  };
}
