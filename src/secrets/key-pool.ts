import type { UpstreamError } from "../providers/upstream-error.js";
import type { Credential } from "./credential.js";

/** How one attempt with a credential ended: success, or the classified failure. */
export type AttemptOutcome = { ok: true } | { ok: false; error: UpstreamError };

interface PoolEntry {
  credential: Credential;
  weight: number;
}

/**
 * The vendor credentials of one provider. Picks one per attempt by weight, so
 * several keys share the traffic.
 */
export class KeyPool {
  private readonly entries: PoolEntry[];
  private readonly totalWeight: number;

  constructor(
    readonly provider: string,
    entries: PoolEntry[],
    private readonly random: () => number = Math.random,
  ) {
    if (entries.length === 0) throw new Error(`key pool for "${provider}" is empty`);
    this.entries = entries;
    this.totalWeight = entries.reduce((sum, entry) => sum + entry.weight, 0);
  }

  /** A credential for the next attempt, skipping those in `exclude` (already tried) when others remain. */
  pick(exclude: ReadonlySet<string> = new Set()): Credential {
    const candidates = exclude.size === 0 ? this.entries : this.entries.filter((entry) => !exclude.has(entry.credential.id));
    const pool = candidates.length > 0 ? candidates : this.entries;
    if (pool.length === 1) return pool[0]!.credential;
    const total = pool === this.entries ? this.totalWeight : pool.reduce((sum, entry) => sum + entry.weight, 0);
    let point = this.random() * total;
    for (const entry of pool) {
      point -= entry.weight;
      if (point < 0) return entry.credential;
    }
    return pool[pool.length - 1]!.credential;
  }

  /**
   * Tells the pool how an attempt with a credential went, so it can steer
   * traffic away from failing keys. This simple pool only keeps no state.
   */
  report(_credentialId: string, _outcome: AttemptOutcome): void {}

  get size(): number {
    return this.entries.length;
  }
}
