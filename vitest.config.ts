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
    // expect.poll waits 1 s by default: a browser's click and re-render on a busy 2-core machine can take longer.
    expect: { poll: { timeout: 5_000 } },
  },
});
