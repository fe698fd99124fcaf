import { LATENCY_WINDOW_SIZE } from "../config/traffic.js";

/**
 * The latest latency samples of one thing (a pair's answers, first tokens,
 * or streams' longest silences), for its recent percentiles. Kept in arrival
 * order (to drop the oldest) and in sorted order (so a percentile, asked per
 * attempt, is a lookup and always up to date).
 */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private readonly sorted: number[] = [];
  private next = 0;

  constructor(private readonly size = LATENCY_WINDOW_SIZE) {}

  add(ms: number): void {
    if (this.samples.length < this.size) {
      this.samples.push(ms);
    } else {
      this.sorted.splice(lowerBound(this.sorted, this.samples[this.next]!), 1);
      this.samples[this.next] = ms;
    }
    this.sorted.splice(lowerBound(this.sorted, ms), 0, ms);
    this.next = (this.next + 1) % this.size;
  }

  get count(): number {
    return this.samples.length;
  }

  /** The `p`th percentile of the window. */
  percentile(p: number): number | undefined {
    if (this.sorted.length === 0) return undefined;
    return this.sorted[Math.min(this.sorted.length - 1, Math.floor((p / 100) * this.sorted.length))]!;
  }
}

/** The first index of `sorted` whose value is not below `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
