import { describe, expect, it } from "vitest";
import { loadNotifyConfig, NOTIFY_CONFIG_ENV, parseNotifyConfig, validateNotifyConfig, type ConfigProblem, type NotifyConfigResult } from "./config.ts";

const SECRET_URL = "https://hooks.slack.example/services/T000/B000/XXXXsecretXXXX";

function problems(result: NotifyConfigResult): ConfigProblem[] {
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.config)}`);
  return result.problems;
}

describe("notifier configuration", () => {
  it("fills the defaults of a minimal webhook", () => {
    const result = validateNotifyConfig({ webhooks: [{ name: "slack", url: SECRET_URL, format: "slack" }] });
    expect(result).toEqual({
      ok: true,
      config: { maxQueue: 1000, webhooks: [{ name: "slack", url: SECRET_URL, format: "slack", timeoutSeconds: 5, minSeverity: "info", maxAttempts: 6, resolveTimeoutSeconds: 3600 }] },
    });
  });

  it("reads YAML and JSON alike, with headers, severity and queue size", () => {
    const yaml = `maxQueue: 50
webhooks:
  - name: am
    url: http://alertmanager.monitoring:9093/api/v2/alerts
    format: alertmanager
    headers: {Authorization: Bearer abc}
    timeoutSeconds: 2.5
    minSeverity: warning
