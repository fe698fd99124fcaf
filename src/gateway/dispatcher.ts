import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { DEFAULT_FIRST_TOKEN_TIMEOUT_MS, DEFAULT_TRAFFIC, type HedgeConfig, type TrafficConfig } from "../config/traffic.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { ChatStreamEvent, ProviderAdapter, UpstreamCall } from "../providers/provider.js";
import { isUpstreamError, REASON_FOR_KIND, UpstreamError } from "../providers/upstream-error.js";
import type { Credential } from "../secrets/credential.js";
import type { KeyPool } from "../secrets/key-pool.js";
import type { CallContext } from "./call-context.js";
import { Breakers, type BreakerPermit, type BreakerState } from "./circuit-breaker.js";
import { AdaptiveTimeouts, type AttemptBound, type Wait } from "./adaptive-timeout.js";
import { gatewayError } from "../common/gateway-error.js";
import { toConnectError } from "./errors.js";
import { RetryBudget } from "./retry-budget.js";
import { backoffMs, breakerVerdict, failureAction, isKeyScoped } from "./retry-policy.js";
import type { Candidate } from "./router.js";
import { startTimer, type StartTimer } from "./timers.js";

export interface ProviderRuntime {
  adapter: ProviderAdapter;
  pool: KeyPool;
  /** Upper bound for one attempt when the caller's deadline is later or absent. */
  timeoutMs: number;
  /** Streams: upper bound for the wait until an attempt's first token. */
  firstTokenTimeoutMs?: number;
  /** Hedged unary calls, when configured. */
  hedge?: HedgeConfig;
  /** The most texts one embedding request carries. */
  embedBatchSize: number;
}

/** What one attempt gets: the adapter to call and the call without its params. */
export type AttemptRun<T> = (adapter: ProviderAdapter, call: Omit<UpstreamCall<unknown>, "params">) => Promise<T>;
export type StreamOpen = (adapter: ProviderAdapter, call: Omit<UpstreamCall<unknown>, "params">) => AsyncIterable<ChatStreamEvent>;

/** The result of a dispatch: what answered, and which candidate served it. */
export interface Dispatched<T> {
  result: T;
  served: Candidate;
}

export interface DispatcherOptions {
  traffic?: TrafficConfig;
  /** Wall clock in ms (breakers, budgets, deadlines); injectable for tests. */
  now?: () => number;
  /** Uniform [0, 1) for backoff jitter. */
  random?: () => number;
  /** Waits `ms`; resolves false when `signal` fires first. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<boolean>;
  /** Starts a timer (attempt timeouts, hedge delays); on `now`'s clock. */
  timer?: StartTimer;
}

/** One attempt about to be sent: the candidate, its runtime, the key, and the breakers' leave. */
interface Target {
  candidate: Candidate;
  runtime: ProviderRuntime;
  credential: Credential;
  permits: { provider?: BreakerPermit; key?: BreakerPermit };
  hedged: boolean;
}

type Settled<T> = { ok: true; value: T; target: Target } | { ok: false; error: unknown; target: Target };

interface Running<T> {
  settled: Promise<Settled<T>>;
  abort(reason: unknown): void;
}

/**
 * Sends a call upstream and shapes the traffic: retries passing failures with
 * backoff (bounded by the caller's deadline and a retry budget per
 * provider), fails over to the provider's next key and then to the next
 * candidate of the fallback chain, skips providers and keys whose circuit
 * breaker is open, hedges slow unary calls where configured, and bounds
 * streams by a first-token timeout. Every attempt is recorded (in
 * `attempts`, the metrics and the key pool's health).
 */
export class Dispatcher {
  private readonly traffic: TrafficConfig;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<boolean>;
  private readonly breakers: Breakers;
  private readonly budget: RetryBudget;
  private readonly timer: StartTimer;
  private readonly timeouts: AdaptiveTimeouts;

  constructor(
    private readonly providers: ReadonlyMap<string, ProviderRuntime>,
    private readonly metrics: GatewayMetrics,
    options: DispatcherOptions = {},
  ) {
    this.traffic = options.traffic ?? DEFAULT_TRAFFIC;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? sleep;
    this.timer = options.timer ?? startTimer;
    this.timeouts = new AdaptiveTimeouts(this.traffic.adaptiveTimeout);
    this.breakers = new Breakers(this.traffic.breaker, this.now, (scope, name, state) => metrics.breakerTransitions.inc({ scope, name, state }));
    this.budget = new RetryBudget(this.traffic.retryBudget, this.now);
  }

