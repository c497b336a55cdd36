// The plugin's side effects: the kubeconfig loaded with kubectl's precedence
// (--kubeconfig, else $KUBECONFIG — a list of files, merged — else ~/.kube/config),
// --context, the namespace (-n, else the context's, else default), and the few
// calls the commands make, through the operator's pooled transport. Commands see
// only the PluginClient interface, so they are unit-tested against a fake.
import * as k8s from "@kubernetes/client-node";
import type { GuardrailPolicy, Signal } from "../api/v1alpha1/objects.ts";
import { KubeApiError } from "../k8s/errors.ts";
import { ANOMALY_SIGNALS, collectionPath, DEPLOYMENTS, GUARDRAIL_POLICIES, objectPath, RCA_SIGNALS, REMEDIATION_ACTIONS, type Resource } from "../k8s/resources.ts";
import { KubeTransport } from "../k8s/transport.ts";
import type { Action } from "./views.ts";

export const FIELD_MANAGER = "kubectl-smartops";

export interface DeploymentInfo {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PluginClient {
  /** -n, else the context's namespace, else default. */
  readonly namespace: string;
  listActions(namespace: string | undefined): Promise<Action[]>;
  getAction(namespace: string, name: string): Promise<Action>;
  createAction(namespace: string, body: unknown): Promise<Action>;
  patchAction(namespace: string, name: string, mergePatch: unknown): Promise<Action>;
  listPolicies(namespace: string | undefined): Promise<GuardrailPolicy[]>;
  getPolicy(namespace: string, name: string): Promise<GuardrailPolicy>;
  createPolicy(namespace: string, body: GuardrailPolicy): Promise<GuardrailPolicy>;
  deletePolicy(namespace: string, name: string): Promise<void>;
  getDeployment(namespace: string, name: string): Promise<DeploymentInfo>;
  annotateDeployment(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** Both signal kinds. */
  listSignals(namespace: string | undefined): Promise<Signal[]>;
  listDeployments(namespace: string | undefined): Promise<DeploymentInfo[]>;
  /** The user the API server sees (what `kubectl auth whoami` prints). */
  whoami(): Promise<string>;
  /** A SelfSubjectAccessReview: may the current user do this? */
  canI(verb: string, resource: Resource, namespace: string, name?: string): Promise<boolean>;
}

export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export class ConfigError extends Error {}

/** The kubeconfig as kubectl would load it. */
export function loadConfig(o: ConnectOptions): { kc: k8s.KubeConfig; namespace: string } {
  const kc = new k8s.KubeConfig();
  try {
    // loadFromDefault reads $KUBECONFIG (a list of files, merged as kubectl does),
    // else ~/.kube/config, else the in-cluster ServiceAccount.
    if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(`cannot load the kubeconfig: ${(err as Error).message}`);
  }
  if (o.context) {
    if (!kc.getContextObject(o.context)) throw new ConfigError(`context ${JSON.stringify(o.context)} does not exist in the kubeconfig`);
    kc.setCurrentContext(o.context);
  }
  if (!kc.getCurrentCluster()) throw new ConfigError("the kubeconfig has no current context or cluster (use --context or --kubeconfig)");
  const namespace = o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  return { kc, namespace };
}

const SELF_SUBJECT_REVIEWS: Resource = { apiVersion: "authentication.k8s.io/v1", plural: "selfsubjectreviews", singular: "selfsubjectreview", namespaced: false };
const SELF_SUBJECT_ACCESS_REVIEWS: Resource = { apiVersion: "authorization.k8s.io/v1", plural: "selfsubjectaccessreviews", singular: "selfsubjectaccessreview", namespaced: false };

export function httpClient(o: ConnectOptions): { client: PluginClient; close: () => Promise<void> } {
  const { kc, namespace } = loadConfig(o);
  const t = new KubeTransport(kc);
  const write = { fieldManager: FIELD_MANAGER, fieldValidation: "Strict" };
  const json = <T>(op: string, method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown, query?: Record<string, string>, contentType?: string) =>
    t.json<T>(op, { method, path, ...(query ? { query } : {}), ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  const list = async <T>(r: Resource, ns: string | undefined): Promise<T[]> => {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const page = await json<{ items: T[]; metadata?: { continue?: string } }>(`list_${r.singular}`, "GET", collectionPath(r, ns), undefined, { limit: "500", ...(cont ? { continue: cont } : {}) });
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  };
  const merge = "application/merge-patch+json";
  const client: PluginClient = {
    namespace,
    listActions: (ns) => list<Action>(REMEDIATION_ACTIONS, ns),
    getAction: (ns, name) => json<Action>("get_remediationaction", "GET", objectPath(REMEDIATION_ACTIONS, ns, name)),
    createAction: (ns, body) => json<Action>("create_remediationaction", "POST", collectionPath(REMEDIATION_ACTIONS, ns), body, write),
    patchAction: (ns, name, patch) => json<Action>("patch_remediationaction", "PATCH", objectPath(REMEDIATION_ACTIONS, ns, name), patch, write, merge),
    listPolicies: (ns) => list<GuardrailPolicy>(GUARDRAIL_POLICIES, ns),
    getPolicy: (ns, name) => json<GuardrailPolicy>("get_guardrailpolicy", "GET", objectPath(GUARDRAIL_POLICIES, ns, name)),
    createPolicy: (ns, body) => json<GuardrailPolicy>("create_guardrailpolicy", "POST", collectionPath(GUARDRAIL_POLICIES, ns), body, write),
    deletePolicy: async (ns, name) => {
      await json("delete_guardrailpolicy", "DELETE", objectPath(GUARDRAIL_POLICIES, ns, name));
    },
    getDeployment: async (ns, name) => {
      const d = await json<{ metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> } }>("get_deployment", "GET", objectPath(DEPLOYMENTS, ns, name));
      return { name: d.metadata.name, namespace: d.metadata.namespace, labels: d.metadata.labels ?? {}, annotations: d.metadata.annotations ?? {} };
    },
    annotateDeployment: async (ns, name, annotations) => {
      await json("patch_deployment", "PATCH", objectPath(DEPLOYMENTS, ns, name), { metadata: { annotations } }, write, merge);
    },
    listSignals: async (ns) => [
      ...(await list<Signal>(ANOMALY_SIGNALS, ns)).map((x) => ({ ...x, kind: "AnomalySignal" }) as Signal),
      ...(await list<Signal>(RCA_SIGNALS, ns)).map((x) => ({ ...x, kind: "RcaSignal" }) as Signal),
    ],
    listDeployments: async (ns) =>
      (await list<{ metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> } }>(DEPLOYMENTS, ns))
        .map((d) => ({ name: d.metadata.name, namespace: d.metadata.namespace, labels: d.metadata.labels ?? {}, annotations: d.metadata.annotations ?? {} })),
    whoami: async () => {
      const r = await json<{ status?: { userInfo?: { username?: string } } }>("create_selfsubjectreview", "POST", collectionPath(SELF_SUBJECT_REVIEWS), {
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
      });
      const user = r.status?.userInfo?.username;
      if (!user) throw new Error("the API server's SelfSubjectReview named no user");
      return user;
    },
    canI: async (verb, r, ns, name) => {
      const [group, version] = r.apiVersion.includes("/") ? r.apiVersion.split("/") : ["", r.apiVersion];
      const review = await json<{ status?: { allowed?: boolean } }>("create_selfsubjectaccessreview", "POST", collectionPath(SELF_SUBJECT_ACCESS_REVIEWS), {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { group, version, resource: r.plural, verb, namespace: ns, ...(name ? { name } : {}) } },
      });
      return review.status?.allowed === true;
    },
  };
  return { client, close: () => t.close() };
}

export { KubeApiError };
