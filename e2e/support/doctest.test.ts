import { describe, expect, it } from "vitest";
import { buildScript, extractBlocks, failedBlock, MARKER, parseTag, tagErrors } from "./doctest.ts";

const md = [
  "# Title",
  "```sh doctest",
  "echo one",
  "```",
  "text",
  "```yaml",
  "kind: Namespace",
  "```",
  "```sh doctest-skip: needs Docker",
  "docker ps",
  "```",
  "```bash",
  "echo untagged",
  "```",
  "```sh doctest-skip:",
  "echo no reason",
  "```",
  "- item",
  "  ```sh doctest",
  "  echo indented",
  "  ```",
  "```",
  "plain block, not a command",
  "```",
].join("\n");

describe("doc-test extraction", () => {
  it("finds command blocks with their line and tag, and ignores other languages", () => {
    const blocks = extractBlocks("x.md", md);
    expect(blocks.map((b) => [b.line, b.lang, b.tag.kind])).toEqual([
      [2, "sh", "test"],
      [9, "sh", "skip"],
      [12, "bash", "untagged"],
      [15, "sh", "skip"],
      [19, "sh", "test"],
    ]);
    expect(blocks[0]!.body).toBe("echo one");
    expect(blocks[4]!.body).toBe("echo indented");
    expect(blocks[1]!.tag).toEqual({ kind: "skip", reason: "needs Docker" });
  });

  it("reports untagged blocks and skips without a reason", () => {
    expect(tagErrors(extractBlocks("x.md", md))).toEqual([
      "x.md:12: command block is not tagged (`bash doctest` or `bash doctest-skip: <reason>`)",
      "x.md:15: doctest-skip needs a reason",
    ]);
  });

  it("builds one script of the tested blocks, substituted, with a marker per block", () => {
    const sub = { from: "echo one", to: "echo 1", why: "test" };
    const unused = { from: "nowhere", to: "x", why: "test" };
    const { script, used } = buildScript(extractBlocks("x.md", md), [sub, unused]);
    expect(script).toBe(`set -euo pipefail\nshopt -s expand_aliases\necho '${MARKER}x.md:2' >&2\necho 1\necho '${MARKER}x.md:19' >&2\necho indented\n`);
    expect([...used]).toEqual([sub]);
  });

  it("names the block a failure happened in", () => {
    expect(failedBlock(`${MARKER}a.md:2\nok\n${MARKER}a.md:9\nboom`)).toBe("a.md:9");
    expect(failedBlock("nothing")).toBeUndefined();
  });

  it("parses tags from the info string only after the language", () => {
    expect(parseTag("sh")).toEqual({ kind: "untagged" });
    expect(parseTag("sh doctest")).toEqual({ kind: "test" });
    expect(parseTag("sh  doctest-skip:  runs make test itself ")).toEqual({ kind: "skip", reason: "runs make test itself" });
  });
});
