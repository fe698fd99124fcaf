import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { gatewayError } from "../common/gateway-error.js";
import type { TrafficConfig } from "../config/traffic.js";
import type { CallTrace } from "../observability/call-trace.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { UpstreamClock } from "../observability/upstream-clock.js";
import { isUpstreamError } from "../providers/upstream-error.js";
import type { Credential } from "../secrets/credential.js";
import type { Target } from "./attempt.js";
import type { Breakers } from "./circuit-breaker.js";
import type { DispatchOutcome } from "./dispatch-outcome.js";
import { toConnectError } from "./errors.js";
import type { ProviderRuntime } from "./provider-runtime.js";
import type { RetryBudget } from "./retry-budget.js";
import { afterHintMs, backoffMs, failureAction, isKeyScoped, mayRetryOnPool, mayTryAnotherKeyForModel } from "./retry-policy.js";
import type { Candidate } from "./router.js";

export interface PlanDeps {
  traffic: TrafficConfig;
  providers: ReadonlyMap<string, ProviderRuntime>;
  breakers: Breakers;
  budget: RetryBudget;
  metrics: GatewayMetrics;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<boolean>;
}

/** The call as its plan sees it: when the caller gives up; and its trace and upstream clock, which its attempts report to. */
export interface PlanCall {
  signal: AbortSignal;
  /** Who makes the call: its key pools count a caller's 429s once towards longer cool-downs, and breakers and pools its timeouts once (key-health.ts). */
  principal?: { readonly keyId: string };
  /** The call's request id, for the key pools' lines its attempts' outcomes cause (a key disabled, benched). */
  requestId?: string;
  deadline?: number;
  trace?: CallTrace;
  upstream?: UpstreamClock;
}

/** A key the pool hands out, or why it has none fresh (its error, when it has none at all; and whether waiting for one is worth it). */
type KeyPick = { credential: Credential } | { credential?: undefined; unusable: unknown; retryAfterMs: number; waitable: boolean };

/** Waits for cooling keys within one call, at most (besides the time bound). */
const MAX_KEY_WAITS = 8;

/**
 * The attempts of one call: which candidate and key come next after a
 * failure, how long to wait first, and when to give up. Order: retry the
 * candidate (its untried keys first) up to `attemptsPerCandidate`, then the
 * next candidate, never more than `maxAttempts` in all; the last candidate
 * that can be tried may use all the attempts that remain. The plan keeps
 * the call's attempt log: attempts sent, and candidates skipped without a call.
 */
export class CallPlan {
  /** Every attempt, in the order they started (and candidates skipped at once). */
  readonly attempts: Attempt[] = [];
  private index = 0;
  private total = 0;
  private onCandidate = 0;
  private readonly tried = new Map<string, Set<string>>();
  private readonly reached = new Set<string>();
  private lastError: unknown;
  /** The candidate of the last attempt sent; before any is, the last one skipped (whose error the caller would get). */
  private lastTried: Candidate | undefined;
  /** Why the last skipped candidate was skipped, for when no attempt was made at all. */
  private skipError: unknown;
  /** Candidates already recorded as skipped (a wait for keys may pass one twice). */
  private readonly skipped = new Set<string>();
  private waited = 0;
  private waits = 0;

  constructor(
    private readonly deps: PlanDeps,
    private readonly candidates: readonly Candidate[],
    private readonly call: PlanCall,
  ) {}

  first(): Promise<Target | undefined> {
    return this.seek();
  }

  /**
   * The next attempt after `failed` ended with `err`, or undefined to give up.
   * A retry spends the provider's retry budget whatever ended the attempt
   * before it, the gateway's own cuts included: against a vendor that hangs
   * those are all there is, and the budget is what keeps them to its share.
   */
  async after(failed: Target, err: unknown): Promise<Target | undefined> {
    this.lastError = err;
    const action = failureAction(err);
    if (action === "stop" || this.over() || this.total >= this.deps.traffic.retry.maxAttempts) return undefined;
    if (action === "retry" || action === "next_key") {
      const again = await this.stay(failed, err, action);
      if (again !== "move_on") return again;
    }
    const otherKey = this.anotherKeyForModel(failed, err);
    if (otherKey) return otherKey;
    const reason = isUpstreamError(err) ? err.kind : "error";
    this.index++;
    this.onCandidate = 0;
    return this.seek({ provider: failed.candidate.provider, reason });
  }

