// The operator's RBAC (config/rbac/operator.yaml) is least privilege: every verb
// it needs, checked with `kubectl auth can-i --as`, and none of the actions it must
// never take (create or delete Deployments, change Secrets, ConfigMaps, RBAC or
// Nodes, exec into pods) — nor approving its own actions. It reads ReplicaSets (pod
// ownership) and holds the custom verb closed-loop; it no longer uses deployments/scale.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installKedaCrd, removeKedaCrd } from "./support/keda.ts";
import { kubectl } from "./support/kube.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE } from "./support/operator.ts";

const AS = `system:serviceaccount:${OPERATOR_NAMESPACE}:smartops-operator`;

function canI(verb: string, resource: string, namespace = "team-a", subresource?: string): boolean {
  const args = ["auth", "can-i", verb, resource, "--as", AS, ...(namespace ? ["-n", namespace] : []), ...(subresource ? ["--subresource", subresource] : [])];
  try {
    return kubectl(args).trim() === "yes";
  } catch (err) {
    // can-i exits 1 when the answer is no.
    if (String((err as { stdout?: string }).stdout ?? "").trim() === "no") return false;
    throw err;
  }
}

beforeAll(() => {
  installOperatorRbac();
  // can-i answers no for a kind the API server does not serve.
  installKedaCrd();
});

afterAll(() => {
  removeKedaCrd();
});

describe("operator RBAC", () => {
  it.each<[string, string, string?]>([
    ["get", "deployments.apps"], ["list", "deployments.apps"], ["watch", "deployments.apps"], ["patch", "deployments.apps"],
    ["get", "pods"], ["list", "pods"], ["watch", "pods"], ["create", "pods", "eviction"],
    ["get", "replicasets.apps"], ["list", "replicasets.apps"], ["watch", "replicasets.apps"],
    ["get", "horizontalpodautoscalers.autoscaling"], ["list", "horizontalpodautoscalers.autoscaling"], ["watch", "horizontalpodautoscalers.autoscaling"],
    ["patch", "horizontalpodautoscalers.autoscaling"],
    ["get", "scaledobjects.keda.sh"], ["list", "scaledobjects.keda.sh"], ["watch", "scaledobjects.keda.sh"], ["patch", "scaledobjects.keda.sh"],
    ["list", "events"], ["create", "events.events.k8s.io"], ["patch", "events.events.k8s.io"],
    ["watch", "anomalysignals.smartops.io"], ["watch", "rcasignals.smartops.io"], ["watch", "guardrailpolicies.smartops.io"],
    ["create", "remediationactions.smartops.io"], ["closed-loop", "remediationactions.smartops.io"], ["update", "remediationactions.smartops.io", "status"],
    ["update", "anomalysignals.smartops.io", "status"], ["update", "guardrailpolicies.smartops.io", "status"],
    // Retention: terminal signals and actions past their TTL or count (preconditioned deletes).
    ["delete", "remediationactions.smartops.io"], ["delete", "anomalysignals.smartops.io"], ["delete", "rcasignals.smartops.io"],
  ])("may %s %s %s", (verb, resource, sub) => {
    expect(canI(verb, resource, "team-a", sub)).toBe(true);
  });

  it("may hold its leader Lease in its own namespace only", () => {
    expect(canI("update", "leases.coordination.k8s.io", OPERATOR_NAMESPACE)).toBe(true);
    expect(canI("update", "leases.coordination.k8s.io", "team-a")).toBe(false);
  });

  it.each<[string, string, string?]>([
    ["create", "deployments.apps"], ["delete", "deployments.apps"], ["update", "deployments.apps"],
    ["create", "horizontalpodautoscalers.autoscaling"], ["delete", "horizontalpodautoscalers.autoscaling"], ["update", "horizontalpodautoscalers.autoscaling"],
    ["create", "scaledobjects.keda.sh"], ["delete", "scaledobjects.keda.sh"],
    ["get", "deployments.apps", "scale"], ["patch", "deployments.apps", "scale"], ["patch", "replicasets.apps"], ["delete", "replicasets.apps"],
    ["get", "secrets"], ["list", "secrets"], ["update", "configmaps"], ["create", "configmaps"],
    ["create", "roles.rbac.authorization.k8s.io"], ["create", "clusterrolebindings.rbac.authorization.k8s.io"],
    ["patch", "nodes"], ["delete", "nodes"], ["create", "pods", "exec"], ["delete", "pods"], ["create", "pods"],
    ["patch", "remediationactions.smartops.io"], ["update", "remediationactions.smartops.io"], ["approve", "remediationactions.smartops.io"],
    ["delete", "guardrailpolicies.smartops.io"], ["create", "anomalysignals.smartops.io"], ["patch", "guardrailpolicies.smartops.io"],
  ])("may not %s %s %s", (verb, resource, sub) => {
    const cluster = resource === "nodes" || resource.startsWith("clusterrole");
    expect(canI(verb, resource, cluster ? "" : "team-a", sub)).toBe(false);
  });
});
