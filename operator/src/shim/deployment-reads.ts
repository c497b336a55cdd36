// Reads of Deployments for /v1/verify/deployment, shared by every waiting
// request of this replica: callers polling the same Deployment share one GET at
// most every `minIntervalMs`, and all reads together stay within a process-wide
// budget. However many callers poll however fast, the API server sees a bounded
// number of GETs per second.
import type { V1Deployment } from "@kubernetes/client-node";
import type { ShimBackend } from "./backend.ts";
import { type RateLimitConfig, RateLimiter } from "../runtime/token-bucket.ts";

export interface DeploymentReadsConfig {
  /** A read younger than this is answered again instead of a new GET. */
  minIntervalMs: number;
  /** GETs per second (and burst) for all verifications of this replica together. */
  budget: RateLimitConfig;
}

interface Entry {
  at: number;
  value: Promise<V1Deployment>;
}

export class DeploymentReads {
  private readonly backend: Pick<ShimBackend, "readDeployment">;
  private readonly config: DeploymentReadsConfig;
  private readonly recent = new Map<string, Entry>();
  private readonly budget: RateLimiter;
  private readonly now: () => number;

  constructor(backend: Pick<ShimBackend, "readDeployment">, config: DeploymentReadsConfig, now: () => number = () => performance.now()) {
    this.backend = backend;
    this.config = config;
    this.budget = new RateLimiter(config.budget, now, 1);
    this.now = now;
  }

  /** The Deployment as read at most `minIntervalMs` ago (or being read now). */
  async read(namespace: string, name: string): Promise<V1Deployment> {
    const key = `${namespace}/${name}`;
    const hit = this.recent.get(key);
    if (hit && this.now() - hit.at < this.config.minIntervalMs) return structuredClone(await hit.value);
    // Over the budget: wait for a token rather than fail, so callers only slow down.
    for (;;) {
      const t = this.budget.take("all");
      if (t.allowed) break;
      await new Promise((r) => setTimeout(r, Math.max(10, 1000 / this.config.budget.ratePerSecond)));
      const again = this.recent.get(key);
      if (again && this.now() - again.at < this.config.minIntervalMs) return structuredClone(await again.value);
    }
    const entry: Entry = { at: this.now(), value: this.backend.readDeployment(namespace, name) };
    this.recent.set(key, entry);
    entry.value.then(
      () => { entry.at = this.now(); },
      () => { if (this.recent.get(key) === entry) this.recent.delete(key); },
    );
    this.forgetOld();
    return structuredClone(await entry.value);
  }

  /** Entries older than the interval answer nothing; dropping them keeps the map small. */
  private forgetOld(): void {
    if (this.recent.size < 1024) return;
    const now = this.now();
    for (const [k, e] of this.recent) if (now - e.at >= this.config.minIntervalMs) this.recent.delete(k);
  }
}
