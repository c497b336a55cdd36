// A real Kubernetes control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and KWOK, built by build.sh.
//
// Everything needed to find, restart or stop the cluster is written to
// <dir>/state.json, so any process (the e2e global setup, a test worker that
// restarts the API server, `make cluster-down`) can act on it. Only PIDs recorded
// there are ever signalled, and only after checking they still run our binary.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface ProcessState {
  argv: string[];
  log: string;
  pid: number;
}

export interface ClusterState {
  dir: string;
  binDir: string;
  kubeconfig: string;
  server: string;
  adminToken: string;
  caFile: string;
  ports: Record<"etcdClient" | "etcdPeer" | "apiserver" | "controllerManager" | "scheduler" | "kwok", number>;
  processes: Partial<Record<Component, ProcessState>>;
  /** PID of the process that owns the cluster; when it is gone the cluster is stale. */
  ownerPid: number;
  startedAt: string;
}

export interface StartOptions {
  /** Where keys, data, logs and state go; a new temp dir when absent. */
  dir?: string;
  /** Keep etcd's fsync (benchmarks); e2e turns it off for speed, as envtest does. */
  etcdFsync?: boolean;
  /** Leave the processes running after the starting process exits (make cluster-up). */
  detached?: boolean;
  log?: (line: string) => void;
}

/** Builds (or finds in the cache) the control plane binaries; returns their directory. */
export function buildControlPlane(log: (line: string) => void = () => {}): string {
  log("control plane: checking the build cache (a cold build takes several minutes)");
  const out = execFileSync(join(HERE, "build.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const binDir = out.trim().split("\n").pop() ?? "";
  if (!existsSync(join(binDir, "kube-apiserver"))) throw new Error(`control plane build did not produce binaries in ${binDir}`);
  return binDir;
}

export async function startCluster(opts: StartOptions = {}): Promise<ClusterState> {
  const log = opts.log ?? (() => {});
  const binDir = buildControlPlane(log);
  const dir = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), "smartops-cp-")));
  mkdirSync(dir, { recursive: true });
  const pki = join(dir, "pki");
  mkdirSync(pki, { recursive: true });

  const ports = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
    kwok: await freePort(),
  };
  const adminToken = randomBytes(24).toString("hex");
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const caFile = join(pki, "ca.crt");
  writePki(pki);
  writeFileSync(join(pki, "tokens.csv"), `${adminToken},smartops-admin,smartops-admin-uid,"system:masters"\n`, { mode: 0o600 });
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigYaml(server, readFileSync(caFile, "utf8"), adminToken), { mode: 0o600 });

  const state: ClusterState = {
    dir, binDir, kubeconfig, server, adminToken, caFile, ports,
    processes: {},
    ownerPid: opts.detached ? 0 : process.pid,
    startedAt: new Date().toISOString(),
  };
  const argv = componentArgv(state, opts.etcdFsync ?? false);
  try {
    for (const c of COMPONENTS) {
      state.processes[c] = launch(state, c, argv[c], opts.detached ?? false);
      saveState(state);
      if (c === "etcd") await waitFor(`etcd on :${ports.etcdClient}`, () => httpOk(`http://127.0.0.1:${ports.etcdClient}/health`), 60_000, state, c);
      if (c === "kube-apiserver") await waitForApiserver(state, 120_000);
    }
    await createKwokNode(state, "kwok-node-0");
    await waitFor("node kwok-node-0 Ready", () => nodeReady(state, "kwok-node-0"), 60_000, state, "kwok");
    await waitFor("ServiceAccount default/default", () => kubectlOk(state, ["get", "serviceaccount", "default", "-n", "default"]), 60_000, state, "kube-controller-manager");
  } catch (err) {
    stopCluster(state);
    throw err;
  }
  log(`control plane ready at ${server} (state in ${dir})`);
  return state;
}

/**
 * Where processes run against this cluster by someone else (the e2e run of
 * `make dev` starts the operator and the shim detached) leave their pid files,
 * so that they go down with the cluster, also when it is reaped after its owner
 * was killed.
 */
export const attachedDir = (state: ClusterState) => join(state.dir, "attached");

const OPERATOR_ENTRIES = `${resolve(import.meta.dirname, "../..")}/operator/src/cmd/`;

/** SIGKILLs the attached processes that are this checkout's operator or shim; nothing else. */
function stopAttached(state: ClusterState): void {
  const dir = attachedDir(state);
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".pid"))) {
    const pid = Number(readFileSync(join(dir, file), "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(OPERATOR_ENTRIES)) continue;
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone already */
    }
  }
}

/**
 * Every process of the cluster: those in the caller's state and those in
 * state.json. A component restarted by another process (a test worker's
 * restartComponent) is recorded only in state.json, while the caller (the e2e
 * global setup) may still hold the pid it started; both must go down.
 */
