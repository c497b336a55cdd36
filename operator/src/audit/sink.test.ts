import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { action, withPhase, withStatus } from "../controllers/testing/builders.ts";
import { createLogger } from "../telemetry/logger.ts";
import { AUDIT_SCHEMA, buildAuditRecord, expectedAuditIds } from "./record.ts";
import { AuditConfigError, logSink, otlpLogsConfig, otlpSink } from "./sink.ts";

const blocked = action("b-1", withPhase("Blocked", "CooldownActive"), withStatus({ completedAt: "2026-01-01T00:01:00.000Z" }));
const record = buildAuditRecord(blocked, expectedAuditIds(blocked)[0]!);

describe("log sink", () => {
  it("one JSON line with the fixed marker, the id and the record, at info whatever the level", () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on("data", (b: Buffer) => lines.push(...b.toString().split("\n").filter(Boolean)));
    logSink(createLogger("audit", "info", { stream })).emit(record);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ message: "audit", component: "audit", audit_id: "b-1-uid/Blocked", audit: { schema: AUDIT_SCHEMA, id: "b-1-uid/Blocked" } });
  });
});

describe("OTLP configuration", () => {
  it("off unless a logs endpoint, or OTEL_LOGS_EXPORTER=otlp with the general one, is set", () => {
    expect(otlpLogsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBeUndefined();
    expect(otlpLogsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_LOGS_EXPORTER: "otlp" })).toEqual({ protocol: "http/protobuf", url: "http://c:4318/v1/logs" });
    expect(otlpLogsConfig({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://c:4318/custom", OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http/json" })).toEqual({ protocol: "http/json", url: "http://c:4318/custom" });
    expect(otlpLogsConfig({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://c:4318/v1/logs", OTEL_SDK_DISABLED: "true" })).toBeUndefined();
  });

  it("names the variable that is wrong", () => {
    expect(() => otlpLogsConfig({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "c:4318" })).toThrow(AuditConfigError);
    expect(() => otlpLogsConfig({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
  });
});

describe("OTLP sink", () => {
  it("sends the record as an OTLP/HTTP JSON log record: body, id attribute, service name", async () => {
    const bodies: { url: string; body: string }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        bodies.push({ url: req.url ?? "", body });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`;
    try {
      const sink = await otlpSink({ protocol: "http/json", url }, "smartops-operator");
      sink.emit(record);
      await sink.flush();
      await sink.shutdown();
      expect(bodies.map((b) => b.url)).toEqual(["/v1/logs"]);
      const sent = JSON.parse(bodies[0]!.body) as {
        resourceLogs: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeLogs: { logRecords: { body: { stringValue: string }; attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[];
      };
      const rl = sent.resourceLogs[0]!;
      expect(rl.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "smartops-operator" } });
      const lr = rl.scopeLogs[0]!.logRecords[0]!;
      expect(JSON.parse(lr.body.stringValue)).toEqual(record);
      expect(lr.attributes).toContainEqual({ key: "smartops.audit.id", value: { stringValue: "b-1-uid/Blocked" } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
