// Leader election on a coordination.k8s.io/v1 Lease, with client-go semantics:
// acquire when the Lease is missing, released, expired or already ours; every
// write is an optimistic replace guarded by the resourceVersion we read; the
// leader renews every retryPeriod and, when it has not renewed successfully for
// renewDeadline, stops acting at once — by a timer, whatever the API calls are
// doing — and goes back to candidacy.
import { type Clock, realClock, scopedSignal, sleep, type TimerHandle } from "./clock.ts";
import { isConflict } from "../k8s/errors.ts";
import { jittered } from "./backoff.ts";
import { decideLease, type LeaseObservation, type LeaseSpec, observeLease, releasedSpec } from "./lease-decision.ts";
import { errorMessage, type RuntimeLogger, silentLogger } from "./logger.ts";

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

/** The three calls the elector makes (k8s/leases.ts); a 409 must surface as an error with status 409. */
export interface LeaseClient {
  get(signal: AbortSignal): Promise<LeaseObject | undefined>;
  create(lease: LeaseObject, signal: AbortSignal): Promise<LeaseObject>;
  replace(lease: LeaseObject, signal: AbortSignal): Promise<LeaseObject>;
}

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  /** Unique per replica (e.g. pod name + random suffix). */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Start acting; stop as soon as `signal` aborts. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading(): void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?(identity: string): void;
  logger?: RuntimeLogger;
  clock?: Clock;
  /** The Lease calls: k8s/leases.ts over the process's KubeApi, or a fake in tests. */
  leaseClient: LeaseClient;
}

type Attempt = "leader" | "held-by-other" | "conflict";

// Candidates wait retryPeriod × [1, 1.2): enough to keep replicas out of step.
// client-go uses [1, 2.2); a write race is harmless here (one replace wins by
// resourceVersion), and the smaller spread halves the takeover time after a release.
const ACQUIRE_JITTER = 0.2;

export class LeaderElector {
  readonly identity: string;
  readonly #opts: LeaderElectorOptions;
  readonly #client: LeaseClient;
  readonly #log: RuntimeLogger;
  readonly #clock: Clock;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #released = new AbortController();

