// Binds the runtime's metric hooks to the prom-client metrics, per queue and
// per controller, under controller-runtime's names.
import type { QueueMetrics, ReconcileMetrics } from "../runtime/queue.ts";
import {
  reconcileErrorsTotal, reconcileTime, reconcileTotal, workqueueAdds, workqueueDepth, workqueueLongestRunning,
  workqueueQueueDuration, workqueueRetries, workqueueUnfinished, workqueueWorkDuration,
} from "./metrics.ts";

export function queueMetrics(name: string): QueueMetrics {
  const l = { name };
  return {
    depth: (v) => workqueueDepth.set(l, v),
    adds: () => workqueueAdds.inc(l),
    queueDurationSeconds: (s) => workqueueQueueDuration.observe(l, s),
    workDurationSeconds: (s) => workqueueWorkDuration.observe(l, s),
    retries: () => workqueueRetries.inc(l),
    unfinishedWorkSeconds: (s) => workqueueUnfinished.set(l, s),
    longestRunningProcessorSeconds: (s) => workqueueLongestRunning.set(l, s),
  };
}

export function reconcileMetrics(controller: string): ReconcileMetrics {
  // Exported at 0 from the start, as controller-runtime does: a healthy
  // controller's error rate is 0, not "no data" (the dashboard's panel and any
  // rate() over it need the series to exist before the first error).
  reconcileErrorsTotal.inc({ controller }, 0);
  return {
    reconcileTotal: (result) => reconcileTotal.inc({ controller, result }),
    reconcileErrors: () => reconcileErrorsTotal.inc({ controller }),
    reconcileTimeSeconds: (s) => reconcileTime.observe({ controller }, s),
  };
}
