import { describe, expect, it } from "vitest";
import { FakeClock } from "./clock.ts";
import {
  ExponentialFailureRateLimiter,
  type QueueMetrics,
  type ReconcileMetrics,
  type ReconcileOutcome,
  runWorkers,
  WorkQueue,
} from "./queue.ts";

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe("WorkQueue", () => {
  it("holds a key at most once and hands keys out in order", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.len()).toBe(0);
  });

  it("never hands a key being processed to a second worker, and requeues it on done", async () => {
    const q = new WorkQueue();
    q.add("a");
    expect(await q.get()).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await settle();
    expect(second).toBeUndefined();
    q.done("a");
    await settle();
    expect(second).toBe("a");
    q.done("a");
    expect(q.len()).toBe(0);
  });

  it("done without a pending add does not requeue", async () => {
    const q = new WorkQueue();
    q.add("a");
    await q.get();
    q.done("a");
    expect(q.len()).toBe(0);
  });

  it("addAfter keeps the earliest time per key and adds once", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter("a", 100);
    q.addAfter("a", 50);
    q.addAfter("a", 200);
    q.addAfter("b", 70);
    await clock.advance(49);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("a");
    q.done("a");
    await clock.advance(20);
    expect(await q.get()).toBe("b");
    q.done("b");
    await clock.advance(1000);
    expect(q.len()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("addAfter with a non-positive delay adds at once", () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.addAfter("a", 0);
    expect(q.len()).toBe(1);
  });

  it("addRateLimited backs off per key exponentially and forget resets", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = clock.now();
      q.addRateLimited("a");
      while (q.len() === 0) await clock.advance(1);
      delays.push(clock.now() - before);
      expect(await q.get()).toBe("a");
      q.done("a");
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues("a")).toBe(4);
    expect(q.numRequeues("b")).toBe(0);
    q.forget("a");
    expect(q.numRequeues("a")).toBe(0);
    q.addRateLimited("a");
    await clock.advance(4);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
  });

  it("the exponential limiter is capped at 1000 s", () => {
    const rl = new ExponentialFailureRateLimiter();
    let last = 0;
    for (let i = 0; i < 2000; i++) last = rl.when("k");
    expect(last).toBe(1_000_000);
    expect(rl.when("other")).toBe(5);
  });

  it("shutDown answers undefined to waiting and later getters and ignores adds", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const waiting = q.get();
    q.addAfter("later", 10);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add("a");
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);
  });

  it("shutDownWithDrain hands out queued keys and resolves after the last done", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    expect(await q.get()).toBe("a");
    q.add("a");
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    q.add("c");
    expect(await q.get()).toBe("b");
    q.done("b");
    await settle();
    expect(drained).toBe(false);
    q.done("a");
    expect(await q.get()).toBe("a");
    q.done("a");
    await drain;
    expect(drained).toBe(true);
    expect(await q.get()).toBeUndefined();
  });

  it("reports controller-runtime's workqueue metrics", async () => {
    const clock = new FakeClock();
    const seen = { adds: 0, retries: 0, depth: [] as number[], queue: [] as number[], work: [] as number[], unfinished: [] as number[], longest: [] as number[] };
    const metrics: QueueMetrics = {
      depth: (v) => seen.depth.push(v),
      adds: () => seen.adds++,
      queueDurationSeconds: (s) => seen.queue.push(s),
      workDurationSeconds: (s) => seen.work.push(s),
      retries: () => seen.retries++,
      unfinishedWorkSeconds: (s) => seen.unfinished.push(s),
      longestRunningProcessorSeconds: (s) => seen.longest.push(s),
    };
    const q = new WorkQueue({ clock, metrics, metricsUpdateIntervalMs: 500 });
    q.add("a");
    q.add("a");
    q.add("b");
    expect(seen.adds).toBe(2);
    expect(seen.depth.at(-1)).toBe(2);
    await clock.advance(250);
    await q.get();
    expect(seen.queue).toEqual([0.25]);
    expect(seen.depth.at(-1)).toBe(1);
    await clock.advance(250);
    await q.get();
    // The gauges refresh every 500 ms: at t=1000 "a" has run 750 ms and "b" 500 ms.
    await clock.advance(500);
    expect(seen.unfinished.at(-1)).toBeCloseTo(0.75 + 0.5);
    expect(seen.longest.at(-1)).toBeCloseTo(0.75);
    q.done("a");
    expect(seen.work).toEqual([0.75]);
    q.addRateLimited("a");
    expect(seen.retries).toBe(1);
    q.done("b");
    q.shutDown();
    expect(seen.unfinished.at(-1)).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("runWorkers", () => {
  function recorder() {
    const outcomes: ReconcileOutcome[] = [];
    let errors = 0;
    const metrics: ReconcileMetrics = {
      reconcileTotal: (r) => outcomes.push(r),
      reconcileErrors: () => errors++,
      reconcileTimeSeconds: () => {},
    };
    return { metrics, outcomes, errors: () => errors };
  }

  it("retries a throwing reconcile with backoff and forgets on success", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const calls: number[] = [];
    const errors: string[] = [];
    const rec = recorder();
    const ac = new AbortController();
    const done = runWorkers(q, {
      concurrency: 1,
      clock,
      signal: ac.signal,
      metrics: rec.metrics,
      onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`),
      reconcile: async (key) => {
        calls.push(clock.now());
        if (calls.length <= 3) throw new Error(`boom ${calls.length}`);
        expect(key).toBe("a");
      },
    });
    q.add("a");
    await clock.advance(0);
    expect(calls).toEqual([0]);
    await clock.advance(5);
    await clock.advance(10);
    await clock.advance(20);
    expect(calls).toEqual([0, 5, 15, 35]);
    expect(q.numRequeues("a")).toBe(0);
    expect(errors).toEqual(["a: boom 1", "a: boom 2", "a: boom 3"]);
    expect(rec.outcomes).toEqual(["error", "error", "error", "success"]);
    expect(rec.errors()).toBe(3);
    ac.abort();
    await done;
  });

  it("requeueAfterMs forgets the backoff and requeues after the delay; requeue rate-limits", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const rec = recorder();
    const calls: Array<[string, number]> = [];
    const ac = new AbortController();
    let n = 0;
    const done = runWorkers(q, {
      concurrency: 1,
      clock,
      signal: ac.signal,
      metrics: rec.metrics,
      reconcile: async (key) => {
        calls.push([key, clock.now()]);
        n++;
        if (n === 1) throw new Error("first");
        if (n === 2) return { requeueAfterMs: 1000 };
        if (n === 3) return { requeue: true };
        return undefined;
      },
    });
    q.add("k");
    await clock.advance(5);
    expect(q.numRequeues("k")).toBe(0);
    await clock.advance(1000);
    expect(q.numRequeues("k")).toBe(1);
    await clock.advance(5);
    expect(calls).toEqual([["k", 0], ["k", 5], ["k", 1005], ["k", 1010]]);
    expect(rec.outcomes).toEqual(["error", "requeue_after", "requeue", "success"]);
    ac.abort();
    await done;
  });

  it("runs different keys concurrently but one key never twice at once", async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let maxActive = 0;
    let overlap = false;
    const ac = new AbortController();
    const processed: string[] = [];
    const done = runWorkers(q, {
      concurrency: 4,
      signal: ac.signal,
      reconcile: async (key) => {
        if (active.has(key)) overlap = true;
        active.add(key);
        maxActive = Math.max(maxActive, active.size);
        await new Promise((r) => setTimeout(r, 5));
        processed.push(key);
        active.delete(key);
      },
    });
    for (let round = 0; round < 5; round++) {
      for (const k of ["a", "b", "c", "d"]) q.add(k);
      await new Promise((r) => setTimeout(r, 2));
    }
    while (q.len() > 0 || active.size > 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await done;
    expect(overlap).toBe(false);
    expect(maxActive).toBe(4);
    expect(processed.filter((k) => k === "a").length).toBeGreaterThanOrEqual(2);
  });

  it("abort shuts the queue down, aborts the reconcile signal and waits for running reconciles", async () => {
    const q = new WorkQueue();
    const ac = new AbortController();
    let sawAbort = false;
    let finished = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const done = runWorkers(q, {
      concurrency: 2,
      signal: ac.signal,
      reconcile: async (_key, signal) => {
        await gate;
        sawAbort = signal.aborted;
        finished = true;
      },
    });
    q.add("a");
    q.add("b-never-started-after-abort");
    await settle();
    ac.abort();
    let resolved = false;
    void done.then(() => (resolved = true));
    await settle();
    expect(q.isShuttingDown()).toBe(true);
    expect(resolved).toBe(false);
    release();
    await done;
    expect(finished).toBe(true);
    expect(sawAbort).toBe(true);
  });

  it("resolves when the queue is shut down directly", async () => {
    const q = new WorkQueue();
    const done = runWorkers(q, { concurrency: 3, reconcile: async () => {} });
    q.shutDown();
    await expect(done).resolves.toBeUndefined();
  });
});
