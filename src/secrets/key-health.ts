import { OncePerCaller } from "../common/once-per-caller.js";
import type { KeyPoolConfig } from "../config/secrets-config.js";
import type { BreakerConfig } from "../config/traffic.js";
import type { UpstreamError, UpstreamErrorKind } from "../providers/upstream-error.js";
import type { Credential } from "./credential.js";
import { generationOf, stampedHandle } from "./key-generation.js";
import { aboutKey, changeState, inRotation, isCanary, renewGeneration, seconds, type BenchCause, type CausingCall, type PoolContext, type PoolKey } from "./pool-key.js";

/**
 * How one attempt with a credential ended: success, or the classified failure, with who made the call
 * (its gateway key id) when it is known: one caller's 429s count once towards longer cool-downs, its
 * timeouts once towards the failing rule. And the model asked for, when known: a key answered about the
 * request where the other keys serve that model is the odd one out (key-odd-one-out.ts). And the call's
 * request and trace ids, which the lines its outcome causes carry.
 */
export type AttemptOutcome = ({ ok: true; model?: string } | { ok: false; error: UpstreamError; caller?: string; model?: string }) & { call?: CausingCall };

/**
 * What an outcome meant, for the canary tallies: a success or a failure of
 * the key, nothing about the key, or a canary the vendor refused (to roll
 * back at once).
 */
export type HealthVerdict = "success" | "failure" | "ignored" | { canaryRefused: string };

/** Failures that say nothing about the key: the caller's request or cancellation. */
const NOT_THE_KEYS_FAULT = new Set<UpstreamErrorKind>(["bad_request", "content_filtered", "model_not_found", "endpoint_not_found", "unsupported", "cancelled"]);
/** The vendor failing with this key: what the failing rule counts (the provider breaker's failures). */
const VENDOR_SIDE = new Set<UpstreamErrorKind>(["overloaded", "unreachable", "timeout", "bad_response"]);
/**
 * Vendor-side failures a caller can cause by what it asks (a very long answer on a slow model runs past
 * `timeout_ms`; a vendor's own 504): the failing rule counts them once per caller per window, as the
 * provider breaker does (once-per-caller.ts). 5xx, unreachable and garbled answers count every time.
 */
