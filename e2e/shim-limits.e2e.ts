// The shim's resource bounds on the real control plane: callers with real
// TokenRequest tokens cannot hold the shim's sockets, and /v1/verify/deployment
// cannot be turned into a storm of GETs on the API server (counted from the API
// server's own request metrics).
import { execFileSync } from "node:child_process";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { clients, ensureNamespace } from "./support/kube.ts";
import { createDeployment } from "./support/loop.ts";
import { serviceAccountToken } from "./support/operator.ts";
import { type ShimProcess, shimUnderOwnRbac } from "./support/shim.ts";
import { AGENT_RULES, installAgentRbac } from "./support/agents.ts";

const c = clients();
const NS = "e2e-shim-limits";
let shim: ShimProcess;
let agent: string;
let norbac: string;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A chunked POST whose body never ends: one byte every 200 ms until the shim closes the connection. */
function slowloris(port: number, path: string, token: string) {
  const sock = connect(port, "127.0.0.1");
  let text = "";
  let closed = false;
  sock.on("data", (d: Buffer) => { text += d.toString("latin1"); });
  sock.on("error", () => {});
  const ended = new Promise<number>((r) => sock.once("close", () => { closed = true; r(Date.now()); }));
  sock.once("connect", () => {
    sock.write(`POST ${path} HTTP/1.1\r\nHost: shim\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`);
    void (async () => {
      while (!closed) {
        await sleep(200);
        if (!closed && !sock.destroyed) sock.write("1\r\n \r\n");
      }
    })();
  });
  return { ended, status: () => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), response: () => text, destroy: () => sock.destroy() };
}

/** GETs of single Deployments the API server has answered so far (all clients, all codes). */
function deploymentGets(): number {
  // The API server's metrics are larger than the shared kubectl helper's output buffer.
  const metrics = execFileSync(inject("kubectl"), ["--kubeconfig", inject("kubeconfig"), "get", "--raw", "/metrics"], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  let n = 0;
  for (const m of metrics.matchAll(/^apiserver_request_total\{([^}]*)\} (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/gm)) {
    const labels = m[1]!;
    if (labels.includes('verb="GET"') && labels.includes('resource="deployments"') && labels.includes('subresource=""')) n += Number(m[2]);
  }
  return n;
}

async function post(path: string, body: unknown, token: string) {
  const res = await fetch(shim.url + path, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  await ensureNamespace(c, NS);
  installAgentRbac(NS, AGENT_RULES, { withoutRbac: ["norbac"] });
  await createDeployment(c, NS, "smartops-erp-simulator", 1);
  // Never schedulable: its rollout stays in progress for the whole test.
  await c.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "stuck", namespace: NS, labels: { "app.kubernetes.io/name": "stuck" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "stuck" } },
        template: { metadata: { labels: { app: "stuck" } }, spec: { nodeSelector: { "smartops.io/no-such-node": "true" }, containers: [{ name: "app", image: "registry.invalid/app:1" }] } },
      },
    },
  });
  [agent, norbac] = await Promise.all([serviceAccountToken(c, NS, "agent", ["smartops-shim"]), serviceAccountToken(c, NS, "norbac", ["smartops-shim"])]);
  shim = await shimUnderOwnRbac(c, { SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS, SMARTOPS_SHIM_BODY_TIMEOUT_SECONDS: "2" });
}, 300_000);

afterAll(async () => {
  await shim?.stop();
});

describe("shim limits: held requests (finding 6)", () => {
  it("200 never-ending chunked requests from a valid token with no RBAC are refused and released at once; others are served meanwhile", async () => {
    // Both tokens once first: known-good tokens skip the per-address limit for new tokens.
    expect((await post("/v1/signals/anomaly", { windowId: "warm-up", service: "erp-simulator", isAnomaly: false, score: 0.1, type: "latency" }, agent)).status).toBe(200);
    expect((await post("/v1/k8s/scale", { deployment: "erp-simulator", replicas: 1 }, norbac)).status).toBe(403);
    const started = Date.now();
    const held = Array.from({ length: 200 }, () => slowloris(shim.port, "/v1/k8s/scale", norbac));
    try {
      const ok = await post("/v1/signals/anomaly", { windowId: "during-hold", service: "erp-simulator", isAnomaly: false, score: 0.1, type: "latency" }, agent);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const closedAt = await Promise.race([Promise.all(held.map((h) => h.ended)), sleep(10_000).then(() => undefined)]);
      const open = held.filter((h) => h.status() === 0).length;
      expect(closedAt, `${open} of 200 held connections still open after 10 s`).toBeDefined();
      expect(Math.max(...closedAt!) - started).toBeLessThan(10_000);
      // 403 (no RBAC) or, past the identity's rate limit, 429: either way answered from the headers.
      for (const h of held) {
        expect([403, 429], h.response().slice(0, 300)).toContain(h.status());
        expect(h.response()).toMatch(/connection: close/i);
      }
      const forbidden = held.filter((h) => h.status() === 403);
      expect(forbidden.length).toBeGreaterThan(0);
      expect(forbidden[0]!.response()).toContain(`system:serviceaccount:${NS}:norbac may not create remediationactions.smartops.io`);
    } finally {
      for (const h of held) h.destroy();
    }
  });

  it("a never-ending body from an authorized caller is cut with 408 at the body deadline", async () => {
    const started = Date.now();
    const h = slowloris(shim.port, "/v1/k8s/scale", agent);
    try {
      const closedAt = await Promise.race([h.ended, sleep(15_000).then(() => undefined)]);
      expect(closedAt, "connection still open after 15 s").toBeDefined();
      expect(h.status(), h.response()).toBe(408);
      expect(closedAt! - started).toBeLessThan(6_000);
    } finally {
      h.destroy();
    }
  });
});

describe("shim limits: verify/deployment (finding 6)", () => {
  it("20 callers polling a stuck Deployment every 0.1 s for 15 s make a bounded number of GETs", async () => {
    const before = deploymentGets();
    const answers = await Promise.all(Array.from({ length: 20 }, () =>
      post("/v1/verify/deployment", { namespace: NS, deployment: "stuck", timeout_seconds: 15, poll_interval_seconds: 0.1 }, agent),
    ));
    const gets = deploymentGets() - before;
    for (const a of answers) expect(a, JSON.stringify(a.body)).toMatchObject({ status: 200, body: { status: "TIMED_OUT", deployment: "stuck" } });
    // Shared reads at most once a second: about 15, where one poll per caller every 0.1 s made thousands.
    expect(gets).toBeGreaterThan(0);
    expect(gets, `${gets} GETs of Deployments in 15 s`).toBeLessThanOrEqual(25);
  }, 60_000);
});
