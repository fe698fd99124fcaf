import { z } from "zod";
import { timerMs } from "./durations.js";

/**
 * Traffic shaping settings: retries, the retry budget, circuit breakers and
 * adaptive timeouts (gateway-wide, under `traffic:`), hedging and timeouts
 * (per provider). Every field has a default, so a config file names only
 * what it changes.
 */
/** Samples a latency window keeps: enough for a p99 that is not just the maximum, few enough to follow a change within minutes. */
export const LATENCY_WINDOW_SIZE = 256;

export interface RetryConfig {
  /** Upstream attempts per call, across keys and candidates (1 turns retries and failover off). */
  maxAttempts: number;
  /** Attempts on one candidate (rotating its keys) before failing over to the next; the last candidate may use all that remain. */
  attemptsPerCandidate: number;
  /** First backoff ceiling; it doubles per retry up to `maxDelayMs`, and the delay is drawn uniformly below it (full jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A vendor asking to wait longer than this is not waited for: the call fails over, or the caller gets the hint. */
  maxRetryAfterMs: number;
}

/** At most `ratio` extra attempts per call that reached a provider, over a sliding window, plus `minRetries`. */
export interface RetryBudgetConfig {
  ratio: number;
  windowMs: number;
  minRetries: number;
}

export interface BreakerConfig {
  enabled: boolean;
  /** Opens when this share of the window's calls failed... */
  failureRate: number;
  /** ...and the window holds at least this many calls. */
  minCalls: number;
  windowMs: number;
  /** Also opens after this many failures in a row (a hard outage, seen before the window's rate catches up); 0: never. */
  consecutiveFailures: number;
  /** How long an open breaker skips its provider or key before letting probes through. */
  openMs: number;
  /** Probes let through at once while half-open; one success closes the breaker, one failure opens it again. */
  halfOpenProbes: number;
}

/**
 * Attempt bounds learnt from each (provider, model)'s recent latency, so that
 * a hung attempt is cut in time for a retry without a hand-set timeout (the
 * rule: `src/gateway/adaptive-timeout.ts`, docs/traffic-shaping.md).
 */
export interface AdaptiveTimeoutConfig {
  enabled: boolean;
  /** An attempt that could be retried is cut after this many times the pair's recent p99... */
  multiplier: number;
  /** ...never sooner than this (no rule cuts an attempt that another could follow before min_ms)... */
  minMs: number;
  /** ...once this many successful samples are known for the pair; until then the configured timeouts apply. */
  minSamples: number;
  /** With a caller's deadline, the share of what remains kept for the attempts after this one. */
  deadlineReserve: number;
}

export interface TrafficConfig {
  retry: RetryConfig;
  retryBudget: RetryBudgetConfig;
  breaker: BreakerConfig;
  adaptiveTimeout: AdaptiveTimeoutConfig;
}

/** Hedging for unary calls: a second attempt when the first is slower than `delayMs` or the provider's recent percentile. */
export interface HedgeConfig {
  delayMs?: number;
  percentile: number;
  /** Successful attempts the percentile needs before hedging starts. */
  minSamples: number;
}

export const DEFAULT_TRAFFIC: TrafficConfig = {
  retry: { maxAttempts: 4, attemptsPerCandidate: 2, baseDelayMs: 100, maxDelayMs: 2_000, maxRetryAfterMs: 2_000 },
  retryBudget: { ratio: 0.2, windowMs: 10_000, minRetries: 10 },
  breaker: { enabled: true, failureRate: 0.5, minCalls: 20, windowMs: 10_000, consecutiveFailures: 10, openMs: 5_000, halfOpenProbes: 1 },
  adaptiveTimeout: { enabled: true, multiplier: 3, minMs: 1_000, minSamples: 20, deadlineReserve: 0.5 },
};

/** Time to the first streamed token, when a provider sets none. */
export const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = 60_000;

