import type { Reporter, TestModule } from "vitest/node";

/** The fuzz suite's closing line: how many generated cases ran, how many properties failed, and the seed to replay them. */
export default class FuzzSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let cases = 0;
    let failures = 0;
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const fuzz = test.meta().fuzz;
        cases += fuzz?.cases ?? 0;
        failures += fuzz ? fuzz.failures : test.result().state === "failed" ? 1 : 0;
      }
      if (module.state() === "failed" && [...module.children.allTests()].length === 0) failures++;
    }
    console.log(`\nfuzz: ${cases.toLocaleString("en-US")} cases, ${failures} failures, seed ${process.env.FUZZ_SEED}`);
  }
}
