// Rows past the ledger's memory stay in the journal and are read back later; the replay at start reads the journal a
// segment at a time and does not hold the start; one odd entry in the journal directory does not stop the replay.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { MemorySpendCounter } from "../../src/usage/budgets.js";
import { LedgerJournal } from "../../src/usage/ledger-journal.js";
import type { LedgerRow } from "../../src/usage/ledger-store.js";
import { ledgerSpendSeed, UnstoredSpend } from "../../src/usage/unstored-spend.js";
import { UsageLedger, type LedgerSink } from "../../src/usage/usage-ledger.js";
import { LogCapture } from "../support/gateway.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, "_");
// A pid no process has (above Linux's pid_max).
const DEAD_PID = 2_147_483_646;

/** A store that keeps rows by rowKey (as ON CONFLICT does), fails while `down`, and holds each insert until `open`. */
class RecordingStore implements LedgerSink {
  down = false;
  private gate: Promise<void> = Promise.resolve();
  private release: () => void = () => {};
  readonly rows = new Map<string, LedgerRow>();
  inserts = 0;
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release();
    this.gate = Promise.resolve();
  }
  async insert(rows: readonly LedgerRow[]): Promise<number> {
    this.inserts++;
    await this.gate;
    if (this.down) throw new Error("connection refused");
    for (const r of rows) this.rows.set(r.rowKey!, r);
    return rows.length;
  }
  async probe(): Promise<void> {
    if (this.down) throw new Error("connection refused");
  }
  /** As LedgerStore.spend: the cost of a key's stored rows admitted in [sinceMs, beforeMs). */
  async spend(keyId: string, sinceMs: number, beforeMs: number): Promise<number> {
    let spent = 0;
    for (const r of this.rows.values()) if (r.keyId === keyId && r.atMs >= sinceMs && r.atMs < beforeMs) spent += r.costNanos;
    return spent;
  }
}

