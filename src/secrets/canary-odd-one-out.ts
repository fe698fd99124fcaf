import type { UpstreamErrorKind } from "../providers/upstream-error.js";
import type { AttemptOutcome } from "./key-health.js";
import { isCanary, type CanaryRun, type PoolKey } from "./pool-key.js";

/**
 * What a vendor answers about the request rather than the key: a 400, a 404
 * for the model, a blocked prompt, an operation it does not offer. Usually
 * the caller's doing, so they say nothing about a key on their own; but a
 * canary from a project without access to the model gets nothing but 404s
 * where the active keys succeed.
 */
export const ABOUT_THE_REQUEST: ReadonlySet<UpstreamErrorKind> = new Set(["bad_request", "model_not_found", "content_filtered", "unsupported"]);

/**
 * How unlikely a canary's share of a kind's answers must be, were it no
 * different from the active keys, to count as the odd one out: the pool
 * judges again at each such answer, so the chance of rolling a good canary
 * back over its whole trial stays well under a thousandth.
 */
const SIGNIFICANCE = 1e-4;

/**
 * The odd-one-out rule, for a canary and for an active key alike: of `answers`
 * answers of one kind, `mine` came to the key where `expected` would have,
 * were it no different from the others (its share of the traffic). It stands
 * out when it has at least `minExcess` more than that, and that many would
 * come by chance less than once in `significance` (a binomial test, exact for
 * the few answers that decide).
 */
export function standsOut(mine: number, expected: number, answers: number, minExcess: number, significance: number): boolean {
  if (answers <= 0 || mine - expected < minExcess) return false;
  return binomialTail(answers, expected / answers, mine) <= significance;
}

/** Answers heard since a canary was staged: the calls answered (successes and answers about the request), and how many with each kind about the request. */
interface Answers {
  calls: number;
  byKind: Map<UpstreamErrorKind, number>;
}

/** What one canary run has heard: its own answers, and the active keys' over the same time. */
interface Watch {
  canary: Answers;
  active: Answers;
}

/** A canary's answers about the request that stand out against the active keys': of which kind, and by how much. */
export interface OddOneOut {
  kind: UpstreamErrorKind;
  /** "model_not_found on 9 of its 9 answered calls, the active keys on 0 of 11". */
  detail: string;
}

/**
 * Whether a canary fails where the active keys succeed, on the answers the
 * pool counts as "not the key's fault" (ABOUT_THE_REQUEST). The gateway
 * picks a canary at random among the calls, so the canary and the active
 * keys see the same mix of requests: over the same time, the canary should
 * be answered 404 (or 400, …) about as often as they are: of all the
 * answers of one kind, its share should be about its share of the answered
 * calls. When it has at least rollback_after_errors more of them than that
 * share predicts, and a share so high would happen by chance less than once
 * in SIGNIFICANCE (a binomial test, exact for the few answers that decide),
 * the canary is the odd one out: the pool rolls it back. The caller's own bad
 * requests, which reach every key alike, stay far within that margin; they
 * never count against a canary's tally either (one error where the active
 * keys have none would keep a good canary from being promoted).
 *
 * The comparison is over all the provider's traffic, not per model: a canary
 * lacking access to one model among many stands out once enough calls for
 * that model reach it. (Active keys are judged per model, for as long as they
 * serve: key-odd-one-out.ts, by the same rule, `standsOut`.)
 */
export class CanaryOddOneOut {
  private readonly watches = new WeakMap<CanaryRun, Watch>();

  /**
   * Hears one outcome for every canary under way: as the canary's own, or
   * the active keys' (`countsAsActive`, as the canary tally counts them).
   * Only answers count: a success, or an answer about the request. A 429, a
   * 5xx or a cancellation says nothing about whether the key can serve the
   * request (the canary tally judges those).
   */
  hear(keys: Iterable<PoolKey>, key: PoolKey, outcome: AttemptOutcome, countsAsActive: boolean): void {
    const kind = outcome.ok ? undefined : outcome.error.kind;
    if (kind !== undefined && !ABOUT_THE_REQUEST.has(kind)) return;
    for (const canary of keys) {
      if (!isCanary(canary)) continue;
      const watch = this.watch(canary.canary!);
      const answers = canary === key ? watch.canary : countsAsActive ? watch.active : undefined;
      if (!answers) continue;
      answers.calls++;
      if (kind !== undefined) answers.byKind.set(kind, (answers.byKind.get(kind) ?? 0) + 1);
    }
  }

  /** Whether the canary's answers of this kind (the last one heard already) stand out against the active keys': then it is to be rolled back. */
  judge(canary: PoolKey, kind: UpstreamErrorKind, rollbackAfterErrors: number): OddOneOut | undefined {
    const run = canary.canary;
    if (!run || !ABOUT_THE_REQUEST.has(kind)) return undefined;
    const watch = this.watch(run);
    const mine = watch.canary.byKind.get(kind) ?? 0;
    const theirs = watch.active.byKind.get(kind) ?? 0;
    // The active keys must have succeeded at least once: else they fail alike, or had no calls answered.
    if (watch.active.calls - theirs < 1) return undefined;
    // Were the canary no different, each answer of this kind would be its own by its share of the answered calls.
    const share = watch.canary.calls / (watch.canary.calls + watch.active.calls);
    const answers = mine + theirs;
    if (!standsOut(mine, answers * share, answers, rollbackAfterErrors, SIGNIFICANCE)) return undefined;
    return { kind, detail: `${kind} on ${mine} of its ${watch.canary.calls} answered calls, the active keys on ${theirs} of ${watch.active.calls}` };
  }

  /**
   * The canary's answers about the request beyond what the active keys' rate
   * predicts: they count toward the limit of three times promote_after calls,
   * so a canary answered 404 (or 400) where the active keys are not (or have
   * no answers to compare with) cannot stay undecided for ever, and a good
   * canary among callers sending bad requests is not rolled back for them.
   */
  excess(run: CanaryRun): { calls: number; kinds: string[] } {
    const watch = this.watch(run);
    let calls = 0;
    const kinds: string[] = [];
    for (const [kind, mine] of watch.canary.byKind) {
      const theirs = watch.active.byKind.get(kind) ?? 0;
      const predicted = watch.active.calls > 0 ? (watch.canary.calls * theirs) / watch.active.calls : 0;
      const beyond = Math.floor(Math.max(0, mine - predicted));
      if (beyond > 0) kinds.push(kind);
      calls += beyond;
    }
    return { calls, kinds };
  }

  private watch(run: CanaryRun): Watch {
    let watch = this.watches.get(run);
    if (!watch) {
      watch = { canary: { calls: 0, byKind: new Map() }, active: { calls: 0, byKind: new Map() } };
      this.watches.set(run, watch);
    }
    return watch;
  }
}

/** P(X ≥ k) for X ~ Binomial(n, p), 0 < p < 1: summed in log space, so that long runs neither underflow nor lose the tail. */
export function binomialTail(n: number, p: number, k: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p >= 1) return 1;
  const logOdds = Math.log(p / (1 - p));
  let logTerm = n * Math.log(1 - p); // P(X = 0)
  let tail = 0;
  for (let j = 0; j < n; j++) {
    if (j >= k) tail += Math.exp(logTerm);
    logTerm += Math.log((n - j) / (j + 1)) + logOdds;
  }
  return tail + Math.exp(logTerm); // P(X = n)
}
