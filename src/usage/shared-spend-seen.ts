import type { Period, SpendSeed } from "./budgets.js";

/** How often figures of periods that have ended are dropped. */
const SWEEP_EVERY_MS = 60_000;

/**
 * The shared spend figure (settled and reserved, as Redis answered an
 * admission) this process last saw per key and period: its own count, when
 * Redis fails, starts from it rather than from the ledger alone. The ledger
 * lacks the calls in flight and the rows still queued on every instance, so a
 * count started from it let each instance spend part of what the fleet had
 * spent already once more (the fleet test once saw $3.64 spent of $3 through
 * a failover that outlasted the wait). Started here, N instances spend at
 * most N times what the key had left when each last heard from Redis, plus
 * one call each.
 */
export class SharedSpendSeen {
  private readonly seen = new Map<string, { nanos: number; endMs: number }>();
  private nextSweepMs = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Redis answered an admission of the key: `nanos` spent and reserved, the call's own reservation included. */
  saw(keyId: string, period: Period, nanos: number): void {
    const now = this.now();
    if (now >= this.nextSweepMs) {
      this.nextSweepMs = now + SWEEP_EVERY_MS;
      for (const [id, figure] of this.seen) if (figure.endMs <= now) this.seen.delete(id);
    }
    this.seen.set(idOf(keyId, period.startMs), { nanos, endMs: period.endMs });
  }

  /** The figure last seen (0: none). */
  of(keyId: string, period: Period): number {
    return this.seen.get(idOf(keyId, period.startMs))?.nanos ?? 0;
  }

  /** The ledger's spend, or the figure last seen when it is larger: where this process's own count starts. */
  seed(ledger: SpendSeed): SpendSeed {
    return async (keyId, sinceMs, beforeMs) => Math.max(await ledger(keyId, sinceMs, beforeMs), this.seen.get(idOf(keyId, sinceMs))?.nanos ?? 0);
  }
}

function idOf(keyId: string, periodStartMs: number): string {
  return `${keyId}@${periodStartMs}`;
}
