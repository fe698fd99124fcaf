// A run stopped by a configuration error right after the journal opened leaves an empty journal
// file. The next start takes it over silently: no row was lost, so it says nothing of a replay.
import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { migrate } from "../../src/store/migrations.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerJournal } from "../../src/usage/ledger-journal.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { UsageLedger } from "../../src/usage/usage-ledger.js";
import { LogCapture } from "../support/gateway.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, "_");
// A pid no process has (above Linux's pid_max).
const DEAD_PID = 2_147_483_646;
const REPLAYING = "replaying usage ledger rows an earlier run had not stored (torn lines are skipped)";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Starts a ledger over a journal directory holding the files a dead run left, and returns what recovery logged. */
async function recoverFrom(files: Record<string, string>) {
  const dir = tempDir();
  for (const [segment, text] of Object.entries(files)) writeFileSync(join(dir, `${HOST}.${DEAD_PID}.0123456789ab.${segment}.jsonl`), text);
  const logs = new LogCapture();
  const logger = createLogger("info", logs);
  const db = new SqliteDatabase(join(tempDir(), "switchboard.db"));
  await migrate(db);
  const ledger = new UsageLedger(new LedgerStore(db), {
    flushIntervalMs: 60_000,
    batchSize: 50,
    journal: LedgerJournal.open(dir, { logger }),
    logger,
    metrics: new GatewayMetrics({ defaultMetrics: false }),
  });
  cleanups.push(async () => {
    await ledger.close();
    await db.close();
  });
  await ledger.recover();
  return logs.entries.filter((entry) => entry.msg === REPLAYING);
}

describe("taking over a dead run's journal", () => {
  it("says nothing of a replay when its files hold no row", async () => {
    expect(await recoverFrom({ 1: "" })).toEqual([]);
  });

  it("names only the files that hold rows", async () => {
    const said = await recoverFrom({ 1: "", 2: `${JSON.stringify(ledgerRow({ requestId: "r1", rowKey: "key-r1" }))}\n` });
    expect(said).toHaveLength(1);
    expect(said[0]!.files).toEqual([`${HOST}.${DEAD_PID}.0123456789ab.2.jsonl`]);
  });
});