function allProcesses(state: ClusterState): ProcessState[] {
  let saved: ClusterState | undefined;
  try {
    saved = loadState(state.dir);
  } catch {
    /* no state.json (never saved, or already removed) */
  }
  const seen = new Set<number>();
  const out: ProcessState[] = [];
  for (const c of [...COMPONENTS].reverse()) {
    for (const p of [saved?.processes[c], state.processes[c]]) {
      if (p === undefined || seen.has(p.pid)) continue;
      seen.add(p.pid);
      out.push(p);
    }
  }
  return out;
}

/** Stops every process of the cluster (including restarted ones), newest first, then removes the data. */
export function stopCluster(state: ClusterState, opts: { keepDir?: boolean } = {}): void {
  stopAttached(state);
  // Which pids are the cluster's is decided once, up front: a process that has begun
  // to exit loses its /proc/<pid>/exe link before it is gone, so asking again would
  // take an exiting component for someone else's process and stop waiting for it.
  const ours = allProcesses(state).map((p) => p.pid).filter((pid) => isOurs(state, pid));
  const kill = (sig: NodeJS.Signals) => {
    for (const pid of ours) {
      try {
        if (isRunning(pid)) process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const waitGone = (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && ours.some(isRunning)) sleepSync(50);
  };
  kill("SIGTERM");
  waitGone(10_000);
  kill("SIGKILL");
  // SIGKILL is delivered asynchronously: on a loaded machine a process can still
  // be running for a moment after kill() returned. Return only once it is gone.
  waitGone(5_000);
  if (!opts.keepDir) rmSync(state.dir, { recursive: true, force: true });
}

/**
 * Live processes whose command line names the cluster's directory: every
 * component's flags do (data dir, cert dir, kubeconfig), restarted ones too.
 * Empty after stopCluster; the e2e run checks that nothing outlives it.
 */
export function processesNaming(dir: string): number[] {
  return readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      return pid !== process.pid && isRunning(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").some((arg) => arg.includes(`${dir}/`));
    } catch {
      return false;
    }
  });
}