  runtime(provider: string): ProviderRuntime | undefined {
    return this.providers.get(provider);
  }

  /** A provider's circuit breaker as health checks see it; undefined while breakers are switched off. */
  providerBreaker(provider: string): { state: BreakerState; retryAfterMs: number } | undefined {
    const breaker = this.breakers.provider(provider);
    return breaker && { state: breaker.current, retryAfterMs: breaker.retryAfterMs() };
  }

  async unary<T>(candidates: readonly Candidate[], ctx: CallContext, attempts: Attempt[], run: AttemptRun<T>): Promise<Dispatched<T>> {
    const plan = new CallPlan(this.planDeps(), candidates, ctx, attempts);
    let target = await plan.first();
    while (target) {
      const settled = await this.attemptUnary(target, plan, ctx, attempts, run);
      if (settled.ok) {
        ctx.info.provider = settled.target.candidate.provider;
        ctx.info.model = settled.target.candidate.upstreamModel;
        return { result: settled.value, served: settled.target.candidate };
      }
      target = await plan.after(settled.target, settled.error);
    }
    throw plan.error();
  }

  /**
   * Streams fail over freely until the first event reaches the consumer;
   * after that a failure ends the stream with STREAM_INTERRUPTED, since
   * another attempt would repeat text the client already has. The candidate
   * that served is left in `ctx.info` (and returned).
   */
  async *stream(candidates: readonly Candidate[], ctx: CallContext, attempts: Attempt[], open: StreamOpen): AsyncGenerator<ChatStreamEvent, Candidate> {
    const plan = new CallPlan(this.planDeps(), candidates, ctx, attempts);
    let target = await plan.first();
    while (target) {
      const { candidate, runtime } = target;
      const attempt = this.begin(target, ctx, attempts, "first_token", this.waitBound(target, plan, ctx, "first_token"));
      /** Once the first event is out: the bound on silence between events, and the longest silence so far. */
      let flowing: { silence: AttemptBound; waitingSince: number; longest?: number } | undefined;
      let ended = false;
      let failure: unknown;
      try {
        for await (const event of open(runtime.adapter, attempt.call)) {
          // While the consumer holds an event the vendor is not the one keeping us waiting.
          attempt.pause();
          if (!flowing) {
            this.timeouts.learn(candidate, "first_token", attempt.elapsed());
            flowing = { silence: this.timeouts.silence(candidate, runtime.timeoutMs), waitingSince: 0 };
          } else {
            flowing.longest = Math.max(flowing.longest ?? 0, this.now() - flowing.waitingSince);
          }
          // The end event is the answer's last word: record the attempt before the summary is built from it.
          if (event.type === "end") {
            attempt.end();
            if (flowing.longest !== undefined) this.timeouts.learnSilence(candidate, flowing.longest);
          }
          yield event;
          flowing.waitingSince = this.now();
          attempt.wait("silence", flowing.silence);
        }
        ended = true;
        attempt.end();
        return candidate;
      } catch (err) {
        ended = true;
        attempt.end(err);
        // A stream cut for its silence cannot be retried: its bound counts as a (censored) sample, so that cuts lift it.
        const cut = attempt.cut();
        if (cut?.wait === "silence") this.timeouts.learnSilence(candidate, cut.bound.ms);
        if (flowing) throw interrupted(err, ctx.signal, candidate);
        failure = err;
      } finally {
        // The consumer stopped early (client went away): the attempt still needs an end.
        if (!ended) attempt.end(new Error("abandoned"), true);
      }
      target = await plan.after(target, failure);
    }
    throw plan.error();
  }

  private planDeps(): PlanDeps {
    return {
      traffic: this.traffic,
      providers: this.providers,
      breakers: this.breakers,
      budget: this.budget,
      metrics: this.metrics,
      now: this.now,
      random: this.random,
      sleep: this.sleep,
    };
  }

