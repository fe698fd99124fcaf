/**
 * Two counts over a sliding time window, kept in ten buckets: old buckets
 * drop out as time moves on, so the window forgets at a steady pace without
 * remembering every event.
 */
export class SlidingCounts {
  private static readonly BUCKETS = 10;
  private readonly bucketMs: number;
  private readonly stamps: number[] = new Array<number>(SlidingCounts.BUCKETS).fill(Number.NEGATIVE_INFINITY);
  private readonly a: number[] = new Array<number>(SlidingCounts.BUCKETS).fill(0);
  private readonly b: number[] = new Array<number>(SlidingCounts.BUCKETS).fill(0);

  constructor(
    windowMs: number,
    private readonly now: () => number,
  ) {
    this.bucketMs = Math.max(1, windowMs / SlidingCounts.BUCKETS);
  }

  /** Adds to the first count (`which` = 0) or the second (1). */
  add(which: 0 | 1, n = 1): void {
    const index = Math.floor(this.now() / this.bucketMs);
    const slot = index % SlidingCounts.BUCKETS;
    if (this.stamps[slot] !== index) {
      this.stamps[slot] = index;
      this.a[slot] = 0;
      this.b[slot] = 0;
    }
    (which === 0 ? this.a : this.b)[slot]! += n;
  }

  /** Both counts over the window that ends now. */
  totals(): [number, number] {
    const index = Math.floor(this.now() / this.bucketMs);
    let a = 0;
    let b = 0;
    for (let slot = 0; slot < SlidingCounts.BUCKETS; slot++) {
      const stamp = this.stamps[slot]!;
      if (stamp > index - SlidingCounts.BUCKETS && stamp <= index) {
        a += this.a[slot]!;
        b += this.b[slot]!;
      }
    }
    return [a, b];
  }

  clear(): void {
    this.stamps.fill(Number.NEGATIVE_INFINITY);
    this.a.fill(0);
    this.b.fill(0);
  }
}
