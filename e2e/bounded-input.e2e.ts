// No accepted object may be deeper than the API server can read back. An object
// nested ~10,000 deep used to be stored (with a 500), after which LIST and WATCH
// of its kind failed for everyone and the operator stopped seeing signals of every
// namespace. Those attacks poison the cluster they run on, so this suite starts a
// control plane of its own and stops it at the end.
import * as k8s from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterState, kubectl, startCluster, stopCluster } from "./controlplane/cluster.ts";
import { register, unregister } from "./controlplane/registry.ts";
import { type Clients, clients, createSmartops, ensureNamespace, waitFor } from "./support/kube.ts";
import { action, anomaly, createDeployment, signalToAction, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, serviceAccountKubeconfig, serviceAccountToken, startOperator } from "./support/operator.ts";
import { componentManifests, OPERATOR_NAMESPACE } from "./support/processes.ts";

const ROOT = resolve(import.meta.dirname, "..");
const TENANT = "tenant-a";
const OTHER = "other-team";
const API = "/apis/smartops.io/v1alpha1";

let state: ClusterState;
let c: Clients;
let operator: OperatorProcess | undefined;
let agentToken: string;

const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{"a":1}${"}".repeat(depth - 1)}`;

/** A raw POST to the API server, as an agent would send it with curl: the body is text, never re-encoded. */
function post(path: string, token: string, body: string): Promise<{ status: number; message: string }> {
  const url = new URL(state.server + path);
  return new Promise((done, fail) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", ca: readFileSync(state.caFile), headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => {
          let message = text;
          try {
            message = String((JSON.parse(text) as { message?: string }).message ?? text);
          } catch {
            /* not a Status */
          }
          done({ status: res.statusCode ?? 0, message: message.slice(0, 2000) });
        });
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

const readyz = async () => {
  const res = await fetch(`http://127.0.0.1:${operator!.port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; detail: string } };
};

const listAll = (plural: string) => c.custom.listClusterCustomObject({ group: "smartops.io", version: "v1alpha1", plural }) as Promise<{ items: unknown[] }>;

beforeAll(async () => {
  state = await startCluster({ log: (l) => console.log(`[bounded-input] ${l}`), etcdFsync: false });
  register(state);
  kubectl(state, ["apply", "--server-side", "-f", resolve(ROOT, "crds")]);
  kubectl(state, ["wait", "--for=condition=Established", "crd", "-l", "app.kubernetes.io/part-of=smartops", "--timeout=60s"]);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  c = clients(kc);
  await ensureNamespace(c, TENANT);
  await ensureNamespace(c, OTHER);
  // The demo agent's identity: it may only create signals and actions in its namespace.
  kubectl(state, ["apply", "--server-side", "-f", "-"], readFileSync(resolve(ROOT, "samples/demo/agent.yaml"), "utf8").replaceAll("smartops-dev", TENANT));
  agentToken = await serviceAccountToken(c, TENANT, "smartops-agent");
  for (const m of componentManifests("operator")) kubectl(state, ["apply", "--server-side", "-f", "-"], m);
  operator = await startOperator({ kubeconfig: await serviceAccountKubeconfig(c, OPERATOR_NAMESPACE, "smartops-operator"), identity: "bounded-input" });
  await createDeployment(c, OTHER, "web");
});

afterAll(async () => {
  await operator?.stop();
  if (state) {
    stopCluster(state);
    unregister(state);
  }
});

