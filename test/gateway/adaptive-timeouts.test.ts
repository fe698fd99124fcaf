// Adaptive timeouts: attempts bounded by what is learnt of each (provider,
// model)'s latency and by the caller's deadline. Everything runs on a
// simulated clock that the test moves: the dispatcher's timers, backoffs and
// the caller's deadline, and the fake vendors' answers. No real time passes.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { buildConfig } from "../../src/config/load-config.js";
import { fileSchema } from "../../src/config/schema.js";
import { DEFAULT_TRAFFIC, type AdaptiveTimeoutConfig } from "../../src/config/traffic.js";
import { abortKind } from "../../src/common/abort-kind.js";
import { AdaptiveTimeouts } from "../../src/gateway/adaptive-timeout.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import { DispatchFailure } from "../../src/gateway/dispatch-outcome.js";
import { Dispatcher, type ProviderRuntime } from "../../src/gateway/dispatcher.js";
import { LatencyProfiles } from "../../src/gateway/latency-profiles.js";
import type { Candidate } from "../../src/gateway/router.js";
import type { StartTimer } from "../../src/gateway/timers.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import type { ChatParams, ChatResult, ChatStreamEvent, ProviderAdapter, UpstreamCall } from "../../src/providers/provider.js";
import { UpstreamError } from "../../src/providers/upstream-error.js";
import { createCredential } from "../../src/secrets/credential.js";
import { KeyPool } from "../../src/secrets/key-pool.js";

/** Simulated time: timers fire when the test's run loop reaches them, never on their own. */
class SimClock {
  now = 1_700_000_000_000;
  private timers: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;

  timer: StartTimer = (ms, fire) => {
    let entry: { at: number; seq: number; fire: () => void } | undefined;
    const start = (delay: number): void => {
      entry = { at: this.now + delay, seq: this.seq++, fire };
      this.timers.push(entry);
    };
    const stop = (): void => {
      this.timers = this.timers.filter((t) => t !== entry);
      entry = undefined;
    };
    start(ms);
    return {
      stop,
      restart: (next) => {
        stop();
        start(next);
      },
    };
  };

  /** Waits `ms` of simulated time (forever for Infinity); false when `signal` fires first. */
  sleep = (ms: number, signal: AbortSignal): Promise<boolean> => {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? this.timer(ms, () => done(true)) : undefined;
      const onAbort = (): void => done(false);
      const done = (value: boolean): void => {
        timer?.stop();
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  };

  /** Runs `work` to its end: lets everything pending run, then jumps to the next timer, and again. */
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    work.then(
      () => (done = true),
      () => (done = true),
    );
    for (let steps = 0; steps < 100_000; steps++) {
      await settle();
      if (done) return work;
      this.fireNext();
    }
    throw new Error("the simulation did not end");
  }

  private earliest() {
    return this.timers.reduce<(typeof this.timers)[number] | undefined>((a, b) => (!a || b.at < a.at || (b.at === a.at && b.seq < a.seq) ? b : a), undefined);
  }

  private fireNext(): void {
    const next = this.earliest();
    if (!next) throw new Error("stuck: nothing left to happen, and the work has not ended");
    this.timers = this.timers.filter((t) => t !== next);
    this.now = Math.max(this.now, next.at);
    next.fire();
  }
}

/** Lets every promise chain that can move on do so (the fakes do no I/O: one macrotask turn drains them). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** One scripted upstream attempt: a unary answer after `ms`, a stream, or a hang (nothing, until cancelled). */
type Step =
  | { kind: "answer"; ms: number }
  | { kind: "hang" }
  /** Waits before each event: the first is the time to the first token; Infinity stalls there. The last event is the end. */
  | { kind: "stream"; waits: number[] };

const answer = (ms: number): Step => ({ kind: "answer", ms });
const hang: Step = { kind: "hang" };
const stream = (firstTokenMs: number, gaps: number[]): Step => ({ kind: "stream", waits: [firstTokenMs, ...gaps] });

/** A vendor on the simulated clock that plays its script, one step per attempt, per model. */
class ScriptedVendor implements ProviderAdapter {
  readonly dialect = "openai";
  private readonly scripts = new Map<string, Step[]>();
  readonly sent: string[] = [];

  constructor(
    readonly name: string,
    private readonly clock: SimClock,
  ) {}

  script(model: string, ...steps: Step[]): void {
    this.scripts.set(model, [...(this.scripts.get(model) ?? []), ...steps]);
  }

