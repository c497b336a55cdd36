import { PassThrough } from "node:stream";
import { context, propagation, trace } from "@opentelemetry/api";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

// A ServiceAccount-token-shaped JWT (header.payload.signature); not a real credential.
const JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFiQyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLW5vdC1yZWFs";

function capture(level = "debug") {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
  const log = createLogger("test", level, { stream });
  const lines = async () => {
    await new Promise((r) => setImmediate(r));
    return chunks.join("").split("\n").filter((l) => l !== "");
  };
  return { log, lines };
}

afterEach(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

describe("createLogger", () => {
  it("writes one valid JSON object per line with level, message, timestamp and component", async () => {
    const { log, lines } = capture();
    log.info("hello", { action: "ns/a", n: 3 });
    log.warn('quotes " and \n newlines', { nested: { list: [1, "two"] } });
    log.error(new Error("boom"));
    const out = await lines();
    expect(out).toHaveLength(3);
    const parsed = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ level: "info", message: "hello", component: "test", action: "ns/a", n: 3 });
    expect(typeof parsed[0]!.timestamp).toBe("string");
    expect(parsed[1]).toMatchObject({ level: "warn", nested: { list: [1, "two"] } });
    expect(parsed[2]).toMatchObject({ level: "error", message: "boom" });
    expect(String(parsed[2]!.stack)).toContain("Error: boom");
  });

  it("honours the level", async () => {
    const { log, lines } = capture("info");
    log.debug("hidden");
    log.info("shown");
    expect((await lines()).map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(["shown"]);
  });

  it("puts trace_id and span_id of the active span on lines logged inside it, and none outside", async () => {
    new NodeTracerProvider().register();
    const { log, lines } = capture();
    let ids: { traceId: string; spanId: string } | undefined;
    await trace.getTracer("t").startActiveSpan("outer", async (span) => {
      ids = span.spanContext();
      await new Promise((r) => setTimeout(r, 1));
      log.info("inside");
      span.end();
    });
    log.info("outside");
    const [inside, outside] = (await lines()).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(inside).toMatchObject({ message: "inside", trace_id: ids!.traceId, span_id: ids!.spanId });
    expect(outside).not.toHaveProperty("trace_id");
    expect(outside).not.toHaveProperty("span_id");
  });

  it("redacts tokens in metadata and message", async () => {
    const { log, lines } = capture();
    const headers = { authorization: `Bearer ${JWT}`, "content-type": "application/json" };
    log.info(`calling with Bearer ${JWT}`, { headers, token: "opaque-secret-value", user: "system:serviceaccount:a:b" });
    log.warn("request failed", { err: `TokenReview: token ${JWT} rejected`, kubeconfig: "apiVersion: v1\nusers:\n- user:\n    token: abc" });
    log.info("kubeconfig dump", { text: "users:\n- name: x\n  user:\n    token: sha256~abcdefghijklmnop\n    client-key-data: LS0tLS1CRUdJTi" });
    const raw = (await lines()).join("\n");
    expect(raw).not.toContain(JWT);
    expect(raw).not.toContain(JWT.split(".")[1]);
    expect(raw).not.toContain("opaque-secret-value");
    expect(raw).not.toContain("sha256~abcdefghijklmnop");
    expect(raw).not.toContain("LS0tLS1CRUdJTi");
    const [first, second] = raw.split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ message: "calling with Bearer [REDACTED]", token: "[REDACTED]", user: "system:serviceaccount:a:b" });
    expect(first!.headers).toEqual({ authorization: "[REDACTED]", "content-type": "application/json" });
    expect(second).toMatchObject({ kubeconfig: "[REDACTED]" });
    // The caller's object is left alone.
    expect(headers.authorization).toBe(`Bearer ${JWT}`);
  });
});
