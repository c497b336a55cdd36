import { describe, expect, it } from "vitest";
import { registry } from "./metrics.ts";
import { reconcileMetrics } from "./queue-metrics.ts";

describe("reconcileMetrics", () => {
  it("exports a controller's error counter at 0 before its first error, so a dashboard shows 0, not no data", async () => {
    const m = reconcileMetrics("queue-metrics-test");
    const line = /^controller_runtime_reconcile_errors_total\{controller="queue-metrics-test"\} (\d+)$/m;
    expect((await registry.metrics()).match(line)?.[1]).toBe("0");
    m.reconcileErrors();
    expect((await registry.metrics()).match(line)?.[1]).toBe("1");
  });
});
