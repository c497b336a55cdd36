import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["operator/src/**/*.test.ts", "bench/**/*.test.ts", "e2e/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.e2e.ts"],
          environment: "node",
          globalSetup: ["e2e/support/global-setup.ts"],
          // Threads end cleanly although client-node keeps TLS connections alive.
          pool: "threads",
          // One control plane is shared by every file; files run one at a time so
          // that tests which restart components cannot disturb each other.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
