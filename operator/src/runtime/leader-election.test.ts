import { afterEach, describe, expect, it } from "vitest";
import { KubeApiError } from "../k8s/errors.ts";
import { LeaderElector, type LeaderElectorOptions, type LeaseClient, type LeaseObject } from "./leader-election.ts";
import type { LeaseSpec } from "./lease-decision.ts";

/** One Lease in memory with the API server's optimistic concurrency, and switches to break it. */
class MemoryLease {
  lease: LeaseObject | undefined;
  #rv = 0;
  down = false;
  hang = false;
  writes = 0;

  client(): LeaseClient {
    const gate = async (signal: AbortSignal) => {
      if (this.hang) {
        await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
      }
      if (signal.aborted) throw signal.reason;
      if (this.down) throw new KubeApiError("lease", 503, { reason: "ServiceUnavailable", message: "ServiceUnavailable" });
    };
    return {
      get: async (signal) => {
        await gate(signal);
        return this.lease && structuredClone(this.lease);
      },
      create: async (lease, signal) => {
        await gate(signal);
        if (this.lease) throw new KubeApiError("lease", 409, { reason: "AlreadyExists", message: "AlreadyExists" });
        return this.#store(lease);
      },
      replace: async (lease, signal) => {
        await gate(signal);
        if (!this.lease || lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw new KubeApiError("lease", 409, { reason: "Conflict", message: "Conflict" });
        return this.#store(lease);
      },
    };
  }

  /** A write by someone else (kubectl, a rogue replica). */
  steal(holder: string): void {
    this.#store({ ...(this.lease as LeaseObject), spec: { ...this.lease?.spec, holderIdentity: holder, renewTime: new Date().toISOString() } });
  }

  spec(): LeaseSpec {
    return this.lease?.spec ?? {};
  }

  #store(lease: LeaseObject): LeaseObject {
    this.writes++;
    this.lease = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.#rv) } });
    return structuredClone(this.lease);
  }
}

const FAST = { leaseDurationSeconds: 0.6, renewDeadlineSeconds: 0.4, retryPeriodSeconds: 0.1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const running: Array<{ ac: AbortController; done: Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.ac.abort();
    await r.done;
  }
});

function candidate(store: MemoryLease, identity: string, opts: Partial<LeaderElectorOptions> = {}) {
  const log: string[] = [];
  let leaderSignal: AbortSignal | undefined;
  const elector = new LeaderElector({
    namespace: "ns",
    name: "lock",
    identity,
    ...FAST,
    leaseClient: store.client(),
    onStartedLeading: (signal) => {
      leaderSignal = signal;
      log.push("started");
    },
    onStoppedLeading: () => log.push("stopped"),
    onNewLeader: (id) => log.push(`leader ${id}`),
    ...opts,
  });
  const ac = new AbortController();
  const start = () => {
    const done = elector.run(ac.signal);
    running.push({ ac, done });
    return done;
  };
  return { elector, log, ac, start, signal: () => leaderSignal };
}

