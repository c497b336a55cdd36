// A failed patch never discloses the Deployment: the API server answers a patch
// whose result cannot be decoded (an annotation value that is not a string) with a
// 422 that embeds the whole patched object, env vars and all. Neither the action's
// status, its events, the operator's log nor the shim's answer may repeat it — the
// agent sending the patch may not even `get` the Deployment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySmartops, clients, ensureNamespace, kubectl } from "./support/kube.ts";
import { action, permissive, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountToken } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";
import { installAgentRbac } from "./support/agents.ts";

const c = clients();
const NS = "e2e-error-disclosure";
const SECRET = "hunter2-Zq9-not-for-agents";
const IMAGE = "registry.invalid/secretive-image:7.3.1";
let op: OperatorProcess;
let shim: ShimProcess;
let agent: string;

/** Every part of the Deployment that must not show. */
const leaks = (text: string) => ["DB_PASSWORD", SECRET, IMAGE, "secretive-image"].filter((s) => text.includes(s));

beforeAll(async () => {
  await ensureNamespace(c, NS);
  await applySmartops(c, permissive(NS));
  await c.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: "secretive", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "secretive" } },
        template: {
          metadata: { labels: { app: "secretive" } },
          spec: { containers: [{ name: "app", image: IMAGE, env: [{ name: "DB_PASSWORD", value: SECRET }] }] },
        },
      },
    },
  });
  // The agent may create actions and nothing else: no get on Deployments.
  installAgentRbac(NS, [{ apiGroups: ["smartops.io"], resources: ["remediationactions"], verbs: ["create"] }]);
  agent = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
  op = await operatorUnderOwnRbac(c, "error-disclosure");
  shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS });
}, 300_000);

afterAll(async () => {
  await shim?.stop();
  await op?.stop();
});

// An annotation value must be a string: the merged object no longer decodes.
const badAnnotation = { spec: { template: { metadata: { annotations: { "smartops.io/broken": 12345 } } } } };

describe("a failed patch discloses nothing of the Deployment", () => {
  it("status.message, the action's events and the operator's log hold no part of the object", async () => {
    await applySmartops(c, action(NS, "bad-annotation", { type: "patch", target: { name: "secretive" }, patch: { merge: JSON.stringify(badAnnotation) } }));
    const a = await waitForPhase(c, NS, "bad-annotation");
    // Refused by the API server: at the dry run that judges the patch's effect
    // (Blocked InvalidPatch) or, without one, when applied (Failed).
    expect(["Blocked", "Failed"], a.status?.message).toContain(a.status?.phase);
    // What went wrong still shows: the status code and the API server's reason.
    expect(a.status?.message).toMatch(/422/);
    expect(leaks(a.status?.message ?? "")).toEqual([]);
    expect(leaks(JSON.stringify(a.status))).toEqual([]);
    const events = kubectl(["get", "events", "-n", NS, "--field-selector", "involvedObject.name=bad-annotation", "-o", "json"]);
    expect(JSON.parse(events).items.length).toBeGreaterThan(0);
    expect(leaks(events)).toEqual([]);
    expect(leaks(op.logs())).toEqual([]);
  });

  it("the shim's answer to an agent that may not read the Deployment holds no part of it", async () => {
    const res = await fetch(`${shim.url}/v1/k8s/patch`, {
      method: "POST",
      headers: { authorization: `Bearer ${agent}`, "content-type": "application/json" },
      body: JSON.stringify({ namespace: NS, deployment: "secretive", patch: badAnnotation, dry_run: false, verify: true, verify_timeout_seconds: 10 }),
    });
    const text = await res.text();
    expect(JSON.parse(text), text).toMatchObject({ success: false });
    expect(text).toMatch(/422/);
    expect(leaks(text)).toEqual([]);
    expect(leaks(shim.logs())).toEqual([]);
  });
});