  /** One attempt, hedged when the provider asks for it and the first answer is slow. */
  private async attemptUnary<T>(target: Target, plan: CallPlan, ctx: CallContext, attempts: Attempt[], run: AttemptRun<T>): Promise<Settled<T>> {
    const primary = this.launch(target, plan, ctx, attempts, run);
    const delay = this.hedgeDelay(target);
    if (delay === undefined) return primary.settled;
    let timer: { stop(): void } | undefined;
    const early = await Promise.race([primary.settled, new Promise<"hedge">((resolve) => (timer = this.timer(delay, () => resolve("hedge"))))]);
    timer?.stop();
    if (early !== "hedge" || ctx.signal.aborted) return primary.settled;
    const hedgeTarget = plan.hedge(target);
    if (!hedgeTarget) return primary.settled;
    return this.firstSuccess(primary, this.launch(hedgeTarget, plan, ctx, attempts, run), target.candidate.provider);
  }

  /** The first success of two attempts; the other is cancelled (and awaited, so its attempt is recorded before the answer). */
  private firstSuccess<T>(primary: Running<T>, hedge: Running<T>, provider: string): Promise<Settled<T>> {
    return new Promise((resolve) => {
      let failures: Settled<T>[] = [];
      let done = false;
      const settle = (settled: Settled<T>, other: Running<T>): void => {
        if (done) return;
        if (settled.ok) {
          done = true;
          this.metrics.hedges.inc({ provider, winner: settled.target.hedged ? "hedge" : "primary" });
          other.abort(new Error("another attempt answered first"));
          void other.settled.then(() => resolve(settled));
          return;
        }
        failures = [...failures, settled];
        if (failures.length < 2) return;
        done = true;
        this.metrics.hedges.inc({ provider, winner: "none" });
        // Prefer the failure that says something about the vendor over a cancellation.
        resolve(failures.find((f) => !f.ok && !(isUpstreamError(f.error) && f.error.kind === "cancelled")) ?? failures[1]!);
      };
      void primary.settled.then((s) => settle(s, hedge));
      void hedge.settled.then((s) => settle(s, primary));
    });
  }

  private hedgeDelay(target: Target): number | undefined {
    const hedge = target.runtime.hedge;
    if (!hedge) return undefined;
    if (hedge.delayMs !== undefined) return hedge.delayMs;
    const recent = this.timeouts.answerPercentile(target.candidate, hedge.percentile, hedge.minSamples);
    return recent === undefined ? undefined : Math.max(1, Math.ceil(recent));
  }

  /**
   * The bound of an attempt's wait for its answer or first event: the
   * configured timeout, tightened by the pair's learnt latency and the
   * caller's deadline when another attempt could follow (see adaptive-timeout.ts).
   */
  private waitBound(target: Target, plan: CallPlan, ctx: CallContext, wait: "answer" | "first_token"): AttemptBound {
    const { candidate, runtime } = target;
    const configured = wait === "answer" ? runtime.timeoutMs : Math.min(runtime.timeoutMs, runtime.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS);
    const remaining = ctx.deadline === undefined ? undefined : ctx.deadline - this.now();
    return this.timeouts.wait(candidate, wait, configured, remaining, plan.couldFollow(target));
  }

  private launch<T>(target: Target, plan: CallPlan, ctx: CallContext, attempts: Attempt[], run: AttemptRun<T>): Running<T> {
    const attempt = this.begin(target, ctx, attempts, "answer", this.waitBound(target, plan, ctx, "answer"));
    const settled = (async (): Promise<Settled<T>> => {
      try {
        const value = await run(target.runtime.adapter, attempt.call);
        this.timeouts.learn(target.candidate, "answer", attempt.end());
        return { ok: true, value, target };
      } catch (error) {
        attempt.end(error);
        return { ok: false, error, target };
      }
    })();
    return { settled, abort: attempt.abort };
  }

