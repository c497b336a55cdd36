// Which pods belong to a Deployment: those it controls through one of its
// ReplicaSets (controller ownerReferences with matching uids), never those its
// selector merely matches — see remediation/ownership.ts.
import type { V1Deployment, V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import { podsOwnedBy } from "../remediation/ownership.ts";
import type { Cache } from "./cache.ts";

export function podsOf(d: V1Deployment, pods: Cache<V1Pod>, replicaSets: Cache<V1ReplicaSet>): V1Pod[] {
  const namespace = d.metadata?.namespace;
  return podsOwnedBy(d, replicaSets.list(namespace), pods.list(namespace));
}
