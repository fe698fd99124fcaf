// The start-up replay of what a dead run left in the ledger's journal: each file is read once (not once to count its
// cost for budgets and again to write its rows), and each of its rows is recorded once.
import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { migrate } from "../../src/store/migrations.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerJournal, type JournalEntry } from "../../src/usage/ledger-journal.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { UsageLedger } from "../../src/usage/usage-ledger.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";

// Every file read, by path: the journal reads its files with readFileSync.
const fileReads = vi.hoisted(() => [] as string[]);
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const readFileSync = ((file: Parameters<typeof fs.readFileSync>[0], ...rest: unknown[]) => {
    if (typeof file === "string") fileReads.push(file);
    return (fs.readFileSync as (...args: unknown[]) => unknown)(file, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, default: { ...fs, readFileSync }, readFileSync };
});

const logger = createLogger("silent");
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, "_");
// A pid no process has (above Linux's pid_max).
const DEAD_PID = 2_147_483_646;
const PERIOD = { startMs: 1_772_323_200_000, endMs: 1_775_001_600_000 };

const row = (id: string) => ledgerRow({ requestId: id, rowKey: `key-${id}` });
const provisional = (id: string): JournalEntry => ({
  ...ledgerRow({ requestId: id, rowKey: `key-${id}`, status: "gateway_exited", completionTokens: 0, costNanos: 4_000, latencyMs: 0 }),
  provisional: { reservation: { ...PERIOD, callId: `call-${id}` } },
});
const lines = (...entries: JournalEntry[]) => entries.map((entry) => `${JSON.stringify(entry)}\n`).join("");

/** Journal files as a killed run left them, one text per segment. */
function killedRun(dir: string, ...segments: string[]): void {
  segments.forEach((text, i) => writeFileSync(join(dir, `${HOST}.${DEAD_PID}.0123456789ab.${i + 1}.jsonl`), text));
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function restart(dir: string, maxQueued?: number) {
  const db = new SqliteDatabase(join(tempDir(), "switchboard.db"));
  await migrate(db);
  const journal = LedgerJournal.open(dir, { logger });
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const charged: string[] = [];
  const ledger = new UsageLedger(new LedgerStore(db), {
    flushIntervalMs: 60_000,
    batchSize: 50,
    maxQueued,
    journal,
    logger,
    metrics,
    chargeInterrupted: async (interrupted) => void charged.push(interrupted.requestId),
  });
  cleanups.push(async () => {
    await ledger.close();
    await db.close();
  });
  const recorded = async () =>
    (await db.query("SELECT request_id, status, COUNT(*) AS n FROM usage_ledger GROUP BY request_id, status ORDER BY request_id")).map((r) => `${r.request_id}:${r.status}:${Number(r.n)}`);
  const counted = async (result: string) => {
    const text = await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total");
    return Number(new RegExp(`result="${result}"} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  return { ledger, charged, recorded, counted };
}

describe("replaying a dead run's journal at start-up", () => {
  it("reads each of its files once, and records each of its calls once (the one cut short as gateway_exited)", async () => {
    const dir = tempDir("sb-replay-");
    // cut: in flight when the run died. done: ended (its row beside its entry). late: its row in the next file. plain: no entry.
    killedRun(dir, lines(provisional("cut"), provisional("done"), row("done"), row("plain"), provisional("late")), lines(row("late"), row("other")));
    const { ledger, charged, recorded, counted } = await restart(dir);
    fileReads.length = 0;
    await ledger.recover();
    const journalReads = fileReads.filter((file) => file.startsWith(dir));
    expect(journalReads).toHaveLength(2);
    expect(new Set(journalReads).size).toBe(2);
    expect(await recorded()).toEqual(["cut:gateway_exited:1", "done:ok:1", "late:ok:1", "other:ok:1", "plain:ok:1"]);
    expect(charged).toEqual(["cut"]);
    expect(await counted("replayed")).toBe(4);
    expect(await counted("interrupted")).toBe(1);
    expect(await counted("written")).toBe(5);
  });

  it("past the rows it may hold in memory, reads the rest back later, and still records each row once and counts each for budgets until stored", async () => {
    const dir = tempDir("sb-replay-");
    const segments = [1, 2, 3].map((segment) => Array.from({ length: 40 }, (_, i) => row(`s${segment}-${i}`)));
    killedRun(dir, ...segments.map((rows) => lines(...rows)));
    const { ledger, recorded, counted } = await restart(dir, 50);
    const unstoredBefore = () => ledger.unstored.within("k1", 0, Number.MAX_SAFE_INTEGER);
    // Counted before any row is written: the flush is stopped until the check.
    const flush = vi.spyOn(ledger, "flush").mockImplementationOnce(async () => {});
    await ledger.recover();
    expect(unstoredBefore()).toBe(120 * 6_000);
    flush.mockRestore();
    await ledger.flush();
    expect((await recorded()).sort()).toEqual(segments.flat().map((r) => `${r.requestId}:ok:1`).sort());
    expect(await counted("replayed")).toBe(120);
    expect(unstoredBefore()).toBe(0);
  });
});
