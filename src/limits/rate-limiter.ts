/** A key's limits; 0 means unlimited. */
export interface RateLimits {
  requestsPerMinute: number;
  tokensPerMinute: number;
}

export type RateDecision = { allowed: true } | { allowed: false; limit: "requests" | "tokens"; retryAfterMs: number };

/**
 * Requests and tokens per minute per key. Tokens are taken at admission from
 * an estimate and reconciled when the call ends (`adjustTokens` with the real
 * count minus the estimate).
 */
export interface RateLimiter {
  acquire(key: string, limits: RateLimits, tokens: number): Promise<RateDecision>;
  /** Positive: the call used more than estimated; negative: gives tokens back. */
  adjustTokens(key: string, limits: RateLimits, delta: number): Promise<void>;
  close(): void;
}

export const WINDOW_MS = 60_000;

/**
 * The tokens `acquire` takes for a call estimated at `tokens`: never more than
 * a minute's allowance (a larger call puts the key in debt once it is
 * reconciled). Reconciling against this, not the estimate, is what keeps a
 * huge `max_tokens` from giving back what was never taken.
 */
export function tokensTaken(limits: RateLimits, tokens: number): number {
  return limits.tokensPerMinute > 0 ? Math.min(Math.max(Math.round(tokens), 0), limits.tokensPerMinute) : 0;
}

/**
 * GCRA (the generic cell rate algorithm) per key, in process: one number per
 * key and limit, the "theoretical arrival time". A key may use its whole
 * per-minute allowance in a burst, then earns it back evenly. A request
 * larger than a whole minute's tokens is let through when the allowance is
 * full (and puts the key in debt), instead of never.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly tat = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    // Forget keys whose allowance is full again.
    this.sweeper = setInterval(() => {
      const now = this.now();
      for (const [key, tat] of this.tat) if (tat <= now) this.tat.delete(key);
    }, WINDOW_MS);
    this.sweeper.unref();
  }

  async acquire(key: string, limits: RateLimits, tokens: number): Promise<RateDecision> {
    return this.acquireNow(key, limits, tokens);
  }

  acquireNow(key: string, limits: RateLimits, tokens: number): RateDecision {
    const now = this.now();
    let requestsTat: number | undefined;
    let tokensTat: number | undefined;
    if (limits.requestsPerMinute > 0) {
      requestsTat = this.nextRequestTat(key, limits.requestsPerMinute, now);
      if (requestsTat - WINDOW_MS > now) return { allowed: false, limit: "requests", retryAfterMs: Math.ceil(requestsTat - WINDOW_MS - now) };
    }
    if (limits.tokensPerMinute > 0) {
      const cost = tokensTaken(limits, tokens);
      tokensTat = Math.max(this.tat.get(`${key}:t`) ?? now, now) + (cost * WINDOW_MS) / limits.tokensPerMinute;
      if (tokensTat - WINDOW_MS > now) return { allowed: false, limit: "tokens", retryAfterMs: Math.ceil(tokensTat - WINDOW_MS - now) };
    }
    if (requestsTat !== undefined) this.tat.set(`${key}:r`, requestsTat);
    if (tokensTat !== undefined) this.tat.set(`${key}:t`, tokensTat);
    return { allowed: true };
  }

  /**
   * Sets a key's state to a shared count's, given as how far each TAT is
   * ahead of now (0: a full allowance), so that counting here goes on from it.
   */
  follow(key: string, requestsAheadMs: number, tokensAheadMs: number): void {
    const now = this.now();
    for (const [kind, ahead] of [["r", requestsAheadMs], ["t", tokensAheadMs]] as const) {
      if (ahead > 0) this.tat.set(`${key}:${kind}`, now + ahead);
      else this.tat.delete(`${key}:${kind}`);
    }
  }

  /** The key's requests TAT should one more request be taken now. */
  private nextRequestTat(key: string, requestsPerMinute: number, now: number): number {
    return Math.max(this.tat.get(`${key}:r`) ?? now, now) + WINDOW_MS / requestsPerMinute;
  }

  async adjustTokens(key: string, limits: RateLimits, delta: number): Promise<void> {
    if (limits.tokensPerMinute <= 0 || delta === 0) return;
    const now = this.now();
    const tat = Math.max(this.tat.get(`${key}:t`) ?? now, now) + (delta * WINDOW_MS) / limits.tokensPerMinute;
    if (tat <= now) this.tat.delete(`${key}:t`);
    else this.tat.set(`${key}:t`, tat);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
