// Attempts the gateway cuts by its own adaptive bounds (the learnt bound, the
// deadline share) while the vendor is still working (it answers other calls
// meanwhile): they say nothing against the vendor. Without such a sign of
// life they count as timeouts (hung-vendor.test.ts; a deadline share's cut
// only past the learnt bound, as the caller's deadline); timeouts, like cuts by
// the configured timeout, count each caller's once per window: one caller's
// slow requests must not open the breaker for everyone. Simulated clock
// (sim-dispatch.ts): no real time passes.
import { describe, expect, it } from "vitest";
import type { Candidate } from "../../src/gateway/router.js";
import { answer, context, cuts, fail, hang, learnAnswers, on, outcomes, params, setup, unary, type Setup } from "./sim-dispatch.js";

/** A breaker quick to open: three failures in a row (a vendor that really fails opens it at once). */
const touchy = { enabled: true, consecutiveFailures: 3 };

/** `n` calls at once, each served by `candidates` (the i-th made by `callerOf(i)`); their outcomes. */
async function together(s: Setup, n: number, candidates: Candidate[], deadlineInMs?: number, callerOf: (i: number) => string = () => "t"): Promise<string[][]> {
  const calls = Array.from({ length: n }, (_, i) =>
    s.dispatcher.unary(candidates, context(s.clock, deadlineInMs, callerOf(i)), (adapter, call) => adapter.chat({ ...call, params })).then(
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

describe("the gateway's own cuts", () => {
  it("of slow but healthy answers, while the provider answers other calls, count for nothing: no breaker opening, no key failing", async () => {
    // One counted failure would open it.
    const s = setup({ breaker: { enabled: true, consecutiveFailures: 1 } });
    await learnAnswers(s, "mixed", [180, 200, 220]); // p99 220 ms: the learnt bound is min_ms, 1 s
    s.vendor.script("mixed", answer(2_000), answer(2_000), answer(2_000), answer(2_000));
    for (let i = 0; i < 20; i++) s.vendor.script("other", answer(300));
    const call = (model: string, caller: string) => s.dispatcher.unary([on("primary", model)], context(s.clock, undefined, caller), (adapter, c) => adapter.chat({ ...c, params }));
    const [slow] = await s.clock.run(
      Promise.all([
        call("mixed", "slow").then(({ outcome }) => outcomes(outcome.attempts)),
        (async () => {
          // Other callers' short answers, one after another, all the while.
          for (let i = 0; i < 20; i++) await call("other", `other-${i}`);
        })(),
      ]),
    );
    // Served by its last attempt, which is never cut; the three before it were cut at 1 s, each while another call was answered.
    expect(slow).toEqual(["primary:timeout", "primary:timeout", "primary:timeout", "primary:ok"]);
    expect(await cuts(s.metrics)).toEqual(["primary:answer:learnt=3"]);
    expect(await breakerOpenings(s)).toBe(0);
    expect(keyErrors(s)).toBe(0);

    // A cut with nothing answered meanwhile is the vendor's silence: a timeout, and this breaker opens (its retry is not sent).
    s.vendor.script("mixed", hang);
    expect(outcomes((await unary(s, [on("primary", "mixed")], undefined, "alone")).attempts)).toEqual(["primary:timeout"]);
    expect(await cuts(s.metrics)).toEqual(["primary:answer:learnt=4"]);
    expect(await breakerOpenings(s)).toBe(1);
    expect(keyErrors(s)).toBe(0);
  });

  it("by the caller's deadline share, before a hang would show, count for nothing: one caller's short deadlines never open the breaker", async () => {
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

  it("the configured timeout still counts against the vendor, once per caller", async () => {
    const s = setup({ breaker: touchy, timeoutMs: 5_000, maxAttempts: 1 });
    for (const caller of ["a", "b"]) {
      s.vendor.script("m", answer(6_000));
      expect(outcomes((await unary(s, [on("primary", "m")], undefined, caller)).attempts)).toEqual(["primary:timeout"]);
    }
    expect(await breakerOpenings(s)).toBe(0);
    s.vendor.script("m", answer(6_000));
    await unary(s, [on("primary", "m")], undefined, "c"); // a third caller's timeout in a row
    expect(await breakerOpenings(s)).toBe(1);
  });
});

describe("one caller's slow requests (timeout_ms cuts them)", () => {
  const slowCalls = (s: Setup, n: number) => {
    for (let i = 0; i < n * 4; i++) s.vendor.script("slow", answer(4_000));
  };
  const states = (s: Setup) => s.dispatcher.runtime("primary")!.pool.list().map((key) => key.state);

  it("count once against the provider's breaker and its keys: another caller is still served (the audit: 12 calls at once, 1.5 s timeout, a 4 s answer)", async () => {
    const s = setup({ breaker: { enabled: true }, timeoutMs: 1_500 });
    slowCalls(s, 12);
    const results = await together(s, 12, [on("primary", "slow")], undefined, () => "KA");
    for (const result of results) expect(result.at(-1)).toBe("failed");
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
    expect(await breakerOpenings(s)).toBe(0);
    expect(states(s)).toEqual(["active", "active"]);
    s.vendor.script("other", answer(300));
    const other = await unary(s, [on("primary", "other")], undefined, "KB");
    expect(other.error).toBeUndefined();
    expect(outcomes(other.attempts)).toEqual(["primary:ok"]);
  });

  it("from enough callers open it, as before", async () => {
    const s = setup({ breaker: { enabled: true }, timeoutMs: 1_500 });
    slowCalls(s, 12);
    await together(s, 12, [on("primary", "slow")], undefined, (i) => `caller-${i}`);
    expect(await breakerOpenings(s)).toBeGreaterThanOrEqual(1);
  });

  it("a single-tenant gateway (one gateway key for everything) still opens the breaker on the vendor's 5xx", async () => {
    const s = setup({ breaker: { enabled: true }, maxAttempts: 1 });
    for (let i = 0; i < 10; i++) {
      s.vendor.script("m", fail("overloaded", 50));
      expect(outcomes((await unary(s, [on("primary", "m")], undefined, "the-only-key")).attempts)).toEqual(["primary:overloaded"]);
    }
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("open");
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
