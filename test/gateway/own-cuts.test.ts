// Attempts the gateway cuts by its own adaptive bounds (the learnt bound, the
// deadline share) while the vendor is still working normally: they say
// nothing against the vendor. Simulated clock (sim-dispatch.ts): no real time passes.
import { describe, expect, it } from "vitest";
import type { Candidate } from "../../src/gateway/router.js";
import { answer, context, cuts, hang, learnAnswers, on, outcomes, params, setup, unary, type Setup } from "./sim-dispatch.js";

/** A breaker quick to open: three failures in a row (a vendor that really fails opens it at once). */
const touchy = { enabled: true, consecutiveFailures: 3 };

/** `n` calls at once, each served by `candidates`; their outcomes. */
async function together(s: Setup, n: number, candidates: Candidate[], deadlineInMs?: number): Promise<string[][]> {
  const calls = Array.from({ length: n }, () =>
    s.dispatcher.unary(candidates, context(s.clock, deadlineInMs), (adapter, call) => adapter.chat({ ...call, params })).then(
      ({ outcome }) => outcomes(outcome.attempts),
      (err: { outcome: { attempts: [] } }) => [...outcomes(err.outcome.attempts), "failed"],
    ),
  );
  return s.clock.run(Promise.all(calls));
}

async function breakerOpenings(s: Setup): Promise<number> {
  const metric = await s.metrics.breakerTransitions.get();
  return metric.values.filter((v) => v.labels.state === "open").reduce((sum, v) => sum + v.value, 0);
}

const keyErrors = (s: Setup): number => s.dispatcher.runtime("primary")!.pool.list().reduce((sum, key) => sum + key.recentErrors, 0);

describe("the gateway's own cuts are neutral", () => {
  it("slow but healthy answers cut by the learnt bound never open the breaker, mark no key failing, spend no retry budget", async () => {
    const s = setup({ breaker: touchy });
    await learnAnswers(s, "mixed", [180, 200, 220]); // p99 220 ms: the learnt bound is min_ms, 1 s
    for (let i = 0; i < 6; i++) s.vendor.script("mixed", answer(2_000), answer(2_000), answer(2_000), answer(2_000));
    const results = await together(s, 6, [on("primary", "mixed")]);
    // Every call is served by its last attempt, which is never cut; the three before it were cut at 1 s.
    for (const result of results) expect(result).toEqual(["primary:timeout", "primary:timeout", "primary:timeout", "primary:ok"]);
    expect(await cuts(s.metrics)).toEqual(["primary:answer:learnt=18"]);
    expect(await breakerOpenings(s)).toBe(0);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
    expect(keyErrors(s)).toBe(0);
    expect((await s.metrics.retryBudgetExhausted.get()).values.filter((v) => v.value > 0)).toEqual([]);
    // Another model of the provider is served as usual.
    s.vendor.script("other", answer(300));
    expect((await unary(s, [on("primary", "other")])).error).toBeUndefined();
  });

  it("attempts cut by the caller's deadline share never open the breaker", async () => {
    const s = setup({ breaker: touchy });
    await learnAnswers(s, "m", [400, 500, 600]);
    // 2 s deadlines: each first attempt is cut at half of it; the vendor would have answered at 1.5 s.
    for (let i = 0; i < 5; i++) {
      s.vendor.script("m", answer(1_500), answer(1_500));
      await unary(s, [on("primary", "m")], 2_000);
    }
    expect(await cuts(s.metrics)).toEqual(["primary:answer:deadline=5"]);
    expect(await breakerOpenings(s)).toBe(0);
    expect(keyErrors(s)).toBe(0);
  });

  it("the configured timeout still counts against the vendor", async () => {
    const s = setup({ breaker: touchy, timeoutMs: 5_000 });
    s.vendor.script("m", answer(6_000), answer(6_000), answer(6_000));
    const res = await unary(s, [on("primary", "m")]);
    expect(outcomes(res.attempts)).toEqual(["primary:timeout", "primary:timeout", "primary:timeout"]);
    expect(await breakerOpenings(s)).toBe(1);
  });
});

describe("a half-open probe", () => {
  it("that is slow holds the breaker shut only for its own bound, not for timeout_ms; it still answers", async () => {
    const s = setup({ breaker: { ...touchy, openMs: 5_000 } });
    // Three hangs, each cut at the configured 120 s: the breaker opens.
    s.vendor.script("m", hang, hang, hang);
    expect((await unary(s, [on("primary", "m")])).error).toBeDefined();
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("open");
    await s.clock.run(s.clock.sleep(5_000, new AbortController().signal));

    // The probe: a healthy but slow answer of 15 s.
    s.vendor.script("m", answer(15_000));
    const probe = s.dispatcher.unary([on("primary", "m")], context(s.clock), (adapter, call) => adapter.chat({ ...call, params }));
    await s.clock.run(s.clock.sleep(4_000, new AbortController().signal));
    // Past 3 × min_ms (nothing learnt yet), another call is let through as a probe, and its answer closes the breaker.
    s.vendor.script("other", answer(300));
    const other = await unary(s, [on("primary", "other")]);
    expect(other.error).toBeUndefined();
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
    const { outcome } = await s.clock.run(probe);
    expect(outcomes(outcome.attempts)).toEqual(["primary:ok"]);
  });
});