describe("LeaderElector", () => {
  it("creates the lease, leads, and renews keeping acquireTime and transitions", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    void a.start();
    await until("a leads", () => a.elector.isLeader());
    expect(a.log).toEqual(["leader a", "started"]);
    const first = store.spec();
    expect(first).toMatchObject({ holderIdentity: "a", leaseDurationSeconds: 0.6, leaseTransitions: 0 });
    expect(first.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await until("two renewals", () => store.writes >= 3);
    expect(store.spec().acquireTime).toBe(first.acquireTime);
    expect(store.spec().renewTime).not.toBe(first.renewTime);
    expect(store.spec().leaseTransitions).toBe(0);
    expect(a.signal()?.aborted).toBe(false);
  });

  it("a second candidate never leads while the leader renews, and takes over right after release()", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    const b = candidate(store, "b");
    void a.start();
    await until("a leads", () => a.elector.isLeader());
    void b.start();
    for (let i = 0; i < 30; i++) {
      await sleep(50);
      expect(b.elector.isLeader()).toBe(false);
      expect(a.elector.isLeader()).toBe(true);
    }
    expect(b.log).toEqual(["leader a"]);
    const released = Date.now();
    await a.elector.release();
    expect(a.log).toEqual(["leader a", "started", "stopped"]);
    expect(a.signal()?.aborted).toBe(true);
    await until("b leads", () => b.elector.isLeader());
    expect(Date.now() - released).toBeLessThan(2 * 120 + 100);
    expect(store.spec()).toMatchObject({ holderIdentity: "b", leaseTransitions: 1, leaseDurationSeconds: 0.6 });
    expect(b.log).toEqual(["leader a", "leader b", "started"]);
  });

  it("takes over after the lease duration when the leader stops renewing without releasing", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    const b = candidate(store, "b");
    const aDone = a.start();
    await until("a leads", () => a.elector.isLeader());
    void b.start();
    await sleep(150);
    a.ac.abort();
    await aDone;
    const stoppedAt = Date.now();
    expect(store.spec().holderIdentity).toBe("a");
    await until("b leads", () => b.elector.isLeader());
    const waited = Date.now() - stoppedAt;
    expect(waited).toBeGreaterThanOrEqual(600 - 120);
    expect(waited).toBeLessThan(600 + 250);
  });

  it("stops acting within renewDeadline when the API fails, and leads again once it recovers", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    void a.start();
    await until("a leads", () => a.elector.isLeader());
    store.down = true;
    const downAt = Date.now();
    await until("a stops", () => !a.elector.isLeader());
    const took = Date.now() - downAt;
    expect(took).toBeLessThanOrEqual(400 + 50);
    expect(a.signal()?.aborted).toBe(true);
    expect(a.log).toEqual(["leader a", "started", "stopped"]);
    store.down = false;
    await until("a leads again", () => a.elector.isLeader());
    expect(a.log).toEqual(["leader a", "started", "stopped", "started"]);
  });

  it("stops at the deadline even while a renew request hangs", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    void a.start();
    await until("a leads", () => a.elector.isLeader());
    const renewedAt = Date.now();
    store.hang = true;
    await until("a stops", () => !a.elector.isLeader(), 2000);
    expect(Date.now() - renewedAt).toBeLessThanOrEqual(400 + 50);
    expect(a.signal()?.aborted).toBe(true);
  });

  it("stops at the next renewal when someone else wrote the lease", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    void a.start();
    await until("a leads", () => a.elector.isLeader());
    store.steal("intruder");
    const stolenAt = Date.now();
    await until("a stops", () => !a.elector.isLeader());
    expect(Date.now() - stolenAt).toBeLessThan(100 + 50);
    expect(a.log).toEqual(["leader a", "started", "leader intruder", "stopped"]);
    await sleep(300);
    expect(a.elector.isLeader()).toBe(false);
  });

  it("aborting run() stops leading but leaves the lease to expire", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    const done = a.start();
    await until("a leads", () => a.elector.isLeader());
    a.ac.abort();
    await done;
    expect(a.log).toEqual(["leader a", "started", "stopped"]);
    expect(store.spec().holderIdentity).toBe("a");
    await a.elector.release();
    expect(store.spec()).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1 });
  });

  it("release() leaves a lease alone that is not ours", async () => {
    const store = new MemoryLease();
    const a = candidate(store, "a");
    void a.start();
    await until("a leads", () => a.elector.isLeader());
    const b = candidate(store, "b");
    await b.elector.release();
    expect(store.spec().holderIdentity).toBe("a");
  });

  it("rejects timings client-go would reject", () => {
    const make = (o: Partial<LeaderElectorOptions>) => () => candidate(new MemoryLease(), "a", o);
    expect(make({ leaseDurationSeconds: 10, renewDeadlineSeconds: 10 })).toThrow(/greater than renewDeadline/);
    expect(make({ leaseDurationSeconds: 15, renewDeadlineSeconds: 2, retryPeriodSeconds: 2 })).toThrow(/retryPeriod/);
    expect(make({ identity: "" })).toThrow(/identity/);
  });
});
