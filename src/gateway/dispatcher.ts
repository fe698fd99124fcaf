import { Code, type ConnectError } from "@connectrpc/connect";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { abortKind } from "../common/abort-kind.js";
import { gatewayError } from "../common/gateway-error.js";
import { DEFAULT_FIRST_TOKEN_TIMEOUT_MS, DEFAULT_TRAFFIC, type TrafficConfig } from "../config/traffic.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { ChatStreamEvent } from "../providers/provider.js";
import { isUpstreamError, REASON_FOR_KIND } from "../providers/upstream-error.js";
import { AdaptiveTimeouts, type AttemptBound } from "./adaptive-timeout.js";
import { startAttempt, unsent, type AttemptDeps, type FirstWait, type Target } from "./attempt.js";
import { CallPlan, type PlanCall, type PlanDeps } from "./call-plan.js";
import { Breakers, type BreakerState } from "./circuit-breaker.js";
import { DispatchFailure, type Dispatched, type DispatchedStream } from "./dispatch-outcome.js";
import { toConnectError } from "./errors.js";
import { firstSuccess, hedgeDelay, type Running, type Settled } from "./hedging.js";
import type { AttemptRun, ProviderRuntime, StreamOpen } from "./provider-runtime.js";
import { RetryBudget } from "./retry-budget.js";
import type { Candidate } from "./router.js";
import { startTimer, type StartTimer } from "./timers.js";

export type { ProviderRuntime } from "./provider-runtime.js";

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

/**
 * Asked before each attempt after a call's first goes out (a retry, a
 * failover, a hedge), with the call's attempts so far: resolves to send it,
 * throws to not send it (a retry's call then ends with that error; a hedge
 * is simply not sent).
 */
export interface AttemptGate {
  beforeExtraAttempt(next: Candidate, sent: readonly Attempt[]): Promise<void>;
}

/**
 * Sends a call upstream and shapes the traffic: retries passing failures with
 * backoff (bounded by the caller's deadline and a retry budget per
 * provider), fails over to the provider's next key and then to the next
 * candidate of the fallback chain, skips providers whose circuit breaker is
 * open and keys their pool will not hand out, hedges slow unary calls where
 * configured, and bounds every wait by what is learnt of the model's
 * latency (adaptive-timeout.ts). Before each attempt after a call's first it
 * asks the call's gate (AttemptGate: the key's budget), if it has one. It
 * returns how the call went (every attempt, who served) rather than writing
 * it anywhere.
 */
export class Dispatcher {
  private readonly traffic: TrafficConfig;
  private readonly now: () => number;
  private readonly breakers: Breakers;
  private readonly plans: PlanDeps;
  private readonly attemptDeps: AttemptDeps;
  private readonly timeouts: AdaptiveTimeouts;

  constructor(
    private readonly providers: ReadonlyMap<string, ProviderRuntime>,
    private readonly metrics: GatewayMetrics,
    options: DispatcherOptions = {},
  ) {
    this.traffic = options.traffic ?? DEFAULT_TRAFFIC;
    this.now = options.now ?? Date.now;
    this.timeouts = new AdaptiveTimeouts(this.traffic.adaptiveTimeout);
    this.breakers = new Breakers(this.traffic.breaker, this.now, (name, state) => metrics.breakerTransitions.inc({ scope: "provider", name, state }));
    this.plans = {
      traffic: this.traffic,
      providers,
      breakers: this.breakers,
      budget: new RetryBudget(this.traffic.retryBudget, this.now),
      metrics,
      now: this.now,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? sleep,
    };
    this.attemptDeps = { metrics, now: this.now, timer: options.timer ?? startTimer };
  }

  runtime(provider: string): ProviderRuntime | undefined {
    return this.providers.get(provider);
  }

  /** A provider's circuit breaker as health checks see it; undefined while breakers are switched off. */
  providerBreaker(provider: string): { state: BreakerState; retryAfterMs: number } | undefined {
    const breaker = this.breakers.provider(provider);
    return breaker && { state: breaker.current, retryAfterMs: breaker.retryAfterMs() };
  }

