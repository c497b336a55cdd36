// The shim's cluster calls (shim/backend.ts) over KubeApi: TokenReview and
// SubjectAccessReview for its callers, creates of signals and actions under its
// own field manager, and a watch on one action while a request waits for its outcome.
import type { V1Deployment } from "@kubernetes/client-node";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { redact } from "../runtime/api-errors.ts";
import { sleep } from "../runtime/clock.ts";
import type { ShimBackend } from "../shim/backend.ts";
import type { KubeApi } from "./api.ts";
import { DEPLOYMENTS, REMEDIATION_ACTIONS, resourceOfKind, SUBJECT_ACCESS_REVIEWS, TOKEN_REVIEWS } from "./resources.ts";

export const SHIM_FIELD_MANAGER = "smartops-shim";
/** How long a waiting request pauses after its watch was refused, before it reads the action. */
const REFUSED_WATCH_PAUSE_MS = 500;

interface TokenReviewStatus {
  authenticated?: boolean;
  audiences?: string[];
  error?: string;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}

interface AccessReviewStatus {
  allowed?: boolean;
  denied?: boolean;
  reason?: string;
}

/** `api` carries the shim's field manager and the "shim_" operation prefix (k8s/client.ts connect). */
export function kubeShimBackend(api: KubeApi): ShimBackend {
  const getAction = (namespace: string, name: string) => api.get<RemediationAction>(REMEDIATION_ACTIONS, namespace, name);
  return {
    async reviewToken(token, audience) {
      const tr = await api.create<{ status?: TokenReviewStatus }>(TOKEN_REVIEWS, undefined, {
        apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [audience] },
      });
      const st = tr.status;
      if (!st?.authenticated || !st.user?.username) return { authenticated: false, error: redact(st?.error || "token not authenticated") };
      if (!(st.audiences ?? []).includes(audience)) return { authenticated: false, error: `token is not valid for audience ${audience}` };
      return { authenticated: true, user: { username: st.user.username, uid: st.user.uid, groups: st.user.groups ?? [], extra: st.user.extra } };
    },
    async reviewAccess(user, req) {
      const sar = await api.create<{ status?: AccessReviewStatus }>(SUBJECT_ACCESS_REVIEWS, undefined, {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, resourceAttributes: { ...req } },
      });
      // Authorizer text (a webhook's) is passed on to the caller: bounded like any API text.
      const reason = sar.status?.reason;
      return { allowed: sar.status?.allowed === true && sar.status.denied !== true, reason: reason === undefined ? undefined : redact(reason) };
    },
    createSignal: (signal) => api.create<Signal>(resourceOfKind(signal.kind), signal.metadata.namespace, signal),
    getSignal: (kind, namespace, name) => api.get<Signal>(resourceOfKind(kind), namespace, name),
    createAction: (action) => api.create<RemediationAction>(REMEDIATION_ACTIONS, action.metadata.namespace, action),
    getAction,
    async nextAction(namespace, name, resourceVersion, maxWaitMs) {
      const stop = AbortSignal.timeout(Math.max(1, maxWaitMs));
      let stream: Awaited<ReturnType<KubeApi["watch"]>> | undefined;
      try {
        stream = await api.watch<RemediationAction>(REMEDIATION_ACTIONS, namespace,
          { fieldSelector: `metadata.name=${name}`, resourceVersion, timeoutSeconds: Math.max(1, Math.ceil(maxWaitMs / 1000)) },
          { signal: stop });
        for await (const ev of stream.events()) {
          const obj = ev.object as RemediationAction | undefined;
          if ((ev.type === "ADDED" || ev.type === "MODIFIED") && obj?.metadata.resourceVersion !== resourceVersion) return obj!;
          if (ev.type === "ERROR" || ev.type === "DELETED") break;
        }
      } catch {
        // Timeout, a closed stream or an expired resourceVersion: the GET below says where things are.
        // A watch refused at once must not turn the caller's loop into a busy poll.
        if (!stop.aborted) await sleep(REFUSED_WATCH_PAUSE_MS, stop).catch(() => undefined);
      } finally {
        stream?.close();
      }
      return getAction(namespace, name);
    },
    async listDeployments(namespace) {
      const list = await api.list<V1Deployment>(DEPLOYMENTS, namespace);
      return list.items.map((d) => ({ name: d.metadata?.name ?? "", labels: d.metadata?.labels }));
    },
    readDeployment: (namespace, name) => api.get<V1Deployment>(DEPLOYMENTS, namespace, name),
  };
}
