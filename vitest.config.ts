import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // A failing beforeAll fails the tests it sets up (with its error), rather than skipping them.
    runner: "test/support/setup-failure-runner.ts",
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Integration tests start real servers on ephemeral ports; run files in
    // parallel processes but keep each file's tests in order.
    pool: "forks",
    // Vitest's default is one process fewer than the cores: one on a 2-core machine. The files
    // mostly wait on their servers, services and child processes, so two at once there take
    // the suite from 21 to 12 minutes.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // expect.poll waits 1 s by default: a browser's click and re-render on a busy 2-core machine can take longer.
    expect: { poll: { timeout: 5_000 } },
  },
});
