/**
 * Counts over a sliding time window, in buckets (five minutes in ten
 * buckets of 30 s by default): cheap to update on every attempt, and old
 * counts fall away on their own.
 */
export class RecentCounter {
  private readonly counts: number[];
  private readonly starts: number[];

  constructor(
    private readonly now: () => number,
    private readonly bucketMs = 30_000,
    buckets = 10,
  ) {
    this.counts = new Array<number>(buckets).fill(0);
    this.starts = new Array<number>(buckets).fill(-Infinity);
  }

  add(amount = 1): void {
    const start = Math.floor(this.now() / this.bucketMs) * this.bucketMs;
    const slot = Math.floor(start / this.bucketMs) % this.counts.length;
    if (this.starts[slot] !== start) {
      this.starts[slot] = start;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += amount;
  }

  /** The total over the window. */
  total(): number {
    const oldest = this.now() - this.bucketMs * this.counts.length;
    let sum = 0;
    for (let i = 0; i < this.counts.length; i++) if (this.starts[i]! > oldest) sum += this.counts[i]!;
    return sum;
  }
}