  /**
   * Starts one attempt, bounded by `bound` while it waits for `wait`; `end`
   * records it once, whichever way it ends, and returns its duration.
   */
  private begin(target: Target, ctx: CallContext, attempts: Attempt[], wait: Wait, bound: AttemptBound) {
    const { candidate, runtime, credential, permits } = target;
    const controller = new AbortController();
    const started = this.now();
    ctx.info.provider = candidate.provider;
    ctx.info.model = candidate.upstreamModel;
    // Recorded in the order attempts start (a hedge's winner may end first); filled in when it ends.
    const record = create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome: "pending", hedged: target.hedged });
    attempts.push(record);
    // One controller per attempt, fired by the caller, the attempt's bound or a lost hedge.
    const abort = (reason: unknown): void => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const onCallerAbort = (): void => abort(ctx.signal.reason);
    if (ctx.signal.aborted) onCallerAbort();
    else ctx.signal.addEventListener("abort", onCallerAbort, { once: true });
    let waiting = { wait, bound };
    let cut: typeof waiting | undefined;
    const timer = this.timer(bound.ms, () => {
      if (controller.signal.aborted) return;
      cut = waiting;
      this.metrics.attemptsCut.inc({ provider: candidate.provider, wait: cut.wait, bound: cut.bound.rule });
      abort(timeoutError(`provider "${candidate.provider}" sent nothing for ${cut.bound.ms} ms (${cut.wait}, ${cut.bound.rule} bound)`));
    });
    let ended = false;
    let duration = 0;
    return {
      call: { upstreamModel: candidate.upstreamModel, credential, signal: controller.signal },
      abort,
      /** Streams: waits for the next event, under `next`; so it bounds silence, not the length of an answer. */
      wait: (next: Wait, nextBound: AttemptBound): void => {
        if (ended) return;
        waiting = { wait: next, bound: nextBound };
        timer.restart(nextBound.ms);
      },
      /** Streams: stops the clock while the consumer holds an event. */
      pause: (): void => timer.stop(),
      /** What the attempt was waiting for, and under which bound, when the bound cut it. */
      cut: () => cut,
      elapsed: (): number => this.now() - started,
      end: (err?: unknown, abandoned = false): number => {
        if (ended) return duration;
        ended = true;
        const ms = (duration = Math.max(0, this.now() - started));
        timer.stop();
        ctx.signal.removeEventListener("abort", onCallerAbort);
        const upstream = isUpstreamError(err) ? err : undefined;
        const outcome = err === undefined ? "ok" : abandoned ? "cancelled" : (upstream?.kind ?? "error");
        if (err === undefined) {
          permits.provider?.success();
          permits.key?.success();
          runtime.pool.report(credential.id, { ok: true });
        } else if (abandoned || ctx.signal.aborted || !upstream || upstream.kind === "cancelled") {
          // The caller's cancellation or deadline, or a lost hedge: nothing learnt about the vendor or the key
          // (the pool still hears of it, as a cancellation, so that a probe it handed out is settled).
          permits.provider?.release();
          permits.key?.release();
          runtime.pool.report(credential.id, { ok: false, error: cancelledBy(candidate.provider, credential.id) });
        } else {
          const verdict = breakerVerdict(upstream);
          judge(permits.provider, verdict.provider);
          judge(permits.key, verdict.key);
          runtime.pool.report(credential.id, { ok: false, error: upstream });
        }
        this.metrics.recordUpstream(candidate.provider, err === undefined ? "200" : (upstream?.outcome ?? outcome), ms / 1000);
        record.outcome = outcome;
        record.duration = durationFromMs(Math.round(ms));
        return ms;
      },
    };
  }
}

interface PlanDeps {
  traffic: TrafficConfig;
  providers: ReadonlyMap<string, ProviderRuntime>;
  breakers: Breakers;
  budget: RetryBudget;
  metrics: GatewayMetrics;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<boolean>;
}

/**
 * The attempts of one call: which candidate and key come next after a
 * failure, how long to wait first, and when to give up. Order: retry the
 * candidate (its untried keys first) up to `attemptsPerCandidate`, then the
 * next candidate, never more than `maxAttempts` in all; the last candidate
 * that can be tried may use all the attempts that remain.
 */
class CallPlan {
  private index = 0;
  private total = 0;
  private onCandidate = 0;
  private readonly tried = new Map<string, Set<string>>();
  private readonly reached = new Set<string>();
  private lastError: unknown;
  /** Why the last skipped candidate was skipped, for when no attempt was made at all. */
  private skipError: unknown;
  /** Candidates already recorded as skipped (a wait for keys may pass one twice). */
  private readonly skipped = new Set<string>();
  private waited = 0;
  private waits = 0;

  constructor(
    private readonly deps: PlanDeps,
    private readonly candidates: readonly Candidate[],
    private readonly ctx: CallContext,
    private readonly attempts: Attempt[],
  ) {}

  first(): Promise<Target | undefined> {
    return this.seek();
  }

