// build.sh's free-space preflight on a fresh account: the cache path and its
// parents (~/.cache) do not exist yet. A prebuilt cache skips the preflight, so
// it is run here directly, with a fake `go` first on PATH that answers
// `go version` (part of the stamp) and fails `go build` at once: the test sees
// what the preflight decided without building anything.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const BUILD_SH = resolve(import.meta.dirname, "build.sh");
const FAKE_BUILD_EXIT = 97;
let root: string;

afterEach(() => rmSync(root, { recursive: true, force: true }));

function runPreflight(cache: string) {
  const bin = join(root, "bin");
  spawnSync("mkdir", ["-p", bin]);
  writeFileSync(
    join(bin, "go"),
    `#!/bin/sh\ncase "$1" in version) echo "go version go0.0-fake linux/amd64";; *) echo "fake go: $*" >&2; exit ${FAKE_BUILD_EXIT};; esac\n`,
  );
  chmodSync(join(bin, "go"), 0o755);
  return spawnSync(BUILD_SH, [], {
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: join(root, "home-that-does-not-exist"), SMARTOPS_CACHE: cache },
    timeout: 30_000,
  });
}

/** What df says is free where the cache would go (its nearest existing ancestor). */
function freeMiB(dir: string): number {
  const out = spawnSync("df", ["-Pk", dir], { encoding: "utf8" }).stdout.trim().split("\n")[1]!;
  return Math.floor(Number(out.split(/\s+/)[3]) / 1024);
}

describe("build.sh free-space preflight", () => {
  it("measures the nearest existing directory when the cache's parents do not exist", () => {
    root = mkdtempSync(join(tmpdir(), "smartops-preflight-"));
    const cache = join(root, "does/not/exist/smartops");
    const r = runPreflight(cache);
    expect(r.stderr).not.toMatch(/only 0 MiB left/);
    expect(r.stderr).not.toMatch(/could not tell the free space/);
    if (freeMiB(root) >= 8 * 1024) {
      // Passed the preflight: it went on to build (with the fake go, which stops it).
      expect(r.stderr).toContain(`into ${cache}/controlplane/`);
      expect(r.stderr).toContain("fake go: build");
      expect(r.status).toBe(FAKE_BUILD_EXIT);
    } else {
      // A genuinely full disk is refused with the figure df gives for the existing ancestor.
      expect(r.stderr).toContain(`only ${freeMiB(root)} MiB left`);
      expect(r.status).toBe(1);
    }
  });

  it("still refuses when the nearest existing directory is on a full filesystem", () => {
    root = mkdtempSync(join(tmpdir(), "smartops-preflight-"));
    // /proc reports 0 bytes free: a cache under a missing directory there must be refused.
    const r = runPreflight("/proc/smartops-missing/does/not/exist/smartops");
    expect(r.stderr).toMatch(/needs about 8 GiB free under \/proc\/smartops-missing\/does\/not\/exist\/smartops; only 0 MiB left/);
    expect(r.status).toBe(1);
  });
});
