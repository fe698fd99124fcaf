import type { Histogram } from "prom-client";

/** One provider's share of a histogram, cumulative since the gateway started. */
export interface ProviderHistogram {
  /** Bucket upper bounds in seconds, ascending, Infinity last. */
  bounds: number[];
  /** Observations at or below each bound (cumulative, as Prometheus buckets are). */
  counts: number[];
  /** Observations whose labels the reader counted as failures. */
  failed: number;
}

/** A histogram read by provider, summed over its other labels. */
export type ProviderHistograms = Map<string, ProviderHistogram>;

type Labels = Partial<Record<string, string | number>>;

/**
 * Reads a prom-client histogram labelled by `provider`: each provider's
 * buckets summed over every other label (status, model); `failed(labels)`
 * says which observations count as failures, and `counted(labels)` which
 * are read at all.
 */
export async function readByProvider(histogram: Histogram<string>, failed: (labels: Labels) => boolean = () => false, counted: (labels: Labels) => boolean = () => true): Promise<ProviderHistograms> {
  const byProvider: ProviderHistograms = new Map();
  for (const sample of (await histogram.get()).values) {
    if (!counted(sample.labels)) continue;
    const provider = String(sample.labels.provider ?? "");
    let entry = byProvider.get(provider);
    if (!entry) byProvider.set(provider, (entry = { bounds: [], counts: [], failed: 0 }));
    if (sample.metricName?.endsWith("_count")) {
      if (failed(sample.labels)) entry.failed += sample.value;
      continue;
    }
    if (!sample.metricName?.endsWith("_bucket")) continue;
    const bound = sample.labels.le === "+Inf" ? Infinity : Number(sample.labels.le);
    const at = entry.bounds.indexOf(bound);
    if (at >= 0) entry.counts[at]! += sample.value;
    else {
      entry.bounds.push(bound);
      entry.counts.push(sample.value);
    }
  }
  for (const entry of byProvider.values()) {
    const order = entry.bounds.map((_, i) => i).sort((a, b) => entry.bounds[a]! - entry.bounds[b]!);
    entry.bounds = order.map((i) => entry.bounds[i]!);
    entry.counts = order.map((i) => entry.counts[i]!);
  }
  return byProvider;
}

/** What was observed between two readings of the same histogram (`before` undefined: since the start). */
export function since(now: ProviderHistogram, before: ProviderHistogram | undefined): ProviderHistogram {
  if (!before) return now;
  return {
    bounds: now.bounds,
    counts: now.counts.map((count, i) => count - (before.bounds[i] === now.bounds[i] ? before.counts[i]! : 0)),
    failed: now.failed - before.failed,
  };
}

/** Observations in a histogram (its +Inf bucket). */
export function total(histogram: ProviderHistogram): number {
  return histogram.counts[histogram.counts.length - 1] ?? 0;
}

/**
 * The q-quantile in seconds, interpolated linearly inside the bucket it falls
 * in, as Prometheus' histogram_quantile does (a quantile in the +Inf bucket
 * is the largest finite bound); undefined without observations.
 */
export function quantile(histogram: ProviderHistogram, q: number): number | undefined {
  const count = total(histogram);
  if (count <= 0) return undefined;
  const rank = q * count;
  for (let i = 0; i < histogram.counts.length; i++) {
    const upTo = histogram.counts[i]!;
    if (upTo < rank) continue;
    const upper = histogram.bounds[i]!;
    const lower = i === 0 ? 0 : histogram.bounds[i - 1]!;
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : histogram.counts[i - 1]!;
    return upTo === below ? upper : lower + (upper - lower) * ((rank - below) / (upTo - below));
  }
  return histogram.bounds[histogram.bounds.length - 2];
}

/**
 * Readings kept so that "the last `windowMs`" can be answered from
 * cumulative histograms: each answer compares now with the newest reading at
 * least `windowMs` old (or with the start, before there is one). Readings are
 * taken only when someone asks, at most one per `gapMs`, so calls pay nothing.
 */
export class ReadingWindow<T> {
  private readonly readings: { atMs: number; value: T }[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly gapMs: number,
    private readonly startMs: number,
  ) {}

  /** Records `value` read at `atMs`; returns the reading to compare it with and when that was (undefined: the start). */
  advance(atMs: number, value: T): { base?: T; sinceMs: number } {
    const boundary = atMs - this.windowMs;
    // Keep the newest reading at or before the boundary, and those after it.
    while (this.readings.length > 1 && this.readings[1]!.atMs <= boundary) this.readings.shift();
    const oldest = this.readings[0];
    const base = oldest && oldest.atMs <= boundary ? oldest : undefined;
    const last = this.readings[this.readings.length - 1];
    if (!last || atMs - last.atMs >= this.gapMs) this.readings.push({ atMs, value });
    return base ? { base: base.value, sinceMs: base.atMs } : { sinceMs: this.startMs };
  }
}
