// The webhook sender, the notify module's only I/O. `notify` never blocks and
// never throws: it puts the notification on a bounded queue per webhook and
// returns; one background loop per webhook sends its queue in order. So a slow or
// dead receiver delays only its own notifications, never a reconcile.
//
// Delivery is best-effort. A request that times out, fails on the network, or is
// answered 5xx or 429 is retried with jittered exponential backoff (a 429's or
// 503's Retry-After is honoured up to the maximum delay), at most maxAttempts
// times; any other answer but 2xx (4xx, a redirect) is final. A full queue drops
// its oldest notification. What is queued when the process stops is lost: the
// Kubernetes Event written for the same decision is the durable record.
//
// The URL and headers are credentials (a Slack webhook URL is its own secret):
// no log line and no metric holds them; the webhook is named by its `name`.
import { backoffDelay, jittered } from "../runtime/backoff.ts";
import { sleep as clockSleep, scopedSignal } from "../runtime/clock.ts";
import { errorMessage, type RuntimeLogger } from "../runtime/logger.ts";
import type { NotifyConfig, WebhookConfig } from "./config.ts";
import { renderBody } from "./formats.ts";
import { notificationAttemptsTotal, notificationsTotal } from "./metrics.ts";
import { atLeast, type Notification } from "./notification.ts";

/** What controllers depend on: send a notification, and stop at shutdown. */
export interface Notifier {
  /** Queues `n` for every configured webhook; returns at once and never throws. */
  notify(n: Notification): void;
  /** Stops sending; whatever is still queued is dropped. */
  close(): Promise<void>;
}

/** The notifier when no webhook is configured. */
export const NOOP_NOTIFIER: Notifier & { flush(timeoutMs: number): Promise<void> } = Object.freeze({
  notify(): void {},
  async flush(): Promise<void> {},
  async close(): Promise<void> {},
});

export const RETRY_INITIAL_MS = 1000;
export const RETRY_MAX_MS = 60_000;

export interface WebhookNotifierDeps {
  log: RuntimeLogger;
  /** The HTTP client; the global fetch by default. */
  fetch?: typeof fetch;
  /** Wall-clock milliseconds since the epoch: Retry-After dates, and `at` when a notification has none. */
  now?: () => number;
  /** Waits between attempts; must reject when `signal` aborts (close). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Source of backoff jitter. */
  random?: () => number;
  /** Retry delays; 1 s doubling up to 60 s by default. */
  backoff?: { initialMs: number; maxMs: number };
}

type Outcome = { kind: "sent"; status: number } | { kind: "final"; status: number } | { kind: "retry"; status?: number; retryAfterMs?: number; error?: string };

