// Keyed, de-duplicating work queue with client-go workqueue semantics, plus the
// worker loop that turns a reconciler's result into requeues.
//
// - A key is queued at most once (the dirty set).
// - A key handed out by get() is "processing" until done(); it is never handed to
//   a second worker meanwhile. Adding it while it is processing marks it dirty and
//   it is queued again when done() is called.
// - addAfter keeps the earliest pending time per key.
// - addRateLimited delays by the key's own exponential backoff; forget resets it.
import { backoffDelay } from "./backoff.ts";
import { type Clock, realClock, type TimerHandle } from "./clock.ts";
import { errorMessage, type RuntimeLogger } from "./logger.ts";

/**
 * Hooks named after controller-runtime's workqueue metrics (label `name` = the
 * queue's name, bound by whoever builds the hooks; telemetry/queue-metrics.ts
 * binds them to the workqueue_* families).
 */
export interface QueueMetrics {
  depth(value: number): void;
  adds(): void;
  queueDurationSeconds(seconds: number): void;
  workDurationSeconds(seconds: number): void;
  retries(): void;
  unfinishedWorkSeconds(seconds: number): void;
  longestRunningProcessorSeconds(seconds: number): void;
}

const noop = () => {};
export const noopQueueMetrics: QueueMetrics = {
  depth: noop,
  adds: noop,
  queueDurationSeconds: noop,
  workDurationSeconds: noop,
  retries: noop,
  unfinishedWorkSeconds: noop,
  longestRunningProcessorSeconds: noop,
};

export interface RateLimiter {
  /** Delay before the key's next attempt; counts one more failure. */
  when(key: string): number;
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** client-go's ItemExponentialFailureRateLimiter: base × 2^failures, capped. */
export class ExponentialFailureRateLimiter implements RateLimiter {
  readonly baseMs: number;
  readonly maxMs: number;
  #failures = new Map<string, number>();

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long before it matters; the cap handles that.
    return backoffDelay(failures + 1, { initialMs: this.baseMs, maxMs: this.maxMs, jitter: 0 });
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

export interface WorkQueueOptions {
  /** For logs and metric labels. */
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: QueueMetrics;
  /** How often the unfinished-work gauges are refreshed (client-go: 500 ms). */
  metricsUpdateIntervalMs?: number;
}

interface Waiting {
  key: string;
  readyAt: number;
}

export class WorkQueue {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter;
  readonly #metrics: QueueMetrics;

  #queue: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Map<string, number>();
  readonly #addedAt = new Map<string, number>();
  #getters: Array<(key: string | undefined) => void> = [];
  #shuttingDown = false;
  #draining = false;
  #drained: Array<() => void> = [];

  // Delayed adds: the earliest ready time per key, and a min-heap with lazy deletion.
  readonly #waitingAt = new Map<string, number>();
  #heap: Waiting[] = [];
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;

  #metricsTimer: TimerHandle | undefined;
  readonly #metricsIntervalMs: number;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? "queue";
    this.#clock = options.clock ?? realClock;
    this.#rateLimiter = options.rateLimiter ?? new ExponentialFailureRateLimiter();
    this.#metrics = options.metrics ?? noopQueueMetrics;
    this.#metricsIntervalMs = options.metricsUpdateIntervalMs ?? 500;
    if (options.metrics) this.#scheduleMetricsUpdate();
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics.adds();
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#clock.now());
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    const current = this.#waitingAt.get(key);
    if (current !== undefined && current <= readyAt) return;
    this.#waitingAt.set(key, readyAt);
    heapPush(this.#heap, { key, readyAt });
    this.#armTimer();
  }

  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#metrics.retries();
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** The next key to process, or undefined once the queue is shut down. Call done(key) after. */
  get(): Promise<string | undefined> {
    const key = this.#take();
    if (key !== undefined || this.#isClosedForGet()) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(key: string): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#metrics.workDurationSeconds((this.#clock.now() - started) / 1000);
    if (this.#dirty.has(key) && (!this.#shuttingDown || this.#draining)) this.#push(key);
    this.#checkDrained();
  }

  /** Keys waiting to be handed out (not counting delayed or processing keys). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops at once: get() answers undefined from now on, adds are ignored, delayed
   * keys are dropped. Keys being processed may still call done().
   */
  shutDown(): void {
    this.#shuttingDown = true;
    this.#draining = false;
    this.#stopTimers();
    this.#queue = [];
    this.#head = 0;
    this.#dirty.clear();
    this.#addedAt.clear();
    this.#metrics.depth(0);
    this.#wakeGetters();
    this.#checkDrained();
  }

  /**
   * Stops accepting new keys and resolves once every key already queued or being
   * processed has been handed out and marked done (client-go ShutDownWithDrain).
   */
  shutDownWithDrain(): Promise<void> {
    this.#shuttingDown = true;
    this.#draining = true;
    this.#stopTimers();
    const drained = new Promise<void>((resolve) => this.#drained.push(resolve));
    this.#checkDrained();
    return drained;
  }

  #isClosedForGet(): boolean {
    return this.#shuttingDown && (!this.#draining || this.len() === 0);
  }

  #push(key: string): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#startProcessing(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
    this.#metrics.depth(this.len());
  }

  #take(): string | undefined {
    if (this.#shuttingDown && !this.#draining) return undefined;
    if (this.len() === 0) return undefined;
    const key = this.#queue[this.#head] as string;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#metrics.depth(this.len());
    this.#startProcessing(key);
    return key;
  }

  #startProcessing(key: string): void {
    const now = this.#clock.now();
    const added = this.#addedAt.get(key);
    if (added !== undefined) this.#metrics.queueDurationSeconds((now - added) / 1000);
    this.#addedAt.delete(key);
    this.#dirty.delete(key);
    this.#processing.set(key, now);
  }

