// A dispatcher on a simulated clock, for the traffic tests: the dispatcher's
// timers, backoffs and the caller's deadline, and the fake vendors' answers
// all run on a clock that the test moves. No real time passes.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { DEFAULT_TRAFFIC, type AdaptiveTimeoutConfig, type BreakerConfig } from "../../src/config/traffic.js";
import { abortKind } from "../../src/common/abort-kind.js";
import type { CallContext } from "../../src/gateway/call-context.js";
import { DispatchFailure } from "../../src/gateway/dispatch-outcome.js";
import { Dispatcher, type ProviderRuntime } from "../../src/gateway/dispatcher.js";
import type { Candidate } from "../../src/gateway/router.js";
import type { StartTimer } from "../../src/gateway/timers.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import type { ChatParams, ChatResult, ChatStreamEvent, ProviderAdapter, UpstreamCall } from "../../src/providers/provider.js";
import { UpstreamError, type UpstreamErrorKind } from "../../src/providers/upstream-error.js";
import { createCredential } from "../../src/secrets/credential.js";
import { KeyPool } from "../../src/secrets/key-pool.js";

/** Simulated time: timers fire when the test's run loop reaches them, never on their own. */
export class SimClock {
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
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** One scripted upstream attempt: a unary answer after `ms`, a stream, or a hang (nothing, until cancelled). */
export type Step =
  | { kind: "answer"; ms: number }
  | { kind: "hang" }
  /** The vendor's failure of this kind (a 503: "overloaded") after `ms`, with its retry hint if any (a 429's `retry-after-ms`). */
  | { kind: "fail"; ms: number; failure: UpstreamErrorKind; retryAfterMs?: number }
  /** Waits before each event: the first is the time to the first token; Infinity stalls there. The last event is the end. */
  | { kind: "stream"; waits: number[] };

export const answer = (ms: number): Step => ({ kind: "answer", ms });
export const hang: Step = { kind: "hang" };
export const fail = (failure: UpstreamErrorKind, ms = 0, retryAfterMs?: number): Step => ({ kind: "fail", ms, failure, retryAfterMs });
export const stream = (firstTokenMs: number, gaps: number[]): Step => ({ kind: "stream", waits: [firstTokenMs, ...gaps] });

/** A vendor on the simulated clock that plays its script, one step per attempt, per model. */
export class ScriptedVendor implements ProviderAdapter {
  readonly dialect = "openai";
  private readonly scripts = new Map<string, Step[]>();
  readonly sent: string[] = [];
  /** When each attempt reached the vendor (simulated time). */
  readonly sentAt: number[] = [];

  constructor(
    readonly name: string,
    private readonly clock: SimClock,
  ) {}

  script(model: string, ...steps: Step[]): void {
    this.scripts.set(model, [...(this.scripts.get(model) ?? []), ...steps]);
  }

