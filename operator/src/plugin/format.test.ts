import { describe, expect, it } from "vitest";
import { age, colourWanted, humanDuration, paint, renderTable, serialise } from "./format.ts";

describe("humanDuration (kubectl's ages)", () => {
  it.each([
    [0, "0s"], [-5000, "0s"], [119_000, "119s"], [120_000, "2m"], [250_000, "4m10s"], [600_000, "10m"], [179 * 60_000, "179m"],
    [3 * 3600_000, "3h"], [3 * 3600_000 + 5 * 60_000, "3h5m"], [8 * 3600_000, "8h"], [47 * 3600_000, "47h"], [48 * 3600_000, "2d"],
    [52 * 3600_000, "2d4h"], [8 * 86400_000, "8d"], [800 * 86400_000, "2y70d"], [9 * 365 * 86400_000, "9y"],
  ])("%d ms is %s", (ms, text) => expect(humanDuration(ms)).toBe(text));

  it("age of a timestamp, <unknown> without one", () => {
    expect(age("2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:04:10Z"))).toBe("4m10s");
    expect(age(undefined, 0)).toBe("<unknown>");
  });
});

describe("renderTable", () => {
  it("upper-case headers, columns padded to the widest cell plus three spaces, no trailing blanks", () => {
    expect(renderTable(["name", "phase"], [["a", "Succeeded"], ["longer-name", "Blocked"]])).toBe(
      "NAME          PHASE\na             Succeeded\nlonger-name   Blocked\n",
    );
  });

  it("colour does not shift the columns, and control characters from the cluster are flattened", () => {
    const p = paint(true);
    const out = renderTable(["a", "b"], [[{ text: "x", tone: "bad" }, "y\n\u001b[2Jz"]], p);
    expect(out).toBe("A   B\n\u001b[31mx\u001b[0m   y [2Jz\n");
  });
});

describe("colour", () => {
  it("only on a terminal, never with NO_COLOR set (an empty NO_COLOR does not count)", () => {
    expect(colourWanted(true, {})).toBe(true);
    expect(colourWanted(false, {})).toBe(false);
    expect(colourWanted(undefined, {})).toBe(false);
    expect(colourWanted(true, { NO_COLOR: "1" })).toBe(false);
    expect(colourWanted(true, { NO_COLOR: "" })).toBe(true);
    expect(paint(false)("bad", "x")).toBe("x");
  });
});

it("serialise prints JSON and YAML", () => {
  expect(serialise({ a: [1] }, "json")).toBe('{\n  "a": [\n    1\n  ]\n}\n');
  expect(serialise({ a: [1] }, "yaml")).toBe("a:\n  - 1\n");
});
