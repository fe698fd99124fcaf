// One bad usage ledger row never freezes the ledger: on SQLite and on
// Postgres, a row the store cannot keep (NaN cost, a fraction or 1e30 of
// tokens, a negative count) is set aside, logged as an error naming its
// request and the problem, and counted; the rows around it are written, the
// store stays healthy, and later rows are written too.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerJournal } from "../../src/usage/ledger-journal.js";
import { LedgerRowError, LedgerStore, ledgerRowProblem, type LedgerRow } from "../../src/usage/ledger-store.js";
import { UsageLedger, type LedgerSink } from "../../src/usage/usage-ledger.js";
import { LogCapture } from "../support/gateway.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { createPostgresDatabase, tempDir, type StoreKind } from "../support/stores.js";

let serial = 0;
function row(overrides: Partial<LedgerRow> = {}): LedgerRow {
  return ledgerRow({ requestId: `req-${++serial}`, atMs: Date.now(), keyId: "victim", provider: "evil", servedModel: "evil-model", ...overrides });
}

/** The rows the audit saw, and their kin: each breaks a NOT NULL or INTEGER column, or would store garbage silently on SQLite. */
const BAD_ROWS: [string, Partial<LedgerRow>, RegExp][] = [
  ["a NaN cost (NOT NULL constraint failed: usage_ledger.cost_nanos)", { costNanos: Number.NaN }, /^costNanos is NaN/],
  ["NaN prompt tokens", { promptTokens: Number.NaN }, /^promptTokens is NaN/],
  ["a fraction of a token", { completionTokens: 1.5 }, /^completionTokens is 1\.5/],
  ["1e30 tokens", { promptTokens: 1e30 }, /^promptTokens is 1e\+30/],
  ["negative tokens", { cachedTokens: -5 }, /^cachedTokens is -5/],
  ["tokens as a string", { promptTokens: "12" as unknown as number }, /^promptTokens is a string/],
  ["a cost of 1e30 nano-units", { costNanos: 1e30 }, /^costNanos is 1e\+30/],
];