  /** A second attempt on the same candidate, in parallel with a slow first one. */
  hedge(primary: Target): Target | undefined {
    const { candidate, runtime } = primary;
    if (this.total >= this.deps.traffic.retry.maxAttempts || this.over()) return undefined;
    if (!(this.deps.breakers.provider(candidate.provider)?.admits() ?? true)) return undefined;
    const credential = this.pickKey(runtime, this.triedKeys(candidate.provider)).credential ?? this.pickKey(runtime, new Set()).credential;
    if (!credential) return undefined;
    const target = this.spend(candidate.provider) ? this.acquire(candidate, runtime, credential, true) : undefined;
    return target ? this.commit(target) : this.giveBack(runtime, credential);
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

  /** The call's outcome so far; `served` when an attempt answered. */
  outcome(served?: Candidate): DispatchOutcome {
    return { attempts: this.attempts, served, lastTried: this.lastTried };
  }

  /** What the caller gets when no attempt is left. */
  error(): ConnectError {
    const err = this.lastError ?? this.skipError;
    const signal = this.call.signal;
    // Nothing was sent: the caller's deadline had passed first (a deadline of 0, or one spent waiting for keys).
    if (this.total === 0 && this.deadlinePassed()) return callerDeadlinePassed();
    // The deadline passed or the caller left between attempts: say so, unless the last attempt already did.
    if (signal.aborted && !(isUpstreamError(err) && (err.kind === "timeout" || err.kind === "cancelled"))) return toConnectError(signal.reason, signal);
    if (err === undefined) return gatewayError(Code.Unavailable, "no provider could take the call", "NO_PROVIDER_AVAILABLE");
    return toConnectError(err, signal);
  }

  /** Another attempt on the failed candidate, after a backoff; "move_on" to fail over instead. */
  private async stay(failed: Target, err: unknown, action: "retry" | "next_key"): Promise<Target | undefined | "move_on"> {
    const { retry } = this.deps.traffic;
    // The per-candidate share only makes room for the candidates after this one; without any to try, the rest is this one's.
    if (this.onCandidate >= retry.attemptsPerCandidate && this.anyLaterCandidate()) return "move_on";
    const { candidate, runtime } = failed;
    const provider = candidate.provider;
    if (!mayRetryOnPool(err, this.triedKeys(provider).size)) return "move_on";
    const retryAfterMs = isUpstreamError(err) ? err.retryAfterMs : undefined;
    let credential = this.pickKey(runtime, this.triedKeys(provider)).credential;
    let target: Target | undefined;
    try {
      let delay: number;
      if (credential) {
        // Another key: a key's own limit does not apply to it; a vendor's trouble might, so back off for that.
        delay = isKeyScoped(err) ? 0 : backoffMs(retry, this.onCandidate, this.deps.random);
      } else {
        if (action === "next_key") return "move_on";
        if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs) return "move_on";
        // The vendor's hint plus a jitter: every caller that met this 429 must not come back at the same instant.
        delay = backoffMs(retry, this.onCandidate, this.deps.random, retryAfterMs, this.timeLeft());
      }
      if (this.call.deadline !== undefined && this.deps.now() + delay >= this.call.deadline) return "move_on";
      if (!(this.deps.breakers.provider(provider)?.admits() ?? true)) return "move_on";
      if (!this.spend(provider)) return "move_on";
      if (delay > 0 && !(await this.deps.sleep(delay, this.call.signal))) return undefined;
      if (this.over()) return undefined;
      // The same key(s) again: picked after the wait, when the pool's cool-down (the vendor's retry-after) is over.
      credential ??= await this.pickKeyWaiting(runtime);
      target = credential && this.acquire(candidate, runtime, credential, false);
      if (!target) return "move_on";
      this.deps.metrics.retries.inc({ provider, reason: isUpstreamError(err) ? err.kind : "error" });
      return this.commit(target);
    } finally {
      // Whichever way the key picked for this retry was dropped unsent.
      if (credential && !target) this.giveBack(runtime, credential);
    }
  }

