// What controllers read: informer caches, plus an overlay of this process's own
// writes that the informer has not delivered yet. Without the overlay, two
// reconciles in a row could both miss the first one's intent and break a cap.
import type { KubernetesObject } from "@kubernetes/client-node";

export interface Cache<T> {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
}

const OVERLAY_TTL_MS = 5 * 60 * 1000;

/** resourceVersions are opaque, but etcd's are increasing integers; compare them as such when they are. */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

export class OverlayCache<T extends KubernetesObject> implements Cache<T> {
  private readonly writes = new Map<string, { obj: T; at: number }>();
  private readonly base: Cache<T>;
  private readonly now: () => number;

  constructor(base: Cache<T>, now: () => number = Date.now) {
    this.base = base;
    this.now = now;
  }

  /** Remember an object this process just wrote (the API server's response). */
  remember(obj: T): void {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    this.writes.set(key, { obj, at: this.now() });
  }

  get(namespace: string, name: string): T | undefined {
    return this.pick(`${namespace}/${name}`, this.base.get(namespace, name));
  }

  list(namespace?: string): T[] {
    const out = new Map<string, T>();
    for (const o of this.base.list(namespace)) out.set(`${o.metadata?.namespace}/${o.metadata?.name}`, o);
    for (const [key, w] of this.writes) {
      if (namespace !== undefined && w.obj.metadata?.namespace !== namespace) continue;
      const picked = this.pick(key, out.get(key));
      if (picked) out.set(key, picked);
    }
    return [...out.values()];
  }

  private pick(key: string, cached: T | undefined): T | undefined {
    const w = this.writes.get(key);
    if (!w) return cached;
    if (this.now() - w.at > OVERLAY_TTL_MS || (cached && !newer(w.obj.metadata?.resourceVersion, cached.metadata?.resourceVersion))) {
      this.writes.delete(key);
      return cached;
    }
    return w.obj;
  }
}
