// What controllers read: informer caches, plus an overlay of this process's own
// writes that the informer has not delivered yet. Without the overlay, two
// reconciles in a row could both miss the first one's intent and break a cap.
//
// resourceVersions are opaque (only equality means anything), so the overlay
// never compares them for order. Like client-go's expectations, a write is
// announced before it is sent (begin), the informer's deliveries are observed,
// and the overlay entry is cleared when the informer delivers the very version
// the write returned. A write the informer delivered before its response arrived
// is never overlaid. A time to live (five minutes, client-go's expectations
// timeout) bounds an entry whose delivery was missed: a relist after the watch
// expired can skip a version.
import type { KubernetesObject } from "@kubernetes/client-node";

export interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
}

const OVERLAY_TTL_MS = 5 * 60 * 1000;

/** A write in flight: the versions the informer delivered for its key meanwhile. */
export interface PendingWrite {
  readonly key: string;
  readonly delivered: Set<string>;
}

const keyOf = (obj: KubernetesObject) => `${obj.metadata?.namespace}/${obj.metadata?.name}`;

export class OverlayCache<T extends KubernetesObject> implements Cache<T> {
  private readonly writes = new Map<string, { obj: T; at: number }>();
  private readonly inflight = new Map<string, Set<PendingWrite>>();
  private readonly base: Cache<T>;
  private readonly now: () => number;

  constructor(base: Cache<T>, now: () => number = Date.now) {
    this.base = base;
    this.now = now;
  }

  /** Call before sending a write of namespace/name; pass the result to remember() or abandon(). */
  begin(namespace: string, name: string): PendingWrite {
    const w: PendingWrite = { key: `${namespace}/${name}`, delivered: new Set() };
    const set = this.inflight.get(w.key) ?? new Set();
    set.add(w);
    this.inflight.set(w.key, set);
    return w;
  }

  /** Remember an object this process just wrote (the API server's response). */
  remember(pending: PendingWrite, obj: T): void {
    this.end(pending);
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && pending.delivered.has(rv)) {
      // Already delivered: the informer's object is this write or newer.
      this.writes.delete(pending.key);
      return;
    }
    this.writes.set(pending.key, { obj, at: this.now() });
  }

  /**
   * The write failed. What the overlay held for the key stays: it is still this
   * process's latest write, and a write based on it that is out of date is
   * refused by its resourceVersion precondition anyway.
   */
  abandon(pending: PendingWrite): void {
    this.end(pending);
  }

  /** Every object the informer delivers (add, update, delete) passes here. */
  observe(obj: T, deleted = false): void {
    const key = keyOf(obj);
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined) for (const w of this.inflight.get(key) ?? []) w.delivered.add(rv);
    const entry = this.writes.get(key);
    if (entry && (deleted || entry.obj.metadata?.resourceVersion === rv)) this.writes.delete(key);
  }

  get(namespace: string, name: string): T | undefined {
    return this.pick(`${namespace}/${name}`, this.base.get(namespace, name));
  }

  list(namespace?: string): T[] {
    const out = new Map<string, T>();
    for (const o of this.base.list(namespace)) out.set(keyOf(o), o);
    for (const [key, w] of this.writes) {
      if (namespace !== undefined && w.obj.metadata?.namespace !== namespace) continue;
      const picked = this.pick(key, out.get(key));
      if (picked) out.set(key, picked);
    }
    return [...out.values()];
  }

  private end(pending: PendingWrite): void {
    const set = this.inflight.get(pending.key);
    set?.delete(pending);
    if (set?.size === 0) this.inflight.delete(pending.key);
  }

  private pick(key: string, cached: T | undefined): T | undefined {
    const w = this.writes.get(key);
    if (!w) return cached;
    if (this.now() - w.at > OVERLAY_TTL_MS) {
      this.writes.delete(key);
      return cached;
    }
    return w.obj;
  }
}
