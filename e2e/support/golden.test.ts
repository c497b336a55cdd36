import { describe, expect, it } from "vitest";
import { goldenMismatches, shapeMismatches } from "./golden.ts";

// The seed's scale answer, as the golden holds it.
const seedScale = {
  success: true,
  message: "Deployment smartops-dev/smartops-erp-simulator scaled to 4",
  dry_run: false,
  details: { runner: { status: "success", attempts: 1, duration_seconds: 0.029, result: { name: "smartops-erp-simulator", namespace: "smartops-dev", replicas: 4, dry_run: false }, error: null } },
  verification: null,
  warnings: null,
};

describe("shapeMismatches", () => {
  it("accepts the same shape with other strings and numbers, and fields added", () => {
    const ours = structuredClone(seedScale) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    ours.message = "something else";
    ours.details.runner.duration_seconds = 3;
    ours.action = "scale-x";
    ours.details.runner.message = "extra";
    expect(shapeMismatches(seedScale, ours)).toEqual([]);
  });

  it.each([
    ["a missing field", (o: any) => { delete o.success; }, "$.success: expected true, got undefined"], // eslint-disable-line @typescript-eslint/no-explicit-any
    ["a renamed nested field", (o: any) => { o.details.runner.retries = o.details.runner.attempts; delete o.details.runner.attempts; }, "$.details.runner.attempts: expected number, got nothing"], // eslint-disable-line @typescript-eslint/no-explicit-any
    ["a number as a string", (o: any) => { o.details.runner.result.replicas = "4"; }, '$.details.runner.result.replicas: expected number, got string "4"'], // eslint-disable-line @typescript-eslint/no-explicit-any
    ["a different boolean", (o: any) => { o.success = false; }, "$.success: expected true, got false"], // eslint-disable-line @typescript-eslint/no-explicit-any
    ["a null that is not null", (o: any) => { o.verification = {}; }, "$.verification: expected null, got {}"], // eslint-disable-line @typescript-eslint/no-explicit-any
  ])("reports %s with its path", (_what, mutate, problem) => {
    const ours = structuredClone(seedScale);
    mutate(ours);
    expect(shapeMismatches(seedScale, ours)).toEqual([problem]);
  });

  it("checks every element of an array against the golden's first", () => {
    expect(shapeMismatches({ w: ["x"] }, { w: ["a", 1] })).toEqual(["$.w[1]: expected string, got number 1"]);
    expect(shapeMismatches({ w: [] }, { w: [1, "a"] })).toEqual([]);
  });
});

describe("goldenMismatches", () => {
  it("checks the status, exact values and patterns by path", () => {
    const golden = { status: 200, answer: { status: "x" }, exact: { status: "SUCCESS" }, like: { message: "^Deployment " } };
    expect(goldenMismatches(golden, 200, { status: "SUCCESS", message: "Deployment healthy" })).toEqual([]);
    expect(goldenMismatches(golden, 202, { status: "TIMED_OUT", message: "no" })).toEqual([
      "status: expected 200, got 202",
      'status: expected exactly "SUCCESS", got "TIMED_OUT"',
      'message: expected to match /^Deployment /, got "no"',
    ]);
  });
});
