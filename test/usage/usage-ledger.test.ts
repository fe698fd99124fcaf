import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import type { LedgerRow, LedgerStore } from "../../src/usage/ledger-store.js";
import { UsageLedger } from "../../src/usage/usage-ledger.js";

/** A store that records batches and fails while `down` is set. */
class FlakyStore {
  down = false;
  readonly batches: string[][] = [];
  async insert(rows: readonly LedgerRow[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.down) throw new Error("connection refused");
    this.batches.push(rows.map((row) => row.requestId));
  }
}

const row = (requestId: string) => ({ requestId }) as LedgerRow;

function ledger(store: FlakyStore, options: { flushIntervalMs?: number; batchSize?: number; maxQueued?: number } = {}) {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  return {
    metrics,
    ledger: new UsageLedger(store as unknown as LedgerStore, {
      flushIntervalMs: options.flushIntervalMs ?? 60_000,
      batchSize: options.batchSize ?? 100,
      maxQueued: options.maxQueued,
      logger: createLogger("silent"),
      metrics,
    }),
  };
}

describe("the usage ledger writer", () => {
  it("queues rows without touching the store, then writes them in batches of the configured size", async () => {
    const store = new FlakyStore();
    const { ledger: l } = ledger(store, { batchSize: 3 });
    for (let i = 0; i < 7; i++) l.append(row(`r${i}`));
    // A full batch starts a write at once; the rest waits for the timer or close.
    await expect.poll(() => store.batches.length).toBeGreaterThanOrEqual(1);
    await l.close();
    expect(store.batches.flat()).toEqual(["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
    expect(store.batches.every((batch) => batch.length <= 3)).toBe(true);
  });

  it("keeps rows in order through a store outage and writes them when it is back", async () => {
    const store = new FlakyStore();
    const { ledger: l, metrics } = ledger(store, { flushIntervalMs: 10 });
    store.down = true;
    l.append(row("a"));
    l.append(row("b"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.batches).toEqual([]);
    expect(l.queued).toBe(2);
    l.append(row("c"));
    store.down = false;
    await expect.poll(() => store.batches.flat()).toEqual(["a", "b", "c"]);
    expect(await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total")).toContain('result="written"} 3');
    await l.close();
  });

  it("counts rows being written as still queued until the store has them", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const store = { batches: [] as string[][], async insert(rows: readonly LedgerRow[]) { await held; this.batches.push(rows.map((r) => r.requestId)); } };
    const { ledger: l } = ledger(store as unknown as FlakyStore);
    l.append(row("x"));
    l.append(row("y"));
    const writing = l.flush();
    expect(l.queued).toBe(2);
    release();
    await writing;
    expect(l.queued).toBe(0);
    expect(store.batches).toEqual([["x", "y"]]);
    await l.close();
  });

  it("on close, retries a failing store until it answers, within the time allowed", async () => {
    const store = new FlakyStore();
    const { ledger: l } = ledger(store);
    l.append(row("last"));
    store.down = true;
    setTimeout(() => (store.down = false), 300);
    await l.close(5_000);
    expect(store.batches.flat()).toEqual(["last"]);
  });

  it("drops the oldest rows (and counts them) only when the queue overflows", async () => {
    const store = new FlakyStore();
    store.down = true;
    const { ledger: l, metrics } = ledger(store, { maxQueued: 3 });
    for (const id of ["1", "2", "3", "4", "5"]) l.append(row(id));
    expect(l.queued).toBe(3);
    expect(await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total")).toContain('result="dropped"} 2');
    store.down = false;
    await l.close();
    expect(store.batches.flat()).toEqual(["3", "4", "5"]);
  });
});