export const trafficSchema = z.strictObject({
  retry: z
    .strictObject({
      max_attempts: z.number().int().min(1).max(20).optional(),
      attempts_per_candidate: z.number().int().min(1).max(20).optional(),
      base_delay_ms: timerMs.optional(),
      max_delay_ms: timerMs.optional(),
      max_retry_after_ms: timerMs.optional(),
    })
    .optional(),
  retry_budget: z
    .strictObject({
      ratio: z.number().min(0).max(10).optional(),
      window_ms: z.number().int().positive().optional(),
      min_retries: z.number().int().min(0).optional(),
    })
    .optional(),
  breaker: z
    .strictObject({
      enabled: z.boolean().optional(),
      failure_rate: z.number().gt(0).max(1).optional(),
      min_calls: z.number().int().min(1).optional(),
      window_ms: z.number().int().positive().optional(),
      consecutive_failures: z.number().int().min(0).optional(),
      open_ms: z.number().int().positive().optional(),
      half_open_probes: z.number().int().min(1).optional(),
    })
    .optional(),
  adaptive_timeout: z
    .strictObject({
      enabled: z.boolean().optional(),
      multiplier: z.number().min(1).max(100).optional(),
      min_ms: timerMs.optional(),
      min_samples: z.number().int().min(1).max(LATENCY_WINDOW_SIZE).optional(),
      deadline_reserve: z.number().min(0).lt(1).optional(),
    })
    .optional(),
});

export const hedgeSchema = z.strictObject({
  /** A fixed delay; without it, the provider's recent `percentile` latency. */
  delay_ms: timerMs.positive().optional(),
  percentile: z.number().gt(0).lt(100).optional(),
  min_samples: z.number().int().min(1).optional(),
});

export function buildTraffic(file: z.infer<typeof trafficSchema> | undefined): TrafficConfig {
  const d = DEFAULT_TRAFFIC;
  const retry = file?.retry ?? {};
  const budget = file?.retry_budget ?? {};
  const breaker = file?.breaker ?? {};
  const adaptive = file?.adaptive_timeout ?? {};
  return {
    retry: {
      maxAttempts: retry.max_attempts ?? d.retry.maxAttempts,
      attemptsPerCandidate: retry.attempts_per_candidate ?? d.retry.attemptsPerCandidate,
      baseDelayMs: retry.base_delay_ms ?? d.retry.baseDelayMs,
      maxDelayMs: retry.max_delay_ms ?? Math.max(d.retry.maxDelayMs, retry.base_delay_ms ?? 0),
      maxRetryAfterMs: retry.max_retry_after_ms ?? d.retry.maxRetryAfterMs,
    },
    retryBudget: {
      ratio: budget.ratio ?? d.retryBudget.ratio,
      windowMs: budget.window_ms ?? d.retryBudget.windowMs,
      minRetries: budget.min_retries ?? d.retryBudget.minRetries,
    },
    breaker: {
      enabled: breaker.enabled ?? d.breaker.enabled,
      failureRate: breaker.failure_rate ?? d.breaker.failureRate,
      minCalls: breaker.min_calls ?? d.breaker.minCalls,
      windowMs: breaker.window_ms ?? d.breaker.windowMs,
      consecutiveFailures: breaker.consecutive_failures ?? d.breaker.consecutiveFailures,
      openMs: breaker.open_ms ?? d.breaker.openMs,
      halfOpenProbes: breaker.half_open_probes ?? d.breaker.halfOpenProbes,
    },
    adaptiveTimeout: {
      enabled: adaptive.enabled ?? d.adaptiveTimeout.enabled,
      multiplier: adaptive.multiplier ?? d.adaptiveTimeout.multiplier,
      minMs: adaptive.min_ms ?? d.adaptiveTimeout.minMs,
      minSamples: adaptive.min_samples ?? d.adaptiveTimeout.minSamples,
      deadlineReserve: adaptive.deadline_reserve ?? d.adaptiveTimeout.deadlineReserve,
    },
  };
}

export function buildHedge(file: z.infer<typeof hedgeSchema> | undefined): HedgeConfig | undefined {
  if (!file) return undefined;
  return { delayMs: file.delay_ms, percentile: file.percentile ?? 95, minSamples: file.min_samples ?? 20 };
}