/** Stops one component (SIGKILL when `hard`) and starts it again with the same arguments. */
export async function restartComponent(state: ClusterState, c: Component, opts: { hard?: boolean; downMs?: number } = {}): Promise<void> {
  const p = state.processes[c];
  if (!p) throw new Error(`${c} is not part of this cluster`);
  // Ours is decided before the signal: an exiting process loses its exe link before it is gone.
  const ours = isOurs(state, p.pid);
  if (ours) signalOurs(state, p.pid, opts.hard ? "SIGKILL" : "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (ours && Date.now() < deadline && isRunning(p.pid)) await sleep(100);
  try {
    if (ours && isRunning(p.pid)) process.kill(p.pid, "SIGKILL");
  } catch {
    /* gone in between */
  }
  while (ours && Date.now() < deadline + 5_000 && isRunning(p.pid)) await sleep(50);
  if (opts.downMs) await sleep(opts.downMs);
  state.processes[c] = launch(state, c, p.argv, state.ownerPid === 0);
  saveState(state);
  if (c === "kube-apiserver") await waitForApiserver(state, 120_000);
}

export function loadState(dir: string): ClusterState {
  return JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as ClusterState;
}

export function saveState(state: ClusterState): void {
  writeFileSync(join(state.dir, "state.json"), JSON.stringify(state, null, 2));
}

/** Runs the cluster's own kubectl (same version as the control plane) as admin. */
export function kubectl(state: ClusterState, args: string[], input?: string): string {
  return execFileSync(join(state.binDir, "kubectl"), ["--kubeconfig", state.kubeconfig, ...args], {
    encoding: "utf8",
    input,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 60_000,
  });
}

/** Is the recorded owner of this cluster gone (killed test run)? Then it can be reaped. */
export function isStale(state: ClusterState): boolean {
  if (state.ownerPid === 0) return false;
  return !isRunning(state.ownerPid);
}

/** A process that exists and is not a zombie (killed, waiting to be reaped by its parent). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

function componentArgv(s: ClusterState, etcdFsync: boolean): Record<Component, string[]> {
  const pki = join(s.dir, "pki");
  const etcdUrl = `http://127.0.0.1:${s.ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${s.ports.etcdPeer}`;
  return {
    etcd: [
      "--name=default", `--data-dir=${join(s.dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`, "--log-level=warn",
      ...(etcdFsync ? [] : ["--unsafe-no-fsync=true"]),
    ],
    "kube-apiserver": [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", `--secure-port=${s.ports.apiserver}`,
      `--cert-dir=${join(s.dir, "apiserver-certs")}`,
      `--tls-cert-file=${join(pki, "apiserver.crt")}`, `--tls-private-key-file=${join(pki, "apiserver.key")}`,
      `--client-ca-file=${join(pki, "ca.crt")}`,
      `--token-auth-file=${join(pki, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(pki, "sa.pub")}`,
      `--service-account-signing-key-file=${join(pki, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16",
      "--endpoint-reconciler-type=none",
      "--profiling=false",
      "--goaway-chance=0",
    ],
    "kube-controller-manager": [
      `--kubeconfig=${s.kubeconfig}`, "--leader-elect=false",
      "--bind-address=127.0.0.1", `--secure-port=${s.ports.controllerManager}`,
      `--service-account-private-key-file=${join(pki, "sa.key")}`,
      `--root-ca-file=${join(pki, "ca.crt")}`,
      "--cluster-name=smartops-local",
      // Fast enough that e2e sees rollouts and replacements within seconds.
      "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
    ],
    "kube-scheduler": [
      `--kubeconfig=${s.kubeconfig}`, "--leader-elect=false",
      "--bind-address=127.0.0.1", `--secure-port=${s.ports.scheduler}`,
    ],
    kwok: [
      `--kubeconfig=${s.kubeconfig}`, "--manage-all-nodes=true", "--node-lease-duration-seconds=40",
      "--cidr=10.244.0.0/16", "--node-ip=127.0.0.1", `--server-address=127.0.0.1:${s.ports.kwok}`,
      ...["node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"].map(
        (stage) => `--config=${join(s.binDir, "..", "stages", `${stage}.yaml`)}`,
      ),
    ],
  };
}

function launch(s: ClusterState, c: Component, argv: string[], detached: boolean): ProcessState {
  const logDir = join(s.dir, "logs");
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, `${c}.log`);
  const fd = openSync(log, "a");
  const child: ChildProcess = spawn(join(s.binDir, c), argv, {
    stdio: ["ignore", fd, fd],
    detached,
    env: { ...process.env, HOME: s.dir },
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${c}`);
  if (detached) child.unref();
  else child.on("error", () => {});
  return { argv, log, pid: child.pid };
}

/** Only signal a PID whose executable is one of this cluster's binaries. */
function isOurs(s: ClusterState, pid: number): boolean {
  try {
    return isRunning(pid) && readlinkSync(`/proc/${pid}/exe`).startsWith(s.binDir + "/");
  } catch {
    return false;
  }
}

function signalOurs(s: ClusterState, pid: number, sig: NodeJS.Signals): void {
  if (!isOurs(s, pid)) return;
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function writePki(pki: string): void {
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(pki, "sa.key"), sa.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  writeFileSync(join(pki, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
  // Node can make keys but not certificates: openssl signs the CA and serving cert.
  const ossl = (args: string[]) => execFileSync("openssl", args, { cwd: pki, stdio: ["ignore", "ignore", "pipe"] });
  ossl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=smartops-local-ca"]);
  writeFileSync(
    join(pki, "apiserver.ext"),
    "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n",
  );
  ossl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver"]);
  ossl(["x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "apiserver.crt", "-days", "30", "-extfile", "apiserver.ext"]);
}

export function kubeconfigYaml(server: string, caPem: string, token: string, user = "smartops-admin"): string {
  const ca = Buffer.from(caPem).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: smartops-local",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    `- name: ${user}`,
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: smartops-local",
    "  context:",
    "    cluster: smartops-local",
    `    user: ${user}`,
    "current-context: smartops-local",
    "",
  ].join("\n");
}

async function createKwokNode(s: ClusterState, name: string): Promise<void> {
  const node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
    },
    status: { allocatable: { cpu: "64", memory: "256Gi", pods: "1000" }, capacity: { cpu: "64", memory: "256Gi", pods: "1000" } },
  };
  await waitFor("node creation", () => kubectlOk(s, ["apply", "--server-side", "-f", "-"], JSON.stringify(node)), 30_000, s, "kube-apiserver");
}

function nodeReady(s: ClusterState, name: string): boolean {
  try {
    return kubectl(s, ["get", "node", name, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"]).trim() === "True";
  } catch {
    return false;
  }
}

function kubectlOk(s: ClusterState, args: string[], input?: string): boolean {
  try {
    kubectl(s, args, input);
    return true;
  } catch {
    return false;
  }
}

async function waitForApiserver(s: ClusterState, timeoutMs: number): Promise<void> {
  await waitFor("kube-apiserver /readyz", () => kubectlOk(s, ["get", "--raw", "/readyz"]), timeoutMs, s, "kube-apiserver");
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  s: ClusterState,
  component: Component,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    const p = s.processes[component];
    if (p && !isOurs(s, p.pid)) throw new Error(`${component} exited while waiting for ${what}:\n${tail(p.log)}`);
    await sleep(250);
  }
  const p = s.processes[component];
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${p ? `\n${tail(p.log)}` : ""}`);
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? res(addr.port) : rej(new Error("no port"))));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
