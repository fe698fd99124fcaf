/** How long an address that overdrew its reset budget has its new HTTP/2 sessions refused. */
export const RESET_COOLDOWN_MS = 10_000;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

/**
 * The HTTP/2 streams each client address may reset (a token bucket per
 * address, over all its sessions), against "rapid reset" (CVE-2023-44487):
 * a reset stream frees its place at once, so the caps on open streams never
 * see a client that opens and resets thousands a second, each one a call the
 * gateway starts. nghttp2's own guard counts per session only (a burst of
 * 1000), so many sessions each staying under it went unbounded. An address
 * that overdraws its budget cools down for RESET_COOLDOWN_MS.
 */
export class ResetBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly coolingUntil = new Map<string, number>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {}

  /** Takes one reset from `client`'s budget; false once it is spent, which starts (or extends) its cool-down. */
  take(client: string): boolean {
    const now = this.now();
    const bucket = this.refilled(client, now);
    this.buckets.set(client, bucket);
    if (bucket.tokens < 1) {
      this.coolingUntil.set(client, now + RESET_COOLDOWN_MS);
      return false;
    }
    bucket.tokens--;
    return true;
  }

  /** Whether `client` overdrew its budget less than RESET_COOLDOWN_MS ago. */
  coolingDown(client: string): boolean {
    return this.now() < (this.coolingUntil.get(client) ?? -Infinity);
  }

  /** Forgets addresses whose bucket is full again and whose cool-down is over, so that the maps do not grow with every address ever seen. */
  prune(): void {
    const now = this.now();
    for (const [client, until] of this.coolingUntil) if (now >= until) this.coolingUntil.delete(client);
    for (const client of this.buckets.keys()) if (this.refilled(client, now).tokens >= this.burst) this.buckets.delete(client);
  }

  private refilled(client: string, now: number): Bucket {
    const bucket = this.buckets.get(client);
    if (!bucket) return { tokens: this.burst, at: now };
    return { tokens: Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.perSecond) / 1000), at: now };
  }
}
