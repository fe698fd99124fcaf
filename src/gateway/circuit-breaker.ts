import { OncePerCaller } from "../common/once-per-caller.js";
import { SlidingCounts } from "../common/sliding-window.js";
import type { BreakerConfig } from "../config/traffic.js";

export type BreakerState = "closed" | "open" | "half_open";

/** Leave to send one call; tell it how the call went, exactly once. */
export interface BreakerPermit {
  success(): void;
  failure(): void;
  /**
   * A failure the caller may have caused by what it asked (a timeout: a very
   * long answer on a slow model): while closed it counts once per caller
   * within `window_ms` (once-per-caller.ts), so one caller's slow requests
   * cannot open the breaker for everyone. A probe's decides, as any failure.
   */
  timedOut(caller: string | undefined): void;
  /**
   * The vendor had not answered when a bound of the gateway's own (or the
   * caller, past the point a hang shows: attempt.ts) ended the attempt, which
   * started at `since`. A timeout, as `timedOut`, unless the provider answered
   * another call since then: that shows it working, and this answer merely
   * long (nothing learnt, as `release`).
   */
  wentSilent(caller: string | undefined, since: number): void;
  /** The call said nothing about the target's health (the caller cancelled, or a hedge lost). */
  release(): void;
  /**
   * A half-open probe holds the breaker shut for everyone else while it
   * runs: past `ms` it stops doing so and another probe is let through (this
   * one still decides, should it end first). No effect on other calls.
   */
  holdAtMost(ms: number): void;
}

/**
 * A circuit breaker for one provider or one key. Closed, it counts successes
 * and failures over a sliding window and opens when the failure rate passes
 * the threshold (with enough calls to judge). Open, it refuses calls, so the
 * dispatcher skips its target at once (a run of `consecutiveFailures` opens
 * it too, before the window's rate catches up with a hard outage). After `openMs` it lets `halfOpenProbes`
 * calls through: the first success closes it, a failure opens it again. Timeouts count once per caller.
 */
export class CircuitBreaker {
  private state: BreakerState = "closed";
  private openedAt = 0;
  /** The probes out now, each until when it holds its slot. */
  private readonly probes = new Set<{ until: number }>();
  private streak = 0;
  /** When a call through this breaker last succeeded, whatever its state: the sign of life `wentSilent` looks for. */
  private lastSuccessAt = -Infinity;
  private readonly window: SlidingCounts;
  private readonly timeouts: OncePerCaller;

  constructor(
    private readonly config: BreakerConfig,
    private readonly now: () => number,
    private readonly onTransition: (state: BreakerState) => void = () => {},
  ) {
    this.window = new SlidingCounts(config.windowMs, now);
    this.timeouts = new OncePerCaller(config.windowMs, now);
  }

  /** The state now (an open breaker whose time is up reads as half-open). */
  get current(): BreakerState {
    if (this.state === "open" && this.now() - this.openedAt >= this.config.openMs) this.transition("half_open");
    return this.state;
  }

  /** Whether `acquire` would succeed now; changes nothing but the open → half-open clock. */
  admits(): boolean {
    const state = this.current;
    return state === "closed" || (state === "half_open" && this.probesHolding() < this.config.halfOpenProbes);
  }

  /** How long until an open breaker lets a probe through. */
  retryAfterMs(): number {
    return this.state === "open" ? Math.max(0, this.openedAt + this.config.openMs - this.now()) : 0;
  }

  acquire(): BreakerPermit | undefined {
    if (!this.admits()) return undefined;
    const probe = this.state === "half_open" ? { until: Infinity } : undefined;
    if (probe) this.probes.add(probe);
    let done = false;
    const finish = (result: "success" | "failure" | "release", timedOutFor?: { caller: string | undefined }): void => {
      if (done) return;
      done = true;
      if (probe) this.probes.delete(probe);
      if (result === "success") this.lastSuccessAt = this.now();
      if (result !== "release") this.record(result === "success", probe !== undefined, timedOutFor);
    };
    return {
      success: () => finish("success"),
      failure: () => finish("failure"),
      timedOut: (caller) => finish("failure", { caller }),
      wentSilent: (caller, since) => (this.lastSuccessAt > since ? finish("release") : finish("failure", { caller })),
      release: () => finish("release"),
      holdAtMost: (ms) => {
        if (probe && !done) probe.until = Math.min(probe.until, this.now() + ms);
      },
    };
  }

  private probesHolding(): number {
    const now = this.now();
    let holding = 0;
    for (const probe of this.probes) if (probe.until > now) holding++;
    return holding;
  }

  private record(ok: boolean, probe: boolean, timedOutFor?: { caller: string | undefined }): void {
    if (this.state === "half_open") {
      // Only probes decide; a call let through while closed that ends now says little about now.
      if (!probe) return;
      if (ok) {
        this.window.clear();
        this.transition("closed");
      } else {
        this.open();
      }
      return;
    }
    if (this.state === "open") return;
    // A caller's timeouts count once per window: a caller's choice of request must not open the breaker for everyone.
    if (timedOutFor && !this.timeouts.counts(timedOutFor.caller)) return;
    this.window.add(ok ? 0 : 1);
    if (ok) {
      this.streak = 0;
      return;
    }
    this.streak++;
    const [successes, failures] = this.window.totals();
    const calls = successes + failures;
    const tooMany = this.config.consecutiveFailures > 0 && this.streak >= this.config.consecutiveFailures;
    if (tooMany || (calls >= this.config.minCalls && failures / calls >= this.config.failureRate)) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.streak = 0;
    this.transition("open");
  }

  private transition(state: BreakerState): void {
    if (this.state === state) return;
    this.state = state;
    this.onTransition(state);
  }
}

/**
 * The breakers of one gateway, one per provider, made on first use. A
 * vendor key's own health is its key pool's to judge (cool-downs, disabled
 * keys, keys that keep failing), not a breaker's.
 */
export class Breakers {
  private readonly providers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly config: BreakerConfig,
    private readonly now: () => number,
    private readonly onTransition: (provider: string, state: BreakerState) => void,
  ) {}

  get enabled(): boolean {
    return this.config.enabled;
  }

  provider(name: string): CircuitBreaker | undefined {
    if (!this.config.enabled) return undefined;
    let breaker = this.providers.get(name);
    if (!breaker) this.providers.set(name, (breaker = new CircuitBreaker(this.config, this.now, (state) => this.onTransition(name, state))));
    return breaker;
  }
}
