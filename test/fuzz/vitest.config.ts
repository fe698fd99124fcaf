import { join } from "node:path";
import { defineConfig } from "vitest/config";

// One seed per run, chosen here in the main process so every test process
// shares it and the closing line can print it; FUZZ_SEED replays a run.
process.env.FUZZ_SEED ||= String(Math.floor(Math.random() * 2 ** 31));

/**
 * The fuzz suite, run on its own (`npm run test:fuzz`, its own CI step):
 * `*.fuzz.ts` files stay out of the main suite's `*.test.ts`, so the two never
 * compete for the same cores, and this run's figures (cases, time, heap) are
 * its own. It needs no Postgres, Redis or Vault: no global setup.
 */
export default defineConfig({
  test: {
    root: join(import.meta.dirname, "../.."),
    include: ["test/fuzz/**/*.fuzz.ts"],
    env: { FUZZ_SEED: process.env.FUZZ_SEED },
    pool: "forks",
    // global.gc(), to measure the heap after collection.
    execArgv: ["--expose-gc"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ["default", join(import.meta.dirname, "summary-reporter.ts")],
  },
});
