import type { GatewayMetrics } from "../observability/metrics.js";
import { isUpstreamError } from "../providers/upstream-error.js";
import type { AdaptiveTimeouts } from "./adaptive-timeout.js";
import type { Target } from "./attempt.js";
import { failureAction } from "./retry-policy.js";

/** How one attempt ended, with the target it went to. */
export type Settled<T> = { ok: true; value: T; target: Target } | { ok: false; error: unknown; target: Target };

/** An attempt under way, as a hedge races it. */
export interface Running<T> {
  settled: Promise<Settled<T>>;
  abort(reason: unknown): void;
}

/**
 * When to send a hedge beside a slow attempt: the provider's fixed delay, or
 * its model's recent latency percentile once enough is known; undefined
 * when hedging is off for the provider.
 */
export function hedgeDelay(target: Target, timeouts: AdaptiveTimeouts): number | undefined {
  const hedge = target.runtime.hedge;
  if (!hedge) return undefined;
  if (hedge.delayMs !== undefined) return hedge.delayMs;
  const recent = timeouts.answerPercentile(target.candidate, hedge.percentile, hedge.minSamples);
  return recent === undefined ? undefined : Math.max(1, Math.ceil(recent));
}

/**
 * The first success of two attempts, or the first final failure (the
 * caller's own fault, which the other attempt would only repeat: a 400, a
 * content filter); the other is cancelled (and awaited, so its attempt is
 * recorded, as cancelled, before the answer). A failure another attempt may
 * get past leaves the other running. When both fail, the failure that says
 * something about the vendor wins over a cancellation.
 */
export function firstSuccess<T>(primary: Running<T>, hedge: Running<T>, provider: string, metrics: GatewayMetrics): Promise<Settled<T>> {
  return new Promise((resolve) => {
    let failures: Settled<T>[] = [];
    let done = false;
    const settle = (settled: Settled<T>, other: Running<T>): void => {
      if (done) return;
      if (settled.ok || isFinal(settled)) {
        done = true;
        other.abort(new Error(settled.ok ? "another attempt answered first" : "another attempt failed with an error this one would repeat"));
        void other.settled.then((late) => {
          // The other answered before its cancellation reached it: that answer is the call's.
          const result = !settled.ok && late.ok ? late : settled;
          metrics.hedges.inc({ provider, winner: result.ok ? (result.target.hedged ? "hedge" : "primary") : "none" });
          resolve(result);
        });
        return;
      }
      failures = [...failures, settled];
      if (failures.length < 2) return;
      done = true;
      metrics.hedges.inc({ provider, winner: "none" });
      resolve(failures.find((f) => !f.ok && !(isUpstreamError(f.error) && f.error.kind === "cancelled")) ?? failures[1]!);
    };
    void primary.settled.then((s) => settle(s, hedge));
    void hedge.settled.then((s) => settle(s, primary));
  });
}

/** A failure after which the plan tries nothing more (failureAction "stop"), but a cancellation: no other attempt could change it. */
function isFinal(settled: Settled<unknown>): boolean {
  if (settled.ok) return false;
  return failureAction(settled.error) === "stop" && !(isUpstreamError(settled.error) && settled.error.kind === "cancelled");
}
