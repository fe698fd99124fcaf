import { UpstreamError } from "../providers/upstream-error.js";
import { errorRate } from "./canary.js";
import { hasNoSecret } from "./credential.js";
import { shareOf } from "./key-selection.js";
import { isCanary, type CredentialStateName, type PoolKey } from "./pool-key.js";

/** What an operator sees of a key: never the secret. */
export interface KeyView {
  id: string;
  fingerprint: string;
  state: CredentialStateName;
  reason: string;
  since: number;
  /** When a timed state ends: a cool-down, the next probe, the end of draining (wall clock, for display: the pool measures on a monotonic one). */
  nextAt: number | undefined;
  weight: number;
  trafficShare: number;
  recentSuccesses: number;
  recentErrors: number;
  source: string | undefined;
  version: number | undefined;
  slot: string | undefined;
  canary:
    | { share: number; successes: number; errors: number; promoteAfter: number; activeErrorRate: number; replaces: string | undefined; stagedAt: number }
    | undefined;
}

/** The key as operators see it; `wall` turns the pool's monotonic times into wall-clock ones (epoch ms). */
export function viewOf(key: PoolKey, keys: readonly PoolKey[], wall: (monotonic: number) => number): KeyView {
  const run = key.canary;
  return {
    id: key.credential.id,
    fingerprint: key.credential.fingerprint,
    state: key.state,
    reason: key.reason,
    since: wall(key.since),
    nextAt: key.nextAt === undefined ? undefined : wall(key.nextAt),
    weight: key.weight,
    trafficShare: shareOf(keys, key),
    recentSuccesses: key.successes.total(),
    recentErrors: key.errors.total(),
    source: key.source,
    version: key.version,
    slot: key.slot,
    canary:
      run && isCanary(key)
        ? {
            share: run.share,
            successes: run.successes,
            errors: run.errors,
            promoteAfter: run.promoteAfter,
            activeErrorRate: errorRate(run.activeSuccesses, run.activeErrors),
            replaces: run.replaces,
            stagedAt: wall(run.stagedAt),
          }
        : undefined,
  };
}

/** "2 cooling down, 1 failing, 1 benched as the odd one out, 1 disabled by the vendor"; with `why`, what the vendor answered too ("(HTTP 401)"). */
export function stateCounts(keys: readonly PoolKey[], why: boolean): string {
  const counts = new Map<string, number>();
  for (const key of keys) {
    let label: string = key.state;
    if (key.state === "cooling_down") label = key.benchedFor === "failing" ? "failing" : key.benchedFor === "odd_one_out" ? "benched as the odd one out" : "cooling down";
    // A keyless provider's credential holds nothing to rotate: the vendor refused calls sent without a key (error-messages.ts words the call's error alike).
    if (key.state === "disabled") label = key.disabledBy !== "vendor" ? "disabled by an operator" : hasNoSecret(key.credential) ? "sent without a key and refused by the vendor" : "disabled by the vendor";
    if (why && key.state === "disabled" && key.disabledBy === "vendor" && key.rejectedWith) label += ` (${key.rejectedWith})`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, count]) => `${count} ${label}`).join(", ");
}

/**
 * Why the pool has no key to hand out, as the error `pick` throws (naming
 * the provider and no secret): keys benched for a while → when the first
 * comes back (rate_limited, or overloaded when they are benched for failing
 * alone); keys the vendor rejected → credential_rejected until the next
 * probe, or for good, and how to add one; no key the vendor rejected (operators
 * disabled or rotated them all out) → NO_PROVIDER_AVAILABLE, saying so, and how to add one.
 */
export function noUsableKey(provider: string, keys: readonly PoolKey[], now: number): UpstreamError {
  const message = `provider "${provider}" has no usable key right now (${stateCounts(keys, false)})`;
  const cooling = keys.filter((key) => key.state === "cooling_down" && key.nextAt !== undefined);
  if (cooling.length > 0) {
    const soonest = Math.min(...cooling.map((key) => key.nextAt!));
    const kind = cooling.every((key) => key.benchedFor === "failing") ? "overloaded" : "rate_limited";
    return new UpstreamError({ kind, provider, message, retryAfterMs: untilMs(soonest, now) });
  }
  const probes = keys.filter((key) => key.state === "disabled" && key.disabledBy === "vendor" && key.nextAt !== undefined).map((key) => key.nextAt!);
  if (probes.length > 0) return new UpstreamError({ kind: "credential_rejected", provider, message, retryAfterMs: untilMs(Math.min(...probes), now) });
  const stage = "stage one with AdminService.StageKey";
  if (keys.some((key) => key.state === "disabled" && key.disabledBy === "vendor")) return new UpstreamError({ kind: "credential_rejected", provider, message: `${message}; ${stage}` });
  // No vendor rejected anything: an on-call reading UPSTREAM_CREDENTIAL_REJECTED would look for a revocation at the vendor.
  return new UpstreamError({ kind: "credential_rejected", reason: "NO_PROVIDER_AVAILABLE", provider, message: `${message}: operators disabled or rotated out every key, the vendor rejected none; ${stage}` });
}

/** Whole milliseconds until `at` (the pool's clock may be fractional, as performance.now() is): never early. */
function untilMs(at: number, now: number): number {
  return Math.max(0, Math.ceil(at - now));
}
