// Evicts one pod through the Eviction API with a UID precondition: PDBs are
// respected (429 → retry later), and after a crash the same eviction cannot hit
// a replacement pod that reused the name.
import { k8sEvictionTotal } from "../../telemetry/metrics.ts";
import type { KubeApi } from "../api.ts";
import { isConflict, isNotFound } from "../errors.ts";
import { PODS } from "../resources.ts";
import type { ExecutionResult, ExecutorInput } from "./types.ts";

export async function deletePod(api: KubeApi, { action, intent, dryRun }: ExecutorInput): Promise<ExecutionResult> {
  const namespace = action.metadata.namespace;
  const pod = intent.podName!;
  const body = {
    apiVersion: "policy/v1",
    kind: "Eviction",
    metadata: { name: pod, namespace },
    deleteOptions: { preconditions: { uid: intent.podUID }, ...(dryRun ? { dryRun: ["All"] } : {}) },
  };
  try {
    await api.create(PODS, namespace, body, { subresource: "eviction", dryRun });
  } catch (err) {
    // Gone already, or the name now belongs to another pod: our pod is not there to evict.
    if (!isNotFound(err) && !isConflict(err)) throw err;
    return { summary: `pod ${namespace}/${pod} (uid ${intent.podUID}) was already gone` };
  }
  if (!dryRun) k8sEvictionTotal.inc({ namespace, deployment: action.spec.target.name });
  return { summary: `${dryRun ? "would evict" : "evicted"} pod ${namespace}/${pod} of Deployment ${namespace}/${action.spec.target.name}` };
}