  /** The call's next scripted step; the vendor has its request from here on (as the transport tells it: requestSent). */
  private next(call: UpstreamCall<unknown>): Step {
    const model = call.upstreamModel;
    call.requestSent?.();
    this.sent.push(model);
    this.sentAt.push(this.clock.now);
    const step = this.scripts.get(model)?.shift();
    if (!step) throw new Error(`${this.name}/${model}: no step scripted`);
    return step;
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const step = this.next(call);
    const ms = step.kind === "answer" || step.kind === "fail" ? step.ms : step.kind === "hang" ? Infinity : NaN;
    if (!(await this.clock.sleep(ms, call.signal))) throw this.aborted(call);
    if (step.kind === "fail") throw new UpstreamError({ kind: step.failure, provider: this.name, credentialId: call.credential.id, message: `${step.failure} from the script`, retryAfterMs: step.retryAfterMs });
    return { id: "x", message: create(MessageSchema, { role: Role.ASSISTANT, content: `${this.name}:${call.upstreamModel}` }), finishReason: FinishReason.STOP, usage: undefined };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncIterable<ChatStreamEvent> {
    const step = this.next(call);
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

export interface Setup {
  clock: SimClock;
  vendor: ScriptedVendor;
  backup: ScriptedVendor;
  dispatcher: Dispatcher;
  metrics: GatewayMetrics;
}

export function setup(
  options: {
    adaptive?: Partial<AdaptiveTimeoutConfig>;
    breaker?: Partial<BreakerConfig>;
    timeoutMs?: number;
    maxAttempts?: number;
    /** Wraps the dispatcher's timers (to watch them). */
    wrapTimer?: (timer: StartTimer) => StartTimer;
    /** Keys per provider's pool (2). */
    keys?: number;
    /** The dispatcher's jitter (0.5 always: every backoff the same). */
    random?: () => number;
  } = {},
): Setup {
  const clock = new SimClock();
  const runtime = (vendor: ScriptedVendor): ProviderRuntime => ({
    adapter: vendor,
    pool: new KeyPool(
      vendor.name,
      Array.from({ length: options.keys ?? 2 }, (_, i) => i + 1).map((n) => ({ credential: createCredential(`${vendor.name}/key-${n}`, `sk-${vendor.name}-${n}`), weight: 1 })),
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
        // Outcomes here are about time, not about failure rates: no breaker, unless the test is about one.
        breaker: { ...DEFAULT_TRAFFIC.breaker, enabled: false, ...options.breaker },
        adaptiveTimeout: { ...DEFAULT_TRAFFIC.adaptiveTimeout, ...options.adaptive },
      },
      now: () => clock.now,
      random: options.random ?? (() => 0.5),
      sleep: clock.sleep,
      timer: options.wrapTimer ? options.wrapTimer(clock.timer) : clock.timer,
    },
  );
  return { clock, vendor, backup, dispatcher, metrics };
}

export const params: ChatParams = create(ChatRequestSchema, { model: "m", messages: [{ role: Role.USER, content: "hi" }] });
export const on = (provider: string, upstreamModel: string): Candidate => ({ provider, upstreamModel });

/** A call context of `caller` (a gateway key id) whose deadline (if any) fires on the simulated clock, as Connect's handler signal does. */
export function context(clock: SimClock, deadlineInMs?: number, caller = "t"): CallContext {
  const controller = new AbortController();
  if (deadlineInMs !== undefined) clock.timer(deadlineInMs, () => controller.abort(new ConnectError("the deadline passed", Code.DeadlineExceeded)));
  return { principal: { keyId: caller, name: caller, admin: false }, signal: controller.signal, deadline: deadlineInMs === undefined ? undefined : clock.now + deadlineInMs, requestId: "r" };
}

export interface Outcome {
  attempts: Attempt[];
  elapsed: number;
  error?: ConnectError;
  text: string;
}

export async function unary(s: Setup, candidates: Candidate[], deadlineInMs?: number, caller?: string): Promise<Outcome> {
  const started = s.clock.now;
  try {
    const { value, outcome } = await s.clock.run(s.dispatcher.unary(candidates, context(s.clock, deadlineInMs, caller), (adapter, call) => adapter.chat({ ...call, params })));
    return { attempts: outcome.attempts, elapsed: s.clock.now - started, text: value.message.content };
  } catch (err) {
    if (!(err instanceof DispatchFailure)) throw err;
    return { attempts: err.outcome.attempts, elapsed: s.clock.now - started, error: err.error, text: "" };
  }
}

export async function streamed(s: Setup, candidates: Candidate[], deadlineInMs?: number): Promise<Outcome> {
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
export async function learnAnswers(s: Setup, model: string, latencies: number[], calls = 20): Promise<void> {
  for (let i = 0; i < calls; i++) {
    s.vendor.script(model, answer(latencies[i % latencies.length]!));
    const { error } = await unary(s, [on("primary", model)]);
    expect(error).toBeUndefined();
  }
}

export const outcomes = (attempts: Attempt[]) => attempts.map((a) => `${a.provider}:${a.outcome}`);
export const durations = (attempts: Attempt[]) => attempts.map((a) => Number(a.duration?.seconds ?? 0) * 1000 + Math.round((a.duration?.nanos ?? 0) / 1e6));

export async function cuts(metrics: GatewayMetrics): Promise<string[]> {
  const metric = await metrics.attemptsCut.get();
  return metric.values.filter((v) => v.value > 0).map((v) => `${v.labels.provider}:${v.labels.wait}:${v.labels.bound}=${v.value}`);
}