  /** The next attempt after `failed` ended with `err`, or undefined to give up. */
  async after(failed: Target, err: unknown): Promise<Target | undefined> {
    this.lastError = err;
    const action = failureAction(err);
    if (action === "stop" || this.ctx.signal.aborted || this.total >= this.deps.traffic.retry.maxAttempts) return undefined;
    if (action === "retry" || action === "next_key") {
      const again = await this.stay(failed, err, action);
      if (again !== "move_on") return again;
    }
    const reason = isUpstreamError(err) ? err.kind : "error";
    this.index++;
    this.onCandidate = 0;
    return this.seek({ provider: failed.candidate.provider, reason });
  }

  /** A second attempt on the same candidate, in parallel with a slow first one. */
  hedge(primary: Target): Target | undefined {
    const { candidate, runtime } = primary;
    if (this.total >= this.deps.traffic.retry.maxAttempts) return undefined;
    if (!(this.deps.breakers.provider(candidate.provider)?.admits() ?? true)) return undefined;
    const credential = this.pickKey(runtime, this.triedKeys(candidate.provider)).credential ?? this.pickKey(runtime, new Set()).credential;
    if (!credential || !this.spend(candidate.provider)) return undefined;
    return this.commit(this.acquire(candidate, runtime, credential, true));
  }

  /**
   * Whether another attempt could follow `current` were it to fail: attempts
   * left, and a later candidate or its own provider to send it to. (The retry
   * budget is not consulted: it is spent only when a retry is sent.)
   */
  couldFollow(current: Target): boolean {
    if (this.total >= this.deps.traffic.retry.maxAttempts) return false;
    return this.anyLaterCandidate() || (this.deps.breakers.provider(current.candidate.provider)?.admits() ?? true);
  }

  /** What the caller gets when no attempt is left. */
  error(): ConnectError {
    const err = this.lastError ?? this.skipError;
    const signal = this.ctx.signal;
    // The deadline passed or the caller left between attempts: say so, unless the last attempt already did.
    if (signal.aborted && !(isUpstreamError(err) && (err.kind === "timeout" || err.kind === "cancelled"))) return toConnectError(signal.reason, signal);
    if (err === undefined) return new ConnectError("no provider could take the call", Code.Unavailable);
    return toConnectError(err, signal);
  }

