// Exponential backoff, the one formula for every retry delay the project computes:
// informer restarts, the work queue's per-key failures, verification retries and
// the benchmarks' create retries. Jittered by default so that replicas do not
// retry in step; jitter 0 gives the exact doubling sequence. `jittered` spreads a
// fixed period the same way (the elector's retries, the informer's watch timeouts).
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** Fraction of the delay taken off at random, so that replicas do not retry in step. */
  jitter?: number;
}

/** Delay before retry number `attempt` (1-based): initial × factor^(attempt-1), capped, minus jitter; whole milliseconds. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { initialMs, maxMs, factor = 2, jitter = 0.2 } = options;
  const capped = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  return Math.round(capped * (1 - jitter * random()));
}

/** `ms` lengthened by up to `fraction` of itself at random (client-go's wait.Jitter). */
export function jittered(ms: number, fraction: number, random: () => number = Math.random): number {
  return ms * (1 + fraction * random());
}