function writer(sink: LedgerSink, options: { journal?: LedgerJournal; batchSize?: number } = {}) {
  const logs = new LogCapture();
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const states: boolean[] = [];
  const ledger = new UsageLedger(sink, {
    flushIntervalMs: 60_000,
    batchSize: options.batchSize ?? 100,
    journal: options.journal,
    onStoreState: (writable) => states.push(writable),
    logger: createLogger("info", logs),
    metrics,
  });
  const counted = async (result: string) => {
    const text = await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total");
    return Number(new RegExp(`result="${result}"} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  return { ledger, logs, states, counted };
}

describe.each<StoreKind>(["sqlite", "postgres"])("bad usage ledger rows on %s", (kind) => {
  let db: SqlDatabase;
  let store: LedgerStore;
  let drop = async () => {};

  beforeAll(async () => {
    if (kind === "postgres") {
      const created = await createPostgresDatabase();
      drop = created.drop;
      db = new PostgresDatabase(created.url);
    } else {
      db = new SqliteDatabase(join(tempDir(), "switchboard.db"));
    }
    await migrate(db);
    store = new LedgerStore(db);
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  const stored = async (rows: LedgerRow[]) => (await store.byRequestIds(rows.map((r) => r.requestId))).map((r) => r.requestId).sort();

  it("the store refuses a batch holding a row it cannot keep before writing any of it, naming the row", async () => {
    const good = row();
    const bad = row({ costNanos: Number.NaN });
    const err = await store.insert([good, bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerRowError);
    expect((err as LedgerRowError).row).toBe(bad);
    expect((err as Error).message).toBe(`usage ledger row of request ${bad.requestId}: costNanos is NaN, not an amount of nano-units`);
    expect(await stored([good, bad])).toEqual([]);
  });

  it.each(BAD_ROWS)("%s: set aside with an error naming the request; the rows around it, and later ones, are written", async (_name, overrides, problem) => {
    const { ledger, logs, states, counted } = writer(store);
    const before = row();
    const bad = row(overrides);
    const after = row();
    for (const r of [before, bad, after]) ledger.append(r);
    await ledger.flush();
    expect(ledger.queued).toBe(0);
    expect(await stored([before, bad, after])).toEqual([before.requestId, after.requestId].sort());
    const line = logs.entries.find((entry) => entry.requestId === bad.requestId);
    expect(line).toMatchObject({ level: "error", keyId: "victim", provider: "evil", problem: expect.stringMatching(problem) });
    expect(line!.msg).toMatch(/^usage ledger row set aside/);
    expect(await counted("rejected")).toBe(1);
    expect(await counted("written")).toBe(2);
    // The store was never said to be down: /healthz stays ok.
    expect(states).not.toContain(false);

    const later = row();
    ledger.append(later);
    await ledger.close();
    expect(await stored([later])).toEqual([later.requestId]);
  });

  it("many bad rows in one batch: every good row is written in the same flush, each bad one said once", async () => {
    const { ledger, logs, counted } = writer(store, { batchSize: 500 });
    const rows = Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? row(BAD_ROWS[i % BAD_ROWS.length]![1]) : row()));
    for (const r of rows) ledger.append(r);
    await ledger.flush();
    const good = rows.filter((r) => ledgerRowProblem(r) === undefined);
    const bad = rows.filter((r) => ledgerRowProblem(r) !== undefined);
    expect(bad.length).toBeGreaterThan(30);
    expect(await stored(rows)).toEqual(good.map((r) => r.requestId).sort());
    expect(await counted("rejected")).toBe(bad.length);
    for (const r of bad) expect(logs.entries.filter((entry) => entry.requestId === r.requestId)).toHaveLength(1);
    await ledger.close();
  });

  it("a set-aside row leaves the journal: it is not replayed after a restart", async () => {
    const dir = tempDir("sb-journal-");
    const journal = LedgerJournal.open(dir, { logger: createLogger("silent") });
    const { ledger } = writer(store, { journal });
    ledger.append(row({ promptTokens: 1.5 }));
    ledger.append(row());
    await ledger.flush();
    expect(journal.pendingRows).toBe(0);
    await ledger.close();
    const next = LedgerJournal.open(dir, { logger: createLogger("silent") });
    expect(next.claimOrphans().flatMap((segment) => segment.rows)).toEqual([]);
    next.close();
  });

  it("a batch the store refuses in the act (a constraint the row check cannot know) is written row by row; only the refused row is set aside", async () => {
    // A refusal the store itself makes: Postgres takes no NUL in text; on SQLite, a sink that refuses one row stands in for it.
    const poison = row({ requestedModel: "evil-\u0000-model" });
    const sink: LedgerSink =
      kind === "postgres"
        ? store
        : {
            insert: async (rows) => {
              if (rows.some((r) => r.requestedModel.includes("\u0000"))) throw new Error("CHECK constraint failed: requested_model");
              return store.insert(rows);
            },
            probe: () => store.probe(),
          };
    const { ledger, logs, states, counted } = writer(sink);
    const rows = [row(), poison, row(), row()];
    for (const r of rows) ledger.append(r);
    await ledger.flush();
    expect(ledger.queued).toBe(0);
    expect(await stored(rows)).toEqual(rows.filter((r) => r !== poison).map((r) => r.requestId).sort());
    // The problem is the store's own word for it.
    const refusal = kind === "postgres" ? /invalid byte sequence for encoding "UTF8": 0x00/ : /^CHECK constraint failed/;
    expect(logs.entries.find((entry) => entry.requestId === poison.requestId)).toMatchObject({ level: "error", problem: expect.stringMatching(refusal) });
    expect(await counted("rejected")).toBe(1);
    expect(await counted("written")).toBe(3);
    expect(states).not.toContain(false);
    await ledger.close();
  });

  it("a store that is down is still the store's fault: every row waits (none set aside) and is written once it is back", async () => {
    let down = true;
    const sink: LedgerSink = {
      insert: async (rows) => {
        if (down) throw new Error("connection refused");
        return store.insert(rows);
      },
      probe: async () => {
        if (down) throw new Error("connection refused");
        await store.probe();
      },
    };
    const { ledger, states, counted } = writer(sink);
    const rows = [row(), row(), row()];
    for (const r of rows) ledger.append(r);
    await expect(ledger.flush()).rejects.toThrow("connection refused");
    expect(ledger.queued).toBe(3);
    expect(states).toEqual([false]);
    expect(await counted("rejected")).toBe(0);
    down = false;
    await ledger.flush();
    expect(await stored(rows)).toEqual(rows.map((r) => r.requestId).sort());
    expect(states).toEqual([false, true]);
    await ledger.close();
  });
});
