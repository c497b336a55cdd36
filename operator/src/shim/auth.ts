// Who is calling, and may they? A TokenReview bound to the shim's audience, then
// a SubjectAccessReview for the exact verb, resource and namespace. Decisions are
// cached briefly under the SHA-256 of the token; the token itself is never kept.
// Accepted and rejected tokens live in separate caches, so a flood of random
// tokens can neither push a good token out nor make a review per request.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { AccessRequest, ShimBackend, UserInfo } from "./backend.ts";
import { shimAuthDecisionsTotal } from "./metrics.ts";

export const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: ["system:unauthenticated"] };

export type AuthnResult =
  | { ok: true; user: UserInfo; key: string; anonymous: boolean }
  | { ok: false; message: string };

/** At most `max` entries, each for `ttlMs`; the least recently used goes first when full. */
class TtlCache<T extends object> {
  private readonly lru: LRUCache<string, T> | undefined;
  constructor(ttlMs: number, max: number, now: () => number) {
    // ttlResolution 0: the clock is read on every check (tests pass a fake one).
    this.lru = ttlMs > 0 ? new LRUCache<string, T>({ max, ttl: ttlMs, ttlResolution: 0, perf: { now } }) : undefined;
  }
  get(key: string): T | undefined {
    return this.lru?.get(key);
  }
  set(key: string, value: T): void {
    this.lru?.set(key, value);
  }
}

export interface AuthConfig {
  audience: string;
  allowAnonymous: boolean;
  cacheTtlMs: number;
  /** How long a rejected token is remembered (short: a rejection may be a transient one). */
  negativeCacheTtlMs?: number;
}

/** Rejected tokens remembered at most this long, and at most this many. */
export const NEGATIVE_CACHE_TTL_MS = 10_000;
export const NEGATIVE_CACHE_SIZE = 4_096;

const tokenKey = (token: string) => createHash("sha256").update(token).digest("hex");

export class Authorizer {
  private readonly backend: ShimBackend;
  private readonly config: AuthConfig;
  private readonly tokens: TtlCache<AuthnResult>;
  private readonly rejected: TtlCache<AuthnResult>;
  private readonly access: TtlCache<{ allowed: boolean; reason?: string }>;

  constructor(backend: ShimBackend, config: AuthConfig, now: () => number = Date.now) {
    this.backend = backend;
    this.config = config;
    this.tokens = new TtlCache(config.cacheTtlMs, 10_000, now);
    this.rejected = new TtlCache(Math.min(config.cacheTtlMs, config.negativeCacheTtlMs ?? NEGATIVE_CACHE_TTL_MS), NEGATIVE_CACHE_SIZE, now);
    this.access = new TtlCache(config.cacheTtlMs, 50_000, now);
  }

  /**
   * Whether this header would be answered from the cache of accepted tokens (or is
   * anonymous access): such requests cost no TokenReview and skip the per-address limit.
   */
  knownAccepted(authorization: string | undefined): boolean {
    if (authorization === undefined) return this.config.allowAnonymous;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m?.[1] !== undefined && this.tokens.get(tokenKey(m[1]))?.ok === true;
  }

  /** Throws only when the API server could not answer (a 5xx for the caller, never a 401). */
  async authenticate(authorization: string | undefined): Promise<AuthnResult> {
    const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m?.[1]) {
      if (authorization === undefined && this.config.allowAnonymous) return { ok: true, user: ANONYMOUS, key: "anonymous", anonymous: true };
      const message = authorization === undefined ? "missing Authorization: Bearer <token>" : "Authorization header must be 'Bearer <token>'";
      shimAuthDecisionsTotal.inc({ step: "authn", result: "denied", cached: "false" });
      return { ok: false, message };
    }
    const key = tokenKey(m[1]);
    const cached = this.tokens.get(key) ?? this.rejected.get(key);
    if (cached) {
      shimAuthDecisionsTotal.inc({ step: "authn", result: cached.ok ? "allowed" : "denied", cached: "true" });
      return cached;
    }
    // Concurrent requests with the same token share one review.
    return this.once(key, async () => {
      const r = await this.backend.reviewToken(m[1]!, this.config.audience);
      const result: AuthnResult = r.authenticated
        ? { ok: true, user: r.user, key, anonymous: false }
        : { ok: false, message: `token rejected for audience ${this.config.audience}: ${r.error}` };
      (result.ok ? this.tokens : this.rejected).set(key, result);
      shimAuthDecisionsTotal.inc({ step: "authn", result: result.ok ? "allowed" : "denied", cached: "false" });
      return result;
    });
  }

  private readonly pending = new Map<string, Promise<unknown>>();

  private once<T>(key: string, review: () => Promise<T>): Promise<T> {
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const p = review().finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  async authorize(authn: Extract<AuthnResult, { ok: true }>, req: AccessRequest): Promise<{ allowed: boolean; reason?: string }> {
    if (authn.anonymous) return { allowed: true, reason: "anonymous access is enabled (development only)" };
    const key = `${authn.key}\n${req.verb}\n${req.group}\n${req.resource}\n${req.namespace}`;
    const cached = this.access.get(key);
    if (cached) {
      shimAuthDecisionsTotal.inc({ step: "authz", result: cached.allowed ? "allowed" : "denied", cached: "true" });
      return cached;
    }
    return this.once(key, async () => {
      const r = await this.backend.reviewAccess(authn.user, req);
      this.access.set(key, r);
      shimAuthDecisionsTotal.inc({ step: "authz", result: r.allowed ? "allowed" : "denied", cached: "false" });
      return r;
    });
  }
}
