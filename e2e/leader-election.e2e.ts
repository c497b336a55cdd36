// The runtime's LeaderElector on the real API server: two candidates on one
// coordination.k8s.io/v1 Lease with short timings (lease 3 s, renew deadline 2 s,
// retry 0.5 s). One leads at a time; release hands over at once; a leader that
// stops renewing is replaced after the lease duration; a leader that cannot renew
// — lease overwritten, or cut off from the API server — stops acting before anyone
// else can start.
import { CoordinationV1Api, KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { createServer, type Server, type Socket, connect } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect as connectKube } from "../operator/src/k8s/client.ts";
import { leaseClient } from "../operator/src/k8s/leases.ts";
import { LeaderElector } from "../operator/src/runtime/leader-election.ts";
import { clients, ensureNamespace, waitFor } from "./support/kube.ts";

const c = clients();
const leases = c.kc.makeApiClient(CoordinationV1Api);
const NS = "e2e-runtime-leader";
const TIMINGS = { leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5 };
const RETRY_MS = TIMINGS.retryPeriodSeconds * 1000;
const LEASE_MS = TIMINGS.leaseDurationSeconds * 1000;
const DEADLINE_MS = TIMINGS.renewDeadlineSeconds * 1000;

interface Candidate {
  identity: string;
  elector: LeaderElector;
  started: number[];
  stopped: number[];
  signals: AbortSignal[];
  stopRun: AbortController;
  done: Promise<void>;
}

const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  await ensureNamespace(c, NS);
});

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let leaseCounter = 0;
function leaseName(): string {
  return `lock-${Date.now().toString(36)}-${leaseCounter++}`;
}

function candidate(name: string, identity: string, kc: KubeConfig = c.kc): Candidate {
  const started: number[] = [];
  const stopped: number[] = [];
  const signals: AbortSignal[] = [];
  const kube = connectKube(kc);
  cleanup.push(() => kube.transport.close());
  const elector = new LeaderElector({
    leaseClient: leaseClient(kube.api, NS, name),
    namespace: NS,
    name,
    identity,
    ...TIMINGS,
    onStartedLeading: (signal) => {
      started.push(Date.now());
      signals.push(signal);
    },
    onStoppedLeading: () => stopped.push(Date.now()),
  });
  const stopRun = new AbortController();
  const done = elector.run(stopRun.signal);
  const cand = { identity, elector, started, stopped, signals, stopRun, done };
  cleanup.push(async () => {
    stopRun.abort();
    await done;
    await elector.release().catch(() => undefined);
  });
  return cand;
}

async function readLease(name: string): Promise<V1Lease> {
  return leases.readNamespacedLease({ name, namespace: NS });
}

/** Samples both candidates every 50 ms for `ms`; fails on any moment with two leaders. */
async function sampleLeaders(a: Candidate, b: Candidate, ms: number): Promise<{ none: number; one: number }> {
  const counts = { none: 0, one: 0 };
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const leaders = [a, b].filter((x) => x.elector.isLeader()).length;
    expect(leaders, "two candidates lead at the same time").toBeLessThanOrEqual(1);
    if (leaders === 0) counts.none++;
    else counts.one++;
    await new Promise((r) => setTimeout(r, 50));
  }
  return counts;
}

async function firstLeader(a: Candidate, b: Candidate): Promise<[Candidate, Candidate]> {
  const leader = await waitFor("a leader", () => [a, b].find((x) => x.elector.isLeader()), 15_000, 20);
  return leader === a ? [a, b] : [b, a];
}

