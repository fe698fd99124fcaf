import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { LedgerJournal } from "../../src/usage/ledger-journal.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { UsageLedger } from "../../src/usage/usage-ledger.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { createPostgresDatabase, tempDir, type StoreKind } from "../support/stores.js";

const logger = createLogger("silent");
const HOST = hostname().replace(/[^A-Za-z0-9-]/g, "_");
// A pid no process has (above Linux's pid_max).
const DEAD_PID = 2_147_483_646;

const row = (requestId: string, rowKey = `key-${requestId}`) => ledgerRow({ requestId, rowKey });

const line = (r: LedgerRow) => `${JSON.stringify(r)}\n`;

/** A journal file as another instance would have left it. */
function leftBehind(dir: string, owner: { host?: string; pid: number; token?: string }, text: string, segment = 1): string {
  const name = `${owner.host ?? HOST}.${owner.pid}.${owner.token ?? "0123456789ab"}.${segment}.jsonl`;
  writeFileSync(join(dir, name), text);
  return name;
}

function ageBy(dir: string, name: string, ms: number): void {
  const then = (Date.now() - ms) / 1000;
  utimesSync(join(dir, name), then, then);
}

const journals: LedgerJournal[] = [];
function openJournal(dir: string, options: { segmentBytes?: number; leaseMs?: number } = {}): LedgerJournal {
  const journal = LedgerJournal.open(dir, { logger, ...options });
  journals.push(journal);
  return journal;
}
afterEach(() => {
  for (const journal of journals.splice(0)) journal.close();
});

describe("the usage ledger journal", () => {
  it("has each row on disk as soon as append returns, and empties once the store has them all", () => {
    const dir = tempDir("sb-journal-");
    const journal = openJournal(dir);
    const first = journal.append(row("a"));
    journal.append(row("b"));
    const [file] = readdirSync(dir);
    expect(readFileSync(join(dir, file!), "utf8")).toBe(line(row("a")) + line(row("b")));
    journal.done(first, 2);
    expect(readdirSync(dir)).toEqual([file]);
    expect(statSync(join(dir, file!)).size).toBe(0);
    // The next row starts the emptied file afresh.
    journal.append(row("c"));
    expect(readFileSync(join(dir, file!), "utf8")).toBe(line(row("c")));
  });

  it("skips a torn last line (and a run of zeros) when it replays a dead instance's file", () => {
    const dir = tempDir("sb-journal-");
    const whole = line(row("a")) + line(row("b"));
    leftBehind(dir, { pid: DEAD_PID }, `${whole}\0\0\0\n${line(row("c")).slice(0, 40)}`);
    const recovered = openJournal(dir).claimOrphans();
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.rows.map((r) => r.requestId)).toEqual(["a", "b"]);
    expect(recovered[0]!.torn).toBe(2);
  });

  it("never claims the files of a live instance, on this host or another; claims them once their lease has run out", () => {
    const dir = tempDir("sb-journal-");
    // Our parent process stands in for another live gateway on this host.
    const live = leftBehind(dir, { pid: process.ppid, token: "aaaaaaaaaaaa" }, line(row("live")));
    const elsewhere = leftBehind(dir, { host: "other-host", pid: 1, token: "bbbbbbbbbbbb" }, line(row("elsewhere")));
    const journal = openJournal(dir, { leaseMs: 60_000 });
    expect(journal.claimOrphans()).toEqual([]);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining([live, elsewhere]));

    ageBy(dir, elsewhere, 120_000);
    expect(journal.claimOrphans().flatMap((segment) => segment.rows.map((r) => r.requestId))).toEqual(["elsewhere"]);
    ageBy(dir, live, 120_000);
    expect(journal.claimOrphans().flatMap((segment) => segment.rows.map((r) => r.requestId))).toEqual(["live"]);
  });

  it("never claims the journal of another gateway open in this process", () => {
    const dir = tempDir("sb-journal-");
    const other = openJournal(dir);
    other.append(row("theirs"));
    expect(openJournal(dir).claimOrphans()).toEqual([]);
  });

  it("rotates to a new segment past its size while rows wait, and deletes each old one once its rows are stored", () => {
    const dir = tempDir("sb-journal-");
    const journal = openJournal(dir, { segmentBytes: 1_000 });
    const segments = Array.from({ length: 12 }, (_, i) => journal.append(row(`r${i}`)));
    const distinct = [...new Set(segments)];
    expect(distinct.length).toBeGreaterThan(2);
    expect(readdirSync(dir)).toHaveLength(distinct.length);
    // The oldest segment's rows are stored: its file goes, the others stay.
    const oldest = distinct[0]!;
    journal.done(oldest, segments.filter((s) => s === oldest).length);
    expect(readdirSync(dir)).toHaveLength(distinct.length - 1);
    for (const segment of distinct.slice(1)) journal.done(segment, segments.filter((s) => s === segment).length);
    // Only the current segment is left, empty.
    const left = readdirSync(dir);
    expect(left).toHaveLength(1);
    expect(statSync(join(dir, left[0]!)).size).toBe(0);
    expect(journal.pendingRows).toBe(0);
  });

  it("keeps the files of rows the store never got when closed, and removes its file when it had none", () => {
    const dir = tempDir("sb-journal-");
    const clean = LedgerJournal.open(dir, { logger });
    clean.done(clean.append(row("stored")));
    clean.close();
    expect(readdirSync(dir)).toEqual([]);

    const unstored = LedgerJournal.open(dir, { logger });
    unstored.append(row("waiting"));
    unstored.close();
    expect(readdirSync(dir)).toHaveLength(1);
  });
});

describe.each<StoreKind>(["sqlite", "postgres"])("replaying a journal into the store, on %s", (kind) => {
  it("stores every row once, those the store had before the crash included", async () => {
    const dir = tempDir("sb-journal-");
    let drop = async () => {};
    let db: SqlDatabase;
    if (kind === "postgres") {
      const database = await createPostgresDatabase();
      drop = database.drop;
      db = new PostgresDatabase(database.url);
    } else {
      db = new SqliteDatabase(join(tempDir(), "switchboard.db"));
    }
    await migrate(db);
    const store = new LedgerStore(db);
    try {
      // A run that stored a and b, then died before it could clear them from its journal; c never reached the store.
      const crashed = LedgerJournal.open(dir, { logger });
      for (const id of ["a", "b", "c"]) crashed.append(row(id));
      expect(await store.insert([row("a"), row("b")])).toBe(2);
      crashed.close();

      const ledger = new UsageLedger(store, { flushIntervalMs: 60_000, batchSize: 100, journal: openJournal(dir), logger, metrics: new GatewayMetrics({ defaultMetrics: false }) });
      await ledger.recover();
      // A second replay of the same rows (another instance racing, a crash mid-replay) adds nothing.
      expect(await store.insert([row("a"), row("b"), row("c")])).toBe(0);
      await ledger.close();

      const counts = await db.query("SELECT request_id, COUNT(*) AS n FROM usage_ledger GROUP BY request_id ORDER BY request_id");
      expect(counts.map((r) => [r.request_id, Number(r.n)])).toEqual([
        ["a", 1],
        ["b", 1],
        ["c", 1],
      ]);
      // Replayed and stored: nothing is left to replay.
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await db.close();
      await drop();
    }
  });
});
