import { describe, expect, it } from "vitest";
import { REDACTED, redactString, redactValue } from "./redact.ts";

describe("redactString", () => {
  it.each([
    ["Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer [REDACTED]"],
    ["basic auth Basic dXNlcjpwYXNz", "basic auth Basic [REDACTED]"],
    ["jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig_nature-x end", "jwt [REDACTED] end"],
    ["bootstrap abcdef.0123456789abcdef ok", "bootstrap [REDACTED] ok"],
    ["    token: sha256~secret", "    token: [REDACTED]"],
    ['{"token":"s3cr3t","user":"u"}', '{"token":"[REDACTED]","user":"u"}'],
    ["https://x/?password=hunter2&a=1", "https://x/?password=[REDACTED]&a=1"],
    ["endpoint https://user:pa55@collector:4318/v1", "endpoint https://[REDACTED]@collector:4318/v1"],
    ["client-key-data: LS0tLS1CRUd", "client-key-data: [REDACTED]"],
    ["-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- tail", "[REDACTED] tail"],
  ])("%s", (input, expected) => {
    expect(redactString(input)).toBe(expected);
  });

  it("leaves ordinary operator lines alone", () => {
    for (const s of [
      "action finished",
      "scale Deployment smartops-dev/erp 2 -> 3",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "uid 8c1b6c57-7a4e-4b8e-9a0f-0d4b6e7c2f11",
      "authenticating the token",
      "shim_create_tokenreview",
    ]) expect(redactString(s)).toBe(s);
  });
});

describe("redactValue", () => {
  it("replaces values under sensitive keys, at any depth, keeping numbers and booleans", () => {
    const v = { a: { Authorization: "x", nested: [{ apiKey: "k", clientSecret: { v: 1 } }] }, tokenCount: 3, hasToken: true, password: null };
    expect(redactValue(v)).toEqual({ a: { Authorization: REDACTED, nested: [{ apiKey: REDACTED, clientSecret: REDACTED }] }, tokenCount: 3, hasToken: true, password: null });
  });

  it("survives cycles and turns errors into their redacted stack", () => {
    const o: Record<string, unknown> = { name: "x" };
    o.self = o;
    expect(redactValue(o)).toEqual({ name: "x", self: "[circular]" });
    expect(String(redactValue(new Error("Bearer abc")))).toMatch(/^Error: Bearer \[REDACTED\]/);
  });
});
