import { afterEach, describe, expect, it, vi } from "vitest";
import { progress } from "./progress.ts";

function stream(isTTY: boolean, columns = 80) {
  const chunks: string[] = [];
  const out = { isTTY, columns, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join("") };
}

describe("make dev progress", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("without a terminal: plain lines for start, each new status and the end, no escape codes", async () => {
    const { out, text } = stream(false);
    const p = progress(out);
    const v = await p.step("operator", async (status) => {
      status("starting");
      status("starting");
      p.line("a line in between");
      status("ready");
      return 42;
    }, (n) => `pid ${n}`);
    expect(v).toBe(42);
    expect(text().replace(/\(\d+\.\ds\)/, "(T)")).toBe("… operator\n  operator: starting\na line in between\n  operator: ready\n✔ operator — pid 42 (T)\n");
  });

  it("without a terminal: a failed step says so and rethrows", async () => {
    const { out, text } = stream(false);
    await expect(progress(out).step("shim", () => Promise.reject(new Error("port in use")))).rejects.toThrow("port in use");
    expect(text()).toMatch(/^… shim\n✖ shim \(\d+\.\ds\)\n$/);
  });

  it("on a terminal: one live line redrawn in place, replaced by the result", async () => {
    vi.stubEnv("TERM", "xterm-256color");
    const { out, text } = stream(true);
    const p = progress(out);
    await p.step("operator", async (status) => {
      status("starting");
      await new Promise((r) => setTimeout(r, 200));
      p.line("above");
    });
    const t = text();
    expect(t).toContain("\r\x1b[2K");
    expect(t).toContain("above\n");
    expect(t).toMatch(/✔.*operator/);
    expect(t.split("\n").filter((l) => l.includes("starting")).length).toBeGreaterThan(0);
    expect(t.endsWith("\n")).toBe(true);
  });

  it("on a narrow terminal: the live line is cut to the width, never inside an escape sequence", async () => {
    vi.stubEnv("TERM", "xterm-256color");
    const { out, text } = stream(true, 30);
    await progress(out).step("a label far longer than thirty columns of terminal", async (status) => {
      status("with a status too");
      await new Promise((r) => setTimeout(r, 100));
    });
    const live = text().split("\r\u001b[2K").filter((l) => !l.includes("✔"));
    expect(live.length).toBeGreaterThan(0);
    for (const l of live) {
      expect(l.length).toBeLessThanOrEqual(29);
      expect(l).not.toContain("\u001b");
    }
  });
});