const CALLER_MAY_CAUSE = new Set<UpstreamErrorKind>(["timeout"]);
const PROBE_BACKOFF_LIMIT = 16;
/** A probe whose outcome never came back (the attempt was abandoned) frees its place after this. */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * The one judge of a key's health, from the outcomes of its attempts:
 * - a 429 cools the key down for the vendor's retry-after, briefly (at most `max_first_cooldown_ms`) unless
 *   429s keep coming in a row; an exhausted quota for longer;
 * - a rejection (401/403) disables it; after a wait one call probes it (half-open), and that call's success brings it back
 *   (only the probe's: an attempt sent before the rejection that succeeds now says nothing of the key now), in a new
 *   generation: a rejection answered late to an attempt handed out before that says nothing of the key now either;
 * - a key that keeps failing at the vendor (5xx, 529, unreachable, timed out, garbled answers) is benched
 *   by the circuit breakers' rule (`traffic.breaker`): `failure_rate` of at least `min_calls` calls over
 *   `window_ms`, or `consecutive_failures` in a row. It cools down (cause `failing`) for `open_ms`, then
 *   comes back on probation: it takes only `half_open_probes` probes at a time, the first probe's outcome decides
 *   (a success clears its history, a failure benches it again at once). Only while another key can take
 *   its traffic: when every key fails, it is the vendor's trouble, the provider breaker's to judge. A timeout
 *   counts once per caller within `window_ms`: one caller's slow requests cannot bench a key for everyone;
 * - a key answered about the request where the other keys serve the same model (a 404 for a model its
 *   project cannot use) is benched for `probe_after_ms` (cause `odd_one_out`), when the pool judges it so
 *   (key-odd-one-out.ts), while another key can take its traffic.
 * The caller's errors and cancellations say nothing about the key.
 */
export class KeyHealth {
  /** Each key's run of 429s, for the escalation of its cool-downs (see `rateLimited`). */
  private readonly rateLimits = new WeakMap<PoolKey, RateLimitRun>();
  /** Each key's callers whose timeouts counted lately (see `judgeFailing`). */
  private readonly timeoutCallers = new WeakMap<PoolKey, OncePerCaller>();

  constructor(
    private readonly ctx: PoolContext,
    private readonly rules: KeyPoolConfig,
    private readonly breaker: BreakerConfig,
  ) {}

  /**
   * Takes in how an attempt with the key went. `sentWith` is the credential the attempt went out with: the
   * probe's own handle (`takeProbe`) makes it the probe's outcome. Any other attempt's (one sent before the key
   * was rejected, a long stream ending now) neither brings a rejected key back nor uses up its probe; nor does its
   * rejection disable the key again once a probe restored it (key-generation.ts).
   */
  hear(key: PoolKey, outcome: AttemptOutcome, now: number, sentWith?: Credential): HealthVerdict {
    const probing = this.settleProbe(key, sentWith);
    if (outcome.ok) {
      key.successes.add();
      this.rateLimits.delete(key);
      if (probing && key.state === "disabled") {
        key.nextAt = undefined;
        key.probeIntervalMs = this.rules.probeAfterMs;
        renewGeneration(key);
        changeState(this.ctx, key, "active", "probe_succeeded", "a probe call succeeded");
      }
      this.judgeFailing(key, "success", now, probing);
      return "success";
    }
    const error = outcome.error;
    if (error.kind === "credential_rejected" && this.handedOutBeforeRestore(key, sentWith)) return "ignored";
    if (error.kind !== "cancelled" && error.kind !== "rate_limited") this.rateLimits.delete(key); // the vendor answered: a run of 429s is over
    if (NOT_THE_KEYS_FAULT.has(error.kind)) {
      // The vendor answered with this key (it is up for it), unless the attempt was cancelled.
      this.judgeFailing(key, error.kind === "cancelled" ? "neutral" : "success", now, probing);
      return "ignored";
    }
    key.errors.add();
    if (error.kind === "credential_rejected") {
      key.rejectedWith = failureCodes(error);
      this.ctx.metrics?.credentialRejections.inc({ provider: this.ctx.provider, credential: key.credential.id });
      this.ctx.logger.warn({ ...aboutKey(this.ctx, key), status: error.status }, "the vendor rejected a key");
    }
    const refused = error.kind === "credential_rejected" || error.kind === "quota_exhausted" ? describeRefusal(error) : undefined;
    if (refused && isCanary(key)) return { canaryRefused: refused };
    switch (error.kind) {
      case "credential_rejected":
        this.rejected(key, refused!, probing, now);
        break;
      case "rate_limited":
        this.rateLimited(key, error.retryAfterMs, outcome.caller, now);
        break;
      case "quota_exhausted":
        this.coolDown(key, error.retryAfterMs ?? this.rules.probeAfterMs, "quota_exhausted", now);
        break;
      default:
        if (probing && key.state === "disabled") key.nextAt = now + key.probeIntervalMs; // inconclusive probe
    }
    const verdict = CALLER_MAY_CAUSE.has(error.kind) ? "caller_may_cause" : VENDOR_SIDE.has(error.kind) ? "failure" : "neutral";
    this.judgeFailing(key, verdict, now, probing, outcome.caller);
    return "failure";
  }

  /** Applies the timed changes of a key's health that are due: cool-downs that ended, lost probes. */
  tick(key: PoolKey, now: number): void {
    if (key.state === "cooling_down" && key.nextAt !== undefined && key.nextAt <= now) {
      key.nextAt = undefined;
      const reason =
        key.benchedFor === "failing"
          ? "back from failing, on probation: its next call decides"
          : key.benchedFor === "odd_one_out"
            ? "back from its bench as the odd one out: the same answers bench it again"
            : "the cool-down ended";
      changeState(this.ctx, key, key.resumeTo, "cooldown_ended", reason);
    }
    if (key.probes.length > 0) key.probes = key.probes.filter((probe) => now - probe.handedOutAt <= PROBE_TIMEOUT_MS);
  }

  /**
   * A key due a probe (a rejected key after its wait, a key on probation), handed out and counted as probing:
   * its credential as a handle of the probe's own, which the attempt reports its outcome with.
   */
  takeProbe(keys: readonly PoolKey[], now: number): Credential | undefined {
    const probe = keys.find((key) => this.probeDue(key, now));
    if (!probe) return undefined;
    const handle = stampedHandle(probe.credential, probe.generation);
    probe.probes.push({ handle, handedOutAt: now });
    const what = probe.state === "disabled" ? "probing a disabled key (half-open)" : "probing a key back from failing (half-open)";
    this.ctx.logger.info(aboutKey(this.ctx, probe), what);
    return handle;
  }

  /** A probe handed out (`takeProbe`) that went to no attempt after all: its place is free at once, the key due as before. */
  release(key: PoolKey, handedOut: Credential): void {
    this.settleProbe(key, handedOut);
  }

  /** Whether the attempt sent with `sentWith` is one of the key's probes under way; its place is freed if so. */
  private settleProbe(key: PoolKey, sentWith: Credential | undefined): boolean {
    const index = sentWith === undefined ? -1 : key.probes.findIndex((probe) => probe.handle === sentWith);
    if (index < 0) return false;
    key.probes.splice(index, 1);
    return true;
  }

  /**
   * Whether the attempt sent with `sentWith` was handed out in an older generation of the key than its own: before
   * a probe restored it, or before it was re-created under the same id. Its rejection is then only logged.
   */
  private handedOutBeforeRestore(key: PoolKey, sentWith: Credential | undefined): boolean {
    const handedOutIn = sentWith && generationOf(sentWith);
    if (handedOutIn === undefined || handedOutIn >= key.generation) return false;
    this.ctx.logger.info(aboutKey(this.ctx, key), "a rejection of an attempt sent before the key was restored (or re-created): it says nothing of the key now");
    return true;
  }

  private probeDue(key: PoolKey, now: number): boolean {
    if (key.state === "disabled") return key.disabledBy === "vendor" && key.probes.length === 0 && key.nextAt !== undefined && key.nextAt <= now;
    return key.probation && inRotation(key) && key.probes.length < this.breaker.halfOpenProbes;
  }

  private rejected(key: PoolKey, refused: string, probing: boolean, now: number): void {
    if (key.state === "active" || key.state === "cooling_down") {
      key.disabledBy = "vendor";
      key.nextAt = now + key.probeIntervalMs;
      changeState(this.ctx, key, "disabled", "credential_rejected", `${refused}; probed again in ${seconds(key.probeIntervalMs)}`);
    } else if (key.state === "disabled" && key.disabledBy === "vendor" && probing) {
      key.probeIntervalMs = Math.min(Math.max(key.probeIntervalMs * 2, 0), this.rules.probeAfterMs * PROBE_BACKOFF_LIMIT);
      key.nextAt = now + key.probeIntervalMs;
      key.reason = `${refused}; a probe failed, probed again in ${seconds(key.probeIntervalMs)}`;
      this.ctx.logger.warn({ ...aboutKey(this.ctx, key), nextProbeInMs: key.probeIntervalMs }, "a probe of a disabled key failed");
    }
  }

  /**
   * A 429 cools the key for the vendor's retry-after (`cooldown_ms` when it gives none), but one 429 for
   * at most `max_first_cooldown_ms` (60 s): a caller who can make the vendor answer 429 (OpenAI answers
   * one oversized request so) must not bench a shared key for every model for long, whatever retry-after
   * the vendor sends. Only 429s in a row (no answer in between, each within `cooldown_repeat_window_ms` of
   * the end of the previous cool-down) double that bound (and the default without retry-after), up to
   * `max_cooldown_ms`: a key whose limit really is used up (a daily limit) is asked once per cool-down.
   * Each caller (gateway key) doubles it once in a run at most: one caller sending the same request again
   * each time the bench ends keeps getting the first bound, never a longer bench for everyone.
   * A 429 from a call sent before the key was benched extends the bench under way to the same bound.
   */
  private rateLimited(key: PoolKey, retryAfterMs: number | undefined, caller: string | undefined, now: number): void {
    let run = this.rateLimits.get(key);
    const alreadyBenched = key.state === "cooling_down" && key.benchedFor === "rate_limited";
    if (!run || (!alreadyBenched && now - run.benchedUntil > this.rules.cooldownRepeatWindowMs)) run = { strikes: 0, benchedUntil: -Infinity, callers: new Set() };
    // A call without a known caller (none in production: every call has a gateway key) counts on its own.
    const newCaller = caller === undefined || !run.callers.has(caller);
    if (caller !== undefined && run.callers.size < MAX_CALLERS_REMEMBERED) run.callers.add(caller);
    if ((!alreadyBenched || run.strikes === 0) && newCaller) run.strikes++;
    const factor = 2 ** Math.min(run.strikes - 1, 30);
    const boundMs = Math.min(this.rules.maxFirstCooldownMs * factor, this.rules.maxCooldownMs);
    const forMs = Math.min(retryAfterMs ?? this.rules.cooldownMs * factor, boundMs);
    this.rateLimits.set(key, run);
    if (this.coolDown(key, forMs, "rate_limited", now)) run.benchedUntil = key.nextAt ?? now + forMs;
  }

  /** Benches a key for a 429 or an exhausted quota, at most `max_cooldown_ms`; whether it is benched. */
  private coolDown(key: PoolKey, forMs: number, cause: "rate_limited" | "quota_exhausted", now: number): boolean {
    const benchMs = Math.min(Math.max(forMs, 0), this.rules.maxCooldownMs);
    if (benchMs <= 0) return false; // configured never to bench a key (or the vendor says retry now): the vendor sees every call
    const what = cause === "rate_limited" ? "rate limited by the vendor" : "the account's quota is exhausted";
    return this.bench(key, benchMs, cause, what, now);
  }

  /**
   * Benches an active key answered about the request where the other keys serve the same model (`why`: the
   * pool's odd-one-out judgement) for `probe_after_ms`, while another key can take its traffic; whether it is
   * benched. Back in rotation, the answers it got still count: the next such answer benches it again.
   */
  benchOddOneOut(key: PoolKey, why: string, now: number): boolean {
    if (key.state !== "active" || !this.anotherInRotation(key)) return false;
    return this.bench(key, this.rules.probeAfterMs, "odd_one_out", `answered where the other keys are served (${why})`, now);
  }

  /**
   * The failing rule, as the circuit breakers judge: counts vendor-side
   * outcomes while the key is in rotation, benches it past the threshold,
   * and settles its probation on its first probe's outcome after a bench. A failure
   * the caller may have caused (a timeout) counts once per caller within
   * `window_ms`, but decides a probation like any failure.
   */
  private judgeFailing(key: PoolKey, verdict: "success" | "failure" | "caller_may_cause" | "neutral", now: number, probing: boolean, caller?: string): void {
    if (!this.breaker.enabled || verdict === "neutral") return;
    // Benched for failing: attempts sent before the bench say nothing about when it comes back.
    if (key.state === "cooling_down" && key.benchedFor === "failing") return;
    if (key.probation) {
      // Only a probe's outcome settles a probation: an attempt sent before the bench says nothing of now.
      if (!probing) return;
      key.probation = false;
      if (verdict !== "success") return this.benchFailing(key, "its call on probation failed", now);
      key.outcomes.clear();
      key.failureStreak = 0;
      key.reason = "back in rotation: its call on probation succeeded";
      this.ctx.logger.info(aboutKey(this.ctx, key), "a key back from failing passed its probation");
      return;
    }
    if (verdict === "caller_may_cause" && !this.timeoutCallersOf(key).counts(caller)) return;
    key.outcomes.add(verdict === "success" ? 0 : 1);
    if (verdict === "success") {
      key.failureStreak = 0;
      return;
    }
    key.failureStreak++;
    const { consecutiveFailures, minCalls, failureRate } = this.breaker;
    const [successes, failures] = key.outcomes.totals();
    const calls = successes + failures;
    if (consecutiveFailures > 0 && key.failureStreak >= consecutiveFailures) this.benchFailing(key, `${key.failureStreak} failures in a row`, now);
    else if (calls >= minCalls && failures / calls >= failureRate) this.benchFailing(key, `${failures} of its last ${calls} calls failed`, now);
  }

  private timeoutCallersOf(key: PoolKey): OncePerCaller {
    let callers = this.timeoutCallers.get(key);
    if (!callers) this.timeoutCallers.set(key, (callers = new OncePerCaller(this.breaker.windowMs, this.ctx.now)));
    return callers;
  }

  private benchFailing(key: PoolKey, why: string, now: number): void {
    // The last key in rotation stays: when no other key can serve, the provider breaker judges the vendor.
    if (!this.anotherInRotation(key)) return;
    if (!this.bench(key, this.breaker.openMs, "failing", `failing at the vendor (${why})`, now)) return;
    key.failureStreak = 0;
    key.probation = true;
  }

  private anotherInRotation(key: PoolKey): boolean {
    return [...this.ctx.keys.values()].some((other) => other !== key && inRotation(other));
  }

  /** Takes a key in rotation out for `forMs` (a bench under way only grows); whether it is benched now. */
  private bench(key: PoolKey, forMs: number, cause: BenchCause, what: string, now: number): boolean {
    const until = now + forMs;
    if (key.state === "cooling_down") {
      key.nextAt = Math.max(key.nextAt ?? until, until);
      if (cause === "failing") key.benchedFor = cause;
      return true;
    }
    if (!inRotation(key)) return false;
    key.resumeTo = key.state as "active" | "standby";
    key.nextAt = until;
    changeState(this.ctx, key, "cooling_down", cause, `${what}; back in ${seconds(forMs)}`);
    key.benchedFor = cause;
    return true;
  }
}

/** A key's run of 429s in a row: how many started a cool-down, when the last cool-down ends, and whose calls met them. */
interface RateLimitRun {
  strikes: number;
  benchedUntil: number;
  callers: Set<string>;
}

/** Callers a run remembers: past the first few the bench is at `max_cooldown_ms` anyway. */
const MAX_CALLERS_REMEMBERED = 64;

function describeRefusal(error: UpstreamError): string {
  const what = error.kind === "quota_exhausted" ? "the vendor says the account's quota is exhausted" : "rejected by the vendor";
  const codes = failureCodes(error);
  return codes ? `${what} (${codes})` : what;
}

/** What the vendor answered, as far as it said: "HTTP 401, invalid_api_key", "110", or "". */
function failureCodes(error: UpstreamError): string {
  return [error.status !== undefined ? `HTTP ${error.status}` : "", error.vendorCode ?? ""].filter(Boolean).join(", ");
}
