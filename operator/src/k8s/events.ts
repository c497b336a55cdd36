// Events (events.k8s.io/v1) on actions and their targets. A repeat of the same
// event within the window updates the existing Event's series instead of
// creating a new object, as client-go's recorder does. Events are best effort
// and share the API server with the writes the loop depends on: Normal events
// draw on a token bucket (client-go's recorders are held back by their client's
// rate limit the same way), so a burst of a thousand actions does not double
// its own API writes; Warnings are always written.
import { LRUCache } from "lru-cache";
import { randomBytes } from "node:crypto";
import { type RateLimitConfig, RateLimiter } from "../runtime/token-bucket.ts";
import { k8sEventsDroppedTotal } from "../telemetry/metrics.ts";
import type { KubeApi } from "./api.ts";
import { EVENTS } from "./resources.ts";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventRecorder {
  record(regarding: EventTarget, type: "Normal" | "Warning", reason: string, action: string, note: string): void;
}

const SERIES_WINDOW_MS = 10 * 60 * 1000;
const MAX_TRACKED = 4096;

/** Normal events per second, and the burst written at once, per operator process. */
export const EVENT_BUDGET: RateLimitConfig = { ratePerSecond: 20, burst: 200 };

export function eventRecorder(api: KubeApi, instance: string, onError: (err: unknown) => void = () => {}, budget: RateLimitConfig = EVENT_BUDGET): EventRecorder {
  const normal = new RateLimiter(budget, () => performance.now(), 1);
  // The series this process is extending, the least recently recorded dropped first.
  const seen = new LRUCache<string, { name: string; count: number; last: number }>({ max: MAX_TRACKED });
  return {
    record(regarding, type, reason, action, note) {
      if (type === "Normal" && !normal.take("normal").allowed) {
        k8sEventsDroppedTotal.inc();
        return;
      }
      const key = [regarding.namespace, regarding.kind, regarding.name, type, reason, note].join("\u0000");
      const now = Date.now();
      const prior = seen.get(key);
      // MicroTime: RFC 3339 with microseconds.
      const microTime = new Date(now).toISOString().replace(/Z$/, "000Z");
      const write = async () => {
        if (prior && now - prior.last < SERIES_WINDOW_MS) {
          prior.count++;
          prior.last = now;
          await api.patch(EVENTS, regarding.namespace, prior.name, "merge", { series: { count: prior.count, lastObservedTime: microTime } });
          return;
        }
        const name = `${regarding.name.slice(0, 200)}.${randomBytes(8).toString("hex")}`;
        seen.set(key, { name, count: 1, last: now });
        await api.create(EVENTS, regarding.namespace, {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name, namespace: regarding.namespace },
          eventTime: microTime,
          reportingController: "smartops.io/operator",
          reportingInstance: instance.slice(0, 128),
          action,
          reason,
          type,
          note: note.slice(0, 1024),
          regarding: { apiVersion: regarding.apiVersion, kind: regarding.kind, namespace: regarding.namespace, name: regarding.name, uid: regarding.uid },
        });
      };
      // Events are best effort: losing one must never fail a reconcile.
      write().catch(onError);
    },
  };
}
