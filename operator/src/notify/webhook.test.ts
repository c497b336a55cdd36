// The sender against a real HTTP receiver on 127.0.0.1 (node:http, the real global
// fetch): what arrives, in which order, after how many attempts. Only the waits
// between attempts are shortened, through the injected sleep, which records what
// it was asked to wait.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sleep as clockSleep } from "../runtime/clock.ts";
import type { RuntimeLogger } from "../runtime/logger.ts";
import type { NotifyConfig, WebhookConfig } from "./config.ts";
import { notificationAttemptsTotal, notificationsTotal } from "./metrics.ts";
import { isOwnNotification, ORIGIN_VALUE, type Notification } from "./notification.ts";
import { createNotifier, NOOP_NOTIFIER, retryAfterMs, WebhookNotifier } from "./webhook.ts";

type Answer = { status: number; headers?: Record<string, string> } | "hang";

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver: records every request and answers from a script (200 once the script is used up). */
class Receiver {
  readonly requests: Received[] = [];
  readonly answers: Answer[] = [];
  readonly #hanging: ServerResponse[] = [];
  readonly #server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      this.requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const answer = this.answers.shift() ?? { status: 200 };
      if (answer === "hang") this.#hanging.push(res);
      else res.writeHead(answer.status, answer.headers).end("answer");
    });
  });
  base = "";

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answers the requests left hanging. */
  release(status = 200): void {
    for (const res of this.#hanging.splice(0)) if (!res.destroyed) res.writeHead(status).end();
  }

  bodies(): unknown[] {
    return this.requests.map((r) => JSON.parse(r.body));
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Every log line as JSON text, exactly as the notifier passed it (no redaction in between). */
function capturingLogger(): RuntimeLogger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => void lines.push(JSON.stringify({ level, message, ...meta }));
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

async function count(webhook: string, result: string): Promise<number> {
  return (await notificationsTotal.get()).values.find((v) => v.labels.webhook === webhook && v.labels.result === result)?.value ?? 0;
}

async function attempts(webhook: string): Promise<number> {
  return (await notificationAttemptsTotal.get()).values.find((v) => v.labels.webhook === webhook)?.value ?? 0;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await clockSleep(5);
  }
}

const note = (i: number, extra: Partial<Notification> = {}): Notification => ({
  reason: `Reason${i}`,
  severity: "warning",
  namespace: "shop",
  target: "checkout",
  action: `checkout-scale-${i}`,
  summary: `summary ${i}`,
  message: `message ${i}`,
  at: "2026-12-01T10:00:00.000Z",
  ...extra,
});

const SECRET_PATH = "/services/T0001/B0002/s3cr3tWebhookToken";
const SECRET_HEADER = "Bearer hunter2-token-value";

let receivers: Receiver[] = [];
let notifiers: WebhookNotifier[] = [];

afterEach(async () => {
  await Promise.all(notifiers.map((n) => n.close()));
  await Promise.all(receivers.map((r) => r.stop()));
  notifiers = [];
  receivers = [];
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  receivers.push(r);
  return r;
}

function webhook(name: string, url: string, extra: Partial<WebhookConfig> = {}): WebhookConfig {
  return { name, url, format: "generic", timeoutSeconds: 5, minSeverity: "info", maxAttempts: 6, resolveTimeoutSeconds: 3600, ...extra };
}

function notifier(config: NotifyConfig, now?: () => number) {
  const log = capturingLogger();
  const sleeps: number[] = [];
  const n = new WebhookNotifier(config, {
    log,
    // Record the wait asked for, wait a token 2 ms (still abortable by close).
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return clockSleep(Math.min(ms, 2), signal);
    },
    random: () => 0.5,
    ...(now ? { now } : {}),
  });
  notifiers.push(n);
  return { n, log, sleeps };
}

describe("WebhookNotifier", () => {
  it("delivers every notification to every webhook in order, each in its own format, with its headers", async () => {
    const r = await receiver();
    const { n } = notifier({
      maxQueue: 100,
      webhooks: [
        webhook("order-generic", `${r.base}/generic`, { headers: { Authorization: SECRET_HEADER } }),
        webhook("order-slack", `${r.base}/slack`, { format: "slack" }),
        webhook("order-am", `${r.base}/api/v2/alerts`, { format: "alertmanager" }),
      ],
    });
    for (let i = 0; i < 5; i++) n.notify(note(i));
    await n.flush(5000);

    const at = (path: string) => r.requests.filter((q) => q.path === path);
    expect(at("/generic").map((q) => JSON.parse(q.body).reason)).toEqual(["Reason0", "Reason1", "Reason2", "Reason3", "Reason4"]);
    expect(at("/generic").every((q) => q.method === "POST" && q.headers.authorization === SECRET_HEADER && q.headers["content-type"] === "application/json")).toBe(true);
    expect(JSON.parse(at("/generic")[0]!.body)).toMatchObject({ ...note(0), origin: ORIGIN_VALUE });
    expect(at("/slack").map((q) => JSON.parse(q.body).text)).toEqual([0, 1, 2, 3, 4].map((i) => `[warning] Reason${i}: summary ${i} — shop/checkout (action checkout-scale-${i})`));
    expect(at("/slack")[0]!.headers.authorization).toBeUndefined();
    const alerts = at("/api/v2/alerts").map((q) => JSON.parse(q.body));
    expect(alerts.map((a) => a[0].labels.alertname)).toEqual(["SmartOpsReason0", "SmartOpsReason1", "SmartOpsReason2", "SmartOpsReason3", "SmartOpsReason4"]);
    expect(alerts.every((a) => isOwnNotification(a[0].labels))).toBe(true);
    expect(await count("order-generic", "sent")).toBe(5);
    expect(await attempts("order-slack")).toBe(5);
  });

  it("retries a 500 twice with growing backoff, then delivers, keeping the order", async () => {
    const r = await receiver();
    r.answers.push({ status: 500 }, { status: 503 });
    const { n, sleeps } = notifier({ maxQueue: 100, webhooks: [webhook("retry-5xx", `${r.base}/hook`)] });
    n.notify(note(1));
    n.notify(note(2));
    await n.flush(5000);
    expect(r.bodies().map((b) => (b as Notification).reason)).toEqual(["Reason1", "Reason1", "Reason1", "Reason2"]);
    // backoffDelay(1) and (2) of 1 s doubling, minus half the 20 % jitter (random 0.5).
    expect(sleeps).toEqual([900, 1800]);
    expect(await attempts("retry-5xx")).toBe(4);
    expect(await count("retry-5xx", "sent")).toBe(2);
    expect(await count("retry-5xx", "failed")).toBe(0);
  });

  it("honours a 429's Retry-After, in seconds and as an HTTP date", async () => {
    const r = await receiver();
    const now = Date.parse("2026-12-01T10:00:00.000Z");
    r.answers.push({ status: 429, headers: { "retry-after": "7" } }, { status: 429, headers: { "retry-after": new Date(now + 12_000).toUTCString() } });
    const { n, sleeps } = notifier({ maxQueue: 100, webhooks: [webhook("retry-after", `${r.base}/hook`)] }, () => now);
    n.notify(note(1));
    await n.flush(5000);
    expect(r.requests).toHaveLength(3);
    // At least what was asked, lengthened by up to 10 % jitter (5 % with random 0.5).
    expect(sleeps).toEqual([7350, 12_600]);
    expect(await count("retry-after", "sent")).toBe(1);
  });

  it("caps a Retry-After beyond the maximum delay at 60 s", async () => {
    const r = await receiver();
    r.answers.push({ status: 503, headers: { "retry-after": "3600" } });
    const { n, sleeps } = notifier({ maxQueue: 100, webhooks: [webhook("retry-cap", `${r.base}/hook`)] });
    n.notify(note(1));
    await n.flush(5000);
    expect(sleeps).toEqual([60_000]);
    expect(r.requests).toHaveLength(2);
  });

  it("gives up on a 400 at once, and on a redirect without following it, then goes on with the next", async () => {
    const r = await receiver();
    r.answers.push({ status: 400 }, { status: 302, headers: { location: `${r.base}/elsewhere` } });
    const { n, sleeps, log } = notifier({ maxQueue: 100, webhooks: [webhook("give-up", `${r.base}/hook`)] });
    n.notify(note(1));
    n.notify(note(2));
    n.notify(note(3));
    await n.flush(5000);
    expect(r.requests.map((q) => [q.path, JSON.parse(q.body).reason])).toEqual([
      ["/hook", "Reason1"],
      ["/hook", "Reason2"],
      ["/hook", "Reason3"],
    ]);
    expect(sleeps).toEqual([]);
    expect(await count("give-up", "failed")).toBe(2);
    expect(await count("give-up", "sent")).toBe(1);
    expect(log.lines.filter((l) => l.includes("refused by the webhook")).map((l) => JSON.parse(l).status)).toEqual([400, 302]);
  });

  it("stops after maxAttempts and counts the notification failed", async () => {
    const r = await receiver();
    r.answers.push(...Array.from({ length: 10 }, () => ({ status: 502 })));
    const { n, sleeps, log } = notifier({ maxQueue: 100, webhooks: [webhook("max-attempts", `${r.base}/hook`, { maxAttempts: 3 })] });
    n.notify(note(1));
    await n.flush(5000);
    expect(r.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(await count("max-attempts", "failed")).toBe(1);
    expect(log.lines.some((l) => l.includes("undelivered after every attempt") && l.includes('"attempts":3'))).toBe(true);
  });

  it("uses the default six attempts and never waits longer than 60 s between them", async () => {
    const r = await receiver();
    r.answers.push(...Array.from({ length: 10 }, () => ({ status: 500 })));
    const { n, sleeps } = notifier({ maxQueue: 100, webhooks: [webhook("six", `${r.base}/hook`)] });
    n.notify(note(1));
    await n.flush(5000);
    expect(r.requests).toHaveLength(6);
    expect(sleeps).toEqual([900, 1800, 3600, 7200, 14_400]);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(60_000);
  });

  it("times out a receiver that hangs, retries, and never makes notify wait", async () => {
    const r = await receiver();
    r.answers.push("hang");
    const { n, log } = notifier({ maxQueue: 1000, webhooks: [webhook("hang", `${r.base}/hook`, { timeoutSeconds: 0.2 })] });
    n.notify(note(0));
    await until(() => r.requests.length === 1);
    // The receiver now holds the first request: notify must still return at once.
    const started = performance.now();
    for (let i = 1; i <= 200; i++) expect(n.notify(note(i))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(100);
    await n.flush(10_000);
    expect(r.requests.map((q) => JSON.parse(q.body).reason)).toEqual(["Reason0", "Reason0", ...Array.from({ length: 200 }, (_, i) => `Reason${i + 1}`)]);
    expect(log.lines.some((l) => l.includes("timed out after 0.2 s"))).toBe(true);
    expect(await attempts("hang")).toBe(202);
  });

  it("bounds the queue: the oldest are dropped and counted, with one warning per overflow", async () => {
    const r = await receiver();
    r.answers.push("hang");
    const { n, log } = notifier({ maxQueue: 3, webhooks: [webhook("bounded", `${r.base}/hook`, { timeoutSeconds: 30 })] });
    n.notify(note(0));
    await until(() => r.requests.length === 1);
    for (let i = 1; i <= 10; i++) n.notify(note(i));
    expect(await count("bounded", "dropped")).toBe(7);
    r.release();
    await n.flush(5000);
    expect(r.requests.map((q) => JSON.parse(q.body).reason)).toEqual(["Reason0", "Reason8", "Reason9", "Reason10"]);
    expect(await count("bounded", "sent")).toBe(4);
    expect(log.lines.filter((l) => l.includes("queue full"))).toHaveLength(1);
  });

  it("sends only notifications at or above a webhook's minSeverity", async () => {
    const r = await receiver();
    const { n } = notifier({ maxQueue: 100, webhooks: [webhook("sev-all", `${r.base}/all`), webhook("sev-warn", `${r.base}/warn`, { minSeverity: "warning" })] });
    n.notify(note(1, { severity: "info" }));
    n.notify(note(2, { severity: "warning" }));
    n.notify(note(3, { severity: "critical" }));
    await n.flush(5000);
    expect(r.requests.filter((q) => q.path === "/all").map((q) => JSON.parse(q.body).reason)).toEqual(["Reason1", "Reason2", "Reason3"]);
    expect(r.requests.filter((q) => q.path === "/warn").map((q) => JSON.parse(q.body).reason)).toEqual(["Reason2", "Reason3"]);
  });

  it("fills in the time of a notification without a readable one, and sends a copy the caller cannot change", async () => {
    const r = await receiver();
    const { n } = notifier({ maxQueue: 100, webhooks: [webhook("copy", `${r.base}/hook`)] }, () => Date.parse("2026-12-02T00:00:00.000Z"));
    const mine = note(1, { at: "yesterday" });
    n.notify(mine);
    mine.summary = "changed afterwards";
    await n.flush(5000);
    expect(r.bodies()).toEqual([expect.objectContaining({ at: "2026-12-02T00:00:00.000Z", summary: "summary 1" })]);
  });

  it("close aborts a hanging request, drops what is queued (counted) and ignores later notifications", async () => {
    const r = await receiver();
    r.answers.push("hang");
    const { n, log } = notifier({ maxQueue: 100, webhooks: [webhook("close", `${r.base}/hook`, { timeoutSeconds: 60 })] });
    n.notify(note(0));
    await until(() => r.requests.length === 1);
    n.notify(note(1));
    n.notify(note(2));
    const started = performance.now();
    await n.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await count("close", "dropped")).toBe(3);
    expect(log.lines.some((l) => l.includes("notifier closed with notifications unsent") && l.includes('"lost":2'))).toBe(true);
    n.notify(note(3));
    await clockSleep(50);
    expect(r.requests).toHaveLength(1);
    await n.close();
  });

  it("never logs the URL or the headers, whatever goes wrong", async () => {
    const r = await receiver();
    r.answers.push({ status: 500 }, { status: 400 }, "hang");
    // A port with nothing listening: a network error on every attempt.
    const closed = await receiver();
    const deadUrl = `${closed.base}${SECRET_PATH}?token=s3cr3tQuery`;
    await closed.stop();
    receivers = receivers.filter((x) => x !== closed);
    const { n, log } = notifier({
      maxQueue: 100,
      webhooks: [
        webhook("secret-live", `${r.base}${SECRET_PATH}`, { headers: { Authorization: SECRET_HEADER }, timeoutSeconds: 0.2, maxAttempts: 2 }),
        webhook("secret-dead", deadUrl, { headers: { "X-Api-Key": SECRET_HEADER }, maxAttempts: 3 }),
      ],
    });
    for (let i = 0; i < 3; i++) n.notify(note(i));
    await n.flush(10_000);
    await n.close();
    expect(await count("secret-dead", "failed")).toBe(3);
    expect(log.lines.some((l) => l.includes("secret-dead") && l.includes("ECONNREFUSED"))).toBe(true);
    expect(log.lines.length).toBeGreaterThan(5);
    for (const line of log.lines) {
      for (const secret of ["s3cr3t", "hunter2", SECRET_PATH, r.base + SECRET_PATH]) expect(line).not.toContain(secret);
    }
  });

  it("an empty configuration and NOOP_NOTIFIER accept notifications and do nothing", async () => {
    const { n } = notifier({ maxQueue: 10, webhooks: [] });
    n.notify(note(1));
    await n.flush(100);
    expect(n.webhooks).toEqual([]);
    expect(NOOP_NOTIFIER.notify(note(1))).toBeUndefined();
    await expect(NOOP_NOTIFIER.close()).resolves.toBeUndefined();
  });

  it("createNotifier gives NOOP_NOTIFIER without webhooks and a WebhookNotifier with them", async () => {
    const log = capturingLogger();
    expect(createNotifier(undefined, { log })).toBe(NOOP_NOTIFIER);
    expect(createNotifier({ maxQueue: 1, webhooks: [] }, { log })).toBe(NOOP_NOTIFIER);
    const r = await receiver();
    const n = createNotifier({ maxQueue: 10, webhooks: [webhook("factory", `${r.base}/hook`)] }, { log });
    expect(n).toBeInstanceOf(WebhookNotifier);
    n.notify(note(1));
    await n.flush(5000);
    await n.close();
    expect(r.bodies()).toEqual([expect.objectContaining({ reason: "Reason1" })]);
  });
});

describe("retryAfterMs", () => {
  it("reads delta-seconds and HTTP dates, and nothing else", () => {
    const now = Date.parse("2026-12-01T10:00:00.000Z");
    expect(retryAfterMs("30", now)).toBe(30_000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
    expect(retryAfterMs("Tue, 01 Dec 2026 10:00:45 GMT", now)).toBe(45_000);
    expect(retryAfterMs("Tue, 01 Dec 2026 09:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs("-5", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
