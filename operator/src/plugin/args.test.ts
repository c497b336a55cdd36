import { describe, expect, it } from "vitest";
import { COMMANDS, help, parse, parseDuration, UsageError } from "./args.ts";

describe("the command line", () => {
  it("kubectl's flags in either position", () => {
    expect(parse(["-n", "shop", "history", "web", "-o", "yaml", "--context", "c", "--kubeconfig=/k"])).toEqual({
      kind: "run",
      invocation: { command: "history", args: ["web"], namespace: "shop", allNamespaces: false, context: "c", kubeconfig: "/k", output: "yaml", wait: true, timeoutMs: 300_000 },
    });
    expect(parse(["pending", "-A"])).toMatchObject({ invocation: { allNamespaces: true, output: "table" } });
    expect(parse(["revert", "a", "--no-wait", "--timeout", "90s"])).toMatchObject({ invocation: { wait: false, timeoutMs: 90_000 } });
    expect(parse(["resume", "-l", "app=web", "--reason", "ok"])).toMatchObject({ invocation: { command: "resume", args: [], selector: "app=web" } });
  });

  it("--help for each command and for the plugin", () => {
    expect(parse(["--help"])).toEqual({ kind: "help" });
    for (const c of Object.keys(COMMANDS)) {
      expect(parse([c, "--help"])).toEqual({ kind: "help", command: c });
      expect(help(c)).toContain(`kubectl smartops ${COMMANDS[c]!.usage}`);
    }
    expect(help()).toContain("Exit codes: 0 done, 1 an error");
  });

  it.each([
    [[], /no command/],
    [["frobnicate"], /unknown command/],
    [["history"], /missing argument/],
    [["history", "a", "b"], /unexpected argument/],
    [["history", "a", "-o", "wide"], /use one of table, json, yaml/],
    [["history", "a", "--reason", "x"], /unknown flag --reason/],
    [["history", "a", "--bogus"], /unknown option/],
    [["pending", "-A", "-n", "x"], /exclude each other/],
    [["reject", "a"], /--reason is required/],
    [["reject", "a", "--reason", " "], /--reason is required/],
    [["pause"], /--reason is required/],
    [["resume", "web", "-l", "a=b"], /not both/],
    [["revert", "a", "--timeout", "soon"], /invalid duration/],
  ])("%j is a usage error", (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });

  it("durations", () => {
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("30")).toBe(30_000);
  });
});
