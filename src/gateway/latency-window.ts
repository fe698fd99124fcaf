/** The latest successful attempt durations of one provider, for hedging after its recent pXX. */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private cached: { percentile: number; value: number; at: number } | undefined;
  private added = 0;

  constructor(private readonly size = 256) {}

  add(ms: number): void {
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    this.added++;
  }

  get count(): number {
    return this.samples.length;
  }

  /** The `p`th percentile of the window, recomputed at most every 16 samples. */
  percentile(p: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    if (this.cached && this.cached.percentile === p && this.added - this.cached.at < 16) return this.cached.value;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const value = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
    this.cached = { percentile: p, value, at: this.added };
    return value;
  }
}