  /**
   * After a model's 404 on one key, at once, one other key of the pool that served the model lately (a
   * key's project may lack a model the others' have); undefined to move on to the next candidate.
   */
  private anotherKeyForModel(failed: Target, err: unknown): Target | undefined {
    const { candidate, runtime } = failed;
    const provider = candidate.provider;
    if (!mayTryAnotherKeyForModel(err, this.triedKeys(provider).size)) return undefined;
    if (this.onCandidate >= this.deps.traffic.retry.attemptsPerCandidate && this.anyLaterCandidate()) return undefined;
    const credential = runtime.pool.pickServing(candidate.upstreamModel, this.triedKeys(provider));
    if (!credential) return undefined;
    const target = this.spend(provider) ? this.acquire(candidate, runtime, credential, false) : undefined;
    if (!target) return this.giveBack(runtime, credential);
    this.deps.metrics.retries.inc({ provider, reason: "model_not_found" });
    return this.commit(target);
  }

  /**
   * Whether the call is over before its next attempt: the caller left, or its
   * deadline passed (its timer may not have fired yet). An attempt started
   * then would never be sent, yet be counted and charged as one.
   */
  private over(): boolean {
    return this.call.signal.aborted || this.deadlinePassed();
  }

  private deadlinePassed(): boolean {
    return this.call.deadline !== undefined && this.deps.now() >= this.call.deadline;
  }

  /** The time left before the caller's deadline (Infinity without one). */
  private timeLeft(): number {
    return this.call.deadline === undefined ? Infinity : this.call.deadline - this.deps.now();
  }

  /** Whether a candidate after the current one could be tried now (configured, its provider's breaker not open). */
  private anyLaterCandidate(): boolean {
    return this.candidates.slice(this.index + 1).some((c) => this.deps.providers.has(c.provider) && (this.deps.breakers.provider(c.provider)?.admits() ?? true));
  }

