// Undoes an earlier action: sends the RFC 6902 JSON patch its intent recorded —
// tests of the reading's resourceVersion and of every value the undone action
// set, the restores, and the stamp — as one request, so "restored" and "stamped"
// cannot come apart and nothing is restored over a change made since the
// reading (a failed test answers 422, the caller reads and judges again).
import { k8sPatchTotal } from "../../telemetry/metrics.ts";
import type { KubeApi } from "../api.ts";
import { DEPLOYMENTS } from "../resources.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";

export async function revert(api: KubeApi, { action, intent, dryRun }: ExecutorInput): Promise<ExecutionResult> {
  const { namespace, name } = { namespace: action.metadata.namespace, name: action.spec.target.name };
  // Recorded by the operator itself, before this request; parsed only to send it as JSON.
  const ops = JSON.parse(intent.revertPatch ?? "[]") as Array<{ op: string; path: string }>;
  await api.patch(DEPLOYMENTS, namespace, name, "json", ops, { dryRun });
  if (!dryRun) k8sPatchTotal.inc({ namespace, deployment: name });
  const restored = [...new Set(ops.filter((o) => o.op !== "test" && !o.path.startsWith("/metadata/annotations")).map((o) => o.path))];
  const replicas = intent.replicas !== undefined ? ` (replicas ${intent.fromReplicas} -> ${intent.replicas})` : "";
  return {
    summary: `${dryRun ? "would revert" : "reverted"} ${action.spec.revertOf} on Deployment ${namespace}/${name}: ${dryRun ? "would restore" : "restored"} ${restored.join(", ")}${replicas}`,
    ...(intent.replicas !== undefined ? { fromReplicas: intent.fromReplicas, toReplicas: intent.replicas } : {}),
  };
}
