// The seed contract as golden tests: every request/response example of the seed
// orchestrator's API (e2e/golden/seed-answers.json, each naming its source) sent
// to the real shim in front of the real operator, on the real control plane. An
// answer must have every field of its golden with the same JSON type and the
// same status code (support/golden.ts); fields we add are allowed. Where the
// safelist refuses a seed example, its golden answer is the refusal. The rest of
// docs/shim.md's outcome table — dry runs, verify, every guardrail block the
// shim can meet, approval, unknown Deployment, Prefer: respond-async — is in the
// same file, in the same form.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_RULES, installAgentRbac } from "./support/agents.ts";
import { type GoldenCase, goldenMismatches } from "./support/golden.ts";
import { applySmartops, clients, ensureNamespace, FIELD_MANAGER, waitFor } from "./support/kube.ts";
import { createDeployment, deploymentAvailable, permissive, TERMINAL, waitForPhase } from "./support/loop.ts";
import { type OperatorProcess, operatorUnderOwnRbac, serviceAccountToken } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";

const c = clients();
const NS = "e2e-seed-contract";
const CASES = JSON.parse(readFileSync(new URL("./golden/seed-answers.json", import.meta.url), "utf8")) as GoldenCase[];
let shim: ShimProcess;
let op: OperatorProcess;
let token: string;
const pods: Record<string, string> = {};

/** A policy for one Deployment (by its name label): no cooldowns or rates unless the case is about them. */
const only = (deployment: string, spec: Record<string, unknown>) =>
  permissive(NS, { targets: { selector: { matchLabels: { "app.kubernetes.io/name": deployment } } }, replicas: { min: 1, max: 10, maxStep: 10 }, ...spec }, `only-${deployment}`);

async function send(r: GoldenCase["request"]): Promise<{ status: number; body: unknown }> {
  // The seed's namespace is the suite's; pod names are the cluster's.
  const text = JSON.stringify(r.body ?? null)
    .replaceAll('"smartops-dev"', JSON.stringify(NS))
    .replaceAll("${POD}", pods.target ?? "")
    .replaceAll("${OTHER_POD}", pods.other ?? "");
  const res = await fetch(shim.url + r.path, {
    method: r.method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...r.headers },
    ...(r.method === "POST" ? { body: text } : {}),
  });
  return { status: res.status, body: await res.json() };
}