  #observed: LeaseObservation | undefined;
  #reportedLeader: string | undefined;
  #leading: AbortController | undefined;
  /** Monotonic ms at which the last successful acquire/renew request was sent. */
  #lastRenew = 0;
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    const lease = options.leaseDurationSeconds ?? 15;
    const renew = options.renewDeadlineSeconds ?? 10;
    const retry = options.retryPeriodSeconds ?? 2;
    if (!(lease > renew)) throw new Error(`leaseDurationSeconds (${lease}) must be greater than renewDeadlineSeconds (${renew})`);
    if (!(renew > retry * (1 + ACQUIRE_JITTER))) throw new Error(`renewDeadlineSeconds (${renew}) must be greater than ${1 + ACQUIRE_JITTER} × retryPeriodSeconds (${retry})`);
    if (!(retry > 0)) throw new Error("retryPeriodSeconds must be positive");
    if (!options.identity) throw new Error("identity must not be empty");
    this.#opts = options;
    this.identity = options.identity;
    this.#client = options.leaseClient;
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? realClock;
    this.#leaseDurationMs = lease * 1000;
    this.#renewDeadlineMs = renew * 1000;
    this.#retryPeriodMs = retry * 1000;
  }

  isLeader(): boolean {
    return this.#leading !== undefined && !this.#leading.signal.aborted;
  }

  /** The holder as last read from the Lease ("" when released or unknown). */
  observedLeader(): string {
    return this.#observed?.spec.holderIdentity ?? "";
  }

  /**
   * Campaigns, leads, and campaigns again after losing the lease, until `signal`
   * aborts or release() is called. Aborting stops leading at once but leaves the
   * Lease as it is (others take over when it expires); call release() to hand over.
   */
  run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error("LeaderElector.run was already called");
    const stop = AbortSignal.any([signal, this.#released.signal]);
    this.#running = this.#loop(stop);
    return this.#running;
  }

  /**
   * Stops leading (onStoppedLeading runs if we were leading), ends run(), and, if
   * the Lease still names us, clears its holder so another replica takes over on
   * its next retry instead of waiting for expiry.
   */
  async release(): Promise<void> {
    this.#released.abort(new DOMException("leader election released", "AbortError"));
    await this.#running?.catch(() => undefined);
    const scoped = scopedSignal([], this.#renewDeadlineMs);
    try {
      const lease = await this.#client.get(scoped.signal);
      if (!lease || lease.spec?.holderIdentity !== this.identity) return;
      await this.#client.replace({ ...lease, spec: releasedSpec(lease.spec, new Date()) }, scoped.signal);
      this.#log.info("released the lease", { lease: this.#leaseName() });
    } catch (err) {
      if (isConflict(err)) {
        this.#log.info("lease changed while releasing; leaving it as it is", { lease: this.#leaseName() });
        return;
      }
      throw err;
    } finally {
      scoped.dispose();
    }
  }

  async #loop(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      if (!(await this.#campaign(stop))) break;
      await this.#lead(stop);
    }
  }

  /** Tries to acquire every retryPeriod (jittered); true once leading, false when stopped. */
  async #campaign(stop: AbortSignal): Promise<boolean> {
    for (;;) {
      if (stop.aborted) return false;
      const started = this.#clock.now();
      try {
        const result = await this.#tryAcquireOrRenew(stop, this.#renewDeadlineMs);
        if (result === "leader" && !stop.aborted) {
          this.#startLeading(started);
          return true;
        }
      } catch (err) {
        if (stop.aborted) return false;
        this.#log.warn("could not read or write the lease", { lease: this.#leaseName(), error: errorMessage(err) });
      }
      const wait = jittered(this.#retryPeriodMs, ACQUIRE_JITTER);
      await sleep(wait, stop, this.#clock).catch(() => undefined);
    }
  }

  #startLeading(renewedAt: number): void {
    this.#leading = new AbortController();
    this.#lastRenew = renewedAt;
    this.#log.info("became leader", { lease: this.#leaseName(), identity: this.identity });
    const signal = this.#leading.signal;
    try {
      const started = this.#opts.onStartedLeading(signal);
      if (started) started.catch((err: unknown) => this.#log.error("onStartedLeading failed", { error: errorMessage(err) }));
    } catch (err) {
      this.#log.error("onStartedLeading failed", { error: errorMessage(err) });
    }
  }

  /** Renews until leadership is lost or `stop` aborts; leadership ends before this returns. */
  async #lead(stop: AbortSignal): Promise<void> {
    const leading = this.#leading;
    if (!leading) return;
    let watchdog: TimerHandle | undefined;
    const arm = () => {
      if (watchdog) this.#clock.clearTimeout(watchdog);
      const remaining = this.#lastRenew + this.#renewDeadlineMs - this.#clock.now();
      watchdog = this.#clock.setTimeout(() => this.#stopLeading(`no successful renewal within ${this.#renewDeadlineMs / 1000}s`), remaining);
    };
    const onStop = () => this.#stopLeading(this.#released.signal.aborted ? "released" : "elector stopped");
    stop.addEventListener("abort", onStop, { once: true });
    if (stop.aborted) onStop();
    arm();
    try {
      while (!leading.signal.aborted) {
        try {
          await sleep(this.#retryPeriodMs, leading.signal, this.#clock);
        } catch {
          break;
        }
        const started = this.#clock.now();
        const remaining = this.#lastRenew + this.#renewDeadlineMs - started;
        let result: Attempt | "error";
        try {
          result = await this.#tryAcquireOrRenew(leading.signal, remaining);
        } catch (err) {
          if (leading.signal.aborted) break;
          this.#log.warn("failed to renew the lease", { lease: this.#leaseName(), error: errorMessage(err), deadlineInMs: Math.round(remaining - (this.#clock.now() - started)) });
          result = "error";
        }
        if (leading.signal.aborted) break;
        if (result === "leader") {
          this.#lastRenew = started;
          arm();
        } else if (result === "held-by-other") {
          this.#stopLeading(`the lease is held by ${this.observedLeader()}`);
        }
      }
    } finally {
      stop.removeEventListener("abort", onStop);
      if (watchdog) this.#clock.clearTimeout(watchdog);
      this.#stopLeading("leading ended");
    }
  }

  #stopLeading(reason: string): void {
    const leading = this.#leading;
    if (!leading || leading.signal.aborted) return;
    leading.abort(new Error(`leadership lost: ${reason}`));
    this.#log.warn("stopped leading", { lease: this.#leaseName(), identity: this.identity, reason });
    try {
      this.#opts.onStoppedLeading();
    } catch (err) {
      this.#log.error("onStoppedLeading failed", { error: errorMessage(err) });
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal, timeoutMs: number): Promise<Attempt> {
    const scoped = scopedSignal([signal], Math.max(1, timeoutMs));
    try {
      return await this.#attempt(scoped.signal);
    } finally {
      scoped.dispose();
    }
  }

  async #attempt(signal: AbortSignal): Promise<Attempt> {
    const lease = await this.#client.get(signal);
    const leaseDurationSeconds = this.#leaseDurationMs / 1000;
    if (!lease) {
      const decision = decideLease({ current: undefined, identity: this.identity, leaseDurationSeconds, now: this.#clock.now(), wallNow: new Date() });
      if (decision.action !== "create") throw new Error("unreachable: lease decision for a missing lease");
      try {
        const created = await this.#client.create(
          { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.#opts.name, namespace: this.#opts.namespace }, spec: decision.spec },
          signal,
        );
        this.#observe(created.spec ?? decision.spec);
        return "leader";
      } catch (err) {
        if (isConflict(err)) return "conflict";
        throw err;
      }
    }
    this.#observe(lease.spec ?? {});
    const decision = decideLease({ current: this.#observed, identity: this.identity, leaseDurationSeconds, now: this.#clock.now(), wallNow: new Date() });
    if (decision.action === "wait") return "held-by-other";
    if (decision.action === "create") throw new Error("unreachable: create decision for an existing lease");
    try {
      const updated = await this.#client.replace({ ...lease, spec: decision.spec }, signal);
      this.#observe(updated.spec ?? decision.spec);
      if (decision.acquiring) this.#log.info("acquired the lease", { lease: this.#leaseName(), previousHolder: lease.spec?.holderIdentity ?? "", transitions: decision.spec.leaseTransitions });
      return "leader";
    } catch (err) {
      if (isConflict(err)) return "conflict";
      throw err;
    }
  }

  #observe(spec: LeaseSpec): void {
    this.#observed = observeLease(this.#observed, spec, this.#clock.now());
    const holder = spec.holderIdentity ?? "";
    if (holder && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      try {
        this.#opts.onNewLeader?.(holder);
      } catch (err) {
        this.#log.error("onNewLeader failed", { error: errorMessage(err) });
      }
    }
  }

  #leaseName(): string {
    return `${this.#opts.namespace}/${this.#opts.name}`;
  }
}
