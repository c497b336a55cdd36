// Every cluster call the shim makes, behind one small interface, so the HTTP
// layer can be tested against a fake (fake-backend.ts) and run against the API
// server unchanged (k8s/shim-backend.ts).
import type { V1Deployment } from "@kubernetes/client-node";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import type { DeploymentRef } from "../remediation/target.ts";

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
  readDeployment(namespace: string, name: string): Promise<V1Deployment>;
}