  /** Another attempt on the failed candidate, after a backoff; "move_on" to fail over instead. */
  private async stay(failed: Target, err: unknown, action: "retry" | "next_key"): Promise<Target | undefined | "move_on"> {
    const { retry } = this.deps.traffic;
    // The per-candidate share only makes room for the candidates after this one; without any to try, the rest is this one's.
    if (this.onCandidate >= retry.attemptsPerCandidate && this.anyLaterCandidate()) return "move_on";
    const { candidate, runtime } = failed;
    const provider = candidate.provider;
    const retryAfterMs = isUpstreamError(err) ? err.retryAfterMs : undefined;
    let credential = this.pickKey(runtime, this.triedKeys(provider)).credential;
    let delay: number;
    if (credential) {
      // Another key: a key's own limit does not apply to it; a vendor's trouble might, so back off for that.
      delay = isKeyScoped(err) ? 0 : backoffMs(retry, this.onCandidate, this.deps.random);
    } else {
      if (action === "next_key") return "move_on";
      if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs) return "move_on";
      delay = backoffMs(retry, this.onCandidate, this.deps.random, retryAfterMs);
    }
    if (this.ctx.deadline !== undefined && this.deps.now() + delay >= this.ctx.deadline) return "move_on";
    if (!(this.deps.breakers.provider(provider)?.admits() ?? true)) return "move_on";
    if (!this.spend(provider)) return "move_on";
    if (delay > 0 && !(await this.deps.sleep(delay, this.ctx.signal))) return undefined;
    // The same key(s) again: picked after the wait, when the pool's cool-down (the vendor's retry-after) is over.
    credential ??= await this.pickKeyWaiting(runtime);
    const target = credential && this.acquire(candidate, runtime, credential, false);
    if (!target) return "move_on";
    this.deps.metrics.retries.inc({ provider, reason: isUpstreamError(err) ? err.kind : "error" });
    return this.commit(target);
  }

  /** Whether a candidate after the current one could be tried now (configured, its provider's breaker not open). */
  private anyLaterCandidate(): boolean {
    return this.candidates.slice(this.index + 1).some((c) => this.deps.providers.has(c.provider) && (this.deps.breakers.provider(c.provider)?.admits() ?? true));
  }

  /**
   * The first candidate from `index` on whose breakers and key pool let a call
   * through. When none does but a pool has its keys cooling down for a short
   * while (a vendor's retry-after), the call waits for the soonest rather than
   * fail at once.
   */
  private async seek(from?: { provider: string; reason: string }): Promise<Target | undefined> {
    let soonest: { index: number; ms: number } | undefined;
    for (; this.index < this.candidates.length; this.index++, this.onCandidate = 0) {
      if (this.total >= this.deps.traffic.retry.maxAttempts) return undefined;
      const candidate = this.candidates[this.index]!;
      const runtime = this.deps.providers.get(candidate.provider);
      if (!runtime) continue;
      const breaker = this.deps.breakers.provider(candidate.provider);
      if (breaker && !breaker.admits()) {
        this.skip(candidate, { retryAfterMs: breaker.retryAfterMs() });
        continue;
      }
      const fresh = this.pickKey(runtime, this.triedKeys(candidate.provider));
      const pick = fresh.credential ? fresh : this.pickKey(runtime, new Set());
      if (!pick.credential) {
        this.skip(candidate, pick);
        if (pick.waitable && (!soonest || pick.retryAfterMs < soonest.ms)) soonest = { index: this.index, ms: pick.retryAfterMs };
        continue;
      }
      if (this.reached.has(candidate.provider) && !this.spend(candidate.provider)) continue;
      const target = this.acquire(candidate, runtime, pick.credential, false);
      if (!target) {
        this.skip(candidate, { retryAfterMs: this.deps.traffic.breaker.openMs });
        continue;
      }
      if (from) this.deps.metrics.failovers.inc({ from: from.provider, to: candidate.provider, reason: from.reason });
      return this.commit(target);
    }
    if (!soonest || !(await this.waitForKeys(soonest.ms))) return undefined;
    this.index = soonest.index;
    this.onCandidate = 0;
    return this.seek(from);
  }

  /** Any usable key of the pool, waiting out a short cool-down when the pool has none right now. */
  private async pickKeyWaiting(runtime: ProviderRuntime): Promise<Credential | undefined> {
    for (;;) {
      const pick = this.pickKey(runtime, new Set());
      if (pick.credential || !pick.waitable) return pick.credential;
      if (!(await this.waitForKeys(pick.retryAfterMs))) return undefined;
    }
  }

  /**
   * Waits for a pool's cool-down to end when the wait is short: within
   * `maxRetryAfterMs` in all for the call, before the caller's deadline, and
   * only where retries are on.
   */
  private async waitForKeys(ms: number): Promise<boolean> {
    const wait = Math.max(1, Math.ceil(ms));
    const { maxRetryAfterMs, maxAttempts } = this.deps.traffic.retry;
    if (maxAttempts <= 1 || this.waited + wait > maxRetryAfterMs || this.waits >= MAX_KEY_WAITS) return false;
    if (this.ctx.deadline !== undefined && this.deps.now() + wait >= this.ctx.deadline) return false;
    this.waited += wait;
    this.waits++;
    return this.deps.sleep(wait, this.ctx.signal);
  }

  /**
   * A key from the pool whose breaker lets a call through, not in `exclude`.
   * The pool picks (by weight and its own key health: cool-downs after 429s,
   * rejected keys); keys with an open breaker are excluded one by one until
   * the pool has nothing else to offer. `unusable` is the pool's own error
   * when it has no key it can hand out at all.
   */
  private pickKey(runtime: ProviderRuntime, exclude: ReadonlySet<string>): { credential?: Credential; retryAfterMs: number; unusable?: unknown; waitable?: boolean } {
    const skip = new Set(exclude);
    let retryAfterMs = Number.POSITIVE_INFINITY;
    for (let guard = 0; guard < 1_000; guard++) {
      let credential: Credential;
      try {
        credential = runtime.pool.pick(skip);
      } catch (err) {
        // The pool's own verdict: with a retry-after (keys cooling down) it is worth a short wait.
        const after = isUpstreamError(err) ? err.retryAfterMs : undefined;
        return { retryAfterMs: after ?? this.deps.traffic.breaker.openMs, unusable: err, waitable: after !== undefined };
      }
      if (skip.has(credential.id)) break;
      const breaker = this.deps.breakers.key(credential.id);
      if (!breaker || breaker.admits()) return { credential, retryAfterMs: 0 };
      retryAfterMs = Math.min(retryAfterMs, breaker.retryAfterMs());
      skip.add(credential.id);
    }
    return { retryAfterMs: Number.isFinite(retryAfterMs) ? retryAfterMs : this.deps.traffic.breaker.openMs };
  }

  private acquire(candidate: Candidate, runtime: ProviderRuntime, credential: Credential, hedged: boolean): Target | undefined {
    const providerBreaker = this.deps.breakers.provider(candidate.provider);
    const keyBreaker = this.deps.breakers.key(credential.id);
    const provider = providerBreaker?.acquire();
    if (providerBreaker && !provider) return undefined;
    const key = keyBreaker?.acquire();
    if (keyBreaker && !key) {
      provider?.release();
      return undefined;
    }
    return { candidate, runtime, credential, permits: { provider, key }, hedged };
  }

  /** Counts a target as sent: the attempt totals, the keys tried, and the provider's budget. */
  private commit(target: Target | undefined): Target | undefined {
    if (!target) return undefined;
    const provider = target.candidate.provider;
    this.total++;
    this.onCandidate++;
    this.triedKeys(provider).add(target.credential.id);
    if (!this.reached.has(provider)) {
      this.reached.add(provider);
      this.deps.budget.recordCall(provider);
    }
    return target;
  }

  /** An extra attempt on a provider this call already reached: allowed while its retry budget lasts. */
  private spend(provider: string): boolean {
    if (this.deps.budget.tryRetry(provider)) return true;
    this.deps.metrics.retryBudgetExhausted.inc({ provider });
    return false;
  }

  /**
   * A candidate skipped at once, without a call: its provider's breaker or
   * every key's is open ("circuit_open"), or its key pool has no usable key
   * ("keys_unavailable": the pool has no key to hand out, e.g. all cooling down after 429s, or disabled).
   */
  private skip(candidate: Candidate, why: { retryAfterMs: number; unusable?: unknown }): void {
    const outcome = why.unusable === undefined ? "circuit_open" : "keys_unavailable";
    const once = `${candidate.provider}/${candidate.upstreamModel}/${outcome}`;
    if (!this.skipped.has(once)) {
      this.skipped.add(once);
      this.deps.metrics.breakerSkips.inc({ provider: candidate.provider, outcome });
      this.attempts.push(create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome, duration: durationFromMs(0) }));
    }
    this.skipError =
      why.unusable ??
      gatewayError(
        Code.Unavailable,
        `provider "${candidate.provider}" is failing and is being given a rest (its circuit breaker is open); retry in ${Math.max(1, Math.ceil(why.retryAfterMs / 1000))} s`,
        "CIRCUIT_OPEN",
        { provider: candidate.provider },
        why.retryAfterMs,
      );
  }

  private triedKeys(provider: string): Set<string> {
    let keys = this.tried.get(provider);
    if (!keys) this.tried.set(provider, (keys = new Set()));
    return keys;
  }
}

