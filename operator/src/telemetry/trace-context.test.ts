import { trace, TraceFlags } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { contextFromTraceparent, contextFromUid, formatTraceparent, parseTraceparent } from "./trace-context.ts";

const TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("traceparent", () => {
  it("round-trips", () => {
    const sc = parseTraceparent(TP);
    expect(sc).toEqual({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(formatTraceparent(sc!)).toBe(TP);
    expect(formatTraceparent(parseTraceparent(TP.replace(/01$/, "00"))!)).toBe(TP.replace(/01$/, "00"));
  });

  it.each([undefined, "", "garbage", TP.toUpperCase(), "01" + TP.slice(2), `00-${"0".repeat(32)}-b7ad6b7169203331-01`, `00-0af7651916cd43dd8448eb211c80319c-${"0".repeat(16)}-01`])("rejects %s", (s) => {
    expect(parseTraceparent(s)).toBeUndefined();
    expect(contextFromTraceparent(s)).toBeUndefined();
  });

  it("gives a context whose span is the annotation's", () => {
    expect(trace.getSpanContext(contextFromTraceparent(TP)!)?.spanId).toBe("b7ad6b7169203331");
  });

  it("derives one stable, valid, sampled parent per uid", () => {
    const a = trace.getSpanContext(contextFromUid("uid-a"))!;
    expect(trace.getSpanContext(contextFromUid("uid-a"))).toEqual(a);
    expect(trace.getSpanContext(contextFromUid("uid-b"))!.traceId).not.toBe(a.traceId);
    expect(parseTraceparent(formatTraceparent(a))).toEqual(a);
  });
});
