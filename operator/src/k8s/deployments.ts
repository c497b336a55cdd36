// Reads of a Deployment straight from the API server, for the decisions that
// must not rest on the informer's copy: the target of a relative scale is
// computed from this reading and written guarded by its resourceVersion.
import type { V1Deployment } from "@kubernetes/client-node";
import { call, isNotFound, type KubeClients } from "./client.ts";

/** The Deployment as stored now, or undefined when it does not exist. */
export async function readDeployment(c: KubeClients, namespace: string, name: string): Promise<V1Deployment | undefined> {
  try {
    return await call("get_deployment", () => c.apps.readNamespacedDeployment({ name, namespace }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