  #wakeGetters(): void {
    if (!this.#isClosedForGet()) return;
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
  }

  #checkDrained(): void {
    if (!this.#shuttingDown) return;
    this.#wakeGetters();
    if (this.#processing.size > 0 || (this.#draining && this.len() > 0)) return;
    if (this.#metricsTimer) {
      this.#clock.clearTimeout(this.#metricsTimer);
      this.#metricsTimer = undefined;
      this.#updateUnfinishedWork();
    }
    const drained = this.#drained;
    this.#drained = [];
    for (const d of drained) d();
  }

  #armTimer(): void {
    const next = this.#peekWaiting();
    if (!next) return;
    if (this.#timer && this.#timerAt <= next.readyAt) return;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = next.readyAt;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#releaseReady();
    }, next.readyAt - this.#clock.now());
  }

  #peekWaiting(): Waiting | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (!top) return undefined;
      if (this.#waitingAt.get(top.key) === top.readyAt) return top;
      heapPop(this.#heap);
    }
  }

  #releaseReady(): void {
    const now = this.#clock.now();
    for (;;) {
      const top = this.#peekWaiting();
      if (!top || top.readyAt > now) break;
      heapPop(this.#heap);
      this.#waitingAt.delete(top.key);
      this.add(top.key);
    }
    this.#armTimer();
  }

  #stopTimers(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#heap = [];
    this.#waitingAt.clear();
  }

  #scheduleMetricsUpdate(): void {
    this.#metricsTimer = this.#clock.setTimeout(() => {
      this.#updateUnfinishedWork();
      this.#scheduleMetricsUpdate();
    }, this.#metricsIntervalMs);
  }

  #updateUnfinishedWork(): void {
    const now = this.#clock.now();
    let total = 0;
    let longest = 0;
    for (const started of this.#processing.values()) {
      const age = now - started;
      total += age;
      if (age > longest) longest = age;
    }
    this.#metrics.unfinishedWorkSeconds(total / 1000);
    this.#metrics.longestRunningProcessorSeconds(longest / 1000);
  }
}

function heapPush(heap: Waiting[], item: Waiting): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if ((heap[parent] as Waiting).readyAt <= item.readyAt) break;
    heap[i] = heap[parent] as Waiting;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: Waiting[]): void {
  const last = heap.pop();
  if (!last || heap.length === 0) return;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && (heap[right] as Waiting).readyAt < (heap[left] as Waiting).readyAt ? right : left;
    if ((heap[child] as Waiting).readyAt >= last.readyAt) break;
    heap[i] = heap[child] as Waiting;
    i = child;
  }
  heap[i] = last;
}

// ---------------------------------------------------------------------------
// Workers

export interface ReconcileResult {
  requeueAfterMs?: number;
  requeue?: boolean;
}

export type ReconcileOutcome = "success" | "error" | "requeue" | "requeue_after";

/** Hooks named after controller-runtime's controller metrics (label `controller` bound by the caller). */
export interface ReconcileMetrics {
  reconcileTotal(result: ReconcileOutcome): void;
  reconcileErrors(): void;
  reconcileTimeSeconds(seconds: number): void;
}

export const noopReconcileMetrics: ReconcileMetrics = {
  reconcileTotal: noop,
  reconcileErrors: noop,
  reconcileTimeSeconds: noop,
};

export interface RunWorkersOptions {
  concurrency: number;
  /** Gets the key and a signal that aborts when the workers are told to stop. */
  reconcile: (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;
  /** Aborting shuts the queue down (without drain) and lets running reconciles finish. */
  signal?: AbortSignal;
  /** Called for every failed reconcile; without it failures are logged as warnings. */
  onError?(key: string, err: unknown): void;
  /** Controller name for log lines (metric hooks are bound to it by their builder). */
  controller?: string;
  logger?: RuntimeLogger;
  metrics?: ReconcileMetrics;
  clock?: Clock;
}

/** Resolves when the queue is shut down and every worker has finished its current key. */
export async function runWorkers(queue: WorkQueue, options: RunWorkersOptions): Promise<void> {
  const { reconcile } = options;
  const onError =
    options.onError ??
    ((key: string, err: unknown) =>
      options.logger?.warn("reconcile failed", { controller: options.controller, key, error: errorMessage(err), requeues: queue.numRequeues(key) }));
  const metrics = options.metrics ?? noopReconcileMetrics;
  const clock = options.clock ?? realClock;
  const stop = new AbortController();
  const onAbort = () => {
    stop.abort(options.signal?.reason);
    queue.shutDown();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = clock.now();
      try {
        const result = await reconcile(key, stop.signal);
        if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
          queue.forget(key);
          queue.addAfter(key, result.requeueAfterMs);
          metrics.reconcileTotal("requeue_after");
        } else if (result?.requeue) {
          queue.addRateLimited(key);
          metrics.reconcileTotal("requeue");
        } else {
          queue.forget(key);
          metrics.reconcileTotal("success");
        }
      } catch (err) {
        queue.addRateLimited(key);
        metrics.reconcileTotal("error");
        metrics.reconcileErrors();
        try {
          onError(key, err);
        } catch {
          // A failing error hook must not take a worker down with it.
        }
      } finally {
        metrics.reconcileTimeSeconds((clock.now() - started) / 1000);
        queue.done(key);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}