/** A TCP relay in front of the API server that can be cut, like a network partition. */
async function partitionableProxy(target: URL): Promise<{ url: string; cut(): void; heal(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let partitioned = false;
  const server: Server = createServer((client) => {
    if (partitioned) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    cut() {
      partitioned = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      partitioned = false;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function kubeConfigVia(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: c.kc.clusters.map((cl) => ({ ...cl, server })),
    users: c.kc.users,
    contexts: c.kc.contexts,
    currentContext: c.kc.currentContext,
  });
  return kc;
}

describe("LeaderElector on a real Lease", () => {
  it("exactly one of two candidates leads while the leader renews; the other never starts", async () => {
    const name = leaseName();
    const a = candidate(name, "cand-a");
    const b = candidate(name, "cand-b");
    const [leader, follower] = await firstLeader(a, b);

    const counts = await sampleLeaders(a, b, 2.5 * LEASE_MS);
    expect(counts.none).toBe(0);
    expect(leader.started).toHaveLength(1);
    expect(leader.stopped).toHaveLength(0);
    expect(follower.started).toHaveLength(0);
    expect(leader.signals[0]?.aborted).toBe(false);

    const lease = await readLease(name);
    expect(lease.spec?.holderIdentity).toBe(leader.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(3);
    expect(lease.spec?.leaseTransitions).toBe(0);
    const renewed = new Date(lease.spec?.renewTime as unknown as string).getTime();
    expect(Date.now() - renewed).toBeLessThan(2 * RETRY_MS + 500);
    expect(new Date(lease.spec?.acquireTime as unknown as string).getTime()).toBeLessThan(renewed);
  });

  it("after release() the other candidate leads within about two retry periods", async () => {
    const name = leaseName();
    const a = candidate(name, "cand-a");
    const b = candidate(name, "cand-b");
    const [leader, follower] = await firstLeader(a, b);
    await sampleLeaders(a, b, 1000);

    const releasedAt = Date.now();
    await leader.elector.release();
    expect(leader.elector.isLeader()).toBe(false);
    expect(leader.signals[0]?.aborted).toBe(true);
    expect(leader.stopped).toHaveLength(1);
    await waitFor("the follower leads", () => follower.elector.isLeader(), 10_000, 20);
    const tookMs = (follower.started[0] ?? Infinity) - releasedAt;
    expect(tookMs).toBeLessThan(2 * RETRY_MS * 1.2 + 300);

    const lease = await readLease(name);
    expect(lease.spec?.holderIdentity).toBe(follower.identity);
    expect(lease.spec?.leaseTransitions).toBe(1);
    await sampleLeaders(a, b, 1500);
    expect(leader.elector.isLeader()).toBe(false);
  });

  it("when the leader stops renewing without releasing, the other leads after the lease duration", async () => {
    const name = leaseName();
    const a = candidate(name, "cand-a");
    const b = candidate(name, "cand-b");
    const [leader, follower] = await firstLeader(a, b);
    await sampleLeaders(a, b, 1000);

    // A hung or killed process: its loop ends, the Lease is left as it was.
    leader.stopRun.abort();
    await leader.done;
    const stoppedAt = Date.now();
    expect((await readLease(name)).spec?.holderIdentity).toBe(leader.identity);

    await waitFor("the follower leads", () => follower.elector.isLeader(), 15_000, 20);
    const tookMs = (follower.started[0] ?? Infinity) - stoppedAt;
    // The follower last saw the record change at most one retry period before the stop.
    expect(tookMs).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS * 1.2 - 100);
    expect(tookMs).toBeLessThan(LEASE_MS + 2 * RETRY_MS * 1.2 + 500);
    expect((await readLease(name)).spec?.leaseTransitions).toBe(1);
  });

  it("a leader whose Lease is overwritten stops acting at its next renewal", async () => {
    const name = leaseName();
    const a = candidate(name, "cand-a");
    const [leader] = await firstLeader(a, a);

    const lease = await readLease(name);
    await leases.replaceNamespacedLease({
      name,
      namespace: NS,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "intruder", renewTime: new V1MicroTime() } },
    });
    const stolenAt = Date.now();
    await waitFor("the leader's signal aborts", () => leader.signals[0]?.aborted, 10_000, 20);
    expect(Date.now() - stolenAt).toBeLessThan(RETRY_MS + 500);
    expect(leader.stopped).toHaveLength(1);
    expect(leader.elector.isLeader()).toBe(false);
    // The intruder never renews: after the lease duration the candidate takes it back.
    await waitFor("leading again", () => leader.elector.isLeader(), 15_000, 20);
    expect((await readLease(name)).spec?.holderIdentity).toBe(leader.identity);
    expect(leader.started).toHaveLength(2);
  });

  it("a leader cut off from the API server stops before the other candidate starts", async () => {
    const name = leaseName();
    const proxy = await partitionableProxy(new URL(c.kc.getCurrentCluster()?.server ?? ""));
    cleanup.push(() => proxy.close());
    const a = candidate(name, "cand-cut", kubeConfigVia(proxy.url));
    await waitFor("the proxied candidate leads", () => a.elector.isLeader(), 15_000, 20);
    const b = candidate(name, "cand-direct");
    await sampleLeaders(a, b, 1500);
    expect(b.started).toHaveLength(0);

    proxy.cut();
    const cutAt = Date.now();
    await waitFor("the cut-off leader stops", () => !a.elector.isLeader(), 10_000, 20);
    expect(a.signals[0]?.aborted).toBe(true);
    expect((a.stopped[0] ?? Infinity) - cutAt).toBeLessThanOrEqual(DEADLINE_MS + 200);

    await waitFor("the other candidate leads", () => b.elector.isLeader(), 15_000, 20);
    const gap = (b.started[0] ?? 0) - (a.stopped[0] ?? Infinity);
    // The old leader stopped acting at least leaseDuration − renewDeadline − retry before the new one began.
    expect(gap).toBeGreaterThan(LEASE_MS - DEADLINE_MS - RETRY_MS * 1.2 - 200);

    proxy.heal();
    await sampleLeaders(a, b, 2000);
    expect(b.elector.isLeader()).toBe(true);
    expect(a.started).toHaveLength(1);
  });
});
