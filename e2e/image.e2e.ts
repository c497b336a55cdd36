// The container image `make image` builds, run without a container engine: its
// layers unpacked from the OCI layout (digests checked, whiteouts applied), and
// its entrypoint started in that root filesystem as uid 65532, on the host's
// network, with the ServiceAccount files a kubelet would mount. The operator
// command wins the lease, reconciles a signal and serves /metrics and /readyz;
// the shim command (the chart's args) serves /healthz and /readyz and takes a
// signal the operator then acts on. The image's config is checked against
// tools/image/image.json and the Dockerfile.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signalName } from "../operator/src/shim/mapping.ts";
import { freePort } from "./controlplane/cluster.ts";
import { AGENT_RULES, installAgentRbac } from "./support/agents.ts";
import { configRecipe, disagreements, dockerfileRecipe, specRecipe } from "./support/image-recipe.ts";
import { buildImage, copyUnpacked, imageUser, mountServiceAccount, processCredentials, runInImage, type Unpacked, unpackImage } from "./support/image.ts";
import { applySmartops, clients, ensureNamespace, waitFor } from "./support/kube.ts";
import { createDeployment, permissive, rca, signalStatus, signalToAction, waitForPhase } from "./support/loop.ts";
import { installOperatorRbac, OPERATOR_NAMESPACE, serviceAccountToken } from "./support/operator.ts";
import { tail, waitReady } from "./support/processes.ts";
import { installShimRbac } from "./support/shim.ts";

const ROOT = resolve(import.meta.dirname, "..");
const c = clients();
const NS = "e2e-image";
const LEASE = `image-e2e-${Date.now().toString(36)}`;
const IDENTITY = "image-operator";
const logs = mkdtempSync(join(tmpdir(), "smartops-image-e2e-"));

let operatorPod: Unpacked;
let shimPod: Unpacked;
const running: ChildProcess[] = [];
let agent: string;

/** The args a chart template gives its container (charts/…/templates/<component>/deployment.yaml). */
function chartArgs(component: "operator" | "shim"): string[] {
  const t = readFileSync(join(ROOT, `charts/smartops-operator/templates/${component}/deployment.yaml`), "utf8");
  const m = /^\s*args:\s*(\[.*\])\s*$/m.exec(t);
  if (!m) throw new Error(`the chart's ${component} Deployment has no args line`);
  return JSON.parse(m[1]!) as string[];
}

/** In-cluster configuration, as a kubelet gives a Pod: the API server's address in the environment. */
function inCluster(): Record<string, string> {
  const server = new URL(c.kc.getCurrentCluster()!.server);
  return { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port || "443" };
}

async function mountToken(pod: Unpacked, serviceAccount: string) {
  const { uid, gid } = imageUser(pod.image);
  const ca = Buffer.from(c.kc.getCurrentCluster()!.caData ?? "", "base64").toString("utf8");
  mountServiceAccount(pod.rootfs, { token: await serviceAccountToken(c, OPERATOR_NAMESPACE, serviceAccount), ca, namespace: OPERATOR_NAMESPACE }, uid, gid);
}

async function stop(p: ChildProcess) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

