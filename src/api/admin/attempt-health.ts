import { NOT_SENT } from "../../gateway/attempt-sent.js";
import { kindForStatus } from "../../providers/status-kinds.js";

/**
 * What an upstream attempt says of its vendor's health, read from its
 * `status` label on switchboard_upstream_duration_seconds (the vendor's HTTP
 * status, or the error kind when there was none):
 * - `failed`: the vendor is unhealthy: a 5xx (529 included), a 408 or 409, a
 *   timeout (the attempt's bound, configured or adaptive), unreachable, an
 *   answer that cannot be read: what the provider breaker counts as failures;
 * - `answered`: the vendor is up: a 2xx, and also the answers about the
 *   request or the key (a caller's 400, an unknown model's 404, a rejected
 *   key's 401, a key's 429: the key pool judges those, per key), and errors
 *   of the gateway's own;
 * - `left_out`: cancelled (the caller went away, a hedge lost, the gateway
 *   shut down), or cut before its request was sent (`not_sent`): nothing is learnt of the vendor, and its duration is not the
 *   vendor's latency.
 */
export type AttemptHealth = "failed" | "answered" | "left_out";

/** The vendor failing: the kinds the provider breaker counts as failures (retry-policy.ts breakerVerdict). */
const VENDOR_FAILING = new Set<string>(["overloaded", "unreachable", "timeout", "bad_response"]);

export function attemptHealth(status: string): AttemptHealth {
  if (status === "cancelled" || status === NOT_SENT) return "left_out";
  if (!/^\d{3}$/.test(status)) return VENDOR_FAILING.has(status) ? "failed" : "answered";
  const code = Number(status);
  if (code >= 200 && code < 300) return "answered";
  return VENDOR_FAILING.has(kindForStatus(code)) ? "failed" : "answered";
}
