// Every cluster call the shim makes, behind one small interface, so the HTTP
// layer can be tested against a fake and run against the API server unchanged.
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/v1alpha1/meta.ts";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { call, loadKubeConfig, poolConnections } from "../k8s/client.ts";
import { redact } from "../runtime/api-errors.ts";
import { KubeHttp } from "../runtime/kube-http.ts";
import type { DeploymentRef } from "../remediation/target.ts";

export const SHIM_FIELD_MANAGER = "smartops-shim";

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type TokenReviewResult = { authenticated: true; user: UserInfo } | { authenticated: false; error: string };

export interface AccessRequest {
  verb: string;
  group: string;
  resource: string;
  namespace: string;
}

export interface ShimBackend {
  reviewToken(token: string, audience: string): Promise<TokenReviewResult>;
  reviewAccess(user: UserInfo, req: AccessRequest): Promise<{ allowed: boolean; reason?: string }>;
  createSignal(signal: Signal): Promise<Signal>;
  getSignal(kind: Signal["kind"], namespace: string, name: string): Promise<Signal>;
  createAction(action: RemediationAction): Promise<RemediationAction>;
  getAction(namespace: string, name: string): Promise<RemediationAction>;
  /**
   * The action once it differs from `resourceVersion`, or as it is after `maxWaitMs`:
   * a watch on the one object, so a waiting request costs no polling.
   */
  nextAction(namespace: string, name: string, resourceVersion: string | undefined, maxWaitMs: number): Promise<RemediationAction>;
  listDeployments(namespace: string): Promise<DeploymentRef[]>;
  readDeployment(namespace: string, name: string): Promise<k8s.V1Deployment>;
}

const PLURALS = { AnomalySignal: "anomalysignals", RcaSignal: "rcasignals" } as const;

export function kubeBackend(kc: k8s.KubeConfig = loadKubeConfig()): ShimBackend {
  poolConnections(kc);
  const authn = kc.makeApiClient(k8s.AuthenticationV1Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const http = new KubeHttp(kc);
  const getAction = async (namespace: string, name: string) =>
    (await call("shim_get_remediationaction", () =>
      custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: "remediationactions", name }),
    )) as RemediationAction;
  return {
    async reviewToken(token, audience) {
      const tr = await call("shim_tokenreview", () =>
        authn.createTokenReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [audience] } } }),
      );
      const st = tr.status;
      if (!st?.authenticated || !st.user?.username) return { authenticated: false, error: redact(st?.error || "token not authenticated") };
      if (!(st.audiences ?? []).includes(audience)) return { authenticated: false, error: `token is not valid for audience ${audience}` };
      return { authenticated: true, user: { username: st.user.username, uid: st.user.uid, groups: st.user.groups ?? [], extra: st.user.extra } };
    },
    async reviewAccess(user, req) {
      const sar = await call("shim_subjectaccessreview", () =>
        authz.createSubjectAccessReview({
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, resourceAttributes: { ...req } },
          },
        }),
      );
      // Authorizer text (a webhook's) is passed on to the caller: bounded like any API text.
      const reason = sar.status?.reason;
      return { allowed: sar.status?.allowed === true && sar.status.denied !== true, reason: reason === undefined ? undefined : redact(reason) };
    },
    async createSignal(signal) {
      return (await call(`shim_create_${signal.kind.toLowerCase()}`, () =>
        custom.createNamespacedCustomObject({
          group: GROUP, version: VERSION, namespace: signal.metadata.namespace, plural: PLURALS[signal.kind],
          body: signal, fieldManager: SHIM_FIELD_MANAGER, fieldValidation: "Strict",
        }),
      )) as Signal;
    },
    async getSignal(kind, namespace, name) {
      return (await call(`shim_get_${kind.toLowerCase()}`, () =>
        custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind], name }),
      )) as Signal;
    },
    async createAction(action) {
      return (await call("shim_create_remediationaction", () =>
        custom.createNamespacedCustomObject({
          group: GROUP, version: VERSION, namespace: action.metadata.namespace, plural: "remediationactions",
          body: action, fieldManager: SHIM_FIELD_MANAGER, fieldValidation: "Strict",
        }),
      )) as RemediationAction;
    },
    getAction,
    async nextAction(namespace, name, resourceVersion, maxWaitMs) {
      const stop = AbortSignal.timeout(Math.max(1, maxWaitMs));
      let stream: Awaited<ReturnType<KubeHttp["stream"]>> | undefined;
      try {
        stream = await http.stream(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/remediationactions`, {
          query: { watch: 1, fieldSelector: `metadata.name=${name}`, resourceVersion, timeoutSeconds: Math.max(1, Math.ceil(maxWaitMs / 1000)) },
          signal: stop,
        });
        for await (const line of stream.lines()) {
          const ev = JSON.parse(line) as { type?: string; object?: RemediationAction };
          if ((ev.type === "ADDED" || ev.type === "MODIFIED") && ev.object?.metadata.resourceVersion !== resourceVersion) return ev.object!;
          if (ev.type === "ERROR" || ev.type === "DELETED") break;
        }
      } catch {
        // Timeout, a closed stream or an expired resourceVersion: the GET below says where things are.
        // A watch refused at once must not turn the caller's loop into a busy poll.
        if (!stop.aborted) await new Promise((r) => setTimeout(r, 500));
      } finally {
        stream?.close();
      }
      return getAction(namespace, name);
    },
    async listDeployments(namespace) {
      const list = await call("shim_list_deployments", () => apps.listNamespacedDeployment({ namespace }));
      return list.items.map((d) => ({ name: d.metadata?.name ?? "", labels: d.metadata?.labels }));
    },
    async readDeployment(namespace, name) {
      return call("shim_get_deployment", () => apps.readNamespacedDeployment({ namespace, name }));
    },
  };
}
