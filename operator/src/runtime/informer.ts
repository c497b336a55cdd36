// List+watch informer with a local cache that never silently stops.
//
// Cycle: paginated LIST → WATCH from the list's resourceVersion, resumed from the
// last seen resourceVersion (bookmarks included) each time the server ends the
// watch normally. 410 Gone (status or ERROR event) → relist and hand the diff to
// the handlers. Any other failure → jittered exponential backoff, then the whole
// cycle again, forever, until stop().
import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeApi, ObjectList, WatchEvent } from "../k8s/api.ts";
import { isGone, KubeApiError } from "../k8s/errors.ts";
import { collectionPath, type Resource } from "../k8s/resources.ts";
import { type BackoffOptions, backoffDelay, jittered } from "./backoff.ts";
import { type Clock, realClock, sleep, type TimerHandle } from "./clock.ts";
import { errorMessage, type RuntimeLogger, silentLogger } from "./logger.ts";

export interface InformerOptions {
  /** The process's KubeApi: every informer shares its one transport. */
  api: KubeApi;
  resource: Resource;
  /** Watch this namespace only; all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often; 0 or unset = never. */
  resyncPeriodMs?: number;
  pageSize?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Server-side watch timeout; each watch asks for a random value in [this, 2 × this) like client-go. */
  watchTimeoutSeconds?: number;
  /** Deadline of one LIST page, and of a watch's response headers. */
  requestTimeoutMs?: number;
  logger?: RuntimeLogger;
  clock?: Clock;
}

export type InformerState = "idle" | "listing" | "watching" | "backoff" | "stopped";

export interface InformerErrorInfo {
  phase: "list" | "watch";
  consecutiveFailures: number;
  retryInMs: number;
}

export interface DeleteInfo {
  /** True when the delete was inferred from a relist (the object's last state is what the cache had). */
  finalStateUnknown: boolean;
}

export interface InformerHandlers<T> {
  add: (obj: T) => void;
  update: (oldObj: T, newObj: T) => void;
  delete: (obj: T, info: DeleteInfo) => void;
  error: (err: unknown, info: InformerErrorInfo) => void;
  /** The watch's resourceVersion expired (410 Gone): the informer relists. */
  expired: (resourceVersion: string | undefined) => void;
  state: (state: InformerState) => void;
}

type HandlerSets<T> = { [K in keyof InformerHandlers<T>]: Set<InformerHandlers<T>[K]> };

interface KubeStatus {
  reason?: string;
}