  /**
   * The first candidate from `index` on whose provider breaker and key pool
   * let a call through. When none does but a pool has its keys cooling down
   * for a short while (a vendor's retry-after), the call waits for the
   * soonest rather than fail at once.
   */
  private async seek(from?: { provider: string; reason: string }): Promise<Target | undefined> {
    if (this.over()) return undefined;
    let soonest: { index: number; ms: number } | undefined;
    for (; this.index < this.candidates.length; this.index++, this.onCandidate = 0) {
      if (this.total >= this.deps.traffic.retry.maxAttempts) return undefined;
      const candidate = this.candidates[this.index]!;
      const runtime = this.deps.providers.get(candidate.provider);
      if (!runtime) continue;
      const breaker = this.deps.breakers.provider(candidate.provider);
      if (breaker && !breaker.admits()) {
        this.skip(candidate, "circuit_open", breakerOpen(candidate.provider, breaker.retryAfterMs()));
        continue;
      }
      const fresh = this.pickKey(runtime, this.triedKeys(candidate.provider));
      const pick = fresh.credential ? fresh : this.pickKey(runtime, new Set());
      if (!pick.credential) {
        this.skip(candidate, "keys_unavailable", pick.unusable);
        if (pick.waitable && (!soonest || pick.retryAfterMs < soonest.ms)) soonest = { index: this.index, ms: pick.retryAfterMs };
        continue;
      }
      if (this.reached.has(candidate.provider) && !this.spend(candidate.provider)) {
        this.giveBack(runtime, pick.credential);
        continue;
      }
      const target = this.acquire(candidate, runtime, pick.credential, false);
      if (!target) {
        this.giveBack(runtime, pick.credential);
        this.skip(candidate, "circuit_open", breakerOpen(candidate.provider, this.deps.traffic.breaker.openMs));
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
   * Waits for a pool's cool-down to end when the wait is short: cool-downs of
   * `maxRetryAfterMs` in all for the call, before the caller's deadline, and
   * only where retries are on. The wait is the cool-down plus a jitter
   * (`afterHintMs`): every call waiting for the key would otherwise take it
   * at the instant the cool-down ends, all together, from a vendor that has
   * just said "slow down". The jitter is not counted against
   * `maxRetryAfterMs` (which bounds what the vendor asked for): it is at most
   * as long again as the cool-down, or `baseDelayMs` for a short one.
   */
  private async waitForKeys(ms: number): Promise<boolean> {
    const coolDown = Math.max(1, Math.ceil(ms));
    const { retry } = this.deps.traffic;
    if (retry.maxAttempts <= 1 || this.waited + coolDown > retry.maxRetryAfterMs || this.waits >= MAX_KEY_WAITS) return false;
    const wait = afterHintMs(retry, coolDown, this.deps.random, this.timeLeft());
    if (this.call.deadline !== undefined && this.deps.now() + wait >= this.call.deadline) return false;
    this.waited += coolDown;
    this.waits++;
    return this.deps.sleep(wait, this.call.signal);
  }

  /**
   * A key from the pool, preferring one not in `exclude`. The pool is the one
   * judge of a key's health (cool-downs after 429s, rejected keys, keys that
   * keep failing); when it has no key to hand out it says why, and whether a
   * key is due back soon (a retry-after).
   */
  private pickKey(runtime: ProviderRuntime, exclude: ReadonlySet<string>): KeyPick {
    let credential: Credential;
    try {
      credential = runtime.pool.pick(exclude);
    } catch (err) {
      const after = isUpstreamError(err) ? err.retryAfterMs : undefined;
      return { unusable: err, retryAfterMs: after ?? this.deps.traffic.breaker.openMs, waitable: after !== undefined };
    }
    // The pool hands out a key already tried when it has no other: no fresh key, then.
    if (!exclude.has(credential.id)) return { credential };
    this.giveBack(runtime, credential);
    return { unusable: undefined, retryAfterMs: 0, waitable: false };
  }

  /**
   * A key the pool handed out that this plan sends no attempt with: given back, so that a probe (a rejected
   * key's, one on probation) frees its place at once instead of holding it until the pool gives it up as lost.
   */
  private giveBack(runtime: ProviderRuntime, credential: Credential): undefined {
    runtime.pool.release(credential);
    return undefined;
  }

  private acquire(candidate: Candidate, runtime: ProviderRuntime, credential: Credential, hedged: boolean): Target | undefined {
    const breaker = this.deps.breakers.provider(candidate.provider);
    const permit = breaker?.acquire();
    if (breaker && !permit) return undefined;
    return { candidate, runtime, credential, permit, hedged };
  }

  /** Counts a target as sent: the attempt totals, the keys tried, and the provider's budget. */
  private commit(target: Target | undefined): Target | undefined {
    if (!target) return undefined;
    const provider = target.candidate.provider;
    this.total++;
    this.onCandidate++;
    this.lastTried = target.candidate;
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
   * A candidate skipped at once, without a call: its provider's breaker is
   * open ("circuit_open"), or its key pool has no key to hand out
   * ("keys_unavailable": all cooling down after 429s, failing, or disabled).
   */
  private skip(candidate: Candidate, outcome: "circuit_open" | "keys_unavailable", why: unknown): void {
    const once = `${candidate.provider}/${candidate.upstreamModel}/${outcome}`;
    if (!this.skipped.has(once)) {
      this.skipped.add(once);
      this.deps.metrics.breakerSkips.inc({ provider: candidate.provider, outcome });
      this.attempts.push(create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome, duration: durationFromMs(0) }));
    }
    this.skipError = why;
    // Nothing sent yet: the caller gets this skip's error, so the call log and the ledger name its provider and model too.
    if (this.total === 0) this.lastTried = candidate;
  }

  private triedKeys(provider: string): Set<string> {
    let keys = this.tried.get(provider);
    if (!keys) this.tried.set(provider, (keys = new Set()));
    return keys;
  }
}

function callerDeadlinePassed(): ConnectError {
  return gatewayError(Code.DeadlineExceeded, "the caller's deadline passed before the call could be sent to any provider", "DEADLINE_EXCEEDED");
}

function breakerOpen(provider: string, retryAfterMs: number): ConnectError {
  return gatewayError(
    Code.Unavailable,
    `provider "${provider}" is failing and is being given a rest (its circuit breaker is open); retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`,
    "CIRCUIT_OPEN",
    { provider },
    retryAfterMs,
  );
}