const CLOSED = new Error("notifier closed");

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), or undefined. */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and zone in letters; Date.parse alone would take "-5" for the year 5 BC.
  const at = /[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

type ChannelDeps = Required<Omit<WebhookNotifierDeps, "backoff">> & { backoff: { initialMs: number; maxMs: number } };

class Channel {
  readonly #config: WebhookConfig;
  readonly #maxQueue: number;
  readonly #deps: ChannelDeps;
  readonly #stop: AbortSignal;
  readonly #queue: Notification[] = [];
  #busy = false;
  #overflowing = false;
  #wake: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  readonly done: Promise<void>;

  constructor(config: WebhookConfig, maxQueue: number, deps: ChannelDeps, stop: AbortSignal) {
    this.#config = config;
    this.#maxQueue = maxQueue;
    this.#deps = deps;
    this.#stop = stop;
    this.done = this.#run();
  }

  get name(): string {
    return this.#config.name;
  }

  enqueue(n: Notification): void {
    if (!atLeast(n.severity, this.#config.minSeverity)) return;
    if (this.#queue.length >= this.#maxQueue) {
      const lost = this.#queue.shift()!;
      notificationsTotal.inc({ webhook: this.name, result: "dropped" });
      // One warning per overflow, not one per notification: a flood must not flood the log too.
      if (!this.#overflowing) this.#deps.log.warn("notification queue full: dropping the oldest", { webhook: this.name, maxQueue: this.#maxQueue, reason: lost.reason });
      this.#overflowing = true;
    }
    this.#queue.push(n);
    this.#wake?.();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && !this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Notifications lost by close: those still queued (the one in flight is counted by #run). */
  discard(): number {
    const lost = this.#queue.length;
    this.#queue.length = 0;
    if (lost > 0) notificationsTotal.inc({ webhook: this.name, result: "dropped" }, lost);
    this.#settleIdle();
    return lost;
  }

  wakeUp(): void {
    this.#wake?.();
  }

  #settleIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  async #run(): Promise<void> {
    while (!this.#stop.aborted) {
      const n = this.#queue.shift();
      if (n === undefined) {
        this.#overflowing = false;
        this.#settleIdle();
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      this.#busy = true;
      try {
        await this.#deliver(n);
      } catch (err) {
        if (err !== CLOSED) this.#deps.log.error("notification loop error", { webhook: this.name, error: errorMessage(err) });
        else notificationsTotal.inc({ webhook: this.name, result: "dropped" });
      } finally {
        this.#busy = false;
      }
    }
    this.#settleIdle();
  }

  async #deliver(n: Notification): Promise<void> {
    const { log } = this.#deps;
    const body = renderBody(this.#config.format, n, { resolveTimeoutMs: this.#config.resolveTimeoutSeconds * 1000 });
    const about = { webhook: this.name, reason: n.reason, namespace: n.namespace, target: n.target, ...(n.action ? { action: n.action } : {}) };
    for (let attempt = 1; ; attempt++) {
      if (this.#stop.aborted) throw CLOSED;
      notificationAttemptsTotal.inc({ webhook: this.name });
      const outcome = await this.#attempt(body);
      if (outcome.kind === "sent") {
        notificationsTotal.inc({ webhook: this.name, result: "sent" });
        log.debug("notification sent", { ...about, status: outcome.status, attempts: attempt });
        return;
      }
      if (outcome.kind === "final") {
        notificationsTotal.inc({ webhook: this.name, result: "failed" });
        log.warn("notification refused by the webhook: not retried", { ...about, status: outcome.status, attempts: attempt });
        return;
      }
      const problem = { ...(outcome.status !== undefined ? { status: outcome.status } : {}), ...(outcome.error !== undefined ? { error: outcome.error } : {}) };
      if (attempt >= this.#config.maxAttempts) {
        notificationsTotal.inc({ webhook: this.name, result: "failed" });
        log.warn("notification undelivered after every attempt", { ...about, ...problem, attempts: attempt });
        return;
      }
      const { initialMs, maxMs } = this.#deps.backoff;
      let delay = backoffDelay(attempt, { initialMs, maxMs }, this.#deps.random);
      if (outcome.retryAfterMs !== undefined) delay = Math.min(maxMs, Math.max(delay, Math.round(jittered(outcome.retryAfterMs, 0.1, this.#deps.random))));
      log.info("notification attempt failed: retrying", { ...about, ...problem, attempt, delayMs: delay });
      try {
        await this.#deps.sleep(delay, this.#stop);
      } catch {
        throw CLOSED;
      }
    }
  }

  async #attempt(body: string): Promise<Outcome> {
    const { url, headers, timeoutSeconds } = this.#config;
    const scoped = scopedSignal([this.#stop], timeoutSeconds * 1000);
    try {
      const res = await this.#deps.fetch(url, {
        method: "POST",
        headers: { "user-agent": "smartops-operator", ...headers, "content-type": "application/json" },
        body,
        signal: scoped.signal,
        // A redirect is an answer, not a delivery: following it could carry the headers (credentials) elsewhere.
        redirect: "manual",
      });
      // The answer's body is not needed; reading it to the end frees the connection for the next request.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { kind: "sent", status: res.status };
      if (res.status === 429 || res.status >= 500) {
        const after = retryAfterMs(res.headers.get("retry-after"), this.#deps.now());
        return { kind: "retry", status: res.status, ...(after !== undefined ? { retryAfterMs: after } : {}) };
      }
      return { kind: "final", status: res.status };
    } catch (err) {
      if (this.#stop.aborted) throw CLOSED;
      const timedOut = scoped.signal.aborted;
      return { kind: "retry", error: timedOut ? `timed out after ${timeoutSeconds} s` : this.#scrub(errorMessage(err)) };
    } finally {
      scoped.dispose();
    }
  }

  /** An error message with the URL (and its path, which holds a Slack webhook's secret) taken out. */
  #scrub(message: string): string {
    let out = message;
    const url = new URL(this.#config.url);
    for (const secret of [this.#config.url, url.href, url.pathname.length > 1 ? url.pathname : "", url.search]) {
      if (secret) out = out.split(secret).join("[url]");
    }
    return out;
  }
}

/** Sends notifications to the configured webhooks; see the file's header for the guarantees. */
export class WebhookNotifier implements Notifier {
  readonly #channels: Channel[];
  readonly #stop = new AbortController();
  readonly #log: RuntimeLogger;
  readonly #now: () => number;
  #closing: Promise<void> | undefined;

  constructor(config: NotifyConfig, deps: WebhookNotifierDeps) {
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    const full: ChannelDeps = {
      log: deps.log,
      fetch: deps.fetch ?? globalThis.fetch,
      now: this.#now,
      sleep: deps.sleep ?? ((ms: number, signal: AbortSignal) => clockSleep(ms, signal)),
      random: deps.random ?? Math.random,
      backoff: deps.backoff ?? { initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS },
    };
    this.#channels = config.webhooks.map((w) => new Channel(w, config.maxQueue, full, this.#stop.signal));
  }

  /** The configured webhooks' names. */
  get webhooks(): string[] {
    return this.#channels.map((c) => c.name);
  }

  notify(n: Notification): void {
    try {
      if (this.#stop.signal.aborted) {
        this.#log.debug("notification after close: not sent", { reason: n.reason });
        return;
      }
      // A copy, so that the caller changing its object later does not change what is sent.
      const copy: Notification = { ...n };
      if (!Number.isFinite(Date.parse(copy.at))) copy.at = new Date(this.#now()).toISOString();
      for (const channel of this.#channels) channel.enqueue(copy);
    } catch (err) {
      this.#log.error("notification not queued", { error: errorMessage(err) });
    }
  }

  /** Resolves when every queue is empty and nothing is in flight, or after `timeoutMs`, whichever comes first. */
  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, timeoutMs));
      timer.unref();
    });
    try {
      await Promise.race([Promise.all(this.#channels.map((c) => c.idle())), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Aborts what is in flight and drops what is queued (counted as dropped); idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort(CLOSED);
      let lost = 0;
      for (const c of this.#channels) {
        lost += c.discard();
        c.wakeUp();
      }
      await Promise.all(this.#channels.map((c) => c.done));
      if (lost > 0) this.#log.warn("notifier closed with notifications unsent: they are lost (the Events remain)", { lost });
    })();
    return this.#closing;
  }
}

/** A WebhookNotifier for a config with webhooks; NOOP_NOTIFIER for none (no config file, or an empty list). */
export function createNotifier(config: NotifyConfig | undefined, deps: WebhookNotifierDeps): Notifier & { flush(timeoutMs: number): Promise<void> } {
  if (config === undefined || config.webhooks.length === 0) return NOOP_NOTIFIER;
  return new WebhookNotifier(config, deps);
}