`;
    const fromYaml = parseNotifyConfig(yaml, "/etc/smartops/notify.yaml");
    const fromJson = parseNotifyConfig(
      JSON.stringify({ maxQueue: 50, webhooks: [{ name: "am", url: "http://alertmanager.monitoring:9093/api/v2/alerts", format: "alertmanager", headers: { Authorization: "Bearer abc" }, timeoutSeconds: 2.5, minSeverity: "warning" }] }),
      "/etc/smartops/notify.json",
    );
    expect(fromYaml).toEqual(fromJson);
    expect(fromYaml.ok && fromYaml.config?.webhooks[0]).toMatchObject({ headers: { Authorization: "Bearer abc" }, timeoutSeconds: 2.5, minSeverity: "warning" });
  });

  it.each([
    [{ webhooks: [{ name: "x", url: "ftp://host/x", format: "generic" }] }, "webhooks[0].url", /http or https/],
    [{ webhooks: [{ name: "x", url: "not a url", format: "generic" }] }, "webhooks[0].url", /absolute http/],
    [{ webhooks: [{ name: "x", url: "https://user:pw@host/x", format: "generic" }] }, "webhooks[0].url", /credentials/],
    [{ webhooks: [{ name: "x", url: SECRET_URL, format: "teams" }] }, "webhooks[0].format", /generic|slack|alertmanager/],
    [{ webhooks: [{ name: "Bad Name", url: SECRET_URL, format: "slack" }] }, "webhooks[0].name", /DNS label/],
    [{ webhooks: [{ name: "x", url: SECRET_URL, format: "slack", timeoutSeconds: 0 }] }, "webhooks[0].timeoutSeconds", /.+/],
    [{ webhooks: [{ name: "x", url: SECRET_URL, format: "slack", minSeverity: "debug" }] }, "webhooks[0].minSeverity", /info|warning|critical/],
    [{ webhooks: [{ name: "x", url: SECRET_URL, format: "slack", headers: { "X-A": "a\r\nHost: evil" } }] }, "webhooks[0].headers.X-A", /CR, LF/],
    [{ webhooks: [{ name: "x", url: SECRET_URL, format: "slack", headers: { "Content-Type": "text/plain" } }] }, "webhooks[0].headers", /content-type/],
    [{ webhooks: [{ name: "x", url: SECRET_URL, format: "slack", urll: "typo" }] }, "webhooks[0]", /urll/],
    [{ webhooks: [{ name: "x", url: SECRET_URL, format: "slack" }, { name: "x", url: SECRET_URL, format: "generic" }] }, "webhooks[1].name", /duplicate/],
    [{ webhooks: [], maxQueue: 0 }, "maxQueue", /.+/],
    [{}, "webhooks", /.+/],
    [[], "(file)", /object/],
  ])("%j: names %s", (document, field, message) => {
    const found = problems(validateNotifyConfig(document));
    expect(found.map((p) => p.field)).toContain(field);
    expect(found.find((p) => p.field === field)!.problem).toMatch(message);
  });

  it("never echoes a value in a problem: a bad URL or header stays out of the log", () => {
    const found = problems(
      validateNotifyConfig({ webhooks: [{ name: "x", url: "gopher://hooks/XXXXsecretXXXX", format: "slack", headers: { Authorization: 42 } }, { name: 7, url: 8, format: SECRET_URL }] }),
    );
    expect(found.length).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(found)).not.toMatch(/secret|gopher/);
  });

  it("reports a file that is not JSON or YAML by position, without quoting the line", () => {
    const json = problems(parseNotifyConfig(`{"webhooks": [{"url": "${SECRET_URL}" "name": "x"}]}`, "/cfg/notify.json"));
    expect(json).toEqual([{ field: "/cfg/notify.json", problem: expect.stringMatching(/^not valid JSON/) }]);
    const yaml = problems(parseNotifyConfig(`webhooks:\n  - url: ${SECRET_URL}\n   name: [x\n`, "/cfg/notify.yaml"));
    expect(yaml).toEqual([{ field: "/cfg/notify.yaml", problem: expect.stringMatching(/^not valid YAML: [A-Z_]+ \(line \d+, column \d+\)$/) }]);
    expect(JSON.stringify([json, yaml])).not.toContain("secret");
  });
});

describe("loadNotifyConfig", () => {
  const files = new Map<string, string>([
    ["/cfg/notify.yaml", `webhooks:\n  - {name: hook, url: "${SECRET_URL}", format: generic}\n`],
    ["/cfg/big.yaml", `# ${"x".repeat(300 * 1024)}\nwebhooks: []\n`],
  ]);
  const readFile = (path: string) => {
    const text = files.get(path);
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
    return Buffer.from(text);
  };

  it("is off (no config, no problem) when the variable is unset or empty", () => {
    expect(loadNotifyConfig({ env: {}, readFile })).toEqual({ ok: true, config: undefined });
    expect(loadNotifyConfig({ env: { [NOTIFY_CONFIG_ENV]: " " }, readFile })).toEqual({ ok: true, config: undefined });
  });

  it("reads the file the variable names", () => {
    const result = loadNotifyConfig({ env: { [NOTIFY_CONFIG_ENV]: "/cfg/notify.yaml" }, readFile });
    expect(result.ok && result.config?.webhooks.map((w) => [w.name, w.format])).toEqual([["hook", "generic"]]);
  });

  it("names the variable when the file cannot be read, and refuses an oversized file", () => {
    expect(problems(loadNotifyConfig({ env: { [NOTIFY_CONFIG_ENV]: "/cfg/missing.yaml" }, readFile }))).toEqual([{ field: NOTIFY_CONFIG_ENV, problem: "cannot read /cfg/missing.yaml (ENOENT)" }]);
    expect(problems(loadNotifyConfig({ env: { [NOTIFY_CONFIG_ENV]: "/cfg/big.yaml" }, readFile }))[0]!.problem).toMatch(/larger than/);
  });

  it("reads a real file from disk by default", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const path = join(mkdtempSync(join(tmpdir(), "notify-")), "notify.json");
    writeFileSync(path, JSON.stringify({ webhooks: [{ name: "g", url: "http://127.0.0.1:1/x", format: "generic" }], maxQueue: 3 }));
    const result = loadNotifyConfig({ env: { [NOTIFY_CONFIG_ENV]: path } });
    expect(result.ok && result.config?.maxQueue).toBe(3);
  });
});
