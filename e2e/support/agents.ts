// Agent identities for the shim suites: a ServiceAccount bound to a Role named
// smartops-agent with the rules a test needs, plus ServiceAccounts without any
// RBAC (for the 403 cases).
import { kubectl } from "./kube.ts";

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Signals and actions may be created; Deployments read (the shim's verify answers need it). */
export const AGENT_RULES: readonly Rule[] = [
  { apiGroups: ["smartops.io"], resources: ["anomalysignals", "rcasignals", "remediationactions"], verbs: ["create"] },
  { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] },
];

export function agentRbacManifest(namespace: string, rules: readonly Rule[], opts: { agent?: string; withoutRbac?: string[] } = {}): string {
  const agent = opts.agent ?? "agent";
  const sa = (name: string) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${name}, namespace: ${namespace}}`;
  return [
    sa(agent),
    ...(opts.withoutRbac ?? []).map(sa),
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: smartops-agent, namespace: ${namespace}}\nrules: ${JSON.stringify(rules)}`,
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: smartops-agent, namespace: ${namespace}}\n`
      + `roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: smartops-agent}\nsubjects: [{kind: ServiceAccount, name: ${agent}, namespace: ${namespace}}]`,
  ].join("\n---\n");
}

export function installAgentRbac(namespace: string, rules: readonly Rule[], opts: { agent?: string; withoutRbac?: string[] } = {}): void {
  kubectl(["apply", "--server-side", "-f", "-"], agentRbacManifest(namespace, rules, opts));
}
