import { randomUUID } from "node:crypto";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { refusedForContent } from "../store/store-errors.js";
import type { JournalEntry, LedgerJournal, ProvisionalMark, SegmentRows } from "./ledger-journal.js";
import { LedgerRowError, ledgerRowProblem, type LedgerRow, type LedgerStore } from "./ledger-store.js";
import { UnstoredSpend } from "./unstored-spend.js";

/** What the writer needs of the store (without `storedRowKeys`, a replay takes every provisional entry with no row in the journal for a call cut short). */
export type LedgerSink = Pick<LedgerStore, "insert" | "probe"> & Partial<Pick<LedgerStore, "storedRowKeys">>;

export interface UsageLedgerOptions {
  flushIntervalMs: number;
  batchSize: number;
  /** Rows held in memory while the store is unreachable; beyond it rows wait in the journal only (without one, they are dropped and counted). */
  maxQueued?: number;
  /** Where each row goes before the call's answer is sent, so a crash loses none; none in unit tests. */
  journal?: LedgerJournal;
  /** Told when the store stops or starts taking writes again. */
  onStoreState?: (writable: boolean, error?: string) => void;
  /** With no row to write for this long, a probe write checks the store. */
  probeIntervalMs?: number;
  /** How long `recover` holds the start while it writes what an earlier run left; the rest is written meanwhile. */
  replayWaitMs?: number;
  /**
   * Adds the cost of a call an earlier run left in flight (its provisional
   * entry, replayed with no row of its own) to its key's spend: awaited before
   * the row goes to the store, so that a spend rebuilt from the store counts it
   * once (see SpendCounter.charge).
   */
  chargeInterrupted?: (row: LedgerRow, mark: ProvisionalMark) => Promise<void>;
  /** Where the cost of rows counts until the store has them (this run's and those runs now gone left); one of its own when unset. */
  unstored?: UnstoredSpend;
  logger: Logger;
  metrics: GatewayMetrics;
}

/** A row waiting for the store, and the journal segment holding it (0: none). */
interface QueuedRow {
  row: LedgerRow;
  segment: number;
  /** The segment holding the call's provisional entry, released with the row. */
  provisional?: number;
  /** Counted in `unstored` until the store has it (or it is set aside). */
  counted?: boolean;
}

/** The status of a call the gateway's end cut short: recorded from its provisional entry (see `begin`). */
export const GATEWAY_EXITED = "gateway_exited";

/**
 * The usage ledger's writer. A call appends its row to the journal (one
 * synchronous write to a local file, which survives the process being killed)
 * and to an in-memory queue; the queue is written to the store in batches, one
 * transaction each, every `flushIntervalMs` or as soon as a batch is full. A
 * failed write keeps its rows for the next try. Rows a killed run left in the
 * journal are written from the next start on (`recover`), one segment at a
 * time: the start waits for them `replayWaitMs` at most. Each of their files
 * is read once, at the start (their cost counts for budgets at once), and its
 * rows held until their turn, within `maxQueued`; a file past that is peeked
 * at then and read again at its turn. `close` writes everything left: the
 * app calls it after the server has drained.
 *
 * Memory is bounded: past `maxQueued` rows, new rows go to a journal segment
 * of their own and nowhere else, and such segments (like those of a dead run)
 * are read back, one at a time, once less than a batch waits in memory. A row
 * is taken out of the journal only once the store has it, or it is set aside.
 *
 * One row never holds up the others. A row the store cannot keep (a token
 * count that is NaN, a fraction, past an INTEGER: `ledgerRowProblem`) is set
 * aside as it arrives, before the journal or a batch holds it; a batch the
 * store refuses for what its rows hold (`refusedForContent`: a constraint, a
 * value a column cannot take) is written one row at a time, and the rows it
 * refuses are set aside. A row set aside is logged as an error naming its
 * request and what was wrong, counted (`result="rejected"`), and kept out of
 * the journal: retried, it would fail forever. Any other failure (down,
 * read-only, a full or failing disk) is the store's: every row waits.
 *
 * Whether the store takes writes is reported through `onStoreState`: every
 * batch tells, and a probe write does when no row has come for a while.
 *
 * A call that reaches a vendor is in the journal before it ends: `begin`
 * appends a provisional entry (the row it would be recorded with, status
 * `gateway_exited`, its prompt's estimate) when its first attempt goes out,
 * and its own row, with the same `rowKey`, supersedes it: the store taking
 * that row releases both. Replayed after a crash, a provisional entry whose
 * row is in the journal too, or in the store already, is dropped; one without
 * becomes a row of its own once every file of the dead runs has been read (a
 * row in a later file would supersede it) and stored, its cost charged to the
 * key's spend first (`chargeInterrupted`).
 */
