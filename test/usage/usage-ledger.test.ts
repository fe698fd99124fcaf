import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { LedgerJournal } from "../../src/usage/ledger-journal.js";
import type { LedgerRow } from "../../src/usage/ledger-store.js";
import { UsageLedger, type LedgerSink, type UsageLedgerOptions } from "../../src/usage/usage-ledger.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";

/** A store that records batches (and probes) and fails while `down` is set. */
class FlakyStore {
  down = false;
  probes = 0;
  readonly batches: string[][] = [];
  async insert(rows: readonly LedgerRow[]): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.down) throw new Error("connection refused");
    this.batches.push(rows.map((row) => row.requestId));
    return rows.length;
  }
  async probe(): Promise<void> {
    this.probes++;
    if (this.down) throw new Error("connection refused");
  }
}

const row = (requestId: string) => ledgerRow({ requestId });

type LedgerTestOptions = Pick<UsageLedgerOptions, "batchSize" | "maxQueued" | "journal" | "onStoreState" | "probeIntervalMs"> & { flushIntervalMs?: number };

function ledger(store: FlakyStore, options: Partial<LedgerTestOptions> = {}) {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  return {
    metrics,
    ledger: new UsageLedger(store as unknown as LedgerSink, {
      batchSize: 100,
      ...options,
      flushIntervalMs: options.flushIntervalMs ?? 60_000,
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
    const store = {
      batches: [] as string[][],
      async insert(rows: readonly LedgerRow[]) {
        await held;
        this.batches.push(rows.map((r) => r.requestId));
        return rows.length;
      },
      async probe() {},
    };
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

  it("without a journal, drops the rows that do not fit in memory (and counts them), only when the queue overflows", async () => {
    const store = new FlakyStore();
    store.down = true;
    const { ledger: l, metrics } = ledger(store, { maxQueued: 3 });
    for (const id of ["1", "2", "3", "4", "5"]) l.append(row(id));
    expect(l.queued).toBe(3);
    expect(await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total")).toContain('result="dropped"} 2');
    store.down = false;
    await l.close();
    expect(store.batches.flat()).toEqual(["1", "2", "3"]);
  });

  it("has the row in the journal when append returns, and clears it once the store has it", async () => {
    const dir = tempDir("sb-journal-");
    const journal = LedgerJournal.open(dir, { logger: createLogger("silent") });
    const store = new FlakyStore();
    const { ledger: l } = ledger(store, { journal });
    l.append(row("journaled"));
    const journalText = () => readdirSync(dir).map((name) => readFileSync(join(dir, name), "utf8")).join("");
    expect(JSON.parse(journalText())).toMatchObject({ requestId: "journaled", rowKey: expect.any(String) });
    await l.flush();
    expect(store.batches).toEqual([["journaled"]]);
    expect(journalText()).toBe("");
    await l.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("tells when the store stops taking writes and when it takes them again, probing it when no row comes", async () => {
    const store = new FlakyStore();
    const states: boolean[] = [];
    const { ledger: l } = ledger(store, { flushIntervalMs: 10, probeIntervalMs: 50, onStoreState: (writable) => states.push(writable) });
    // Idle: a probe now and then finds the store down, then up again.
    store.down = true;
    await expect.poll(() => states).toEqual([false]);
    store.down = false;
    await expect.poll(() => states).toEqual([false, true]);
    // A failing batch tells too.
    store.down = true;
    l.append(row("during"));
    await expect.poll(() => states).toEqual([false, true, false]);
    store.down = false;
    await expect.poll(() => store.batches.flat()).toEqual(["during"]);
    expect(states).toEqual([false, true, false, true]);
    expect(store.probes).toBeGreaterThan(0);
    await l.close();
  });
});
