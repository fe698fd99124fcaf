// A key's spend rebuilt from the ledger (ledgerSpendSeed) while a batch of
// its rows is being written: the rows not stored yet are counted as the read
// starts, the store's sum as it answers, so a batch stored in between would
// count in both (a key refused before its budget is spent). The store here
// runs its statements one at a time, in the order they came, as the SQLite
// thread does; its batch write is held by the test, so the overlap is forced.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import type { LedgerRow } from "../../src/usage/ledger-store.js";
import { ledgerSpendSeed, UnstoredSpend } from "../../src/usage/unstored-spend.js";
import { UsageLedger, type LedgerSink } from "../../src/usage/usage-ledger.js";
import { ledgerRow } from "../support/ledger-rows.js";

/** A store with one connection: a statement runs once those before it are done; the first insert waits for `release`. */
class OneConnectionStore implements LedgerSink {
  private readonly rows: LedgerRow[] = [];
  private last: Promise<unknown> = Promise.resolve();
  private held: Promise<void> | undefined;
  private releaseHeld = () => {};
  insertsAsked = 0;

  holdInserts(): void {
    this.held = new Promise((resolve) => (this.releaseHeld = resolve));
  }

  release(): void {
    this.releaseHeld();
    this.held = undefined;
  }

  insert(rows: readonly LedgerRow[]): Promise<number> {
    this.insertsAsked++;
    const held = this.held;
    return this.inTurn(async () => {
      await held;
      this.rows.push(...rows);
      return rows.length;
    });
  }

  async probe(): Promise<void> {}

  spend(keyId: string, sinceMs: number, beforeMs: number): Promise<number> {
    return this.inTurn(async () => this.rows.filter((row) => row.keyId === keyId && row.atMs >= sinceMs && row.atMs < beforeMs).reduce((sum, row) => sum + row.costNanos, 0));
  }

  private inTurn<T>(statement: () => Promise<T>): Promise<T> {
    const result = this.last.then(statement);
    this.last = result.catch(() => {});
    return result;
  }
}

const row = ledgerRow();
const period = { sinceMs: row.atMs - 60_000, beforeMs: row.atMs + 60_000 };

function ledgerOver(store: OneConnectionStore, unstored: UnstoredSpend): UsageLedger {
  return new UsageLedger(store, { flushIntervalMs: 60_000, batchSize: 100, unstored, logger: createLogger("silent"), metrics: new GatewayMetrics({ defaultMetrics: false }) });
}

describe("a key's spend read from the ledger while a batch of its rows is written", () => {
  it("counts each row once, whether the batch is stored before the read or after it", async () => {
    const store = new OneConnectionStore();
    const unstored = new UnstoredSpend();
    const ledger = ledgerOver(store, unstored);
    const seed = ledgerSpendSeed(store, unstored);
    ledger.append({ ...row, requestId: "a", rowKey: "a" });
    ledger.append({ ...row, requestId: "b", rowKey: "b" });
    store.holdInserts();
    const flushed = ledger.flush();
    await until(() => store.insertsAsked === 1);
    // The batch is with the store; the read comes while it is written.
    const spent = seed(row.keyId, period.sinceMs, period.beforeMs);
    store.release();
    await flushed;
    expect(await spent).toBe(2 * row.costNanos);
    // Once stored: from the store alone.
    expect(await seed(row.keyId, period.sinceMs, period.beforeMs)).toBe(2 * row.costNanos);
    await ledger.close();
  });

  it("lets a batch that comes while a read is under way wait for it, so the read counts its rows once", async () => {
    const store = new OneConnectionStore();
    const unstored = new UnstoredSpend();
    const ledger = ledgerOver(store, unstored);
    ledger.append({ ...row, requestId: "a", rowKey: "a" });
    // A store read that answers when the test says, as a slow one would; the batch is asked for meanwhile.
    let answer = (_: number) => {};
    const slowStore = { spend: (keyId: string, sinceMs: number, beforeMs: number) => new Promise<number>((resolve) => (answer = () => void store.spend(keyId, sinceMs, beforeMs).then(resolve))) };
    const spent = ledgerSpendSeed(slowStore, unstored)(row.keyId, period.sinceMs, period.beforeMs);
    const flushed = ledger.flush();
    await new Promise((resolve) => setImmediate(resolve));
    answer(0);
    await flushed;
    expect(await spent).toBe(row.costNanos);
    await ledger.close();
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