async function get(port: number, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

function expectImageUser(pid: number, pod: Unpacked) {
  const cred = processCredentials(pid);
  expect(cred.uid).toEqual([65532, 65532, 65532, 65532]);
  expect(cred.gid).toEqual([65532, 65532, 65532, 65532]);
  expect(cred.groups.every((g) => g === 65532)).toBe(true);
  expect(cred.capEff).toBe(0n);
  // Its root directory is the unpacked image, not the host's.
  expect(readFileSync(`/proc/${pid}/root/etc/passwd`, "utf8")).toBe(readFileSync(join(pod.rootfs, "etc/passwd"), "utf8"));
  expect(existsSync(`/proc/${pid}/root/etc/os-release`)).toBe(false);
}

beforeAll(async () => {
  const dir = buildImage();
  operatorPod = unpackImage(dir);
  shimPod = copyUnpacked(operatorPod);
  installOperatorRbac();
  installShimRbac();
  await ensureNamespace(c, NS);
  installAgentRbac(NS, AGENT_RULES);
  await applySmartops(c, permissive(NS));
  await Promise.all([mountToken(operatorPod, "smartops-operator"), mountToken(shimPod, "smartops-shim")]);
  agent = await serviceAccountToken(c, NS, "agent", ["smartops-shim"]);
}, 300_000);

afterAll(async () => {
  await Promise.all(running.map(stop));
  operatorPod?.remove();
  shimPod?.remove();
});

describe("the image built without a Docker engine", () => {
  it("is what tools/image/image.json and the Dockerfile say: entrypoint, command, user, environment, files, Node major", async () => {
    const { config } = operatorPod.image;
    expect(config).toMatchObject({ architecture: "amd64", os: "linux" });
    const logFile = join(logs, "node-version.log");
    const p = runInImage(operatorPod, { args: ["--version"], logFile });
    expect(await new Promise((r) => p.once("exit", r))).toBe(0);
    const version = readFileSync(logFile, "utf8").trim();
    expect(version).toMatch(/^v\d+\.\d+\.\d+$/);
    const spec = specRecipe();
    const present = [...new Set([...spec.files, ...dockerfileRecipe(readFileSync(join(ROOT, "Dockerfile"), "utf8")).files])].filter((f) => existsSync(join(operatorPod.rootfs, f)));
    const built = configRecipe(config, present, Number(version.slice(1).split(".")[0]));
    expect(built).toEqual(spec);
    expect(disagreements(dockerfileRecipe(readFileSync(join(ROOT, "Dockerfile"), "utf8")), built)).toEqual([]);
    // The chart runs the image's own command for the operator.
    expect(chartArgs("operator")).toEqual(config.config.Cmd);
    // The program's files belong to root: the process (65532) cannot rewrite them. Its home is its own.
    for (const f of ["app", "app/dist/cmd/operator.js", "app/node_modules", "nodejs/bin/node"]) {
      const st = statSync(join(operatorPod.rootfs, f));
      expect([st.uid, st.mode & 0o022], f).toEqual([0, 0]);
    }
    expect(statSync(join(operatorPod.rootfs, "home/nonroot")).uid).toBe(65532);
    // No shell and no package manager in the image.
    for (const f of ["bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/apt-get", "nodejs/bin/npm", "usr/bin/dpkg"]) expect(existsSync(join(operatorPod.rootfs, f)), f).toBe(false);
  });

  it("operator: starts as uid 65532 in the image's root, wins the lease, reconciles a signal, serves /metrics and /readyz", async () => {
    const port = await freePort();
    const logFile = join(logs, "operator.log");
    const p = runInImage(operatorPod, {
      logFile,
      env: {
        ...inCluster(),
        SMARTOPS_LISTEN: `127.0.0.1:${port}`,
        SMARTOPS_OPERATOR_NAMESPACE: OPERATOR_NAMESPACE,
        SMARTOPS_IDENTITY: IDENTITY,
        SMARTOPS_LEASE_NAME: LEASE,
        SMARTOPS_LEASE_DURATION_SECONDS: "4",
        SMARTOPS_RENEW_DEADLINE_SECONDS: "3",
        SMARTOPS_RETRY_PERIOD_SECONDS: "0.5",
      },
    });
    running.push(p);
    await waitReady("operator", port, () => p.exitCode === null && p.signalCode === null, logFile);
    expectImageUser(p.pid!, operatorPod);

    const leases = c.kc.makeApiClient(CoordinationV1Api);
    const lease = await waitFor(`lease ${LEASE} held`, async () => {
      const l = await leases.readNamespacedLease({ name: LEASE, namespace: OPERATOR_NAMESPACE }).catch(() => undefined);
      return l?.spec?.holderIdentity === IDENTITY ? l : undefined;
    });
    expect(lease.spec?.holderIdentity).toBe(IDENTITY);

    await createDeployment(c, NS, "image-app", 2);
    const name = await signalToAction(c, rca(NS, "image-cpu", "image-app", "cpu_saturation"));
    const a = await waitForPhase(c, NS, name);
    expect(a.status?.phase, `${a.status?.message}\n${tail(logFile)}`).toBe("Succeeded");
    expect(a.status?.intent).toMatchObject({ fromReplicas: 2, replicas: 3 });
    expect((await c.apps.readNamespacedDeployment({ name: "image-app", namespace: NS })).spec?.replicas).toBe(3);

    const metrics = await get(port, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(new RegExp(`^smartops_k8s_scale_total\\{namespace="${NS}",deployment="image-app"\\} 1$`, "m"));
    expect(await get(port, "/readyz")).toMatchObject({ status: 200 });
  });

  it("shim: the chart's args start it as uid 65532; it serves /healthz and /readyz and takes a signal the operator acts on", async () => {
    const port = await freePort();
    const logFile = join(logs, "shim.log");
    const args = chartArgs("shim");
    expect(args).toEqual(["dist/cmd/shim.js"]);
    const p = runInImage(shimPod, { args, logFile, env: { ...inCluster(), SMARTOPS_SHIM_LISTEN: `127.0.0.1:${port}`, SMARTOPS_SHIM_DEFAULT_NAMESPACE: NS } });
    running.push(p);
    await waitReady("shim", port, () => p.exitCode === null && p.signalCode === null, logFile);
    expectImageUser(p.pid!, shimPod);
    expect(await get(port, "/healthz")).toMatchObject({ status: 200 });
    expect(await get(port, "/readyz")).toMatchObject({ status: 200 });

    await createDeployment(c, NS, "image-shim-app", 2);
    const res = await fetch(`http://127.0.0.1:${port}/v1/signals/anomaly`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${agent}` },
      body: JSON.stringify({ windowId: "image-lat-001", service: "image-shim-app", isAnomaly: true, score: 0.9, type: "latency" }),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    const signal = signalName("image-lat-001");
    const action = await waitFor(`action of ${signal}`, async () => (await signalStatus(c, "AnomalySignal", NS, signal))?.actionRef as { name: string } | undefined);
    const a = await waitForPhase(c, NS, action.name);
    expect(a.status?.phase, `${a.status?.message}\n${tail(logFile)}`).toBe("Succeeded");
    expect(a.spec).toMatchObject({ type: "restart", target: { name: "image-shim-app" } });
    expect((await get(port, "/metrics")).status).toBe(200);
  });
});
