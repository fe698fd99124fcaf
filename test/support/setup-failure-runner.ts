import { TestRunner, type RunnerTask, type RunnerTestSuite } from "vitest";

type Hook = (...args: unknown[]) => unknown;

/**
 * Vitest's runner, except that when a `beforeAll` hook fails, the tests it was
 * setting up fail with its error instead of being marked skipped. Out of the
 * box a file whose setup throws (say, `requireService` because OpenBao is not
 * installed) reports its tests as "skipped", which reads as harmless; here each
 * of them fails and says why. The suite's other `beforeAll` hooks, and its and
 * its children's `beforeEach` and `afterEach` hooks, do not run once its setup
 * failed (they would only fail again on what is missing); `afterAll` hooks
 * still run, to release what the setup got as far as starting, but what they
 * throw then (typically `world.close()` on a world never made) is dropped: the
 * setup's error is the one that says what went wrong.
 */
export default class SetupFailureRunner extends TestRunner {
  private readonly setupFailures = new WeakMap<RunnerTestSuite, unknown>();

  override async onBeforeRunSuite(suite: RunnerTestSuite): Promise<void> {
    await super.onBeforeRunSuite(suite);
    const hooks = TestRunner.getSuiteHooks(suite);
    const failed = () => this.setupFailureOf(suite) !== undefined;
    hooks.beforeAll = wrapEach(hooks.beforeAll, async (hook, args) => {
      if (failed()) return undefined;
      try {
        return await hook(...args);
      } catch (err) {
        this.setupFailures.set(suite, err);
        return undefined;
      }
    });
    hooks.afterAll = wrapEach(hooks.afterAll, async (hook, args) => {
      try {
        return await hook(...args);
      } catch (err) {
        if (!failed()) throw err;
        return undefined;
      }
    });
    const unlessFailed = (hook: Hook, args: unknown[]) => (failed() ? undefined : hook(...args));
    hooks.beforeEach = wrapEach(hooks.beforeEach, unlessFailed);
    hooks.afterEach = wrapEach(hooks.afterEach, unlessFailed);
  }

  /** Runs before the test's `beforeEach` hooks, inside the try that fails the test with what it throws. */
  override onBeforeTryTask(test: RunnerTask): void {
    super.onBeforeTryTask(test);
    const failure = this.setupFailureOf(test.suite ?? test.file);
    if (failure !== undefined) throw failure;
  }

  /** The error of a failed `beforeAll` in this suite or one enclosing it. */
  private setupFailureOf(suite: RunnerTestSuite | undefined): unknown {
    for (let s = suite; s; s = s.suite ?? (s.file === s ? undefined : s.file)) {
      if (this.setupFailures.has(s)) return this.setupFailures.get(s);
    }
    return undefined;
  }
}

/** Each hook, called through `around`; keeps the properties Vitest set on it (cleanup timeouts, stack traces). */
function wrapEach<T>(hooks: T[], around: (hook: Hook, args: unknown[]) => unknown): T[] {
  return hooks.map((hook) => Object.defineProperties((...args: unknown[]) => around(hook as Hook, args), Object.getOwnPropertyDescriptors(hook)) as T);
}
