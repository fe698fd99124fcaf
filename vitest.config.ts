import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Integration tests start real servers on ephemeral ports; run files in
    // parallel processes but keep each file's tests in order.
    pool: "forks",
  },
});
