// The reconciler contract (controller-runtime's): converge one key, then either
// nothing more, or come back after a delay. Throwing means retry with backoff.
export interface ReconcileResult {
  requeueAfterMs?: number;
  requeue?: boolean;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;
