// A vendor that hangs (accepts the request, then says nothing) while callers
// send deadlines: every attempt then ends by the learnt bound, the gateway's
// deadline share or the caller's deadline, never by timeout_ms. Such silence
// must still count against the breaker, and the retries it causes must stay
// within the retry budget; but a vendor that is merely slower than callers'
// short deadlines must not be taken for hung (audit review2 #1). Simulated
// clock (sim-dispatch.ts): no real time passes.
import { describe, expect, it } from "vitest";
import { DEFAULT_TRAFFIC } from "../../src/config/traffic.js";
import { CircuitBreaker } from "../../src/gateway/circuit-breaker.js";
import type { Candidate } from "../../src/gateway/router.js";
import { answer, context, cuts, hang, learnAnswers, on, outcomes, params, setup, unary, type Setup } from "./sim-dispatch.js";

/** `n` calls at once, each by its own caller unless `caller` names one, with a deadline of `deadlineInMs`: their outcomes. */
async function together(s: Setup, n: number, candidates: Candidate[], deadlineInMs: number, caller?: string): Promise<string[][]> {
  const calls = Array.from({ length: n }, (_, i) =>
    s.dispatcher.unary(candidates, context(s.clock, deadlineInMs, caller ?? `caller-${i}`), (adapter, call) => adapter.chat({ ...call, params })).then(
      ({ outcome }) => outcomes(outcome.attempts),
      (err: { outcome: { attempts: [] } }) => [...outcomes(err.outcome.attempts), "failed"],
    ),
  );
  return s.clock.run(Promise.all(calls));
}