/** Waits for cooling keys within one call, at most (besides the time bound). */
const MAX_KEY_WAITS = 8;

function cancelledBy(provider: string, credentialId: string): UpstreamError {
  return new UpstreamError({ kind: "cancelled", provider, credentialId, message: "the attempt was cancelled" });
}

function judge(permit: BreakerPermit | undefined, verdict: "success" | "failure" | "neutral"): void {
  if (!permit) return;
  if (verdict === "success") permit.success();
  else if (verdict === "failure") permit.failure();
  else permit.release();
}

/** An abort reason adapters classify as a timeout (kind "timeout"), like AbortSignal.timeout's. */
function timeoutError(message: string): DOMException {
  return new DOMException(message, "TimeoutError");
}

/** A failure after the first token reached the client: the stream ends here, clearly marked. */
function interrupted(err: unknown, signal: AbortSignal, candidate: Candidate): ConnectError {
  if (signal.aborted || !isUpstreamError(err)) return toConnectError(err, signal);
  const base = toConnectError(err, signal);
  return gatewayError(
    base.code,
    `${base.rawMessage}; the answer had already begun streaming, so the stream ends here instead of switching to another attempt (which would repeat text): retry the call to get the whole answer`,
    "STREAM_INTERRUPTED",
    { provider: candidate.provider, upstream_reason: REASON_FOR_KIND[err.kind] },
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (value: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
