// Adaptive timeouts: attempts bounded by what is learnt of each (provider,
// model)'s latency and by the caller's deadline. Everything runs on a
// simulated clock that the test moves: the dispatcher's timers, backoffs and
// the caller's deadline, and the fake vendors' answers. No real time passes.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { buildConfig } from "../../src/config/load-config.js";
import { fileSchema } from "../../src/config/schema.js";
import { DEFAULT_TRAFFIC } from "../../src/config/traffic.js";
import { AdaptiveTimeouts } from "../../src/gateway/adaptive-timeout.js";
import { LatencyProfiles } from "../../src/gateway/latency-profiles.js";
import { answer, context, cuts, durations, hang, learnAnswers, on, outcomes, params, setup, stream, streamed, unary } from "./sim-dispatch.js";

describe("unary calls", () => {
  it("a hung attempt is cut at the learnt bound (3 × p99, at least 1 s) and the retry answers within the caller's deadline", async () => {
    const s = setup();
    await learnAnswers(s, "fast", [400, 500, 600]); // p99 600 ms: the bound is 1800 ms
    s.vendor.script("fast", hang, answer(500));
    const res = await unary(s, [on("primary", "fast")], 10_000);
    expect(res.error).toBeUndefined();
    expect(outcomes(res.attempts)).toEqual(["primary:timeout", "primary:ok"]);
    expect(durations(res.attempts)).toEqual([1_800, 500]);
    expect(res.elapsed).toBe(1_800 + 50 + 500); // the cut, the backoff (half of 100 ms), the answer
    expect(await cuts(s.metrics)).toEqual(["primary:answer:learnt=1"]);
  });

  it("without adaptive timeouts the same hang holds the call until its deadline (the 120 s timeout never comes first)", async () => {
    const s = setup({ adaptive: { enabled: false } });
    await learnAnswers(s, "fast", [400, 500, 600]);
    s.vendor.script("fast", hang, answer(500));
    const res = await unary(s, [on("primary", "fast")], 10_000);
    expect(res.error?.code).toBe(Code.DeadlineExceeded);
    expect(res.elapsed).toBe(10_000);
    expect(outcomes(res.attempts)).toEqual(["primary:timeout"]);
  });

  it("a legitimately slow model (long but consistent latency) is not cut; each model has its own bound", async () => {
    const s = setup();
    await learnAnswers(s, "slow", [27_000, 30_000, 33_000]); // p99 33 s: the bound is 99 s
    await learnAnswers(s, "fast", [400, 500, 600]);
    s.vendor.script("slow", answer(45_000));
    const slow = await unary(s, [on("primary", "slow")], 300_000);
    expect(slow.error).toBeUndefined();
    expect(outcomes(slow.attempts)).toEqual(["primary:ok"]);
    expect(durations(slow.attempts)).toEqual([45_000]);
    // The slow model's latency does not widen the fast one's bound on the same provider.
    s.vendor.script("fast", hang, answer(500));
    expect(durations((await unary(s, [on("primary", "fast")], 300_000)).attempts)).toEqual([1_800, 500]);
  });

  it("a provider with no samples (or fewer than min_samples) uses the configured timeout", async () => {
    const s = setup({ timeoutMs: 5_000 });
    s.vendor.script("new", hang, answer(500));
    const cold = await unary(s, [on("primary", "new")]);
    expect(outcomes(cold.attempts)).toEqual(["primary:timeout", "primary:ok"]);
    expect(durations(cold.attempts)).toEqual([5_000, 500]);

    await learnAnswers(s, "new", [400, 500, 600], 18); // 19 samples with the one above: not enough yet
    s.vendor.script("new", hang, answer(500));
    expect(durations((await unary(s, [on("primary", "new")])).attempts)).toEqual([5_000, 500]);
    expect(await cuts(s.metrics)).toEqual(["primary:answer:configured=2"]);
  });

  it("with a deadline, an attempt that could be retried leaves half of what remains for the ones after it", async () => {
    const s = setup();
    s.vendor.script("new", hang, hang, hang, answer(500));
    const res = await unary(s, [on("primary", "new")], 10_000);
    expect(res.error).toBeUndefined();
    expect(outcomes(res.attempts)).toEqual(["primary:timeout", "primary:timeout", "primary:timeout", "primary:ok"]);
    // 10 000 ms left: 5 000; then 4 950 left (after a 50 ms backoff): 2 475; then 2 375 left: 1 188 (never under min_ms).
    expect(durations(res.attempts)).toEqual([5_000, 2_475, 1_188, 500]);
    expect(res.elapsed).toBeLessThan(10_000);
    expect(await cuts(s.metrics)).toEqual(["primary:answer:deadline=3"]);
  });

  it("the last attempt a call can make is never cut short: it has the whole deadline", async () => {
    const s = setup({ maxAttempts: 2 });
    await learnAnswers(s, "fast", [400, 500, 600]);
    s.vendor.script("fast", hang, answer(8_000));
    const res = await unary(s, [on("primary", "fast")], 10_000);
    expect(res.error).toBeUndefined();
    expect(durations(res.attempts)).toEqual([1_800, 8_000]);
  });

  it("cut attempts leave no sample: many hangs do not lift the bound", async () => {
    const s = setup();
    await learnAnswers(s, "fast", [400, 500, 600]);
    for (let i = 0; i < 10; i++) s.vendor.script("fast", hang, answer(500));
    for (let i = 0; i < 10; i++) expect(durations((await unary(s, [on("primary", "fast")])).attempts)).toEqual([1_800, 500]);
  });

  it("a model that gets slower for good is learnt again from its last attempts, which are never cut", async () => {
    const s = setup();
    await learnAnswers(s, "drifts", [400, 500, 600]);
    s.vendor.script("drifts", answer(5_000), answer(5_000), answer(5_000), answer(5_000));
    const first = await unary(s, [on("primary", "drifts")]);
    expect(outcomes(first.attempts)).toEqual(["primary:timeout", "primary:timeout", "primary:timeout", "primary:ok"]);
    // Its 5 s answer is now the window's p99: the bound is 15 s and the next slow answer goes through at once.
    s.vendor.script("drifts", answer(5_000));
    expect(outcomes((await unary(s, [on("primary", "drifts")])).attempts)).toEqual(["primary:ok"]);
  });

  it("a cut attempt fails over like any timeout: the candidate's other key, then the next candidate", async () => {
    const s = setup();
    await learnAnswers(s, "fast", [400, 500, 600]);
    s.vendor.script("fast", hang, hang);
    s.backup.script("fast", answer(700));
    const res = await unary(s, [on("primary", "fast"), on("backup", "fast")], 10_000);
    expect(res.error).toBeUndefined();
    expect(outcomes(res.attempts)).toEqual(["primary:timeout", "primary:timeout", "backup:ok"]);
    expect(durations(res.attempts)).toEqual([1_800, 1_800, 700]);
  });
});