  /** A unary call: its value and outcome, or a DispatchFailure with the caller's error and the outcome. `gate`: asked before each attempt after the first. */
  async unary<T>(candidates: readonly Candidate[], call: PlanCall, run: AttemptRun<T>, gate?: AttemptGate): Promise<Dispatched<T>> {
    const plan = new CallPlan(this.plans, candidates, call);
    let target = await plan.first();
    while (target) {
      const settled = await this.attemptUnary(target, plan, call, run, gate);
      if (settled.ok) return { value: settled.value, outcome: plan.outcome(settled.target.candidate) };
      target = await plan.after(settled.target, settled.error);
      const refusal = target && (await this.refused(target, plan, call, gate));
      // The plan names the target it handed out as tried last; it was not sent.
      if (refusal) throw new DispatchFailure(refusal, { ...plan.outcome(), lastTried: settled.target.candidate });
    }
    throw new DispatchFailure(plan.error(), plan.outcome());
  }

  /**
   * A streamed call. Streams fail over freely until the first event reaches
   * the consumer; after that a failure ends the stream with
   * STREAM_INTERRUPTED, since another attempt would repeat text the client
   * already has. The outcome is complete once the events are.
   */
  stream(candidates: readonly Candidate[], call: PlanCall, open: StreamOpen, gate?: AttemptGate): DispatchedStream {
    const plan = new CallPlan(this.plans, candidates, call);
    const progress: StreamProgress = {};
    return {
      events: this.streamEvents(plan, call, open, progress, gate),
      serving: () => progress.serving,
      outcome: () => ({ ...plan.outcome(progress.served), ...(progress.lastSent && { lastTried: progress.lastSent }) }),
    };
  }

  private async *streamEvents(plan: CallPlan, call: PlanCall, open: StreamOpen, progress: StreamProgress, gate: AttemptGate | undefined): AsyncGenerator<ChatStreamEvent> {
    let target = await plan.first();
    while (target) {
      const { candidate, runtime } = target;
      const attempt = startAttempt(target, call, plan.attempts, this.firstWait(target, plan, call, "first_token"), this.attemptDeps);
      /** Once the first event is out: the bound on silence between events, and the longest silence so far. */
      let flowing: { silence: AttemptBound; waitingSince: number; longest?: number } | undefined;
      let ended = false;
      let failure: unknown;
      try {
        for await (const event of open(runtime.adapter, attempt.call)) {
          // While the consumer holds an event the vendor is not the one keeping us waiting.
          attempt.pause();
          if (!flowing) {
            progress.serving = candidate;
            this.timeouts.learn(candidate, "first_token", attempt.elapsed());
            flowing = { silence: this.timeouts.silence(candidate, runtime.timeoutMs), waitingSince: 0 };
          } else {
            flowing.longest = Math.max(flowing.longest ?? 0, this.now() - flowing.waitingSince);
          }
          // The end event is the answer's last word: record the attempt before the summary is built from it.
          if (event.type === "end") {
            attempt.end();
            progress.served = candidate;
            if (flowing.longest !== undefined) this.timeouts.learnSilence(candidate, flowing.longest);
          }
          yield event;
          flowing.waitingSince = this.now();
          attempt.wait("silence", flowing.silence);
        }
        ended = true;
        attempt.end();
        progress.served = candidate;
        return;
      } catch (err) {
        ended = true;
        attempt.end(err);
        // A stream cut for its silence cannot be retried: its bound counts as a (censored) sample, so that cuts lift it.
        const cut = attempt.cut();
        if (cut?.wait === "silence") this.timeouts.learnSilence(candidate, cut.bound.ms);
        if (flowing) throw interrupted(err, call.signal, candidate);
        failure = err;
      } finally {
        // The consumer stopped early (client went away): the attempt still needs an end.
        if (!ended) attempt.end(new Error("abandoned"), true);
      }
      const sent = target;
      target = await plan.after(sent, failure);
      const refusal = target && (await this.refused(target, plan, call, gate));
      if (refusal) {
        progress.lastSent = sent.candidate;
        throw refusal;
      }
    }
    throw plan.error();
  }

