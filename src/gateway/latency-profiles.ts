import { LatencyWindow } from "./latency-window.js";

/** What is learnt of one (provider, model): healthy attempts only (see `src/gateway/adaptive-timeout.ts` for what a cut attempt adds). */
export interface LatencyProfile {
  /** Unary: time to the answer. Vendors send a non-streamed answer's headers when it is complete, so this is the time to headers. */
  readonly answer: LatencyWindow;
  /** Streams: time to the first event (headers included). */
  readonly firstToken: LatencyWindow;
  /** Streams: the longest silence between two events of each stream that ended well (one sample per stream). */
  readonly silence: LatencyWindow;
}

export type LatencyPhase = keyof LatencyProfile;

/** Pairs tracked at most; the least recently used is forgotten first (glob routes let callers name any model). */
export const MAX_TRACKED_PAIRS = 1_000;

/**
 * Recent latencies per (provider, model), for adaptive timeouts and hedging.
 * A model's latency says little about another's on the same provider (an
 * embedding model answers in 100 ms, a reasoning model in a minute), so each
 * pair has its own windows. Bounded: at most `maxPairs` pairs, least recently
 * used forgotten first; only a successful attempt creates a pair, so a caller
 * naming models that do not exist cannot fill it.
 */
export class LatencyProfiles {
  private readonly pairs = new Map<string, LatencyProfile>();

  constructor(private readonly maxPairs = MAX_TRACKED_PAIRS) {}

  /** The pair's profile, if anything was learnt of it. */
  get(provider: string, model: string): LatencyProfile | undefined {
    const key = pairKey(provider, model);
    const profile = this.pairs.get(key);
    if (profile) this.touch(key, profile);
    return profile;
  }

  record(provider: string, model: string, phase: LatencyPhase, ms: number): void {
    const key = pairKey(provider, model);
    let profile = this.pairs.get(key);
    if (!profile) {
      profile = { answer: new LatencyWindow(), firstToken: new LatencyWindow(), silence: new LatencyWindow() };
      if (this.pairs.size >= this.maxPairs) this.pairs.delete(this.pairs.keys().next().value!);
    }
    this.touch(key, profile);
    profile[phase].add(Math.max(0, ms));
  }

  get size(): number {
    return this.pairs.size;
  }

  /** Moves the pair to the most recently used end (a Map iterates in insertion order). */
  private touch(key: string, profile: LatencyProfile): void {
    this.pairs.delete(key);
    this.pairs.set(key, profile);
  }
}

/** Provider names cannot contain "/", so this is unambiguous. */
function pairKey(provider: string, model: string): string {
  return `${provider}/${model}`;
}