describe("streams", () => {
  it("learn the time to the first token and cut a stream that sends none far beyond it; the retry serves", async () => {
    const s = setup();
    for (let i = 0; i < 20; i++) {
      s.vendor.script("chat", stream(800, [100, 100, 100]));
      expect((await streamed(s, [on("primary", "chat")])).text).toBe("t0 t1 t2 ");
    }
    // p99 of first tokens 800 ms: cut at 2 400 ms.
    s.vendor.script("chat", { kind: "stream", waits: [Infinity] }, stream(800, [100, 100, 100]));
    const res = await streamed(s, [on("primary", "chat")], 10_000);
    expect(res.error).toBeUndefined();
    expect(res.text).toBe("t0 t1 t2 ");
    expect(outcomes(res.attempts)).toEqual(["primary:timeout", "primary:ok"]);
    expect(durations(res.attempts)[0]).toBe(2_400);
    expect(await cuts(s.metrics)).toEqual(["primary:first_token:learnt=1"]);
  });

  it("learn the silences between events and end a stalled stream at max(min_ms, 3 × p99) instead of timeout_ms", async () => {
    const s = setup();
    for (let i = 0; i < 20; i++) {
      s.vendor.script("chat", stream(800, [100, 200, 100]));
      await streamed(s, [on("primary", "chat")]);
    }
    // The longest silence per stream is 200 ms: 3 × 200 = 600, under the 1 s floor.
    s.vendor.script("chat", stream(800, [100, Infinity]));
    const res = await streamed(s, [on("primary", "chat")]);
    expect(res.text).toBe("t0 t1 ");
    expect(res.error?.code).toBe(Code.DeadlineExceeded);
    expect(res.error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("STREAM_INTERRUPTED");
    expect(durations(res.attempts)).toEqual([800 + 100 + 1_000]);
    expect(await cuts(s.metrics)).toEqual(["primary:silence:learnt=1"]);
  });

  it("a stream cut for its silence counts as a censored sample: a model whose pauses grow lifts the bound itself", async () => {
    const s = setup();
    for (let i = 0; i < 20; i++) {
      s.vendor.script("chat", stream(800, [100, 100]));
      await streamed(s, [on("primary", "chat")]);
    }
    s.vendor.script("chat", stream(800, [2_000, 100]), stream(800, [2_000, 100]));
    expect((await streamed(s, [on("primary", "chat")])).error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("STREAM_INTERRUPTED");
    // The cut added 1 000 ms to the window, its p99 now: the bound is 3 s and the 2 s pause goes through.
    const second = await streamed(s, [on("primary", "chat")]);
    expect(second.error).toBeUndefined();
    expect(second.text).toBe("t0 t1 ");
  });

  it("the time the consumer holds an event is not the vendor's silence", async () => {
    const s = setup();
    for (let i = 0; i < 20; i++) {
      s.vendor.script("chat", stream(800, [100, 100]));
      await streamed(s, [on("primary", "chat")]);
    }
    s.vendor.script("chat", stream(800, [100, 100]));
    let text = "";
    const dispatched = s.dispatcher.stream([on("primary", "chat")], context(s.clock), (adapter, call) => adapter.chatStream({ ...call, params }));
    const attempts = dispatched.outcome().attempts;
    await s.clock.run(
      (async () => {
        for await (const event of dispatched.events) {
          if (event.type === "delta") text += event.content;
          await s.clock.sleep(5_000, new AbortController().signal); // a slow client: far beyond the 1 s silence bound
        }
      })(),
    );
    expect(text).toBe("t0 t1 ");
    expect(outcomes(attempts)).toEqual(["primary:ok"]);
  });
});

describe("the rule", () => {
  const config = DEFAULT_TRAFFIC.adaptiveTimeout;
  const pair = on("p", "m");
  function learnt(ms: number[], samples = 20): AdaptiveTimeouts {
    const timeouts = new AdaptiveTimeouts(config);
    for (let i = 0; i < samples; i++) timeouts.learn(pair, "answer", ms[i % ms.length]!);
    return timeouts;
  }

  it("bound = min(configured, max(min_ms, 3 × p99), max(min_ms, p99, half the time left)) for an attempt that could be retried", () => {
    const timeouts = learnt([100, 2_000]); // p99 2 s: learnt 6 s
    expect(timeouts.wait(pair, "answer", 120_000, undefined, true)).toEqual({ ms: 6_000, rule: "learnt" });
    expect(timeouts.wait(pair, "answer", 4_000, undefined, true)).toEqual({ ms: 4_000, rule: "configured" });
    expect(timeouts.wait(pair, "answer", 120_000, 10_000, true)).toEqual({ ms: 5_000, rule: "deadline" });
    // A tight deadline squeezes the margin, never below the p99 itself (a normal answer would be cut).
    expect(timeouts.wait(pair, "answer", 120_000, 3_000, true)).toEqual({ ms: 2_000, rule: "deadline" });
    // The last attempt: the configured timeout, and the deadline as a whole.
    expect(timeouts.wait(pair, "answer", 120_000, 3_000, false)).toEqual({ ms: 120_000, rule: "configured" });
  });

  it("never cuts sooner than min_ms; waits for min_samples; off when disabled", () => {
    expect(learnt([50]).wait(pair, "answer", 120_000, undefined, true)).toEqual({ ms: 1_000, rule: "learnt" });
    expect(learnt([50]).wait(pair, "answer", 120_000, 1_200, true)).toEqual({ ms: 1_000, rule: "learnt" });
    expect(learnt([50], 19).wait(pair, "answer", 120_000, undefined, true)).toEqual({ ms: 120_000, rule: "configured" });
    expect(learnt([50], 19).wait(pair, "answer", 120_000, 1_500, true)).toEqual({ ms: 1_000, rule: "deadline" });
    const off = new AdaptiveTimeouts({ ...config, enabled: false });
    for (let i = 0; i < 20; i++) off.learn(pair, "answer", 50);
    expect(off.wait(pair, "answer", 120_000, 10_000, true)).toEqual({ ms: 120_000, rule: "configured" });
    expect(off.answerPercentile(pair, 95, 20)).toBe(50); // hedging still learns
  });

  it("tracks at most a bounded number of (provider, model) pairs, the least recently used forgotten first", () => {
    const profiles = new LatencyProfiles(2);
    profiles.record("p", "a", "answer", 1);
    profiles.record("p", "b", "answer", 1);
    profiles.get("p", "a");
    profiles.record("p", "c", "answer", 1);
    expect(profiles.size).toBe(2);
    expect(profiles.get("p", "b")).toBeUndefined();
    expect(profiles.get("p", "a")?.answer.count).toBe(1);
  });
});

describe("configuration", () => {
  it("is on by default and takes overrides field by field under traffic.adaptive_timeout", () => {
    expect(buildConfig({}, {}, "t").traffic?.adaptiveTimeout).toEqual({ enabled: true, multiplier: 3, minMs: 1_000, minSamples: 20, deadlineReserve: 0.5 });
    const traffic = buildConfig({ traffic: { adaptive_timeout: { multiplier: 4, deadline_reserve: 0.25 } } }, {}, "t").traffic;
    expect(traffic?.adaptiveTimeout).toEqual({ ...DEFAULT_TRAFFIC.adaptiveTimeout, multiplier: 4, deadlineReserve: 0.25 });
    // Keeping all of the deadline in reserve would leave nothing for the attempt itself.
    expect(fileSchema.safeParse({ traffic: { adaptive_timeout: { deadline_reserve: 1 } } }).success).toBe(false);
    expect(fileSchema.safeParse({ traffic: { adaptive_timeout: { multiplier: 0.5 } } }).success).toBe(false);
  });
});