/** Cache key: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}

export class Informer<T extends KubernetesObject> {
  readonly path: string;
  /** The resource's plural, for metrics and logs. */
  readonly resource: string;
  readonly #opts: InformerOptions;
  readonly #api: KubeApi;
  readonly #log: RuntimeLogger;
  readonly #clock: Clock;
  readonly #backoff: BackoffOptions;
  readonly #pageSize: number;
  readonly #handlers: HandlerSets<T> = { add: new Set(), update: new Set(), delete: new Set(), error: new Set(), expired: new Set(), state: new Set() };

  #cache = new Map<string, T>();
  /** Index name → index value → cache keys; "namespace" always, others from addIndex. */
  #indexers = new Map<string, (obj: T) => readonly string[]>([["namespace", (o) => [o.metadata?.namespace ?? ""]]]);
  #indices = new Map<string, Map<string, Set<string>>>([["namespace", new Map()]]);
  #resourceVersion = "";
  #synced = false;
  #syncWaiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  #state: InformerState = "idle";
  #consecutiveFailures = 0;
  #listError: string | undefined;
  #lastHeard: number;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #resyncTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: InformerOptions) {
    this.#opts = options;
    this.path = collectionPath(options.resource, options.namespace);
    this.resource = options.resource.plural;
    this.#api = options.api;
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? realClock;
    this.#backoff = { initialMs: options.backoff?.initialMs ?? 500, maxMs: options.backoff?.maxMs ?? 30_000 };
    this.#pageSize = options.pageSize ?? 500;
    this.#lastHeard = this.#clock.now();
  }

  on<E extends keyof InformerHandlers<T>>(event: E, handler: InformerHandlers<T>[E]): () => void {
    const set = this.#handlers[event] as Set<InformerHandlers<T>[E]>;
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Starts the list+watch loop in the background; aborting `signal` is the same as stop(). */
  start(signal?: AbortSignal): void {
    if (this.#loop || this.#stopped) throw new Error(`informer ${this.path} was already started`);
    const abort = new AbortController();
    this.#abort = abort;
    this.#lastHeard = this.#clock.now();
    this.#loop = this.#run(abort.signal).catch((err: unknown) => {
      this.#log.error("informer loop crashed", { path: this.path, error: errorMessage(err) });
    });
    this.#scheduleResync();
    if (signal?.aborted) void this.stop();
    else signal?.addEventListener("abort", () => void this.stop(), { once: true });
  }

  /** Ends the loop, the open watch and (unless shared) the connection pool. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort(new DOMException("informer stopped", "AbortError"));
    if (this.#resyncTimer) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    await this.#loop;
    this.#setState("stopped");
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w.reject(new Error(`informer ${this.path} stopped before it synced`));
  }

  /** True once the first full list has been delivered to the handlers; stays true across relists. */
  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new Error(`informer ${this.path} stopped before it synced`));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (err: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
        reject(signal?.reason instanceof Error ? signal.reason : new DOMException("aborted", "AbortError"));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#syncWaiters.push(waiter);
    });
  }

  /** The cached object; treat it as read-only (it is shared with every handler). */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? [...this.#cache.values()] : this.byIndex("namespace", namespace);
  }

  /**
   * Declares an index (client-go's Indexers): `values` says under which values an
   * object is found by byIndex. Declared before start(), so every object passes it.
   */
  addIndex(name: string, values: (obj: T) => readonly string[]): void {
    if (this.#loop) throw new Error(`informer ${this.path}: index ${name} declared after start`);
    if (this.#indexers.has(name)) throw new Error(`informer ${this.path}: index ${name} declared twice`);
    this.#indexers.set(name, values);
    this.#indices.set(name, new Map());
  }

  /** The cached objects an index files under `value` (read-only, like get). */
  byIndex(name: string, value: string): T[] {
    const index = this.#indices.get(name);
    if (!index) throw new Error(`informer ${this.path}: no index ${name}`);
    const out: T[] = [];
    for (const key of index.get(value) ?? []) {
      const obj = this.#cache.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  #index(key: string, obj: T, add: boolean): void {
    for (const [name, values] of this.#indexers) {
      const index = this.#indices.get(name)!;
      for (const v of values(obj)) {
        let keys = index.get(v);
        if (add) {
          if (!keys) index.set(v, (keys = new Set()));
          keys.add(key);
        } else if (keys) {
          keys.delete(key);
          if (keys.size === 0) index.delete(v);
        }
      }
    }
  }

  /**
   * Milliseconds since the API server was last heard from: a list page, a watch
   * opening, any watch event (bookmarks too) or a watch the server ended normally.
   * A healthy idle informer stays below about twice watchTimeoutSeconds.
   */
  lastEventAgeMs(): number {
    return this.#clock.now() - this.#lastHeard;
  }

  state(): InformerState {
    return this.#state;
  }

  consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  resourceVersion(): string {
    return this.#resourceVersion;
  }

  /**
   * Why the last LIST failed, until a LIST succeeds again; undefined while the
   * informer can list. The cache may be stale meanwhile: hasSynced() stays true.
   */
  listError(): string | undefined {
    return this.#listError;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let goneStreak = 0;
    while (!signal.aborted) {
      let phase: "list" | "watch" = "list";
      try {
        if (needList) {
          this.#setState("listing");
          await this.#listAndReplace(signal);
          needList = false;
        }
        phase = "watch";
        this.#setState("watching");
        await this.#watch(signal, () => {
          goneStreak = 0;
          this.#consecutiveFailures = 0;
        });
        goneStreak = 0;
        this.#consecutiveFailures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (phase === "watch" && isGone(err)) {
          goneStreak++;
          needList = true;
          // The first 410 relists at once; a server that keeps answering 410 gets backoff.
          const delay = goneStreak > 1 ? backoffDelay(goneStreak - 1, this.#backoff) : 0;
          this.#log.info("watch expired; relisting", { path: this.path, resourceVersion: this.#resourceVersion, retryInMs: delay });
          const expiredAt = this.#resourceVersion;
          this.#emit("expired", (h) => h(expiredAt));
          if (delay > 0) await this.#pause(delay, signal);
          continue;
        }
        this.#consecutiveFailures++;
        if (phase === "list") this.#listError = errorMessage(err);
        needList = true;
        const delay = backoffDelay(this.#consecutiveFailures, this.#backoff);
        const info: InformerErrorInfo = { phase, consecutiveFailures: this.#consecutiveFailures, retryInMs: delay };
        this.#log.warn("informer failed; restarting list+watch after backoff", { path: this.path, error: errorMessage(err), ...info });
        this.#emit("error", (h) => h(err, info));
        await this.#pause(delay, signal);
      }
    }
  }

  async #pause(ms: number, signal: AbortSignal): Promise<void> {
    this.#setState("backoff");
    await sleep(ms, signal, this.#clock).catch(() => undefined);
  }

  async #listAndReplace(signal: AbortSignal): Promise<void> {
    for (let restarts = 0; ; restarts++) {
      try {
        const { items, resourceVersion } = await this.#listAll(signal);
        this.#listError = undefined;
        this.#replace(items, resourceVersion);
        return;
      } catch (err) {
        // A continue token older than compaction answers 410: the list starts over.
        if (err instanceof ContinueExpired && restarts < 3) {
          this.#log.info("list continue token expired; listing again from the start", { path: this.path });
          continue;
        }
        throw err instanceof ContinueExpired ? err.cause : err;
      }
    }
  }

  async #listAll(signal: AbortSignal): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = "";
    do {
      let page: ObjectList<T>;
      try {
        page = await this.#api.list<T>(this.#opts.resource, this.#opts.namespace,
          { limit: this.#pageSize, continue: cont, labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector },
          { signal, timeoutMs: this.#opts.requestTimeoutMs ?? 60_000 });
      } catch (err) {
        if (cont && isGone(err)) throw new ContinueExpired(err);
        throw err;
      }
      if (!page || !Array.isArray(page.items)) throw new Error(`LIST ${this.path}: the response has no items array`);
      this.#heard();
      const kind = page.kind?.replace(/List$/, "");
      for (const item of page.items) items.push(this.#normalize(item, page.apiVersion, kind));
      resourceVersion ||= page.metadata?.resourceVersion ?? "";
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  #replace(items: T[], resourceVersion: string): void {
    const previous = this.#cache;
    const next = new Map<string, T>();
    for (const obj of items) next.set(objectKey(obj), obj);
    this.#cache = next;
    for (const index of this.#indices.values()) index.clear();
    for (const [key, obj] of next) this.#index(key, obj, true);
    this.#resourceVersion = resourceVersion;
    for (const [key, obj] of next) {
      const old = previous.get(key);
      if (!old) this.#emit("add", (h) => h(obj));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit("update", (h) => h(old, obj));
    }
    for (const [key, old] of previous) {
      if (!next.has(key)) this.#emit("delete", (h) => h(old, { finalStateUnknown: true }));
    }
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w.resolve();
    }
  }

  /** One watch; resolves when the server ends it normally, throws on anything else. */
  async #watch(signal: AbortSignal, onProgress: () => void): Promise<void> {
    const base = this.#opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(jittered(base, 1));
    const stream = await this.#api.watch<T>(this.#opts.resource, this.#opts.namespace, {
      allowWatchBookmarks: true,
      resourceVersion: this.#resourceVersion || undefined,
      timeoutSeconds,
      labelSelector: this.#opts.labelSelector,
      fieldSelector: this.#opts.fieldSelector,
    }, { signal, timeoutMs: this.#opts.requestTimeoutMs ?? 60_000 });
    this.#heard();
    const openedAt = this.#clock.now();
    // A half-open connection would otherwise hang forever: give the server its
    // timeout plus a margin, then end the watch and resume from where we are.
    let guardFired = false;
    const guard = this.#clock.setTimeout(() => {
      guardFired = true;
      stream.close();
    }, (timeoutSeconds + 30) * 1000);
    let progressed = false;
    try {
      for await (const event of stream.events()) {
        this.#handleEvent(event);
        this.#heard();
        if (!progressed) {
          progressed = true;
          onProgress();
        }
      }
      this.#heard();
    } catch (err) {
      if (guardFired && !signal.aborted) return;
      throw err;
    } finally {
      this.#clock.clearTimeout(guard);
      stream.close();
    }
    // Like client-go's "very short watch": a server that ends every watch at once
    // would otherwise be asked again in a tight loop.
    if (!progressed && this.#clock.now() - openedAt < 1000) {
      throw new Error(`WATCH ${this.path}: the server ended the watch at once without events`);
    }
  }

  #handleEvent(event: WatchEvent<T>): void {
    if (event.type === "ERROR") {
      const status = (event.object ?? {}) as KubeStatus;
      const fallback = status.reason === "Expired" || status.reason === "Gone" ? 410 : 500;
      throw new KubeApiError(`WATCH ${this.path}: ERROR event`, fallback, status);
    }
    const raw = event.object as T | undefined;
    if (!raw || typeof raw !== "object" || !raw.metadata) {
      throw new Error(`WATCH ${this.path}: ${event.type ?? "untyped"} event without an object`);
    }
    const rv = raw.metadata.resourceVersion;
    switch (event.type) {
      case "BOOKMARK":
        break;
      case "ADDED":
      case "MODIFIED": {
        const obj = this.#normalize(raw);
        const key = objectKey(obj);
        const old = this.#cache.get(key);
        if (old) this.#index(key, old, false);
        this.#cache.set(key, obj);
        this.#index(key, obj, true);
        if (old) this.#emit("update", (h) => h(old, obj));
        else this.#emit("add", (h) => h(obj));
        break;
      }
      case "DELETED": {
        const obj = this.#normalize(raw);
        const key = objectKey(obj);
        const old = this.#cache.get(key);
        if (old) this.#index(key, old, false);
        this.#cache.delete(key);
        this.#emit("delete", (h) => h(obj, { finalStateUnknown: false }));
        break;
      }
      default:
        throw new Error(`WATCH ${this.path}: unknown event type ${JSON.stringify(event.type)}`);
    }
    if (rv) this.#resourceVersion = rv;
  }

  #normalize(obj: T, apiVersion?: string, kind?: string): T {
    if (obj.metadata) delete obj.metadata.managedFields;
    if (apiVersion && !obj.apiVersion) obj.apiVersion = apiVersion;
    if (kind && !obj.kind) obj.kind = kind;
    return obj;
  }

  #scheduleResync(): void {
    const period = this.#opts.resyncPeriodMs ?? 0;
    if (period <= 0 || this.#stopped) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      if (this.#stopped) return;
      if (this.#synced) {
        for (const obj of this.#cache.values()) this.#emit("update", (h) => h(obj, obj));
      }
      this.#scheduleResync();
    }, period);
  }

  #heard(): void {
    this.#lastHeard = this.#clock.now();
  }

  #setState(state: InformerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit("state", (h) => h(state));
  }

  #emit<E extends keyof InformerHandlers<T>>(event: E, call: (handler: InformerHandlers<T>[E]) => void): void {
    for (const handler of this.#handlers[event]) {
      try {
        call(handler as InformerHandlers<T>[E]);
      } catch (err) {
        this.#log.error("informer event handler threw", { path: this.path, event, error: errorMessage(err) });
      }
    }
  }
}

class ContinueExpired extends Error {
  constructor(cause: unknown) {
    super("list continue token expired", { cause });
  }
}
