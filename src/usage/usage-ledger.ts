import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { LedgerRow, LedgerStore } from "./ledger-store.js";

export interface UsageLedgerOptions {
  flushIntervalMs: number;
  batchSize: number;
  /** Rows held while the store is unreachable; the oldest are dropped beyond it (and counted). */
  maxQueued?: number;
  logger: Logger;
  metrics: GatewayMetrics;
}

/**
 * The usage ledger's writer. A call only appends its row to a queue (no I/O
 * on the request path); the queue is written in batches, one transaction
 * each, every `flushIntervalMs` or as soon as a batch is full. A failed write
 * keeps its rows for the next try. `close` writes everything left: the app
 * calls it after the server has drained, so every call that completed is in
 * the ledger when the process exits.
 */
export class UsageLedger {
  private queue: LedgerRow[] = [];
  /** Rows taken from the queue by a write that has not finished yet: still not in the ledger. */
  private inFlight = 0;
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private failing = false;
  private closed = false;
  private readonly maxQueued: number;

  constructor(
    private readonly store: LedgerStore,
    private readonly options: UsageLedgerOptions,
  ) {
    this.maxQueued = options.maxQueued ?? 200_000;
    this.timer = setInterval(() => void this.flush().catch(() => {}), options.flushIntervalMs);
    this.timer.unref();
  }

  append(row: LedgerRow): void {
    if (this.closed) {
      // Only a call cut off after the drain's grace period gets here: say so rather than drop it silently.
      this.options.metrics.ledgerRows.inc({ result: "dropped" });
      this.options.logger.warn({ requestId: row.requestId }, "usage ledger already closed: this call is not recorded");
      return;
    }
    this.queue.push(row);
    if (this.queue.length > this.maxQueued) {
      const dropped = this.queue.splice(0, this.queue.length - this.maxQueued);
      this.options.metrics.ledgerRows.inc({ result: "dropped" }, dropped.length);
      this.options.logger.error({ dropped: dropped.length }, "usage ledger queue full: oldest rows dropped (is the store reachable?)");
    }
    this.options.metrics.ledgerQueued.set(this.queued);
    if (this.queue.length >= this.options.batchSize && !this.flushing) void this.flush().catch(() => {});
  }

  /** Rows not yet in the ledger: those waiting and those being written. */
  get queued(): number {
    return this.queue.length + this.inFlight;
  }

  /** Writes every queued row (in batches); rejects if a batch cannot be written. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /**
   * Stops the timer and writes what is left, retrying for up to `timeoutMs`
   * when the store is briefly unreachable.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.flush();
        if (this.queue.length === 0) return;
      } catch (err) {
        if (Date.now() >= deadline) {
          this.options.logger.error({ lost: this.queue.length, error: (err as Error).message }, "usage ledger rows could not be written before exit");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.batchSize);
      const started = performance.now();
      this.inFlight = batch.length;
      try {
        await this.store.insert(batch);
      } catch (err) {
        // Back to the front, in order, for the next try.
        this.inFlight = 0;
        this.queue.unshift(...batch);
        this.options.metrics.ledgerQueued.set(this.queued);
        if (!this.failing) this.options.logger.error({ queued: this.queued, error: (err as Error).message }, "could not write usage ledger rows; will retry");
        this.failing = true;
        throw err;
      }
      this.inFlight = 0;
      if (this.failing) this.options.logger.info("usage ledger writes work again");
      this.failing = false;
      this.options.metrics.ledgerRows.inc({ result: "written" }, batch.length);
      this.options.metrics.ledgerFlushDuration.observe((performance.now() - started) / 1000);
      this.options.metrics.ledgerQueued.set(this.queued);
    }
  }
}