describe("depth attacks from an agent that may only create signals", () => {
  it.each([
    ["AnomalySignal", "anomalysignals", { windowId: "deep-1", service: "web", isAnomaly: true, score: 0.9, type: "latency" }],
    ["RcaSignal", "rcasignals", { windowId: "deep-2", service: "web" }],
  ])("a %s whose spec.metadata is nested 9,995 deep is refused; LIST works; the operator keeps processing other namespaces", async (kind, plural, spec) => {
    const body = `{"apiVersion":"smartops.io/v1alpha1","kind":"${kind}","metadata":{"name":"deep-${plural}"},"spec":${JSON.stringify(spec).slice(0, -1)},"metadata":${nested(9_995)}}}`;
    const r = await post(`${API}/namespaces/${TENANT}/${plural}`, agentToken, body);
    expect(r.status, r.message).toBeGreaterThanOrEqual(400);
    expect(r.status, r.message).toBeLessThan(500);
    expect(r.message).toContain("spec.metadata");

    // Nothing was stored: LIST of the kind works, for everyone.
    expect((await listAll(plural)).items).toEqual([]);
    expect(kubectl(state, ["get", plural, "-A", "-o", "name"])).not.toContain("deep");

    // The agent's legitimate signal, numbers kept as numbers, still gets in.
    const ok = await post(`${API}/namespaces/${TENANT}/${plural}`, agentToken, JSON.stringify({ apiVersion: "smartops.io/v1alpha1", kind, metadata: { name: `ok-${plural}` }, spec: { ...spec, windowId: `ok-${plural}`, metadata: { cpu: 96.3, pods: 3, node: "n1", spot: true } } }));
    expect(ok.status, ok.message).toBe(201);
    const stored = (await c.custom.getNamespacedCustomObject({ group: "smartops.io", version: "v1alpha1", namespace: TENANT, plural, name: `ok-${plural}` })) as { spec: { metadata: unknown } };
    expect(stored.spec.metadata).toEqual({ cpu: 96.3, pods: 3, node: "n1", spot: true });

    // The operator still sees and processes signals of another namespace, and is ready.
    expect(await signalToAction(c, anomaly(OTHER, `after-${plural}`, { service: "web", type: "latency", confidence: 0.9 }))).toBeTruthy();
    expect(await readyz()).toMatchObject({ status: 200 });
  });

  it("a RemediationAction whose merge patch is nested 9,990 deep is refused, as an object and as text; LIST works", async () => {
    const head = `{"apiVersion":"smartops.io/v1alpha1","kind":"RemediationAction","metadata":{"name":"deep-patch"},"spec":{"type":"patch","target":{"name":"web"},"patch":{"merge":`;
    const asObject = await post(`${API}/namespaces/${TENANT}/remediationactions`, agentToken, `${head}{"spec":${nested(9_990)}}}}}`);
    expect(asObject.status, asObject.message).toBeGreaterThanOrEqual(400);
    expect(asObject.status, asObject.message).toBeLessThan(500);
    expect(asObject.message).toContain("spec.patch.merge");

    const asText = await post(`${API}/namespaces/${TENANT}/remediationactions`, agentToken, `${head}${JSON.stringify(`{"spec":${nested(9_990)}}`)}}}}`);
    expect(asText.status, asText.message).toBeGreaterThanOrEqual(400);
    expect(asText.status, asText.message).toBeLessThan(500);
    expect(asText.message).toContain("spec.patch.merge");

    expect((await listAll("remediationactions")).items.map((a) => (a as { metadata: { name: string } }).metadata.name)).not.toContain("deep-patch");
  });
});

describe("patch text the operator parses", () => {
  const patchAction = (name: string, patch: Record<string, string>) =>
    action(OTHER, name, { type: "patch", target: { name: "web" }, patch, verify: false });

  it.each([
    ["nested deeper than 32", { merge: `{"spec":{"template":{"metadata":{"annotations":{"a":"b"}}},"x":${nested(40)}}}` }, "more than 32 levels deep"],
    ["with 1e309 (which would be sent as null, a delete)", { merge: '{"spec":{"replicas":1e309}}' }, "/spec/replicas"],
    ["that is not JSON", { strategic: "{spec: 1}" }, "is not valid JSON"],
    ["with an operation without from", { json: '[{"op":"move","path":"/spec/paused"}]' }, "spec.patch.json[0].from"],
  ])("a patch %s ends Blocked with reason InvalidPatch naming the problem", async (_what, patch, message) => {
    const name = `bad-${Math.random().toString(16).slice(2, 8)}`;
    await createSmartops(c, patchAction(name, patch));
    const a = await waitForPhase(c, OTHER, name);
    expect(a.status).toMatchObject({ phase: "Blocked", reason: "InvalidPatch" });
    expect(a.status?.message).toContain(message);
    expect(a.status?.message).toContain("spec.patch.");
  });

  it("a valid patch text is applied as the document it holds", async () => {
    await createSmartops(c, patchAction("annotate-web", { merge: '{"spec":{"template":{"metadata":{"annotations":{"smartops/bounded":"yes"}}}}}' }));
    const a = await waitForPhase(c, OTHER, "annotate-web");
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
    const d = await c.apps.readNamespacedDeployment({ namespace: OTHER, name: "web" });
    expect(d.spec?.template?.metadata?.annotations?.["smartops/bounded"]).toBe("yes");
  });
});

describe("readiness", () => {
  it("fails while an informer cannot list, naming it, and recovers when it can", async () => {
    expect(await readyz()).toMatchObject({ status: 200 });
    // Removing the kind ends the operator's watch of it; every relist then fails.
    kubectl(state, ["delete", "crd", "rcasignals.smartops.io", "--wait=true"]);
    const down = await waitFor("readyz 503", async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    }, 60_000, 250);
    expect(down.body.detail).toMatch(/^cannot list rcasignals: /);
    kubectl(state, ["apply", "--server-side", "-f", resolve(ROOT, "crds/smartops.io_rcasignals.yaml")]);
    await waitFor("readyz 200 again", async () => (await readyz()).status === 200, 90_000, 250);
  });
});