describe("a vendor that hangs, with callers that send deadlines", () => {
  it("its silence cut by the learnt bound counts against the breaker, which opens: later calls go to the fallback at once", async () => {
    const s = setup({ breaker: { enabled: true } }); // opens after 10 failures in a row
    const chain = [on("primary", "m"), on("backup", "m")];
    await learnAnswers(s, "m", [400, 500, 600]); // learnt bound: 3 × 600 ms = 1.8 s
    for (let i = 0; i < 40; i++) s.vendor.script("m", hang);
    for (let i = 0; i < 40; i++) s.backup.script("m", answer(200));
    // The audit's fb-hangheaders: 4 s deadlines; each call waits 1.8 s (the learnt bound: a hang), then about 1 s (the
    // deadline share: shorter than a hang shows, so neutral), on the hung primary before the backup serves it.
    const served: string[][] = [];
    for (let i = 0; i < 10; i++) {
      const { attempts, error } = await unary(s, chain, 4_000, `caller-${i}`);
      expect(error).toBeUndefined();
      served.push(outcomes(attempts));
    }
    // Each caller's silent attempts count once; the tenth caller's first one opens the breaker, so its retry goes to the backup.
    expect(served.slice(0, 9)).toEqual(Array.from({ length: 9 }, () => ["primary:timeout", "primary:timeout", "backup:ok"]));
    expect(served[9]).toEqual(["primary:timeout", "backup:ok"]);
    expect(await cuts(s.metrics)).toEqual(["primary:answer:learnt=10", "primary:answer:deadline=9"]);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("open");

    // Open, the breaker sends the calls to the backup at once: no time is spent on the hung primary.
    const next = await unary(s, chain, 4_000, "caller-10");
    expect(outcomes(next.attempts)).toEqual(["primary:circuit_open", "backup:ok"]);
    expect(next.elapsed).toBe(200);
    expect(s.vendor.sent).toHaveLength(20 + 19);
  });

  it("a slow but healthy vendor cut by the deadline share of callers' short deadlines is no hang: its breaker stays closed", async () => {
    const s = setup({ breaker: { enabled: true } });
    const chain = [on("primary", "m"), on("backup", "m")];
    for (let i = 0; i < 40; i++) s.vendor.script("m", answer(3_000));
    for (let i = 0; i < 40; i++) s.backup.script("m", answer(200));
    // 4 s deadlines: each primary attempt is cut by the share (2 s, then about 1 s), well before the 3 s answer.
    for (let i = 0; i < 12; i++) {
      const { attempts, error } = await unary(s, chain, 4_000, `caller-${i}`);
      expect(error).toBeUndefined();
      expect(outcomes(attempts)).toEqual(["primary:timeout", "primary:timeout", "backup:ok"]);
    }
    expect(await cuts(s.metrics)).toEqual(["primary:answer:deadline=24"]);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
    // A caller without a deadline is served by the primary, not sent to the backup.
    const patient = await unary(s, chain, undefined, "patient");
    expect(outcomes(patient.attempts)).toEqual(["primary:ok"]);
  });

  it("a hang on a model not learnt yet, cut by the deadline share only, is the trade-off: it does not open the breaker", async () => {
    // In 2 s a hang looks like a slow answer; until the pair's latency is learnt only timeout_ms (or a caller's deadline past it) tells them apart.
    const s = setup({ breaker: { enabled: true } });
    const chain = [on("primary", "m"), on("backup", "m")];
    for (let i = 0; i < 40; i++) s.vendor.script("m", hang);
    for (let i = 0; i < 40; i++) s.backup.script("m", answer(200));
    for (let i = 0; i < 12; i++) expect(outcomes((await unary(s, chain, 4_000, `caller-${i}`)).attempts)).toEqual(["primary:timeout", "primary:timeout", "backup:ok"]);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
  });

  it("one caller's calls: retries after the gateway's own cuts spend the retry budget, so the vendor gets ratio × calls + min_retries extra at most", async () => {
    const s = setup({ breaker: { enabled: true } });
    for (let i = 0; i < 300; i++) s.vendor.script("m", hang);
    // The audit: 80 calls at once from one gateway key, 3 s deadlines, no fallback (240 upstream requests before).
    const results = await together(s, 80, [on("primary", "m")], 3_000, "the-only-key");
    for (const result of results) expect(result.at(-1)).toBe("failed");
    const { ratio, minRetries } = DEFAULT_TRAFFIC.retryBudget;
    expect(s.vendor.sent.length).toBe(80 + Math.floor(80 * ratio) + minRetries);
    const exhausted = (await s.metrics.retryBudgetExhausted.get()).values.find((v) => v.labels.provider === "primary");
    expect(exhausted?.value).toBeGreaterThan(0);
  });

  it("the caller's deadline ending an attempt counts only once the vendor had been silent past the pair's learnt bound", async () => {
    // One attempt per call (no own cuts), and one counted failure opens the breaker.
    const s = setup({ breaker: { enabled: true, consecutiveFailures: 1 }, maxAttempts: 1 });
    await learnAnswers(s, "m", [400, 500, 600]); // learnt bound: 3 × 600 ms = 1.8 s
    // The caller's 1 s deadline ends a hang it chose not to wait out: nothing said about the vendor.
    s.vendor.script("m", hang);
    expect(outcomes((await unary(s, [on("primary", "m")], 1_000)).attempts)).toEqual(["primary:timeout"]);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("closed");
    // A 3 s deadline ends a hang already silent past 1.8 s: the vendor's timeout.
    s.vendor.script("m", hang);
    expect(outcomes((await unary(s, [on("primary", "m")], 3_000)).attempts)).toEqual(["primary:timeout"]);
    expect(s.dispatcher.providerBreaker("primary")?.state).toBe("open");
  });
});

describe("the breaker's verdict on a silent attempt", () => {
  const config = { ...DEFAULT_TRAFFIC.breaker, consecutiveFailures: 1 };

  it("is a timeout when the provider answered nothing since the attempt started", () => {
    let now = 1_000;
    const breaker = new CircuitBreaker(config, () => now);
    breaker.acquire()!.success();
    const started = now;
    now += 2_000;
    breaker.acquire()!.wentSilent("a", started);
    expect(breaker.current).toBe("open");
  });

  it("is nothing when another call was answered meanwhile (the vendor works; this answer was merely long)", () => {
    let now = 1_000;
    const breaker = new CircuitBreaker(config, () => now);
    const silent = breaker.acquire()!;
    const started = now;
    now += 500;
    breaker.acquire()!.success();
    now += 1_500;
    silent.wentSilent("a", started);
    expect(breaker.current).toBe("closed");
  });
});
