/** What a canary has done since it was staged, and what the active keys did over the same time. */
export interface CanaryTally {
  successes: number;
  /** Failures that count against a key (not the caller's own bad requests or cancellations), once per call. */
  errors: number;
  /** The vendor refused the key or its account (401/403, invalid key, quota exhausted): no point going on. */
  hardFailure: string | undefined;
  /** The active keys' outcomes over the same time, counted alike: the baseline the canary is compared with. */
  activeSuccesses: number;
  activeErrors: number;
}

export interface CanaryRule {
  /** Successful calls before promotion. */
  promoteAfter: number;
  /** Errors after which a canary worse than the active keys is rolled back. */
  rollbackAfterErrors: number;
}

export type CanaryJudgement = { action: "wait" } | { action: "promote"; reason: string } | { action: "rollback"; reason: string };

/**
 * The canary rule, on its own so it can be read (and tested) at a glance:
 * - a rejected key (or an exhausted account) is rolled back at once;
 * - the active keys' error rate is a baseline only once they have made
 *   `promoteAfter` calls since the canary was staged. Without one (every
 *   active key rejected or benched: an emergency rotation, where the canary
 *   carries all the traffic), its other errors (5xx, unreachable, 429s: what
 *   any key would meet) say nothing about the key, so nothing but a refusal
 *   rolls it back, and `promoteAfter` successes promote it;
 * - with a baseline, after `rollbackAfterErrors` errors, a canary whose error
 *   rate is worse than the active keys' over the same period is rolled back;
 * - after `promoteAfter` successes, a canary whose error rate is no worse
 *   than the active keys' is promoted;
 * - with a baseline, a canary that has taken three times `promoteAfter`
 *   calls without qualifying is rolled back, so no canary lingers for ever.
 */
export function judgeCanary(tally: CanaryTally, rule: CanaryRule): CanaryJudgement {
  if (tally.hardFailure) return { action: "rollback", reason: tally.hardFailure };
  const rate = errorRate(tally.successes, tally.errors);
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  const activeCalls = tally.activeSuccesses + tally.activeErrors;
  if (activeCalls < rule.promoteAfter) {
    if (tally.successes < rule.promoteAfter) return { action: "wait" };
    const baseline = activeCalls === 0 ? "no calls" : `only ${activeCalls} calls`;
    return { action: "promote", reason: `${tally.successes} successful calls at an error rate of ${percent(rate)} (active keys: ${baseline} to compare with; the vendor did not refuse it)` };
  }
  const activeRate = errorRate(tally.activeSuccesses, tally.activeErrors);
  const worse = rate > activeRate;
  if (tally.errors >= rule.rollbackAfterErrors && worse) {
    return { action: "rollback", reason: `error rate ${percent(rate)} after ${tally.errors} errors, worse than the active keys' ${percent(activeRate)}` };
  }
  if (tally.successes >= rule.promoteAfter && !worse) {
    return { action: "promote", reason: `${tally.successes} successful calls at an error rate of ${percent(rate)} (active keys: ${percent(activeRate)})` };
  }
  if (tally.successes + tally.errors >= rule.promoteAfter * 3) {
    return { action: "rollback", reason: `error rate ${percent(rate)} after ${tally.successes + tally.errors} calls never matched the active keys' ${percent(activeRate)}` };
  }
  return { action: "wait" };
}

export function errorRate(successes: number, errors: number): number {
  const total = successes + errors;
  return total === 0 ? 0 : errors / total;
}
