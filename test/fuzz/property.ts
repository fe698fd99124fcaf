import fc from "fast-check";
import type { TestContext } from "vitest";

declare module "vitest" {
  interface TaskMeta {
    /** What a fuzz test ran, for the closing line (summary-reporter.ts). */
    fuzz?: { cases: number; failures: number };
  }
}

/** One seed for the whole run (chosen in vitest.config.ts, or FUZZ_SEED to replay one). */
export const SEED = Number(process.env.FUZZ_SEED);
/** Cases per property (FUZZ_RUNS overrides). */
export const RUNS = Number(process.env.FUZZ_RUNS || 1500);

/**
 * Checks `check` on `runs` generated cases from SEED and records how many ran.
 * A failure is reported the fast-check way: the seed, the path to replay it
 * (FUZZ_SEED plus fc's `path`), and the shrunk counterexample.
 */
export async function runProperty<T>(ctx: TestContext, arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, runs = RUNS): Promise<void> {
  if (!Number.isSafeInteger(SEED)) throw new Error("FUZZ_SEED is not set: run the fuzz suite with its own config (npm run test:fuzz)");
  // A case that hangs is a failure too (and shrinks like any other).
  const details = await fc.check(fc.asyncProperty(arbitrary, check), { seed: SEED, numRuns: runs, timeout: 15_000, includeErrorInReport: true });
  ctx.task.meta.fuzz = { cases: details.numRuns, failures: details.failed ? 1 : 0 };
  if (details.failed) throw new Error(fc.defaultReportMessage(details));
}
