import type { RetryConfig } from "../config/traffic.js";
import { isUpstreamError, type UpstreamErrorKind } from "../providers/upstream-error.js";

/**
 * What to do after a failed attempt:
 * - `stop`: the caller's own error (or cancellation); another vendor would say the same.
 * - `next_candidate`: this candidate cannot serve the call (unknown model, unsupported, garbled answers); a
 *   model's 404 first goes to one other key of the pool that served the model lately (`mayTryAnotherKeyForModel`).
 * - `next_key`: this key cannot (rejected, out of quota, its account refused); another key or candidate may.
 * - `retry`: a passing failure (429, 5xx, 529, reset, refused, timeout): back off and retry, then fail over;
 *   a 429 on one other key of the pool at most (`mayRetryOnPool`).
 * A vendor's own word (`x-should-retry`, as its SDKs honour it) changes the kind's action: "true" makes
 * `stop` (but a cancellation) and `next_candidate` `retry`; "false" makes `retry` `next_key`, never the same
 * key again, though another key or candidate may serve. A kind that already moves on to another key stays so
 * either way: the key is the trouble, and its pool the judge of it.
 */
export type FailureAction = "stop" | "next_candidate" | "next_key" | "retry";

const ACTIONS: Record<UpstreamErrorKind, FailureAction> = {
  bad_request: "stop",
  content_filtered: "stop",
  cancelled: "stop",
  model_not_found: "next_candidate",
  // The provider's base URL is wrong: its other keys call the same path; a fallback's provider may serve.
  endpoint_not_found: "next_candidate",
  unsupported: "next_candidate",
  bad_response: "next_candidate",
  credential_rejected: "next_key",
  quota_exhausted: "next_key",
  // The key's account or project lacks the model, the API or the region: another key's may have them, another candidate may serve.
  account_refused: "next_key",
  rate_limited: "retry",
  overloaded: "retry",
  unreachable: "retry",
  timeout: "retry",
};

export function failureAction(err: unknown): FailureAction {
  // Anything that is not a classified vendor failure is a bug or the caller's doing: never retried.
  if (!isUpstreamError(err)) return "stop";
  const action = ACTIONS[err.kind];
  if (err.vendorSaysRetry === true && (action === "stop" || action === "next_candidate") && err.kind !== "cancelled") return "retry";
  if (err.vendorSaysRetry === false && action === "retry") return "next_key";
  return action;
}

/** Failures that belong to the key (or its account) rather than the vendor: another key may succeed at once, without backing off. */
const KEY_SCOPED = new Set<UpstreamErrorKind>(["rate_limited", "credential_rejected", "quota_exhausted", "account_refused"]);

export function isKeyScoped(err: unknown): boolean {
  return isUpstreamError(err) && KEY_SCOPED.has(err.kind);
}

/**
 * Keys of one pool a call may try once it has met a 429: the key that answered it and one other. A 429 is
 * the key's limit (another key may be under its own) or the request's doing (its size against a per-minute
 * limit the keys share): a call that went round the whole pool would bench every key of it for everyone.
 */
export const KEYS_PER_CALL_AFTER_429 = 2;

/** Whether the call may try its pool again after `err`, having tried `keysTried` of its keys (see KEYS_PER_CALL_AFTER_429). */
export function mayRetryOnPool(err: unknown, keysTried: number): boolean {
  return !(isUpstreamError(err) && err.kind === "rate_limited") || keysTried < KEYS_PER_CALL_AFTER_429;
}

/**
 * Keys of one pool a call may try once it has met a model's 404 (`model_not_found`): the key that answered
 * it and one other that served the model lately (KeyPool.pickServing). A key whose project lost access to a
 * model (moved to another project) is answered 404 where the others serve it; a model no key serves is not
 * tried twice (nor does it spend the retry budget).
 */
export const KEYS_PER_CALL_AFTER_MODEL_NOT_FOUND = 2;

/** Whether a call that met `err` may try another key of the same pool for the model, having tried `keysTried` of its keys. */
export function mayTryAnotherKeyForModel(err: unknown, keysTried: number): boolean {
  return isUpstreamError(err) && err.kind === "model_not_found" && keysTried < KEYS_PER_CALL_AFTER_MODEL_NOT_FOUND;
}

/**
 * What an attempt's failure says of its provider, for the provider's circuit breaker (a key's health is its
 * pool's to judge). A timeout is a failure a caller can cause by what it asks (a very long answer on a slow
 * model): the breaker counts it once per caller (`BreakerPermit.timedOut`).
 */
export function breakerVerdict(err: unknown): "success" | "failure" | "timeout" | "neutral" {
  if (!isUpstreamError(err)) return "neutral";
  switch (err.kind) {
    case "timeout":
      return "timeout";
    case "overloaded":
    case "unreachable":
    case "bad_response":
      return "failure";
    case "rate_limited":
    case "credential_rejected":
    case "quota_exhausted":
    case "account_refused":
    case "cancelled":
    case "endpoint_not_found":
      // One key's trouble, the caller's doing, or the provider's base URL (an open breaker would hide the
      // message that says so): nothing learnt about the vendor.
      return "neutral";
    default:
      // The vendor answered (bad request, filtered, unknown model): it is up.
      return "success";
  }
}

/**
 * Exponential backoff with full jitter: a delay drawn uniformly below
 * min(max, base × 2^(retry-1)), so that callers failing together do not retry
 * together. After a vendor's own hint (`retry-after`, RetryInfo) the hint is a
 * floor with the jitter on top of it (`afterHintMs`), never instead of it.
 * `withinMs`: the time left before the caller's deadline, if it has one.
 */
export function backoffMs(config: RetryConfig, retry: number, random: () => number, retryAfterMs?: number, withinMs?: number): number {
  const ceiling = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** Math.max(0, retry - 1));
  if (retryAfterMs === undefined) return Math.floor(random() * ceiling);
  return afterHintMs(config, retryAfterMs, random, withinMs, ceiling);
}

/**
 * How long to wait out a vendor's hint, or a key pool's cool-down (which is
 * the vendor's hint): the hint, plus a jitter drawn uniformly below
 * min(`maxDelayMs`, max(hint, `minSpreadMs`)). Every caller that met the same
 * 429, or found the same key cooling down, would otherwise come back at the
 * instant it ends, and the vendor that said "slow down" would get them all at
 * once. Spread over as long again as the hint, they come a few at a time, and
 * the first of them to meet another 429 cools the key again before most of the
 * others are due: they find it cooling and wait anew, so that call is in
 * effect the probe. (A gate letting one probe through while the others wait
 * for its outcome would bound the burst to one call, but needs a shared
 * waiting room per key beside the pool, which already judges every outcome;
 * the jitter bounds it to the few calls due while that first answer is on
 * its way.) The jitter takes at most half the time the caller's deadline
 * leaves past the hint (`withinMs` from now), so that it never turns a wait
 * that fits into one that does not, and leaves the attempt time to answer.
 */
export function afterHintMs(config: RetryConfig, hintMs: number, random: () => number, withinMs = Infinity, minSpreadMs = config.baseDelayMs): number {
  const hint = Math.max(0, Math.ceil(hintMs));
  const spread = Math.min(config.maxDelayMs, Math.max(hint, minSpreadMs), Math.max(0, (withinMs - hint) / 2));
  return hint + Math.floor(random() * spread);
}
