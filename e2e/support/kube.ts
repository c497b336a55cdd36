// Test-side access to the cluster under test: clients, apply, wait.
import * as k8s from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { inject } from "vitest";
import { kindDefinition } from "../../operator/src/api/v1alpha1/validation.ts";

export const FIELD_MANAGER = "smartops-e2e";

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(inject("kubeconfig"));
  return kc;
}

export interface Clients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  ext: k8s.ApiextensionsV1Api;
  policy: k8s.PolicyV1Api;
  objects: k8s.KubernetesObjectApi;
}

export function clients(kc = kubeConfig()): Clients {
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    ext: kc.makeApiClient(k8s.ApiextensionsV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}

/** The control plane's own kubectl, as the admin. */
export function kubectl(args: string[], input?: string): string {
  return execFileSync(inject("kubectl"), ["--kubeconfig", inject("kubeconfig"), ...args], {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 60_000,
  });
}

export interface SmartopsObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; [k: string]: unknown };
  spec: unknown;
  status?: unknown;
}

function resourceOf(obj: SmartopsObject) {
  const [group, version] = obj.apiVersion.split("/") as [string, string];
  const def = kindDefinition(obj.kind);
  if (!def) throw new Error(`not a smartops.io kind: ${obj.kind}`);
  return { group, version, namespace: obj.metadata.namespace, plural: def.plural };
}

/** Create one smartops.io object, with strict field validation as kubectl sends it. */
export async function createSmartops(c: Clients, obj: SmartopsObject): Promise<SmartopsObject> {
  return (await c.custom.createNamespacedCustomObject({
    ...resourceOf(obj),
    body: obj,
    fieldManager: FIELD_MANAGER,
    fieldValidation: "Strict",
  })) as SmartopsObject;
}

/** Server-side apply of one smartops.io object, with strict field validation as kubectl sends it. */
export async function applySmartops(c: Clients, obj: SmartopsObject): Promise<SmartopsObject> {
  return (await c.custom.patchNamespacedCustomObject(
    {
      ...resourceOf(obj),
      name: obj.metadata.name,
      body: obj,
      fieldManager: FIELD_MANAGER,
      fieldValidation: "Strict",
      force: true,
    },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
  )) as SmartopsObject;
}

export async function ensureNamespace(c: Clients, name: string): Promise<void> {
  await c.objects.patch(
    { apiVersion: "v1", kind: "Namespace", metadata: { name } },
    undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply,
  );
  await waitFor(`ServiceAccount ${name}/default`, async () => {
    await c.core.readNamespacedServiceAccount({ name: "default", namespace: name });
    return true;
  });
}

/** The message of an API error, from the Status body the API server returned. */
export function apiErrorMessage(err: unknown): { code: number; message: string } {
  if (err instanceof k8s.ApiException) {
    const body = typeof err.body === "string" ? safeJson(err.body) : err.body;
    return { code: err.code, message: String((body as { message?: string })?.message ?? err.message) };
  }
  return { code: 0, message: String(err) };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return { message: s };
  }
}

/**
 * Polls until `probe` returns a truthy value (which it returns) or the timeout
 * passes; then fails with the last value or error seen, so a failure explains itself.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 60_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v as T;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}
