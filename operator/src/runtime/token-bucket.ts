// Token buckets by key (per caller identity in the shim; one for the operator's
// Normal events). State is per replica on purpose: a limit that
// protects this process's API-server budget needs no coordination.
import { LRUCache } from "lru-cache";

export interface RateLimitConfig {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: the burst a caller may send at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly config: RateLimitConfig;
  /** The least recently used bucket is dropped when full: a full bucket forgets nothing that matters. */
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly now: () => number;

  constructor(config: RateLimitConfig, now: () => number = () => performance.now(), maxKeys = 10_000) {
    this.config = config;
    this.now = now;
    this.buckets = new LRUCache<string, Bucket>({ max: maxKeys });
  }

  /** Takes one token; when none is left, says how many seconds until one is. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.now();
    const { ratePerSecond, burst } = this.config;
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSecond);
      b.at = now;
    } else {
      b = { tokens: burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond)) };
  }
}