function writer(store: LedgerSink, options: { journal?: LedgerJournal; maxQueued?: number; batchSize?: number; replayWaitMs?: number; logs?: LogCapture; unstored?: UnstoredSpend } = {}) {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const ledger = new UsageLedger(store, {
    flushIntervalMs: 60_000,
    batchSize: options.batchSize ?? 100,
    maxQueued: options.maxQueued,
    journal: options.journal,
    replayWaitMs: options.replayWaitMs,
    unstored: options.unstored,
    logger: options.logs ? createLogger("info", options.logs) : createLogger("silent"),
    metrics,
  });
  const counted = async (result: string) => {
    const text = await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total");
    return Number(new RegExp(`result="${result}"} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  return { ledger, counted };
}

const rowsOf = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => ledgerRow({ requestId: `${prefix}-${i}`, rowKey: `${prefix}-${i}` }));

/** Journal files a dead instance left: `segments` files of `perSegment` rows each. */
function deadRunJournal(dir: string, segments: number, perSegment: number): string[] {
  const ids: string[] = [];
  for (let segment = 1; segment <= segments; segment++) {
    const rows = rowsOf(`dead-${segment}`, perSegment);
    ids.push(...rows.map((r) => r.requestId));
    writeFileSync(join(dir, `${HOST}.${DEAD_PID}.0123456789ab.${segment}.jsonl`), rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  }
  return ids;
}

describe("usage ledger rows past its memory", () => {
  it("stay in the journal (none dropped), are read back once the store catches up, and are each written once", async () => {
    const dir = tempDir("sb-journal-");
    const journal = LedgerJournal.open(dir, { logger: createLogger("silent"), segmentBytes: 2_000 });
    const store = new RecordingStore();
    store.down = true;
    const { ledger, counted } = writer(store, { journal, maxQueued: 5, batchSize: 4 });
    const rows = rowsOf("outage", 40);
    for (const r of rows) ledger.append(r);
    expect(await counted("dropped")).toBe(0);
    // Every row is waiting: 5 in memory, the rest in journal files of their own (several, past the segment size).
    expect(ledger.queued).toBe(40);
    expect(journal.pendingRows).toBe(40);
    expect(readdirSync(dir).length).toBeGreaterThan(2);
    await expect(ledger.flush()).rejects.toThrow("connection refused");

    store.down = false;
    await ledger.flush();
    expect([...store.rows.keys()].sort()).toEqual(rows.map((r) => r.rowKey!).sort());
    expect(ledger.queued).toBe(0);
    expect(journal.pendingRows).toBe(0);
    expect(await counted("written")).toBe(40);
    // Rows after the catch-up go to memory again.
    ledger.append(rowsOf("after", 1)[0]!);
    expect(ledger.queued).toBe(1);
    await ledger.close();
    expect(store.rows.size).toBe(41);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("left in the journal at exit, are written by the next start", async () => {
    const dir = tempDir("sb-journal-");
    const store = new RecordingStore();
    store.down = true;
    const first = writer(store, { journal: LedgerJournal.open(dir, { logger: createLogger("silent") }), maxQueued: 3 });
    const rows = rowsOf("exit", 10);
    for (const r of rows) first.ledger.append(r);
    await first.ledger.close(0);

    store.down = false;
    const second = writer(store, { journal: LedgerJournal.open(dir, { logger: createLogger("silent") }) });
    await second.ledger.recover();
    expect([...store.rows.keys()].sort()).toEqual(rows.map((r) => r.rowKey!).sort());
    await second.ledger.close();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("replaying what a dead run left", () => {
  it("reads one segment at a time and does not hold the start for a backlog; the rest is written meanwhile", async () => {
    const dir = tempDir("sb-journal-");
    const ids = deadRunJournal(dir, 3, 50);
    const store = new RecordingStore();
    store.hold();
    const { ledger, counted } = writer(store, { journal: LedgerJournal.open(dir, { logger: createLogger("silent") }), batchSize: 50, replayWaitMs: 0 });
    // The store is stuck on the first batch: the start goes on all the same.
    await ledger.recover();
    await expect.poll(() => store.inserts).toBe(1);
    // Only the first file's rows are queued: they are being written, the others wait their turn.
    expect(ledger.queued).toBe(50);
    store.open();
    await ledger.flush();
    expect([...store.rows.keys()].sort()).toEqual(ids.sort());
    expect(await counted("replayed")).toBe(150);
    await ledger.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("counts its rows' cost in a spend rebuilt from the store until the store has them, so a backlog gives no key its budget afresh", async () => {
    const dir = tempDir("sb-journal-");
    deadRunJournal(dir, 3, 50); // 150 rows of key k1, 6,000 nanos each
    const store = new RecordingStore();
    store.hold();
    // A spend read waits for the batch being written, but no longer than this: the store here holds it until told.
    const unstored = new UnstoredSpend({ turnWaitMs: 20 });
    const { ledger } = writer(store, { journal: LedgerJournal.open(dir, { logger: createLogger("silent") }), batchSize: 50, replayWaitMs: 0, unstored });
    await ledger.recover();
    const period = { startMs: ledgerRow().atMs - 60_000, endMs: Date.now() + 3_600_000 };
    // The store has none of them yet: the key is seen with all of them.
    const seed = ledgerSpendSeed(store, ledger.unstored);
    expect(await new MemorySpendCounter(seed).spent("k1", period)).toBe(150 * 6_000);
    expect(await new MemorySpendCounter(seed).spent("k2", period)).toBe(0);
    // Outside the period, they do not count.
    expect(await new MemorySpendCounter(seed).spent("k1", { startMs: ledgerRow().atMs + 60_000, endMs: period.endMs })).toBe(0);
    store.open();
    await ledger.flush();
    // Stored, each counts once: from the store.
    expect(ledger.unstored.within("k1", period.startMs, period.endMs)).toBe(0);
    expect(await new MemorySpendCounter(seed).spent("k1", period)).toBe(150 * 6_000);
    await ledger.close();
  });

  it("skips an entry that is not a journal file it can read (said once), and replays the others", async () => {
    const dir = tempDir("sb-journal-");
    const odd = `${HOST}.999997.bbbbbbbbbbbb.1.jsonl`;
    mkdirSync(join(dir, odd));
    const ids = deadRunJournal(dir, 1, 5);
    const store = new RecordingStore();
    const logs = new LogCapture();
    const journal = LedgerJournal.open(dir, { logger: createLogger("info", logs) });
    const replaying = writer(store, { journal, logs }).ledger;
    await replaying.recover();
    expect([...store.rows.keys()].sort()).toEqual(ids.sort());
    const said = () => logs.entries.filter((entry) => entry.file === odd);
    expect(said()).toEqual([expect.objectContaining({ level: "error", reason: "not a regular file" })]);
    // Left as it was, under its own name, and not said again at the next look.
    await replaying.recover();
    expect(said()).toHaveLength(1);
    expect(readdirSync(dir)).toContain(odd);
    await replaying.close();
  });
});
