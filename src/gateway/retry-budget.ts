import { SlidingCounts } from "../common/sliding-window.js";
import type { RetryBudgetConfig } from "../config/traffic.js";

/**
 * Caps the extra attempts (retries and hedges) each provider receives: at
 * most `ratio` of the calls that reached it over the window, plus
 * `minRetries` so that light traffic can still retry. During an outage
 * retries then add at most that share to the vendor's load instead of
 * multiplying it.
 */
export class RetryBudget {
  private readonly windows = new Map<string, SlidingCounts>();

  constructor(
    private readonly config: RetryBudgetConfig,
    private readonly now: () => number,
  ) {}

  /** A call's first attempt on `provider`: earns budget. */
  recordCall(provider: string): void {
    this.window(provider).add(0);
  }

  /** Spends one extra attempt on `provider` when the budget allows it. */
  tryRetry(provider: string): boolean {
    const window = this.window(provider);
    const [calls, retries] = window.totals();
    if (retries >= calls * this.config.ratio + this.config.minRetries) return false;
    window.add(1);
    return true;
  }

  private window(provider: string): SlidingCounts {
    let window = this.windows.get(provider);
    if (!window) this.windows.set(provider, (window = new SlidingCounts(this.config.windowMs, this.now)));
    return window;
  }
}
