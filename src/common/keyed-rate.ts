/** Keys remembered before those whose allowance is full again are forgotten. */
const SWEEP_AT = 1_000;

/**
 * A rate per key, by GCRA: `burst` at once, then `perSecond` earned back
 * evenly. One number a key (when its next take is due); keys whose allowance
 * is full again are forgotten once SWEEP_AT are remembered, or at `sweep`.
 */
export class KeyedRate {
  /** Per key, the theoretical arrival time of its next take (ms, on `now`'s clock). */
  private readonly tat = new Map<string, number>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one of `key`'s: undefined when taken, else the milliseconds until one is free. A rate of 0 or less takes everything. */
  take(key: string): number | undefined {
    if (this.perSecond <= 0) return undefined;
    const now = this.now();
    const interval = 1000 / this.perSecond;
    const tat = Math.max(this.tat.get(key) ?? now, now);
    const early = tat - now - (this.burst - 1) * interval;
    if (early > 0) return early;
    if (this.tat.size >= SWEEP_AT) this.sweep();
    this.tat.set(key, tat + interval);
    return undefined;
  }

  /** Forgets the keys whose allowance is full again. */
  sweep(): void {
    const now = this.now();
    for (const [key, at] of this.tat) if (at <= now) this.tat.delete(key);
  }
}
