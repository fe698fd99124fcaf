import { randomUUID } from "node:crypto";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { LedgerJournal } from "./ledger-journal.js";
import { LedgerRowError, ledgerRowProblem, type LedgerRow, type LedgerStore } from "./ledger-store.js";

/** What the writer needs of the store. */
export type LedgerSink = Pick<LedgerStore, "insert" | "probe">;

export interface UsageLedgerOptions {
  flushIntervalMs: number;
  batchSize: number;
  /** Rows held while the store is unreachable; the oldest are dropped beyond it (and counted). */
  maxQueued?: number;
  /** Where each row goes before the call's answer is sent, so a crash loses none; none in unit tests. */
  journal?: LedgerJournal;
  /** Told when the store stops or starts taking writes again. */
  onStoreState?: (writable: boolean, error?: string) => void;
  /** With no row to write for this long, a write that changes nothing checks the store. */
  probeIntervalMs?: number;
  logger: Logger;
  metrics: GatewayMetrics;
}

/** A row waiting for the store, and the journal segment holding it (0: none). */
interface QueuedRow {
  row: LedgerRow;
  segment: number;
}

/**
 * The usage ledger's writer. A call appends its row to the journal (one
 * synchronous write to a local file, which survives the process being killed)
 * and to an in-memory queue; the queue is written to the store in batches, one
 * transaction each, every `flushIntervalMs` or as soon as a batch is full. A
 * failed write keeps its rows for the next try. Rows a killed run left in the
 * journal are written at the next start (`recover`). `close` writes everything
 * left: the app calls it after the server has drained.
 *
 * One row never holds up the others. A row the store cannot keep (a token
 * count that is NaN, a fraction, past an INTEGER: `ledgerRowProblem`) is set
 * aside as it arrives, before the journal or a batch holds it; should a batch
 * fail all the same while the store takes writes (a probe tells), its rows are
 * written one at a time, and those the store refuses are set aside. A row set
 * aside is logged as an error naming its request and what was wrong, counted
 * (`result="rejected"`), and kept out of the journal: retried, it would fail
 * forever.
 *
 * Whether the store takes writes is reported through `onStoreState`: every
 * batch tells, and a probe does when no row has come for a while.
 */
export class UsageLedger {
  private queue: QueuedRow[] = [];
  /** Rows taken from the queue by a write that has not finished yet: still not in the ledger. */
  private inFlight = 0;
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private writable = true;
  private lastWriteMs = performance.now();
  private nextRecoveryMs: number;
  private closed = false;
  private readonly maxQueued: number;
  private readonly probeIntervalMs: number;

