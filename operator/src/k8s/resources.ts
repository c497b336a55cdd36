// The resources the operator and the shim call, by API group/version and plural.
// `singular` names the call in metrics and spans (get_deployment, status_remediationaction …).
import { API_VERSION } from "../api/v1alpha1/meta.ts";

export interface Resource {
  /** "v1" for the core group, else "group/version". */
  apiVersion: string;
  plural: string;
  singular: string;
  /** False for cluster-scoped resources (TokenReview, SubjectAccessReview). */
  namespaced: boolean;
}

const res = (apiVersion: string, plural: string, singular: string, namespaced = true): Resource => ({ apiVersion, plural, singular, namespaced });

export const DEPLOYMENTS = res("apps/v1", "deployments", "deployment");
export const REPLICASETS = res("apps/v1", "replicasets", "replicaset");
export const PODS = res("v1", "pods", "pod");
export const HORIZONTAL_POD_AUTOSCALERS = res("autoscaling/v2", "horizontalpodautoscalers", "horizontalpodautoscaler");
/** KEDA's ScaledObject: watched only when its CRD is installed. */
export const SCALED_OBJECTS = res("keda.sh/v1alpha1", "scaledobjects", "scaledobject");
export const EVENTS = res("events.k8s.io/v1", "events", "event");
export const LEASES = res("coordination.k8s.io/v1", "leases", "lease");
export const TOKEN_REVIEWS = res("authentication.k8s.io/v1", "tokenreviews", "tokenreview", false);
export const SUBJECT_ACCESS_REVIEWS = res("authorization.k8s.io/v1", "subjectaccessreviews", "subjectaccessreview", false);
export const ANOMALY_SIGNALS = res(API_VERSION, "anomalysignals", "anomalysignal");
export const RCA_SIGNALS = res(API_VERSION, "rcasignals", "rcasignal");
export const REMEDIATION_ACTIONS = res(API_VERSION, "remediationactions", "remediationaction");
export const GUARDRAIL_POLICIES = res(API_VERSION, "guardrailpolicies", "guardrailpolicy");

const BY_KIND = {
  AnomalySignal: ANOMALY_SIGNALS,
  RcaSignal: RCA_SIGNALS,
  RemediationAction: REMEDIATION_ACTIONS,
  GuardrailPolicy: GUARDRAIL_POLICIES,
} as const;

/** The resource of one of our own kinds. */
export function resourceOfKind(kind: keyof typeof BY_KIND): Resource {
  return BY_KIND[kind];
}

/** The collection path: /api/v1/pods, /apis/apps/v1/namespaces/ns/deployments … */
export function collectionPath(r: Resource, namespace?: string): string {
  const base = r.apiVersion.includes("/") ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return `${base}${r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${r.plural}`;
}

export function objectPath(r: Resource, namespace: string | undefined, name: string, subresource?: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ""}`;
}
