// An in-memory ShimBackend for unit tests: tokens, permissions, objects and
// Deployments in maps, API-server answers as KubeApiErrors.
import type { V1Deployment } from "@kubernetes/client-node";
import type { RemediationAction, Signal } from "../api/v1alpha1/objects.ts";
import { KubeApiError } from "../k8s/errors.ts";
import type { DeploymentRef } from "../remediation/target.ts";
import type { AccessRequest, ShimBackend, UserInfo } from "./backend.ts";

export class FakeBackend implements ShimBackend {
  readonly tokens = new Map<string, { user: UserInfo; audiences: string[] }>();
  /** "user verb group/resource namespace" strings that are allowed. */
  readonly grants = new Set<string>();
  readonly signals = new Map<string, Signal>();
  readonly actions = new Map<string, RemediationAction>();
  readonly deployments = new Map<string, V1Deployment>();
  calls = { tokenReviews: 0, accessReviews: 0, deploymentReads: 0 };
  /** Called on each created action; may set its status (the "operator"). */
  onAction: (a: RemediationAction) => void = () => {};
  failNext: KubeApiError | undefined;

  grant(user: string, verb: string, groupResource: string, namespace: string): void {
    this.grants.add(`${user} ${verb} ${groupResource} ${namespace}`);
  }

  addDeployment(namespace: string, name: string, d: Partial<V1Deployment> = {}): void {
    this.deployments.set(`${namespace}/${name}`, {
      metadata: { name, namespace, generation: 1, labels: { "app.kubernetes.io/name": name } },
      spec: { replicas: 2, selector: {}, template: {} },
      status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
      ...d,
    });
  }

  private maybeFail(): void {
    const f = this.failNext;
    if (f) {
      this.failNext = undefined;
      throw f;
    }
  }

  async reviewToken(token: string, audience: string) {
    this.calls.tokenReviews++;
    this.maybeFail();
    const t = this.tokens.get(token);
    if (!t) return { authenticated: false as const, error: "invalid bearer token" };
    if (!t.audiences.includes(audience)) return { authenticated: false as const, error: "token audiences do not match" };
    return { authenticated: true as const, user: t.user };
  }

  async reviewAccess(user: UserInfo, req: AccessRequest) {
    this.calls.accessReviews++;
    return { allowed: this.grants.has(`${user.username} ${req.verb} ${req.group}/${req.resource} ${req.namespace}`) };
  }

  async createSignal(s: Signal): Promise<Signal> {
    this.maybeFail();
    const key = `${s.kind}/${s.metadata.namespace}/${s.metadata.name}`;
    if (this.signals.has(key)) throw new KubeApiError("create", 409, { reason: "AlreadyExists", message: `${s.metadata.name} already exists` });
    const stored = structuredClone(s);
    this.signals.set(key, stored);
    return stored;
  }

  async getSignal(kind: Signal["kind"], namespace: string, name: string): Promise<Signal> {
    const s = this.signals.get(`${kind}/${namespace}/${name}`);
    if (!s) throw new KubeApiError("get", 404, { reason: "NotFound", message: `${name} not found` });
    return structuredClone(s);
  }

  async createAction(a: RemediationAction): Promise<RemediationAction> {
    this.maybeFail();
    const key = `${a.metadata.namespace}/${a.metadata.name}`;
    if (this.actions.has(key)) throw new KubeApiError("create", 409, { reason: "AlreadyExists", message: `${a.metadata.name} already exists` });
    const stored: RemediationAction = structuredClone({ ...a, metadata: { ...a.metadata, uid: `uid-${this.actions.size}`, creationTimestamp: new Date() } });
    this.actions.set(key, stored);
    this.onAction(stored);
    return structuredClone(stored);
  }

  async getAction(namespace: string, name: string): Promise<RemediationAction> {
    const a = this.actions.get(`${namespace}/${name}`);
    if (!a) throw new KubeApiError("get", 404, { reason: "NotFound", message: `${name} not found` });
    return structuredClone(a);
  }

  /** Tests change stored actions in place without a resourceVersion: any change counts. */
  async nextAction(namespace: string, name: string, _resourceVersion: string | undefined, maxWaitMs: number): Promise<RemediationAction> {
    const deadline = Date.now() + maxWaitMs;
    const before = JSON.stringify(await this.getAction(namespace, name));
    for (;;) {
      const a = await this.getAction(namespace, name);
      if (JSON.stringify(a) !== before || Date.now() >= deadline) return a;
      await new Promise((r) => setTimeout(r, Math.min(2, Math.max(0, deadline - Date.now()))));
    }
  }

  async listDeployments(namespace: string): Promise<DeploymentRef[]> {
    return [...this.deployments.values()].filter((d) => d.metadata?.namespace === namespace).map((d) => ({ name: d.metadata?.name ?? "", labels: d.metadata?.labels }));
  }

  async readDeployment(namespace: string, name: string): Promise<V1Deployment> {
    this.calls.deploymentReads++;
    const d = this.deployments.get(`${namespace}/${name}`);
    if (!d) throw new KubeApiError("get", 404, { reason: "NotFound", message: `${name} not found` });
    return structuredClone(d);
  }
}