  private next(model: string): Step {
    this.sent.push(model);
    const step = this.scripts.get(model)?.shift();
    if (!step) throw new Error(`${this.name}/${model}: no step scripted`);
    return step;
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const step = this.next(call.upstreamModel);
    const ms = step.kind === "answer" ? step.ms : step.kind === "hang" ? Infinity : NaN;
    if (!(await this.clock.sleep(ms, call.signal))) throw this.aborted(call);
    return { id: "x", message: create(MessageSchema, { role: Role.ASSISTANT, content: `${this.name}:${call.upstreamModel}` }), finishReason: FinishReason.STOP, usage: undefined };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncIterable<ChatStreamEvent> {
    const step = this.next(call.upstreamModel);
    const waits = step.kind === "stream" ? step.waits : [Infinity];
    for (const [index, ms] of waits.entries()) {
      if (!(await this.clock.sleep(ms, call.signal))) throw this.aborted(call);
      if (index === waits.length - 1) yield { type: "end", id: "x", finishReason: FinishReason.STOP, usage: undefined };
      else yield { type: "delta", content: `t${index} `, toolCalls: [] };
    }
  }

  embed(): never {
    throw new Error("not scripted");
  }

  async listModels() {
    return [];
  }

  async close(): Promise<void> {}

  /** As the HTTP client classifies an aborted request: the attempt's bound or the caller's deadline is a timeout. */
  private aborted(call: UpstreamCall<unknown>): UpstreamError {
    return new UpstreamError({ kind: abortKind(call.signal), provider: this.name, credentialId: call.credential.id, message: "aborted" });
  }
}

interface Setup {
  clock: SimClock;
  vendor: ScriptedVendor;
  backup: ScriptedVendor;
  dispatcher: Dispatcher;
  metrics: GatewayMetrics;
}

function setup(options: { adaptive?: Partial<AdaptiveTimeoutConfig>; timeoutMs?: number; maxAttempts?: number } = {}): Setup {
  const clock = new SimClock();
  const runtime = (vendor: ScriptedVendor): ProviderRuntime => ({
    adapter: vendor,
    pool: new KeyPool(
      vendor.name,
      [1, 2].map((n) => ({ credential: createCredential(`${vendor.name}/key-${n}`, `sk-${vendor.name}-${n}`), weight: 1 })),
      { now: () => clock.now },
    ),
    timeoutMs: options.timeoutMs ?? 120_000,
    firstTokenTimeoutMs: Math.min(options.timeoutMs ?? 120_000, 60_000),
    embedBatchSize: 1,
  });
  const vendor = new ScriptedVendor("primary", clock);
  const backup = new ScriptedVendor("backup", clock);
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const dispatcher = new Dispatcher(
    new Map([
      ["primary", runtime(vendor)],
      ["backup", runtime(backup)],
    ]),
    metrics,
    {
      traffic: {
        ...DEFAULT_TRAFFIC,
        retry: { ...DEFAULT_TRAFFIC.retry, maxAttempts: options.maxAttempts ?? DEFAULT_TRAFFIC.retry.maxAttempts },
        // Outcomes here are about time, not about failure rates: no breaker should open.
        breaker: { ...DEFAULT_TRAFFIC.breaker, enabled: false },
        adaptiveTimeout: { ...DEFAULT_TRAFFIC.adaptiveTimeout, ...options.adaptive },
      },
      now: () => clock.now,
      random: () => 0.5,
      sleep: clock.sleep,
      timer: clock.timer,
    },
  );
  return { clock, vendor, backup, dispatcher, metrics };
}

const params: ChatParams = create(ChatRequestSchema, { model: "m", messages: [{ role: Role.USER, content: "hi" }] });
const on = (provider: string, upstreamModel: string): Candidate => ({ provider, upstreamModel });

/** A call context whose deadline (if any) fires on the simulated clock, as Connect's handler signal does. */
function context(clock: SimClock, deadlineInMs?: number): CallContext {
  const controller = new AbortController();
  if (deadlineInMs !== undefined) clock.timer(deadlineInMs, () => controller.abort(new ConnectError("the deadline passed", Code.DeadlineExceeded)));
  return { principal: { keyId: "t", name: "t", admin: false }, signal: controller.signal, deadline: deadlineInMs === undefined ? undefined : clock.now + deadlineInMs, requestId: "r" };
}

interface Outcome {
  attempts: Attempt[];
  elapsed: number;
  error?: ConnectError;
  text: string;
}

async function unary(s: Setup, candidates: Candidate[], deadlineInMs?: number): Promise<Outcome> {
  const started = s.clock.now;
  try {
    const { value, outcome } = await s.clock.run(s.dispatcher.unary(candidates, context(s.clock, deadlineInMs), (adapter, call) => adapter.chat({ ...call, params })));
    return { attempts: outcome.attempts, elapsed: s.clock.now - started, text: value.message.content };
  } catch (err) {
    if (!(err instanceof DispatchFailure)) throw err;
    return { attempts: err.outcome.attempts, elapsed: s.clock.now - started, error: err.error, text: "" };
  }
}

async function streamed(s: Setup, candidates: Candidate[], deadlineInMs?: number): Promise<Outcome> {
  const started = s.clock.now;
  let text = "";
  const dispatched = s.dispatcher.stream(candidates, context(s.clock, deadlineInMs), (adapter, call) => adapter.chatStream({ ...call, params }));
  try {
    await s.clock.run(
      (async () => {
        for await (const event of dispatched.events) {
          if (event.type === "delta") text += event.content;
        }
      })(),
    );
    return { attempts: dispatched.outcome().attempts, elapsed: s.clock.now - started, text };
  } catch (err) {
    return { attempts: dispatched.outcome().attempts, elapsed: s.clock.now - started, error: ConnectError.from(err), text };
  }
}

/** Healthy answers of `model` in a repeating pattern, one call each. */
async function learnAnswers(s: Setup, model: string, latencies: number[], calls = 20): Promise<void> {
  for (let i = 0; i < calls; i++) {
    s.vendor.script(model, answer(latencies[i % latencies.length]!));
    const { error } = await unary(s, [on("primary", model)]);
    expect(error).toBeUndefined();
  }
}

const outcomes = (attempts: Attempt[]) => attempts.map((a) => `${a.provider}:${a.outcome}`);
const durations = (attempts: Attempt[]) => attempts.map((a) => Number(a.duration?.seconds ?? 0) * 1000 + Math.round((a.duration?.nanos ?? 0) / 1e6));

async function cuts(metrics: GatewayMetrics): Promise<string[]> {
  const metric = await metrics.attemptsCut.get();
  return metric.values.filter((v) => v.value > 0).map((v) => `${v.labels.provider}:${v.labels.wait}:${v.labels.bound}=${v.value}`);
}

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
