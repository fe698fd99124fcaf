import { Code, type ConnectError } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import type { SqlDatabase } from "../store/sql.js";

/** How much of the store usage reports (GetUsageReport, GetUsageStats) may hold at once, per instance. */
export interface ReportLimits {
  /** Report statements running at once. */
  concurrency: number;
  /** Reports that may wait for a turn; one more is refused at once. */
  maxWaiting: number;
  /** How long a report waits for its turn before it is refused. */
  waitMs: number;
  /** How long one report statement may run before the store cancels it. */
  timeoutMs: number;
}

/**
 * Reports sum the whole window on every page: over a busy month, seconds of
 * the store each. SQLite runs every statement, key lookups and ledger writes
 * included, one at a time on its one thread (its lock lets no second
 * connection read): one report at a time there, each cut at 3 s, so a call's
 * key lookup waits behind at most one report's slice. Postgres runs them on
 * their own connections of the pool (10): two at a time leave the other
 * eight to calls, and a report may take 15 s.
 */
export const REPORT_LIMITS: Record<SqlDatabase["dialect"], ReportLimits> = {
  sqlite: { concurrency: 1, maxWaiting: 4, waitMs: 2_000, timeoutMs: 1_000 },
  postgres: { concurrency: 2, maxWaiting: 8, waitMs: 2_000, timeoutMs: 15_000 },
};

const NARROW = "narrow the time range (start_time, end_time), group by fewer dimensions, or filter (by key, team, model)";

/** The answer to a report the store cancelled at its timeout. */
export function reportTooSlow(timeoutMs: number): ConnectError {
  return gatewayError(
    Code.DeadlineExceeded,
    `the usage report ran past ${timeoutMs / 1000} s, the most one may take on this gateway's store, and was stopped: ${NARROW}`,
    "USAGE_REPORT_TIMEOUT",
    { timeout_ms: String(timeoutMs) },
  );
}

/**
 * Runs report statements at most `concurrency` at a time; others wait their
 * turn in order, up to `maxWaiting` of them for at most `waitMs` each, and
 * are refused ResourceExhausted past either, with a retry delay. A read-only
 * admin key's reports then cannot take the store from calls and key checks.
 */
export class ReportLane {
  private running = 0;
  private readonly waiting: { start: () => void }[] = [];

  constructor(private readonly limits: ReportLimits) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.turn();
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.start();
    }
  }

  /** Resolves once a place is this report's (counted in `running`), or throws the refusal. */
  private turn(): Promise<void> {
    if (this.running < this.limits.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.maxWaiting) return Promise.reject(this.busy());
    return new Promise((resolve, reject) => {
      const waiter = {
        start: () => {
          clearTimeout(timer);
          this.running++;
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(this.busy());
      }, this.limits.waitMs);
      this.waiting.push(waiter);
    });
  }

  private busy(): ConnectError {
    const { concurrency, waitMs } = this.limits;
    return gatewayError(
      Code.ResourceExhausted,
      `${concurrency} usage ${concurrency === 1 ? "report is" : "reports are"} already running on this instance, the most at once: retry in ${Math.ceil(waitMs / 1000)} s, or ${NARROW} so that reports end sooner`,
      "USAGE_REPORTS_BUSY",
      { limit: String(concurrency) },
      waitMs,
    );
  }
}
