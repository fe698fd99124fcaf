import type { AdaptiveTimeoutConfig } from "../config/traffic.js";
import type { Candidate } from "./router.js";
import { LatencyProfiles } from "./latency-profiles.js";
import type { LatencyWindow } from "./latency-window.js";

/** The percentile the bounds are learnt from: a pair's slow-but-healthy answers, not its median. */
export const LEARNT_PERCENTILE = 99;

/**
 * What set an attempt's bound: the configured timeout (`timeout_ms`,
 * `first_token_timeout_ms`), the pair's learnt latency, or the share of the
 * caller's deadline kept for the attempts after this one.
 */
export type BoundRule = "configured" | "learnt" | "deadline";

/**
 * Whether a cut by `rule` was the gateway's own choice (a learnt bound, a
 * share of the deadline) rather than the operator's limit: it may fall on a
 * legitimately long answer, so it never counts against the key's health, and
 * against the provider's breaker only when the provider answered nothing else
 * meanwhile; a deadline share's cut, like the caller's deadline, only once the
 * vendor had been silent past the learnt bound too (attempt.ts).
 */
export function isOwnCut(rule: BoundRule | undefined): boolean {
  return rule === "learnt" || rule === "deadline";
}

export interface AttemptBound {
  ms: number;
  rule: BoundRule;
}

/** What an attempt waits for: a unary answer, a stream's first event, or a started stream's next event. */
export type Wait = "answer" | "first_token" | "silence";

/**
 * Bounds each attempt by what is learnt of its (provider, model), so that a
 * hung attempt is cut in time for a retry, without a hand-set timeout
 * (a non-streamed LLM answer can legitimately take a minute, so no fixed
 * number fits every model).
 *
 * The rule, for an attempt that another attempt could follow (attempts left,
 * and a later candidate or its own provider to send it to):
 *
 *   bound = min(configured, learnt, share)
 *   learnt = max(min_ms, multiplier × p99)              once min_samples healthy samples are known, else none
 *   share  = max(min_ms, p99, (1 − deadline_reserve) × time left before the caller's deadline)   with a deadline, else none
 *
 * where p99 is the pair's recent time to an answer (unary) or to the first
 * event (streams), and configured is `timeout_ms` (streams: the smaller of
 * it and `first_token_timeout_ms`). The last attempt a call can make is
 * never cut short: it gets the configured timeout and the whole deadline,
 * since cutting it could only turn a slow answer into a failure. That is also
 * how the windows keep learning when a model gets slower for good: its last
 * attempts still finish, and their times enter the window.
 *
 * A started stream cannot be retried (the client has text), so the silence
 * between its events is bounded by max(min_ms, multiplier × p99 of each
 * stream's longest silence), never beyond `timeout_ms`: a stalled stream
 * ends with STREAM_INTERRUPTED instead of waiting the full timeout.
 *
 * What is learnt: healthy attempts only. An answer or first token cut by a
 * bound gives no sample (it may have been a hang, which says nothing of the
 * model's latency; counting it would let 1.6% of hangs drag the p99 up to the
 * bound and the bound up with it). A stream cut for its silence is the
 * exception: it adds a censored sample, its bound, because that cut cannot
 * be retried, so a model whose pauses grow must lift the bound by itself
 * (cuts of more than 1% of streams raise the p99 to the bound, and the bound
 * to multiplier × that). A cut by the deadline share gives no censored sample
 * either: the share is already at least the p99, so a sample at the share
 * could not lift it (a slow model under short deadlines is still cut), while
 * hangs cut so would drag the learnt bound up as above.
 */
export class AdaptiveTimeouts {
  constructor(
    private readonly config: AdaptiveTimeoutConfig,
    private readonly profiles = new LatencyProfiles(),
  ) {}

  /**
   * The bound of an attempt's wait for its answer (unary) or first event
   * (stream). `remainingMs`: until the caller's deadline, if it set one;
   * `canRetry`: whether another attempt could follow this one.
   */
  wait(candidate: Candidate, wait: "answer" | "first_token", configuredMs: number, remainingMs: number | undefined, canRetry: boolean): AttemptBound {
    let bound: AttemptBound = { ms: configuredMs, rule: "configured" };
    if (!this.config.enabled || !canRetry) return bound;
    const p99 = this.learntP99(candidate, wait);
    if (p99 !== undefined) bound = tighter(bound, { ms: Math.max(this.config.minMs, this.config.multiplier * p99), rule: "learnt" });
    if (remainingMs !== undefined) {
      const share = Math.max(this.config.minMs, p99 ?? 0, (1 - this.config.deadlineReserve) * remainingMs);
      bound = tighter(bound, { ms: share, rule: "deadline" });
    }
    return { ms: Math.ceil(bound.ms), rule: bound.rule };
  }

  /**
   * How long a breaker's half-open probe may keep other calls out (the probe
   * itself runs on): the bound it would have were another attempt to follow
   * it, or multiplier × min_ms before anything is learnt of the pair. A slow
   * probe then holds a provider shut for seconds, not for `timeout_ms`.
   */
  probeHold(candidate: Candidate, wait: "answer" | "first_token", configuredMs: number, remainingMs: number | undefined): number {
    const bound = this.wait(candidate, wait, configuredMs, remainingMs, true);
    return bound.rule === "configured" ? Math.min(configuredMs, this.config.multiplier * this.config.minMs) : bound.ms;
  }

  /** The bound of the silence between a started stream's events. */
  silence(candidate: Candidate, configuredMs: number): AttemptBound {
    const configured: AttemptBound = { ms: configuredMs, rule: "configured" };
    if (!this.config.enabled) return configured;
    const p99 = this.learntP99(candidate, "silence");
    if (p99 === undefined) return configured;
    return tighter(configured, { ms: Math.ceil(Math.max(this.config.minMs, this.config.multiplier * p99)), rule: "learnt" });
  }

  /** A healthy attempt's time: a unary answer's, or a stream's first event's. */
  learn(candidate: Candidate, wait: "answer" | "first_token", ms: number): void {
    this.profiles.record(candidate.provider, candidate.upstreamModel, wait === "answer" ? "answer" : "firstToken", ms);
  }

  /** A stream's longest silence between two events: measured when it ended well, or its bound when it was cut for it (censored). */
  learnSilence(candidate: Candidate, ms: number): void {
    this.profiles.record(candidate.provider, candidate.upstreamModel, "silence", ms);
  }

  /** The pair's recent `percentile` answer time once `minSamples` are known (hedging). */
  answerPercentile(candidate: Candidate, percentile: number, minSamples: number): number | undefined {
    const window = this.profiles.get(candidate.provider, candidate.upstreamModel)?.answer;
    return window && window.count >= minSamples ? window.percentile(percentile) : undefined;
  }

  private learntP99(candidate: Candidate, wait: Wait): number | undefined {
    const profile = this.profiles.get(candidate.provider, candidate.upstreamModel);
    const window: LatencyWindow | undefined = profile && (wait === "answer" ? profile.answer : wait === "first_token" ? profile.firstToken : profile.silence);
    return window && window.count >= this.config.minSamples ? window.percentile(LEARNT_PERCENTILE) : undefined;
  }
}

function tighter(a: AttemptBound, b: AttemptBound): AttemptBound {
  return b.ms < a.ms ? b : a;
}
