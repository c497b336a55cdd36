// Who is calling, and may they? A TokenReview bound to the shim's audience, then
// a SubjectAccessReview for the exact verb, resource and namespace. Decisions are
// cached briefly under the SHA-256 of the token; the token itself is never kept.
import { createHash } from "node:crypto";
import type { AccessRequest, ShimBackend, UserInfo } from "./backend.ts";
import { shimAuthDecisionsTotal } from "./metrics.ts";

export const ANONYMOUS: UserInfo = { username: "system:anonymous", groups: ["system:unauthenticated"] };

export type AuthnResult =
  | { ok: true; user: UserInfo; key: string; anonymous: boolean }
  | { ok: false; message: string };

interface Entry<T> {
  value: T;
  expires: number;
}

class TtlCache<T> {
  private readonly map = new Map<string, Entry<T>>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;
  constructor(ttlMs: number, max: number, now: () => number) {
    this.ttlMs = ttlMs;
    this.max = max;
    this.now = now;
  }
  get(key: string): T | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: T): void {
    if (this.ttlMs <= 0) return;
    if (this.map.size >= this.max) {
      const first = this.map.keys().next();
      if (!first.done) this.map.delete(first.value);
    }
    this.map.set(key, { value, expires: this.now() + this.ttlMs });
  }
}

export interface AuthConfig {
  audience: string;
  allowAnonymous: boolean;
  cacheTtlMs: number;
}

export class Authorizer {
  private readonly backend: ShimBackend;
  private readonly config: AuthConfig;
  private readonly tokens: TtlCache<AuthnResult>;
  private readonly access: TtlCache<{ allowed: boolean; reason?: string }>;

  constructor(backend: ShimBackend, config: AuthConfig, now: () => number = Date.now) {
    this.backend = backend;
    this.config = config;
    this.tokens = new TtlCache(config.cacheTtlMs, 10_000, now);
    this.access = new TtlCache(config.cacheTtlMs, 50_000, now);
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
    const key = createHash("sha256").update(m[1]).digest("hex");
    const cached = this.tokens.get(key);
    if (cached) {
      shimAuthDecisionsTotal.inc({ step: "authn", result: cached.ok ? "allowed" : "denied", cached: "true" });
      return cached;
    }
    const r = await this.backend.reviewToken(m[1], this.config.audience);
    const result: AuthnResult = r.authenticated
      ? { ok: true, user: r.user, key, anonymous: false }
      : { ok: false, message: `token rejected for audience ${this.config.audience}: ${r.error}` };
    this.tokens.set(key, result);
    shimAuthDecisionsTotal.inc({ step: "authn", result: result.ok ? "allowed" : "denied", cached: "false" });
    return result;
  }

  async authorize(authn: Extract<AuthnResult, { ok: true }>, req: AccessRequest): Promise<{ allowed: boolean; reason?: string }> {
    if (authn.anonymous) return { allowed: true, reason: "anonymous access is enabled (development only)" };
    const key = `${authn.key}\n${req.verb}\n${req.group}\n${req.resource}\n${req.namespace}`;
    const cached = this.access.get(key);
    if (cached) {
      shimAuthDecisionsTotal.inc({ step: "authz", result: cached.allowed ? "allowed" : "denied", cached: "true" });
      return cached;
    }
    const r = await this.backend.reviewAccess(authn.user, req);
    this.access.set(key, r);
    shimAuthDecisionsTotal.inc({ step: "authz", result: r.allowed ? "allowed" : "denied", cached: "false" });
    return r;
  }
}