export class UsageLedger {
  /**
   * The cost of rows not in the store yet (this run's from `append` on, and those runs now gone left): a spend rebuilt from
   * the store adds it (`ledgerSpendSeed`), or a key's first budget would miss the calls it made just before.
   */
  readonly unstored: UnstoredSpend;
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
  /**
   * Journal segments whose rows are on disk only, oldest first, with the rows
   * known to be in each (a claimed file's are known once read).
   */
  private readonly onDisk = new Map<number, number>();
  /** Of those, the files claimed from runs that are gone. */
  private readonly claimed = new Set<number>();
  /** Of those, the ones read already (by `recover`, for their cost), held until read back: a file is read once. */
  private readonly readAhead = new Map<number, SegmentRows>();
  /** The current journal segment when it takes rows for disk only (the queue was full): 0 otherwise. */
  private spillSegment = 0;
  /** Rows are being dropped (no journal holds them, memory is full): said once per episode. */
  private dropping = false;
  /** Set by close: past it, no more segments are read back. */
  private stopReadingMs = Infinity;
  /** This run's calls in flight with a provisional entry: rowKey → its segment. */
  private readonly provisional = new Map<string, number>();
  /** Provisional entries of runs that are gone, waiting for their calls' rows in files not read yet. */
  private readonly orphaned = new Map<string, { entry: JournalEntry; segment: number }>();

