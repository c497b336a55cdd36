import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertmanagerBody, alertName, BODY_MAX_BYTES, clean, FIELD_LIMITS, genericBody, renderBody, slackBody, WEBHOOK_FORMATS } from "./formats.ts";
import { isOwnNotification, ORIGIN_LABEL, ORIGIN_VALUE, type Notification } from "./notification.ts";

const base: Notification = {
  reason: "AutoReverted",
  severity: "warning",
  namespace: "shop",
  target: "checkout",
  action: "checkout-scale-1a2b",
  summary: "Scale of shop/checkout reverted",
  message: "Verification failed (CrashLoopDetected); the revert checkout-scale-1a2b-revert restored 2 replicas.",
  at: "2026-12-01T10:00:00.000Z",
};

describe("generic body", () => {
  it("holds every field of the notification plus the origin field and label", () => {
    const body = JSON.parse(renderBody("generic", base));
    expect(body).toEqual({ ...base, origin: ORIGIN_VALUE, labels: { [ORIGIN_LABEL]: ORIGIN_VALUE } });
    expect(isOwnNotification(body.labels)).toBe(true);
  });

  it("leaves out an absent or empty action", () => {
    const { action: _action, ...noAction } = base;
    expect("action" in genericBody(noAction)).toBe(false);
    expect("action" in genericBody({ ...base, action: "" })).toBe(false);
  });
});

describe("slack body", () => {
  it("is text plus mrkdwn section blocks and a context block naming target, action and origin", () => {
    const body = slackBody(base);
    expect(Object.keys(body).sort()).toEqual(["blocks", "text"]);
    expect(body.text).toBe("[warning] AutoReverted: Scale of shop/checkout reverted — shop/checkout (action checkout-scale-1a2b)");
    expect(body.blocks.map((b) => b.type)).toEqual(["section", "section", "context"]);
    expect(body.blocks[0]).toEqual({ type: "section", text: { type: "mrkdwn", text: ":warning: *Scale of shop/checkout reverted*" } });
    expect(body.blocks[1]).toEqual({ type: "section", text: { type: "mrkdwn", text: base.message } });
    const context = JSON.stringify(body.blocks[2]);
    for (const part of ["AutoReverted", "shop/checkout", "checkout-scale-1a2b", `${ORIGIN_LABEL}=${ORIGIN_VALUE}`, base.at]) expect(context).toContain(part);
  });

  it("escapes mrkdwn's reserved characters so a message cannot forge a link or a mention", () => {
    const body = slackBody({ ...base, summary: "<!channel> & <http://x|y>", message: "a < b > c & d" });
    expect(JSON.stringify(body)).not.toMatch(/<!channel>|<http/);
    expect(body.blocks[0]).toMatchObject({ text: { text: ":warning: *&lt;!channel&gt; &amp; &lt;http://x|y&gt;*" } });
    expect(body.blocks[1]).toMatchObject({ text: { text: "a &lt; b &gt; c &amp; d" } });
  });

  it("keeps every section within Slack's 3000 characters and cuts outside an entity", () => {
    const body = slackBody({ ...base, message: "&".repeat(FIELD_LIMITS.message) });
    for (const block of body.blocks) {
      const text = block.type === "section" ? block.text.text : block.elements[0]!.text;
      expect(text.length).toBeLessThanOrEqual(3000);
      expect(text.replace(/…$/, "")).toMatch(/^(?:[^&]|&amp;|&lt;|&gt;)*$/);
    }
    expect(body.blocks[1]).toMatchObject({ text: { text: expect.stringMatching(/^(&amp;)+…$/) } });
  });

  it("omits the message section when there is no message", () => {
    expect(slackBody({ ...base, message: "" }).blocks.map((b) => b.type)).toEqual(["section", "context"]);
  });
});

describe("alertmanager body", () => {
  it("is one postable alert with the operator's labels, annotations and a one-hour lifetime", () => {
    expect(JSON.parse(renderBody("alertmanager", base))).toEqual([
      {
        labels: {
          alertname: "SmartOpsAutoReverted",
          severity: "warning",
          namespace: "shop",
          deployment: "checkout",
          action: "checkout-scale-1a2b",
          reason: "AutoReverted",
          [ORIGIN_LABEL]: ORIGIN_VALUE,
        },
        annotations: { summary: base.summary, description: base.message },
        startsAt: "2026-12-01T10:00:00.000Z",
        endsAt: "2026-12-01T11:00:00.000Z",
      },
    ]);
  });

  it("takes the resolve timeout and generatorURL from the options", () => {
    const [alert] = alertmanagerBody(base, { resolveTimeoutMs: 5 * 60_000, generatorURL: "https://grafana.example/d/smartops" });
    expect(alert!.endsAt).toBe("2026-12-01T10:05:00.000Z");
    expect(alert!.generatorURL).toBe("https://grafana.example/d/smartops");
  });

  it("never sends an empty label value: absent ones are left out", () => {
    const [alert] = alertmanagerBody({ ...base, action: undefined, namespace: "", target: "", reason: "", summary: "", message: "" });
    expect(alert!.labels).toEqual({ alertname: "SmartOpsNotification", severity: "warning", [ORIGIN_LABEL]: ORIGIN_VALUE });
    expect(alert!.annotations).toEqual({});
  });

  it("leaves startsAt and endsAt to Alertmanager when the time is unreadable or outside RFC 3339", () => {
    for (const at of ["not a time", "", "+275760-09-13T00:00:00.000Z", "-000001-01-01T00:00:00.000Z"]) {
      const [alert] = alertmanagerBody({ ...base, at });
      expect(alert!.startsAt, at).toBeUndefined();
      expect(alert!.endsAt, at).toBeUndefined();
    }
  });

  it("names the alert SmartOps<Reason> with only identifier characters", () => {
    expect(alertName("RepeatedFailures")).toBe("SmartOpsRepeatedFailures");
    expect(alertName("cooldown active!")).toBe("SmartOpsCooldownactive");
    expect(alertName("  ")).toBe("SmartOpsNotification");
  });
});