  /** One attempt, hedged when the provider asks for it, the first answer is slow and `gate` lets the hedge go. */
  private async attemptUnary<T>(target: Target, plan: CallPlan, call: PlanCall, run: AttemptRun<T>, gate: AttemptGate | undefined): Promise<Settled<T>> {
    const primary = this.launch(target, plan, call, run);
    const delay = hedgeDelay(target, this.timeouts);
    if (delay === undefined) return primary.settled;
    let timer: { stop(): void } | undefined;
    const early = await Promise.race([primary.settled, new Promise<"hedge">((resolve) => (timer = this.attemptDeps.timer(delay, () => resolve("hedge"))))]);
    timer?.stop();
    if (early !== "hedge" || call.signal.aborted) return primary.settled;
    const hedgeTarget = plan.hedge(target);
    if (!hedgeTarget) return primary.settled;
    if (gate) {
      let primaryEnded = false;
      void primary.settled.then(() => (primaryEnded = true));
      // Refused (the budget cannot take it, or the caller left), the hedge is not sent and the primary is waited for alone.
      if (await this.refused(hedgeTarget, plan, call, gate)) return primary.settled;
      // The primary ended while the gate was asked: a hedge sent now would be for nothing.
      if (primaryEnded) {
        unsent(hedgeTarget);
        return primary.settled;
      }
    }
    return firstSuccess(primary, this.launch(hedgeTarget, plan, call, run), target.candidate.provider, this.metrics);
  }

  /**
   * Whether a target after the call's first attempt is not to be sent: the
   * error the call ends with (`gate`'s, or the caller's, should it leave
   * meanwhile), the target given back unsent; undefined to send it.
   */
  private async refused(target: Target, plan: CallPlan, call: PlanCall, gate: AttemptGate | undefined): Promise<ConnectError | undefined> {
    if (!gate) return undefined;
    let refusal: ConnectError | undefined;
    try {
      await gate.beforeExtraAttempt(target.candidate, plan.attempts);
    } catch (err) {
      refusal = toConnectError(err, call.signal);
    }
    // An attempt started once the caller has left is never sent, yet would be charged as one cut.
    if (!refusal && call.signal.aborted) refusal = plan.error();
    if (refusal) unsent(target);
    return refusal;
  }

  private launch<T>(target: Target, plan: CallPlan, call: PlanCall, run: AttemptRun<T>): Running<T> {
    const attempt = startAttempt(target, call, plan.attempts, this.firstWait(target, plan, call, "answer"), this.attemptDeps);
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
   * The bound of an attempt's wait for its answer or first event: the
   * configured timeout, tightened by the pair's learnt latency and the
   * caller's deadline when another attempt could follow (see adaptive-timeout.ts);
   * how long it holds its provider's breaker shut, if it is a half-open probe;
   * and after how long its silence shows a hang (attempt.ts).
   */
  private firstWait(target: Target, plan: CallPlan, call: PlanCall, wait: "answer" | "first_token"): FirstWait {
    const { candidate, runtime } = target;
    const configured = wait === "answer" ? runtime.timeoutMs : Math.min(runtime.timeoutMs, runtime.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS);
    const remaining = call.deadline === undefined ? undefined : call.deadline - this.now();
    // A half-open probe keeps everyone else out only for a bound of its own (it runs on for its caller).
    target.permit?.holdAtMost(this.timeouts.probeHold(candidate, wait, configured, remaining));
    return {
      wait,
      bound: this.timeouts.wait(candidate, wait, configured, remaining, plan.couldFollow(target)),
      hungAfterMs: this.timeouts.wait(candidate, wait, configured, undefined, true).ms,
    };
  }
}

/** Where a stream stands: whose events are being passed on, and who served once it ended. */
interface StreamProgress {
  serving?: Candidate;
  served?: Candidate;
  /** The last attempt's candidate, when the target the plan handed out after it was not sent (the plan names that one). */
  lastSent?: Candidate;
}

/** A failure after the first token reached the client: the stream ends here, clearly marked. */
function interrupted(err: unknown, signal: AbortSignal, candidate: Candidate): ConnectError {
  // The caller's deadline, not the vendor: the vendor was answering, and the client holds part of the answer.
  if (signal.aborted && abortKind(signal) === "timeout") {
    return gatewayError(
      Code.DeadlineExceeded,
      `the caller's deadline passed mid-answer: provider "${candidate.provider}" had already begun streaming the answer, so the stream ends here; retry the call with a longer deadline to get the whole answer`,
      "STREAM_INTERRUPTED",
      { provider: candidate.provider, upstream_reason: "DEADLINE_EXCEEDED" },
    );
  }
  // The caller went away: nobody reads what follows.
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
