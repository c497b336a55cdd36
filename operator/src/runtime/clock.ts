// Time as the runtime sees it: a monotonic "now" for durations and deadlines, and
// timers. Injected so that queue and elector tests can run without real sleeps.

export interface TimerHandle {
  readonly id: number | NodeJS.Timeout;
}

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Timers keep the process alive on purpose: an informer in backoff or an elector
 * between retries is still working. stop()/shutDown()/abort clear them.
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    return { id: setTimeout(fn, Math.max(0, ms)) };
  },
  clearTimeout(handle) {
    clearTimeout(handle.id);
  },
};

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = realClock): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException("The operation was aborted", "AbortError");
}

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when told. `advance` fires due timers in time order,
 * letting promise callbacks settle between them, so code that awaits a timer and
 * then arms the next one behaves as it would in real time.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: FakeTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }

  pendingTimers(): number {
    return this.#timers.length;
  }

  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushPromises();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
      await flushPromises();
    }
    this.#now = target;
    await flushPromises();
  }
}

async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export interface ScopedSignal {
  readonly signal: AbortSignal;
  /** Detaches from the parents and clears the timer; call when the operation is over. */
  dispose(): void;
}

/**
 * A signal that aborts when any parent aborts or `timeoutMs` passes. Unlike
 * AbortSignal.any on a long-lived parent, it leaves nothing registered on the
 * parent once disposed, so a loop that makes one per request does not accumulate
 * listeners.
 */
export function scopedSignal(parents: Array<AbortSignal | undefined>, timeoutMs?: number): ScopedSignal {
  const controller = new AbortController();
  const live = parents.filter((p): p is AbortSignal => p !== undefined);
  const onAbort = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  let timer: NodeJS.Timeout | undefined;
  const dispose = () => {
    for (const p of live) p.removeEventListener("abort", onAbort);
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const aborted = live.find((p) => p.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, dispose };
  }
  for (const p of live) p.addEventListener("abort", onAbort, { once: true });
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
    timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${Math.round(timeoutMs)} ms`, "TimeoutError")), Math.max(0, timeoutMs));
    timer.unref();
  }
  controller.signal.addEventListener("abort", dispose, { once: true });
  return { signal: controller.signal, dispose };
}