describe("clean", () => {
  it("cuts on a code point boundary, replaces lone surrogates and drops control characters", () => {
    expect(clean("a\u0000b\tc\nd\u001b", 100)).toBe("ab\tc\nd");
    expect(clean("x\uD800y", 100)).toBe("x\uFFFDy");
    expect(clean("ab😀cd", 4)).toBe("ab…");
    expect(clean("abcdef", 4)).toBe("abc…");
    expect(clean(undefined, 4)).toBe("");
  });
});

describe("isOwnNotification", () => {
  it("is true only for the origin label with the operator's value", () => {
    expect(isOwnNotification({ [ORIGIN_LABEL]: ORIGIN_VALUE, alertname: "X" })).toBe(true);
    expect(isOwnNotification({ [ORIGIN_LABEL]: "someone-else" })).toBe(false);
    expect(isOwnNotification({ alertname: "HighLatency" })).toBe(false);
    expect(isOwnNotification({})).toBe(false);
    expect(isOwnNotification(undefined)).toBe(false);
  });
});

// Any string fast-check can make, including lone surrogates, control characters and JSON's escapes.
const text = (maxLength: number) => fc.oneof(fc.string({ maxLength, unit: "binary" }), fc.string({ maxLength, unit: "grapheme" }), fc.constant(""), fc.string({ maxLength, unit: fc.constantFrom("&", "<", ">", "\"", "\\", "\u0001", "\uD83D") }));
const notification: fc.Arbitrary<Notification> = fc.record(
  {
    reason: text(300),
    severity: fc.constantFrom("info", "warning", "critical"),
    namespace: text(400),
    target: text(400),
    action: text(400),
    summary: text(600),
    message: text(6000),
    at: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), text(80)),
  },
  { requiredKeys: ["reason", "severity", "namespace", "target", "summary", "message", "at"] },
);

describe("every body (property)", () => {
  it("is valid JSON within BODY_MAX_BYTES, well-formed UTF-8, and carries the origin mark", () => {
    fc.assert(
      fc.property(notification, fc.constantFrom(...WEBHOOK_FORMATS), (n, format) => {
        const raw = renderBody(format, n);
        expect(Buffer.byteLength(raw, "utf8")).toBeLessThanOrEqual(BODY_MAX_BYTES);
        // Well-formed: no lone surrogate, raw or as JSON.stringify's \udxxx escape, which a UTF-8 receiver rejects.
        expect(Buffer.from(raw, "utf8").toString("utf8")).toBe(raw);
        expect(raw).not.toMatch(/\\u[dD][89a-fA-F][0-9a-fA-F]{2}/);
        const body = JSON.parse(raw);
        if (format === "generic") {
          expect(body.origin).toBe(ORIGIN_VALUE);
          expect(isOwnNotification(body.labels)).toBe(true);
        } else if (format === "alertmanager") {
          expect(body).toHaveLength(1);
          expect(isOwnNotification(body[0].labels)).toBe(true);
          for (const [name, value] of Object.entries(body[0].labels)) {
            expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
            expect(value).not.toBe("");
          }
          if (body[0].startsAt !== undefined) expect(Date.parse(body[0].endsAt) - Date.parse(body[0].startsAt)).toBe(3_600_000);
        } else {
          expect(typeof body.text).toBe("string");
          expect(body.text.length).toBeLessThanOrEqual(3000);
          for (const block of body.blocks) expect(JSON.stringify(block)).toMatch(/"type":"mrkdwn"/);
          expect(JSON.stringify(body.blocks.at(-1))).toContain(`${ORIGIN_LABEL}=${ORIGIN_VALUE}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("reaches near the bound with the worst case: every field at its limit, all escapes", () => {
    const worst = (len: number) => "\"".repeat(len);
    const n: Notification = { reason: worst(999), severity: "critical", namespace: worst(999), target: worst(999), action: worst(999), summary: worst(999), message: worst(99_999), at: worst(999) };
    for (const format of WEBHOOK_FORMATS) {
      const size = Buffer.byteLength(renderBody(format, n), "utf8");
      expect(size, format).toBeLessThanOrEqual(BODY_MAX_BYTES);
      expect(size, format).toBeGreaterThan(2 * FIELD_LIMITS.message);
    }
  });
});
