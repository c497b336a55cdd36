// Controllers declare what they watch and how an event becomes keys
// (controller-runtime's Watches + EnqueueRequestsFromMapFunc); the manager wires
// those declarations to the shared informers, and while this replica leads it
// runs one work queue per controller: started with every key the controller
// asks for, fed by the watches, drained when leadership or the process ends.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { ReconcileMetrics, QueueMetrics } from "./queue.ts";
import { type ReconcileResult, runWorkers, WorkQueue } from "./queue.ts";
import type { Informer } from "./informer.ts";
import type { RuntimeLogger } from "./logger.ts";

export type InformerEvent = "add" | "update" | "delete";

/** What a watch needs of an informer: its event handlers. */
export type EventSource<T extends KubernetesObject> = Pick<Informer<T>, "on">;

export interface Watch<T extends KubernetesObject> {
  source: EventSource<T>;
  /** The keys an event on `obj` asks to reconcile. */
  keys(obj: T): Iterable<string>;
  /** Which events count; all three when unset. */
  events?: readonly InformerEvent[];
}

/** A watch of `source` whose events map to keys (the type ties keys() to the informer's objects). */
export function watch<T extends KubernetesObject>(source: Informer<T> | EventSource<T>, keys: (obj: T) => Iterable<string>, events?: readonly InformerEvent[]): Watch<KubernetesObject> {
  return { source, keys, events } as unknown as Watch<KubernetesObject>;
}

export interface ControllerSpec {
  name: string;
  workers: number;
  reconcile(key: string): Promise<ReconcileResult | void>;
  watches: readonly Watch<KubernetesObject>[];
  /** Every key to reconcile when leadership starts (the caches are synced by then). */
  initialKeys(): Iterable<string>;
}

export interface ManagerOptions {
  log: RuntimeLogger;
  queueMetrics?: (name: string) => QueueMetrics;
  reconcileMetrics?: (name: string) => ReconcileMetrics;
}

export class Manager {
  readonly #opts: ManagerOptions;
  readonly #controllers: ControllerSpec[] = [];
  /** The queues exist only while leading; watch handlers enqueue into whatever queues are current. */
  #queues: Map<string, WorkQueue> | undefined;

  constructor(options: ManagerOptions) {
    this.#opts = options;
  }

  /** Declares a controller: its watches start feeding its queue once leading. */
  add(spec: ControllerSpec): void {
    this.#controllers.push(spec);
    for (const w of spec.watches) {
      const enqueue = (obj: KubernetesObject) => {
        const q = this.#queues?.get(spec.name);
        if (q) for (const key of w.keys(obj)) q.add(key);
      };
      const events = new Set(w.events ?? ["add", "update", "delete"]);
      if (events.has("add")) w.source.on("add", enqueue);
      if (events.has("update")) w.source.on("update", (_old, obj) => enqueue(obj));
      if (events.has("delete")) w.source.on("delete", enqueue);
    }
  }

  /** Runs every controller until `signal` aborts (leadership lost, or the process stopping). */
  async lead(signal: AbortSignal): Promise<void> {
    const queues = new Map(this.#controllers.map((c) => [c.name, new WorkQueue({ name: c.name, metrics: this.#opts.queueMetrics?.(c.name) })]));
    this.#queues = queues;
    for (const c of this.#controllers) for (const key of c.initialKeys()) queues.get(c.name)!.add(key);
    signal.addEventListener("abort", () => {
      for (const q of queues.values()) q.shutDown();
    }, { once: true });
    await Promise.all(this.#controllers.map((c) =>
      runWorkers(queues.get(c.name)!, {
        concurrency: c.workers,
        reconcile: (key) => c.reconcile(key),
        signal,
        controller: c.name,
        metrics: this.#opts.reconcileMetrics?.(c.name),
        onError: (key, err) => this.#opts.log.warn("reconcile failed", { controller: c.name, key, err: err instanceof Error ? err.message : String(err) }),
      })));
  }

  /** Leadership ended: new events are no longer queued. */
  stopped(): void {
    this.#queues = undefined;
  }

  /** Lets in-flight reconciles finish (before the lease is handed over), at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const drained = Promise.all([...(this.#queues?.values() ?? [])].map((q) => q.shutDownWithDrain()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
}