  constructor(
    private readonly store: LedgerSink,
    private readonly options: UsageLedgerOptions,
  ) {
    this.unstored = options.unstored ?? new UnstoredSpend();
    this.maxQueued = options.maxQueued ?? 200_000;
    this.probeIntervalMs = options.probeIntervalMs ?? 5_000;
    this.nextRecoveryMs = performance.now() + (options.journal?.leaseMs ?? Infinity);
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * A call's first attempt is about to go to a vendor: its provisional entry
   * (the row it is recorded with should the process end before the call does:
   * status `gateway_exited`, the prompt's estimated cost) goes to the journal,
   * one `write`, and nowhere else. The call's row, appended with the same
   * `rowKey` when it ends, supersedes it. Without a journal, nothing.
   */
  begin(entry: LedgerRow & { rowKey: string }, mark: ProvisionalMark = {}): void {
    const journal = this.options.journal;
    if (!journal || this.closed) return;
    const segment = journal.append({ ...entry, provisional: mark });
    if (segment !== 0) this.provisional.set(entry.rowKey, segment);
  }

  /** Called on the request path before the answer is sent: the journal (or memory) has the row when this returns. */
  append(row: LedgerRow): void {
    if (this.closed) {
      // Only a call cut off after the drain's grace period gets here: say so rather than drop it silently
      // (its provisional entry, if it has one, stays in the journal: the next start records it as gateway_exited).
      this.options.metrics.ledgerRows.inc({ result: "dropped" });
      this.options.logger.warn({ requestId: row.requestId }, "usage ledger already closed: this call is not recorded");
      return;
    }
    const provisional = this.takeProvisional(row.rowKey);
    const problem = ledgerRowProblem(row);
    if (problem !== undefined) {
      this.reject(row, problem, undefined, provisional);
      return;
    }
    const keyed = { ...row, rowKey: row.rowKey ?? randomUUID() };
    const journal = this.options.journal;
    if (journal && this.spillSegment === 0 && this.queue.length >= this.maxQueued) this.startSpilling(journal);
    const segment = journal ? journal.append(keyed) : 0;
    if (journal && segment === 0) this.options.metrics.ledgerRows.inc({ result: "not_journaled" });
    if (this.spillSegment !== 0 && segment !== 0) {
      // A segment the journal started past its size holds only such rows too.
      if (segment !== this.spillSegment) this.spillSegment = segment;
      this.onDisk.set(segment, (this.onDisk.get(segment) ?? 0) + 1);
      this.options.metrics.ledgerQueued.set(this.queued);
      // Held on disk only, the row has no place in memory to release its provisional entry from: the row
      // in the journal supersedes it from now on (a replay drops a provisional entry whose row it finds).
      if (provisional !== undefined) journal!.done(provisional);
      // Counted until read back and stored (every row of a segment read back was counted).
      this.unstored.add(keyed);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      // In no journal, and no room: the only way a row is lost.
      this.options.metrics.ledgerRows.inc({ result: "dropped" });
      if (!this.dropping) this.options.logger.error({ queued: this.queue.length }, "usage ledger queue full and rows not journaled: new rows are dropped (is the store reachable?)");
      this.dropping = true;
      return;
    }
    this.dropping = false;
    this.unstored.add(keyed);
    this.enqueue([{ row: keyed, segment, provisional, counted: true }]);
    if (this.queue.length >= this.options.batchSize && !this.flushing) void this.flush().catch(() => {});
  }

  /**
   * Takes over the journal files of runs that are gone (killed, or closed with
   * the store down) and writes their rows, a segment at a time; the store
   * skips those it already has. Resolves once they are written, or after
   * `waitMs` (the start is not held for a large backlog: the rest is written
   * meanwhile), or when the store fails (they wait for the next try).
   */
  async recover(waitMs = this.options.replayWaitMs ?? 5_000): Promise<void> {
    const journal = this.options.journal;
    if (!journal) return;
    let found;
    try {
      found = journal.claimOrphanFiles();
    } catch (err) {
      this.options.logger.error({ journal: journal.dir, error: (err as Error).message }, "could not read the usage ledger journal left by an earlier run");
      return;
    }
    if (found.length === 0) return;
    // Said only of files that hold something: an empty one (a run stopped by a configuration error) lost no row.
    const replayed: string[] = [];
    // Read once and held for their turn, within the memory the queue may take; past it, peeked now and read again at their turn.
    let room = this.maxQueued - this.queue.length - this.heldAhead();
    for (const { segment, file } of found) {
      this.onDisk.set(segment, 0);
      this.claimed.add(segment);
      const read = room > 0 ? this.readClaimed(journal, segment) : undefined;
      if (read) {
        this.readAhead.set(segment, read);
        room -= read.rows.length;
      }
      const entries = read?.rows ?? journal.peekSegment(segment);
      if (entries.length > 0 || (read?.torn ?? 0) > 0) replayed.push(file);
      // Their cost counts for budgets from now on, though most are not read back yet (provisional entries are charged when recorded).
      for (const entry of entries) if (entry.provisional === undefined && ledgerRowProblem(entry) === undefined) this.unstored.add(entry);
    }
    if (replayed.length > 0) {
      this.options.logger.info({ journal: journal.dir, files: replayed }, "replaying usage ledger rows an earlier run had not stored (torn lines are skipped)");
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs).unref()))]);
    clearTimeout(timer);
  }

  /** Rows not yet in the ledger: those waiting (in memory, or known to be in the journal only) and those being written. */
  get queued(): number {
    let onDisk = 0;
    for (const rows of this.onDisk.values()) onDisk += rows;
    return this.queue.length + this.inFlight + onDisk;
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
    this.stopReadingMs = performance.now() + timeoutMs;
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
    if (this.onDisk.size > 0) this.options.logger.warn({ files: this.onDisk.size }, "usage ledger rows left in the journal for the next start (no time to write them all)");
    this.options.journal?.close();
  }

  private tick(): void {
    const journal = this.options.journal;
    if (journal) {
      journal.renewLease();
      // Instances on other hosts sharing the data directory may have died since the start.
      if (performance.now() >= this.nextRecoveryMs) {
        this.nextRecoveryMs = performance.now() + journal.leaseMs;
        void this.recover(0);
      }
    }
    void this.flush().catch(() => {});
  }

  /** A claimed segment read ahead of its turn; undefined when that failed (it is tried again at its turn, as any other). */
  private readClaimed(journal: LedgerJournal, segment: number): SegmentRows | undefined {
    try {
      return journal.readSegment(segment);
    } catch {
      return undefined;
    }
  }

  /** Rows `recover` read and holds until their turn to be queued. */
  private heldAhead(): number {
    let rows = 0;
    for (const { rows: read } of this.readAhead.values()) rows += read.length;
    return rows;
  }

  /** Memory is full: rows from now on go to a journal segment of their own, read back later. */
  private startSpilling(journal: LedgerJournal): void {
    this.spillSegment = journal.startSegment();
    if (this.spillSegment === 0) return;
    this.onDisk.set(this.spillSegment, 0);
    this.options.logger.warn({ queued: this.queue.length }, "usage ledger queue full: further rows wait in the journal only, and are read back as the store catches up");
  }

  private enqueue(entries: QueuedRow[]): void {
    for (const entry of entries) this.queue.push(entry);
    this.options.metrics.ledgerQueued.set(this.queued);
  }

  /**
   * Reads segments whose rows are on disk only back into the queue, one at a
   * time, while less than a batch waits in memory; while the store fails, only
   * into an empty queue (the next try needs rows, memory does not need more).
   */
  private readBack(): void {
    const journal = this.options.journal;
    while (journal && this.onDisk.size > 0 && this.queue.length < this.options.batchSize && (this.writable || this.queue.length === 0)) {
      if (performance.now() >= this.stopReadingMs) return;
      const segment: number = this.onDisk.keys().next().value!;
      this.onDisk.delete(segment);
      if (segment === this.spillSegment) {
        // The last of them: rows go to memory again, in a segment of their own.
        if (journal.currentSegment === segment) journal.startSegment();
        this.spillSegment = 0;
      }
      const { rows, torn } = this.readAhead.get(segment) ?? journal.readSegment(segment);
      this.readAhead.delete(segment);
      const replaying = this.claimed.delete(segment);
      const keep: QueuedRow[] = [];
      let provisional = 0;
      for (const row of rows) {
        if (row.provisional !== undefined) {
          provisional++;
          // This run's calls in flight are tracked in memory (`provisional`); a dead run's wait for their rows.
          if (replaying) this.orphan(row, segment);
          continue;
        }
        if (replaying) this.supersede(row.rowKey);
        // Rows an earlier version journaled unchecked.
        const problem = ledgerRowProblem(row);
        // Counted since it came: by `append` (a segment of this run's), or by `recover` (a dead run's).
        if (problem === undefined) keep.push({ row, segment, counted: true });
        else this.reject(row, problem, segment);
      }
      if (replaying) {
        this.options.metrics.ledgerRows.inc({ result: "replayed" }, rows.length - provisional);
        if (torn > 0) this.options.logger.info({ journal: journal.dir, segment, rows: rows.length, torn }, "usage ledger journal file replayed: torn lines skipped");
      }
      this.enqueue(keep);
    }
  }

  /** The segment holding a call's provisional entry, no longer tracked: its row has come. */
  private takeProvisional(rowKey: string | undefined): number | undefined {
    if (rowKey === undefined) return undefined;
    const segment = this.provisional.get(rowKey);
    if (segment !== undefined) this.provisional.delete(rowKey);
    return segment;
  }

  /** A dead run's provisional entry: held until its call's row turns up, or every file of the dead runs is read. */
  private orphan(entry: JournalEntry, segment: number): void {
    const rowKey = entry.rowKey!;
    // The same entry twice (an impossible journal): one is enough.
    if (this.orphaned.has(rowKey)) this.options.journal?.done(segment);
    else this.orphaned.set(rowKey, { entry, segment });
  }

  /** A replayed row: its call's provisional entry, if one was read, is dropped. */
  private supersede(rowKey: string | undefined): void {
    if (rowKey === undefined) return;
    const orphan = this.orphaned.get(rowKey);
    if (!orphan) return;
    this.orphaned.delete(rowKey);
    this.options.journal?.done(orphan.segment);
  }

  /**
   * Once every file of the runs that are gone has been read and its rows are
   * stored (the queue is empty), their provisional entries with no row of
   * their own are the calls the gateway's end cut short: each becomes a row
   * (status `gateway_exited`), charged to its key's spend before it is queued
   * (a spend counter seeded from the store now has every other replayed row
   * and not this one). Its entry leaves the journal once it is stored.
   * Returns whether it queued any.
   */
  private async recordInterrupted(): Promise<boolean> {
    if (this.orphaned.size === 0 || this.claimed.size > 0 || this.queue.length > 0) return false;
    // A call whose row the dead run stored (its entry's file held other rows) was settled by that run: dropped.
    const stored = (await this.store.storedRowKeys?.([...this.orphaned.keys()])) ?? new Set<string>();
    const orphans = [...this.orphaned.values()];
    this.orphaned.clear();
    const interrupted: QueuedRow[] = [];
    for (const { entry, segment } of orphans) {
      if (stored.has(entry.rowKey!)) {
        this.options.journal?.done(segment);
        continue;
      }
      const { provisional: mark, ...row } = entry;
      const problem = ledgerRowProblem(row);
      if (problem !== undefined) {
        this.reject(row, problem, segment);
        continue;
      }
      try {
        await this.options.chargeInterrupted?.(row, mark!);
      } catch (err) {
        this.options.logger.error(
          { requestId: row.requestId, keyId: row.keyId, error: (err as Error).message },
          "could not add a call the gateway's end cut short to its key's spend; its row is stored all the same",
        );
      }
      this.unstored.add(row);
      interrupted.push({ row, segment, counted: true });
    }
    if (interrupted.length === 0) return false;
    this.options.metrics.ledgerRows.inc({ result: "interrupted" }, interrupted.length);
    this.options.logger.warn(
      { calls: interrupted.length, requestIds: interrupted.slice(0, 20).map(({ row }) => row.requestId) },
      "usage ledger: calls in flight when an earlier run ended are recorded as gateway_exited, charged their prompt's estimate",
    );
    this.enqueue(interrupted);
    return true;
  }

  private async drain(): Promise<void> {
    this.readBack();
    // Nothing to write for a while (or the store failed last time): check it takes writes.
    if (this.queue.length === 0 && (!this.writable || performance.now() - this.lastWriteMs >= this.probeIntervalMs)) {
      await this.write(() => this.store.probe());
    }
    do await this.writeQueued();
    while (await this.recordInterrupted());
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      // Emptied as rows are stored or set aside: what is left when the store fails goes back to the queue.
      const pending = this.queue.splice(0, this.options.batchSize);
      const started = performance.now();
      this.inFlight = pending.length;
      try {
        // Not while a spend is read from the store: rows stored meanwhile would count there and as unstored (ledgerSpendSeed).
        await this.write(() => this.unstored.turns.write(() => this.insertBatch(pending)));
      } catch (err) {
        // Back to the front, in order, for the next try.
        this.inFlight = 0;
        this.queue.unshift(...pending);
        this.options.metrics.ledgerQueued.set(this.queued);
        throw err;
      }
      this.inFlight = 0;
      this.options.metrics.ledgerFlushDuration.observe((performance.now() - started) / 1000);
      this.readBack();
      this.options.metrics.ledgerQueued.set(this.queued);
    }
  }

  /**
   * Writes a batch in one transaction; `pending` loses each row once it is
   * stored or set aside. Its rows were checked as they came, so a batch that
   * fails is the store's fault (down, read-only, full: thrown, and every row
   * waits) unless the store refused it for what a row holds (a constraint no
   * check can know). Then the rows are written one at a time, and those the
   * store refuses set aside; should the store fail meanwhile, the rest waits.
   */
  private async insertBatch(pending: QueuedRow[]): Promise<void> {
    try {
      await this.store.insert(pending.map((entry) => entry.row));
      this.stored(pending.splice(0));
      return;
    } catch (err) {
      if (!refusedForItsRows(err)) throw err;
    }
    while (pending.length > 0) {
      try {
        await this.store.insert([pending[0]!.row]);
        this.stored(pending.splice(0, 1));
      } catch (err) {
        if (!refusedForItsRows(err)) throw err;
        const { row, segment, provisional, counted } = pending.shift()!;
        if (counted) this.unstored.remove(row);
        this.reject(row, err instanceof LedgerRowError ? err.problem : (err as Error).message, segment, provisional);
      }
    }
  }

  private stored(entries: QueuedRow[]): void {
    for (const { row, segment, provisional, counted } of entries) {
      if (counted) this.unstored.remove(row);
      this.options.journal?.done(segment);
      if (provisional !== undefined) this.options.journal?.done(provisional);
    }
    if (entries.length > 0) this.options.metrics.ledgerRows.inc({ result: "written" }, entries.length);
  }

  /** A row the store cannot keep: said once, counted, and out of the journal (retried, it would fail forever), its provisional entry too. */
  private reject(row: LedgerRow, problem: string, segment?: number, provisional?: number): void {
    if (segment !== undefined) this.options.journal?.done(segment);
    if (provisional !== undefined) this.options.journal?.done(provisional);
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

/** The store refused a write for what its rows hold, not because it cannot be written. */
function refusedForItsRows(err: unknown): boolean {
  return err instanceof LedgerRowError || refusedForContent(err);
}