/** An action through the shim that must succeed, so that the case after it meets its history. */
async function succeed(path: string, body: Record<string, unknown>): Promise<void> {
  const r = await send({ method: "POST", path, body });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

/**
 * A running pod of a settled Deployment: an earlier case may have restarted it, and a
 * pod of a rollout still under way can be newer than what the operator's cache holds.
 */
async function podOf(deployment: string): Promise<string> {
  await waitFor(`${deployment} settled`, () => deploymentAvailable(c, NS, deployment), 60_000);
  return waitFor(`a running pod of ${deployment}`, async () => {
    const list = await c.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${deployment}` });
    return list.items.find((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp)?.metadata?.name;
  });
}

const SETUP: Record<string, () => Promise<void>> = {
  "restart c-cool": () => succeed("/v1/k8s/restart", { deployment: "c-cool" }),
  "restart c-hourly": () => succeed("/v1/k8s/restart", { deployment: "c-hourly" }),
  "scale c-incr to 3": () => succeed("/v1/k8s/scale", { deployment: "c-incr", replicas: 3 }),
  pod: async () => {
    pods.target = await podOf("smartops-erp-simulator");
    pods.other = await podOf("c-other");
  },
};

beforeAll(async () => {
  await ensureNamespace(c, NS);
  installAgentRbac(NS, AGENT_RULES);
  await applySmartops(c, permissive(NS, { replicas: { min: 1, max: 10, maxStep: 10 } }));
  await applySmartops(c, only("c-step", { replicas: { min: 1, max: 10, maxStep: 1 } }));
  await applySmartops(c, only("c-cool", { cooldownSeconds: { scale: 0, restart: 600, patch: 0, deletePod: 0 } }));
  await applySmartops(c, only("c-hourly", { rateLimits: { maxActionsPerHour: 1, maxScaleIncreasePer15Minutes: 100 } }));
  await applySmartops(c, only("c-incr", { rateLimits: { maxActionsPerHour: 1000, maxScaleIncreasePer15Minutes: 1 } }));
  await applySmartops(c, only("c-types", { allowedActions: ["scale"] }));
  await applySmartops(c, only("c-paused", { paused: true }));
  await applySmartops(c, only("c-approval", { approval: { restart: "Required" } }));
  await Promise.all(["smartops-erp-simulator", "c-step", "c-cool", "c-hourly", "c-incr", "c-types", "c-paused", "c-approval", "c-other"].map((d) => createDeployment(c, NS, d, 2)));
  // A Deployment whose pods can never be scheduled: its rollout never completes.
  await c.apps.createNamespacedDeployment({
    namespace: NS,
    fieldManager: FIELD_MANAGER,
    body: {
      metadata: { name: "c-pending", labels: { "app.kubernetes.io/name": "c-pending" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "c-pending" } },
        template: { metadata: { labels: { app: "c-pending" } }, spec: { nodeSelector: { "smartops.io/no-such-node": "true" }, containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
      },
    },
  });
  token = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
  shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_RATE_LIMIT_PER_SECOND: "1000", SMARTOPS_SHIM_RATE_LIMIT_BURST: "1000" });
  op = await operatorUnderOwnRbac(c, "seed-contract");
}, 300_000);

afterAll(async () => {
  await shim?.stop();
  await op?.stop();
});

describe("the seed contract, golden answers from the real shim and operator", () => {
  it.each(CASES.map((k) => [`${k.name} (${k.source})`, k] as const))("%s", async (_title, k) => {
    if (k.setup) {
      const prepare = SETUP[k.setup];
      expect(prepare, `no setup named ${k.setup}`).toBeDefined();
      await prepare!();
    }
    const r = await send(k.request);
    // Messages name the suite's namespace where the seed's say smartops-dev.
    const like = Object.fromEntries(Object.entries(k.like ?? {}).map(([p, re]) => [p, re.replaceAll("smartops-dev", NS)]));
    expect(goldenMismatches({ ...k, like }, r.status, r.body), JSON.stringify(r.body, null, 1)).toEqual([]);
  });

  it("every seed route and outcome has a golden case", () => {
    const routes = new Set(CASES.map((k) => k.request.path));
    for (const r of ["/healthz", "/v1/k8s/scale", "/v1/k8s/restart", "/v1/k8s/patch", "/v1/actions/execute", "/v1/signals/anomaly", "/v1/signals/rca", "/v1/verify/deployment"]) expect(routes).toContain(r);
    const statuses = new Set(CASES.map((k) => k.status));
    for (const s of [200, 202, 400, 403, 404, 409]) expect(statuses).toContain(s);
  });

  it("POST /v1/actions/{name}/revert undoes an earlier scale, answered with its outcome; a second revert is refused 409, a missing action 404", async () => {
    await applySmartops(c, only("c-revert", {}));
    await createDeployment(c, NS, "c-revert", 2);
    const scaled = await send({ method: "POST", path: "/v1/k8s/scale", body: { deployment: "c-revert", replicas: 3 } });
    expect(scaled.status, JSON.stringify(scaled.body)).toBe(200);
    const name = String((scaled.body as { action: string }).action);

    const r = await send({ method: "POST", path: `/v1/actions/${name}/revert`, body: { reason: "the extra replica did not help" } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const answer = r.body as { success: boolean; action: string; phase: string };
    expect(answer).toMatchObject({ success: true, phase: expect.stringMatching(/^(Verifying|Succeeded)$/) });
    const undo = await waitForPhase(c, NS, answer.action, TERMINAL);
    expect(undo.status?.phase, undo.status?.message).toBe("Succeeded");
    expect(undo.spec).toMatchObject({ type: "revert", revertOf: name });
    expect((await c.apps.readNamespacedDeployment({ name: "c-revert", namespace: NS })).spec?.replicas).toBe(2);

    const again = await send({ method: "POST", path: `/v1/actions/${name}/revert`, body: {} });
    expect(again.status, JSON.stringify(again.body)).toBe(409);
    expect(again.body).toMatchObject({ reason: "AlreadyReverted", field: "name" });
    const missing = await send({ method: "POST", path: "/v1/actions/no-such-action/revert", body: {} });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ field: "name" });
  });

  it("an action still moving when the answer was given (Prefer: respond-async) goes on to its outcome", async () => {
    const r = await send({ method: "POST", path: "/v1/k8s/restart", body: { deployment: "c-other" }, headers: { prefer: "respond-async" } });
    expect(r.status).toBe(202);
    const a = await waitForPhase(c, NS, String((r.body as { action: string }).action), TERMINAL);
    expect(a.status?.phase, a.status?.message).toBe("Succeeded");
  });
});
