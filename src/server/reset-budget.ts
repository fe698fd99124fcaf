import { KeyedRate } from "../common/keyed-rate.js";

/** How long an address that overdrew its reset budget has its new HTTP/2 sessions refused. */
export const RESET_COOLDOWN_MS = 10_000;

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
  private readonly resets: KeyedRate;
  private readonly coolingUntil = new Map<string, number>();

  constructor(
    perSecond: number,
    burst: number,
    private readonly now: () => number,
  ) {
    this.resets = new KeyedRate(perSecond, burst, now);
  }

  /** Takes one reset from `client`'s budget; false once it is spent, which starts (or extends) its cool-down. */
  take(client: string): boolean {
    if (this.resets.take(client) === undefined) return true;
    this.coolingUntil.set(client, this.now() + RESET_COOLDOWN_MS);
    return false;
  }

  /** Whether `client` overdrew its budget less than RESET_COOLDOWN_MS ago. */
  coolingDown(client: string): boolean {
    return this.now() < (this.coolingUntil.get(client) ?? -Infinity);
  }

  /** Forgets addresses whose bucket is full again and whose cool-down is over, so that the maps do not grow with every address ever seen. */
  prune(): void {
    const now = this.now();
    for (const [client, until] of this.coolingUntil) if (now >= until) this.coolingUntil.delete(client);
    this.resets.sweep();
  }
}
