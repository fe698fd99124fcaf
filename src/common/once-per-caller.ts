/** Callers remembered at once: past this many distinct callers in one window, a breaker would open anyway. */
const MAX_CALLERS = 1_024;

/**
 * Which callers' failures have counted lately, for failures a caller can
 * cause by what it asks (a timeout: a very long answer on a slow model): a
 * provider's breaker and a key's failing rule count them once per caller
 * within `windowMs`, the breakers' window. One caller's slow requests then
 * count once however many there are, and cannot open a provider's breaker or
 * bench a shared key for every other caller: within a window that takes
 * such failures from several callers (or failures any caller would meet, such
 * as 5xx, which are not counted here). A run of failures with no success at
 * all, longer than the window, still counts a lone caller again each window:
 * a single-tenant gateway whose vendor hangs still opens its breaker.
 */
export class OncePerCaller {
  /** When each caller's failure last counted. */
  private readonly countedAt = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether a failure of `caller`'s call counts now; it is remembered if so. A call without a known caller always counts. */
  counts(caller: string | undefined): boolean {
    if (caller === undefined) return true;
    const now = this.now();
    const last = this.countedAt.get(caller);
    if (last !== undefined && now - last < this.windowMs) return false;
    this.countedAt.delete(caller);
    if (this.countedAt.size >= MAX_CALLERS) this.forgetBefore(now - this.windowMs);
    if (this.countedAt.size < MAX_CALLERS) this.countedAt.set(caller, now);
    return true;
  }

  private forgetBefore(cutoff: number): void {
    for (const [caller, at] of this.countedAt) if (at <= cutoff) this.countedAt.delete(caller);
  }
}
