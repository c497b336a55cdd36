// Which pods belong to a Deployment: those it controls through one of its
// ReplicaSets (controller ownerReferences with matching uids), never those its
// selector merely matches — see remediation/ownership.ts. Found through the
// controller indexes, so a pass costs the target's own objects, not its namespace's.
import type { V1Deployment, V1Pod, V1ReplicaSet } from "@kubernetes/client-node";
import { podsOwnedBy } from "../remediation/ownership.ts";
import { BY_CONTROLLER, type Indexed } from "./indexes.ts";

export function podsOf(d: V1Deployment, pods: Indexed<V1Pod>, replicaSets: Indexed<V1ReplicaSet>): V1Pod[] {
  const namespace = d.metadata?.namespace ?? "";
  const owned = replicaSets.byIndex(BY_CONTROLLER, `${namespace}/${d.metadata?.name}`);
  const candidates = owned.flatMap((rs) => pods.byIndex(BY_CONTROLLER, `${namespace}/${rs.metadata?.name}`));
  return podsOwnedBy(d, owned, candidates);
}
