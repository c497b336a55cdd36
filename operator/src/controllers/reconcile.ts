// The reconciler contract (controller-runtime's): converge one key, then either
// nothing more, or come back after a delay (ReconcileResult, the work queue's).
// Throwing means retry with backoff.
import { isRetriable } from "../k8s/errors.ts";
import type { ReconcileResult } from "../runtime/queue.ts";

export type { ReconcileResult };

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

/** This replica no longer holds the lease: it must not act, and nothing about the object is wrong. */
export class NotLeaderError extends Error {
  constructor() {
    super("not the leader: refusing to act");
    this.name = "NotLeaderError";
  }
}

/**
 * Errors that say nothing about the object being reconciled — the API server
 * unreachable, overloaded, throttling or racing us, or the lease lost — and
 * are retried with backoff for as long as they last. Anything else (a bug, or an
 * object the code cannot handle) counts against the object.
 */
export function isTransient(err: unknown): boolean {
  return err instanceof NotLeaderError || isRetriable(err);
}
