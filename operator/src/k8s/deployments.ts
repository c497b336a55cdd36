// Reads of a Deployment straight from the API server, for the decisions that
// must not rest on the informer's copy: the target of a relative scale is
// computed from this reading and written guarded by its resourceVersion.
import type { V1Deployment } from "@kubernetes/client-node";
import type { KubeApi } from "./api.ts";
import { isNotFound } from "./errors.ts";
import { DEPLOYMENTS } from "./resources.ts";

/** The Deployment as stored now, or undefined when it does not exist. */
export async function readDeployment(api: KubeApi, namespace: string, name: string): Promise<V1Deployment | undefined> {
  try {
    return await api.get<V1Deployment>(DEPLOYMENTS, namespace, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