  constructor(
    private readonly store: LedgerSink,
    private readonly options: UsageLedgerOptions,
  ) {
    this.maxQueued = options.maxQueued ?? 200_000;
    this.probeIntervalMs = options.probeIntervalMs ?? 5_000;
    this.nextRecoveryMs = performance.now() + (options.journal?.leaseMs ?? Infinity);
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Called on the request path before the answer is sent: the journal has the row when this returns. */
  append(row: LedgerRow): void {
    if (this.closed) {
      // Only a call cut off after the drain's grace period gets here: say so rather than drop it silently.
      this.options.metrics.ledgerRows.inc({ result: "dropped" });
      this.options.logger.warn({ requestId: row.requestId }, "usage ledger already closed: this call is not recorded");
      return;
    }
    const problem = ledgerRowProblem(row);
    if (problem !== undefined) {
      this.reject(row, problem);
      return;
    }
    const keyed = { ...row, rowKey: row.rowKey ?? randomUUID() };
    const journal = this.options.journal;
    const segment = journal ? journal.append(keyed) : 0;
    if (journal && segment === 0) this.options.metrics.ledgerRows.inc({ result: "not_journaled" });
    this.enqueue([{ row: keyed, segment }]);
    if (this.queue.length >= this.options.batchSize && !this.flushing) void this.flush().catch(() => {});
  }

  /**
   * Takes over the journal files of runs that are gone (killed, or closed with
   * the store down) and writes their rows; the store skips those it already
   * has. A store that fails keeps them queued for the next try.
   */
  async recover(): Promise<void> {
    const journal = this.options.journal;
    if (!journal) return;
    let recovered;
    try {
      recovered = journal.claimOrphans();
    } catch (err) {
      this.options.logger.error({ journal: journal.dir, error: (err as Error).message }, "could not read the usage ledger journal left by an earlier run");
      return;
    }
    if (recovered.length === 0) return;
    const rows = recovered.reduce((sum, segment) => sum + segment.rows.length, 0);
    const torn = recovered.reduce((sum, segment) => sum + segment.torn, 0);
    this.options.logger.info(
      { journal: journal.dir, files: recovered.map((segment) => segment.file), rows, torn },
      "replaying usage ledger rows an earlier run had not stored (torn lines are skipped)",
    );
    this.options.metrics.ledgerRows.inc({ result: "replayed" }, rows);
    for (const { segment, rows: found } of recovered) {
      // Rows an earlier version journaled unchecked.
      const keep = found.filter((row) => {
        const problem = ledgerRowProblem(row);
        if (problem === undefined) return true;
        this.reject(row, problem, segment);
        return false;
      });
      this.enqueue(keep.map((row) => ({ row, segment })));
    }
    await this.flush().catch(() => {});
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
   * when the store is briefly unreachable. Rows still unwritten then stay in
   * the journal for the next start.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.flush();
        if (this.queue.length === 0) break;
      } catch (err) {
        if (Date.now() >= deadline) {
          const where = this.options.journal ? "they stay in the journal for the next start" : "they are lost";
          this.options.logger.error({ unwritten: this.queue.length, error: (err as Error).message }, `usage ledger rows could not be written before exit: ${where}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    this.options.journal?.close();
  }

  private tick(): void {
    const journal = this.options.journal;
    if (journal) {
      journal.renewLease();
      // Instances on other hosts sharing the data directory may have died since the start.
      if (performance.now() >= this.nextRecoveryMs) {
        this.nextRecoveryMs = performance.now() + journal.leaseMs;
        void this.recover();
      }
    }
    void this.flush().catch(() => {});
  }

  private enqueue(entries: QueuedRow[]): void {
    this.queue.push(...entries);
    if (this.queue.length > this.maxQueued) {
      const dropped = this.queue.splice(0, this.queue.length - this.maxQueued);
      for (const { segment } of dropped) this.options.journal?.done(segment);
      this.options.metrics.ledgerRows.inc({ result: "dropped" }, dropped.length);
      this.options.logger.error({ dropped: dropped.length }, "usage ledger queue full: oldest rows dropped (is the store reachable?)");
    }
    this.options.metrics.ledgerQueued.set(this.queued);
  }

  private async drain(): Promise<void> {
    // Nothing to write for a while (or the store failed last time): check it takes writes.
    if (this.queue.length === 0 && (!this.writable || performance.now() - this.lastWriteMs >= this.probeIntervalMs)) {
      await this.write(() => this.store.probe());
    }
    while (this.queue.length > 0) {
      // Emptied as rows are stored or set aside: what is left when the store fails goes back to the queue.
      const pending = this.queue.splice(0, this.options.batchSize);
      const started = performance.now();
      this.inFlight = pending.length;
      try {
        await this.write(() => this.insertBatch(pending));
      } catch (err) {
        // Back to the front, in order, for the next try.
        this.inFlight = 0;
        this.queue.unshift(...pending);
        this.options.metrics.ledgerQueued.set(this.queued);
        throw err;
      }
      this.inFlight = 0;
      this.options.metrics.ledgerFlushDuration.observe((performance.now() - started) / 1000);
      this.options.metrics.ledgerQueued.set(this.queued);
    }
  }

  /**
   * Writes a batch in one transaction; `pending` loses each row once it is
   * stored or set aside. Its rows were checked as they came, so a batch that
   * fails is the store's fault (down, read-only, full: thrown, and every row
   * waits) or a row's that the store refused in the act (a constraint no check
   * can know): a probe tells which. Then the rows are written one at a time,
   * and those the store refuses set aside; should the store fail meanwhile,
   * the rest waits.
   */
  private async insertBatch(pending: QueuedRow[]): Promise<void> {
    try {
      await this.store.insert(pending.map((entry) => entry.row));
      this.stored(pending.splice(0));
      return;
    } catch (err) {
      await this.storeTakesWrites(err);
    }
    while (pending.length > 0) {
      try {
        await this.store.insert([pending[0]!.row]);
        this.stored(pending.splice(0, 1));
      } catch (err) {
        if (!(err instanceof LedgerRowError)) await this.storeTakesWrites(err);
        const { row, segment } = pending.shift()!;
        this.reject(row, err instanceof LedgerRowError ? err.problem : (err as Error).message, segment);
      }
    }
  }

  /** Resolves when the store takes writes (a probe); else throws `failure`, the error that made the writer ask. */
  private async storeTakesWrites(failure: unknown): Promise<void> {
    try {
      await this.store.probe();
    } catch {
      throw failure;
    }
  }

  private stored(entries: QueuedRow[]): void {
    for (const { segment } of entries) this.options.journal?.done(segment);
    if (entries.length > 0) this.options.metrics.ledgerRows.inc({ result: "written" }, entries.length);
  }

  /** A row the store cannot keep: said once, counted, and out of the journal (retried, it would fail forever). */
  private reject(row: LedgerRow, problem: string, segment?: number): void {
    if (segment !== undefined) this.options.journal?.done(segment);
    this.options.metrics.ledgerRows.inc({ result: "rejected" });
    this.options.logger.error(
      { requestId: row.requestId, keyId: row.keyId, provider: row.provider, model: row.servedModel, problem },
      "usage ledger row set aside: the store cannot keep it (it is not written; the other rows are)",
    );
  }

  /** Runs one write to the store and reports whether the store takes writes. */
  private async write(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.lastWriteMs = performance.now();
      const error = (err as Error).message;
      if (this.writable) {
        this.options.logger.error({ queued: this.queued, error }, "the store does not take usage ledger writes; rows wait and are retried");
        this.options.onStoreState?.(false, error);
      }
      this.writable = false;
      throw err;
    }
    this.lastWriteMs = performance.now();
    if (!this.writable) {
      this.options.logger.info("usage ledger writes work again");
      this.options.onStoreState?.(true);
    }
    this.writable = true;
  }
}
