import type { Principal } from "./principal.js";

export interface KeyCacheEntry {
  principal: Principal | undefined;
  keyId: string | undefined;
  /** Set when the digest is a revoked key's. */
  revokedMs?: number;
  at: number;
  /** Any key may have changed since this was read: read it again before serving it, unless the store is unreachable. */
  stale?: boolean;
}

/**
 * The key directory's cache, by digest. Keys found good and refused digests
 * (unknown, or a revoked key's) are kept apart, each holding at most
 * `maxEntries` (the oldest read pushed out first): anyone can make refused
 * digests, so a flood of random keys pushes out only other refused digests,
 * never a key in use. The digests of good keys that left it (evicted by a
 * change, or pushed out by other good keys) are remembered too, as many, so
 * that their next read counts as a known key's (`knownGood`).
 */
export class KeyCache {
  private readonly good = new Map<string, KeyCacheEntry>();
  private readonly refused = new Map<string, KeyCacheEntry>();
  private readonly wereGood = new Set<string>();

  constructor(private readonly maxEntries: number) {}

  get(hex: string): KeyCacheEntry | undefined {
    return this.good.get(hex) ?? this.refused.get(hex);
  }

  /** Whether this instance has found the digest a good key's: cached (even stale or past its time), or evicted since. */
  knownGood(hex: string): boolean {
    return this.good.has(hex) || this.wereGood.has(hex);
  }

  set(hex: string, entry: KeyCacheEntry): void {
    // Deleted first so that it goes to the back: the cap pushes out the entries read longest ago, not those in use.
    this.good.delete(hex);
    this.refused.delete(hex);
    this.wereGood.delete(hex);
    if (entry.principal) {
      const oldest = this.good.size >= this.maxEntries ? firstOf(this.good) : undefined;
      if (oldest !== undefined) {
        this.good.delete(oldest);
        this.rememberGood(oldest);
      }
      this.good.set(hex, entry);
    } else {
      const oldest = this.refused.size >= this.maxEntries ? firstOf(this.refused) : undefined;
      if (oldest !== undefined) this.refused.delete(oldest);
      this.refused.set(hex, entry);
    }
  }

  /** Drops the entries of key `keyId`; its digest is still known good until read again. */
  dropKey(keyId: string): void {
    for (const [hex, entry] of this.good) {
      if (entry.keyId !== keyId) continue;
      this.good.delete(hex);
      this.rememberGood(hex);
    }
    for (const [hex, entry] of this.refused) if (entry.keyId === keyId) this.refused.delete(hex);
  }

  markAllStale(): void {
    for (const entry of this.good.values()) entry.stale = true;
    for (const entry of this.refused.values()) entry.stale = true;
  }

  private rememberGood(hex: string): void {
    const oldest = this.wereGood.size >= this.maxEntries ? firstOf(this.wereGood) : undefined;
    if (oldest !== undefined) this.wereGood.delete(oldest);
    this.wereGood.add(hex);
  }
}

function firstOf(collection: Map<string, unknown> | Set<string>): string | undefined {
  return collection.keys().next().value;
}
