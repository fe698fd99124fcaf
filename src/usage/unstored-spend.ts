import type { SpendSeed } from "./budgets.js";
import type { LedgerRow, LedgerStore } from "./ledger-store.js";
import { StoreTurns } from "./store-turns.js";

/** Rows are counted by the minute they were admitted: periods start on a minute, so a period's minutes are whole. */
const MINUTE_MS = 60_000;
/** How long a batch write and a spend read wait for each other at most, unless told (about a store statement's timeout). */
const TURN_WAIT_MS = 5_000;

/**
 * The cost of usage rows the store does not have yet: this run's, from the
 * moment a call appends its row (the ledger writes them in batches), and
 * those runs now gone left in the journal; per key, by the minute each call
 * was admitted. A spend rebuilt from the store adds it: else a key given its
 * first budget (or one changed) would miss the calls it made just before,
 * whose rows wait for the next batch, and a crash with a backlog that takes
 * longer to write than the start waits would give every key a budget afresh.
 * Memory is per key and minute, not per row: a backlog of millions of rows
 * costs a few entries.
 */
export class UnstoredSpend {
  private readonly byKey = new Map<string, Map<number, MinuteCost>>();
  private readonly whenNotEmpty = new Set<() => void>();
  /** Taken by the ledger's batch writes and by ledgerSpendSeed's reads, which must not overlap. */
  readonly turns: StoreTurns;

  constructor(options: { turnWaitMs?: number } = {}) {
    this.turns = new StoreTurns(options.turnWaitMs ?? TURN_WAIT_MS);
  }

  add(row: LedgerRow): void {
    this.change(row, row.costNanos);
  }

  /** The row is in the store now (or was set aside, never to be). */
  remove(row: LedgerRow): void {
    this.change(row, -row.costNanos);
  }

  /** The keys with a cost not stored yet. */
  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /** No cost waits for the store. */
  get isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  /** Calls `listener` whenever a cost comes in while none was waiting; returns what stops that. */
  onNotEmpty(listener: () => void): () => void {
    this.whenNotEmpty.add(listener);
    return () => this.whenNotEmpty.delete(listener);
  }

  /**
   * The key's unstored cost of calls admitted in [sinceMs, beforeMs). A
   * minute partly in the range counts whole unless every call it still holds
   * was admitted outside it (`earliest`, `latest`): a rebuild point is
   * mostly the first call of a key or period, and its own minute's later
   * calls, admitted into the rebuilt counter, must not count twice.
   */
  within(keyId: string, sinceMs: number, beforeMs: number): number {
    let total = 0;
    for (const [minute, cost] of this.byKey.get(keyId) ?? []) {
      if (minute + MINUTE_MS > sinceMs && minute < beforeMs && cost.earliest < beforeMs && cost.latest >= sinceMs) total += cost.nanos;
    }
    return total;
  }

  private change(row: LedgerRow, nanos: number): void {
    if (!(nanos !== 0 && Number.isFinite(nanos))) return;
    const wasEmpty = this.isEmpty;
    const minute = Math.floor(row.atMs / MINUTE_MS) * MINUTE_MS;
    const minutes = this.byKey.get(row.keyId) ?? new Map<number, MinuteCost>();
    const cost = minutes.get(minute) ?? { nanos: 0, earliest: row.atMs, latest: row.atMs };
    cost.nanos += nanos;
    // Only ever widened while the minute holds a cost: a stored row leaves the bounds as they were, which can only count more.
    cost.earliest = Math.min(cost.earliest, row.atMs);
    cost.latest = Math.max(cost.latest, row.atMs);
    if (cost.nanos > 0) minutes.set(minute, cost);
    else minutes.delete(minute);
    if (minutes.size > 0) this.byKey.set(row.keyId, minutes);
    else this.byKey.delete(row.keyId);
    if (wasEmpty && !this.isEmpty) for (const listener of this.whenNotEmpty) listener();
  }
}

/** A key's unstored cost of one minute, and when the first and last of its calls were admitted. */
interface MinuteCost {
  nanos: number;
  earliest: number;
  latest: number;
}

/**
 * A key's spend rebuilt from the ledger: what the store has plus what is not
 * stored yet. The unstored part is read first (at once: a call settled into
 * a figure from then on must not count here too), in a turn no batch write
 * shares (UnstoredSpend.turns): a batch stored between the two reads would
 * count in both. Should a write hang past the turns' bound, the read goes on
 * and such a batch counts twice (a key refused a little early), never not
 * at all.
 */
export function ledgerSpendSeed(store: Pick<LedgerStore, "spend">, unstored: UnstoredSpend): SpendSeed {
  return (keyId, sinceMs, beforeMs) =>
    unstored.turns.read(async () => {
      const waiting = unstored.within(keyId, sinceMs, beforeMs);
      return waiting + (await store.spend(keyId, sinceMs, beforeMs));
    });
}
