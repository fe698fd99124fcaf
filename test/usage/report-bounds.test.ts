// A read-only admin key could stall the store for every caller: one grouped
// GetUsageReport page over 1.5M ledger rows held SQLite's one thread for 9 s,
// six at once made a new key's first call wait 17 s, and a key limited to one
// request a minute got five reports in a row (AdminService took nothing from
// the key's rate). Now an admin call takes a request from its key's rate,
// reports run a few at a time per instance (others wait briefly, then are
// refused), and each report statement is cut at a timeout.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { GetUsageReportRequestSchema, UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { createUsageAdmin } from "../../src/api/admin/usage-admin.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase, SqlRow } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import type { ReportLimits } from "../../src/usage/report-lane.js";
import { failure } from "../support/failure.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { createPostgresDatabase, tempDir } from "../support/stores.js";
import { startUsageWorld, type UsageWorld } from "../support/usage-setup.js";

// The handler reads only who calls: no principal here is the master key's reach.
const ctx = { values: createContextValues() } as unknown as HandlerContext;
const BY_EVERYTHING = [UsageDimension.KEY, UsageDimension.MODEL, UsageDimension.DAY, UsageDimension.TEAM, UsageDimension.SURFACE, UsageDimension.PROVIDER];
const reportOn = (ledger: LedgerStore) => async () =>
  createUsageAdmin({ ledger, currency: "USD", flush: async () => {} }).getUsageReport(
    create(GetUsageReportRequestSchema, { startTime: timestampFromMs(0), groupBy: BY_EVERYTHING, pageSize: 5000 }),
    ctx,
  );

describe("an admin key's rate limit", () => {
  let world: UsageWorld;
  beforeAll(async () => {
    world = await startUsageWorld("sqlite");
  });
  afterAll(() => world?.close());

  it("applies to its AdminService calls: a read-only key limited to one request a minute gets one report, then ResourceExhausted RATE_LIMITED with a retry delay", async () => {
    const { secret } = await world.admin().createKey({ keyId: "dashboard", key: { displayName: "dashboard", admin: true, adminReadOnly: true, requestsPerMinute: 1 } });
    const reader = createClient(AdminService, world.gw.transport("connect", secret));
    await reader.getUsageReport({ groupBy: BY_EVERYTHING });
    const err = await failure(reader.getUsageReport({ groupBy: BY_EVERYTHING }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^key "dashboard" is over its limit of 1 requests per minute; retry in \d+ s$/);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "RATE_LIMITED", metadata: { key: "dashboard", limit: "requests_per_minute", value: "1" } });
    expect(Number(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBeGreaterThan(0);
    // Any AdminService method counts: a listing is refused too.
    expect((await failure(reader.listKeys({}))).code).toBe(Code.ResourceExhausted);
  });

  it("leaves the master key, which has no limit, unlimited", async () => {
    for (let i = 0; i < 5; i++) await world.admin().getUsageReport({ groupBy: BY_EVERYTHING });
  });
});

/** A store whose report statements are held until the test lets each go (`release`), counting those that reached it. */
function heldStore(): { db: SqlDatabase; entered: () => number; release: () => void } {
  const held: (() => void)[] = [];
  let entered = 0;
  const db = {
    dialect: "postgres",
    query: (): Promise<SqlRow[]> => {
      entered++;
      return new Promise((resolve) => held.push(() => resolve([])));
    },
  } as unknown as SqlDatabase;
  return { db, entered: () => entered, release: () => held.shift()!() };
}

describe("reports at once, per instance", () => {
  const LIMITS: ReportLimits = { concurrency: 2, maxWaiting: 1, waitMs: 2_000, timeoutMs: 60_000 };
  afterEach(() => vi.useRealTimers());

  const busy = (err: Awaited<ReturnType<typeof failure>>) => {
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/^2 usage reports are already running on this instance, the most at once: retry in 2 s, or narrow the time range/);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "USAGE_REPORTS_BUSY", metadata: { limit: "2" } });
    expect(Number(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds)).toBe(2);
  };

  it("run two; a third waits its turn and runs when one ends; one more than may wait is refused at once", async () => {
    const store = heldStore();
    const report = reportOn(new LedgerStore(store.db, LIMITS));
    const first = report();
    const second = report();
    await vi.waitFor(() => expect(store.entered()).toBe(2));
    const third = report();
    busy(await failure(report()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.entered()).toBe(2);
    store.release();
    await first;
    await vi.waitFor(() => expect(store.entered()).toBe(3));
    store.release();
    store.release();
    await Promise.all([second, third]);
  });

  it("refuse a report that waited its whole wait for a turn, ResourceExhausted with a retry delay", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const store = heldStore();
    const report = reportOn(new LedgerStore(store.db, LIMITS));
    const running = [report(), report()];
    await vi.waitFor(() => expect(store.entered()).toBe(2));
    const waiting = failure(report());
    await vi.advanceTimersByTimeAsync(LIMITS.waitMs);
    busy(await waiting);
    expect(store.entered()).toBe(2);
    store.release();
    store.release();
    await Promise.all(running);
  });
});

const timedOut = (err: Awaited<ReturnType<typeof failure>>, timeoutMs: number) => {
  expect(err.code).toBe(Code.DeadlineExceeded);
  expect(err.rawMessage).toBe(
    `the usage report ran past ${timeoutMs / 1000} s, the most one may take on this gateway's store, and was stopped: narrow the time range (start_time, end_time), group by fewer dimensions, or filter (by key, team, model)`,
  );
  expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "USAGE_REPORT_TIMEOUT", metadata: { timeout_ms: String(timeoutMs) } });
};

describe("a report past its statement timeout", () => {
  it("on Postgres is cancelled by statement_timeout and answers DeadlineExceeded; the pool's connections keep no timeout", async () => {
    const pg = await createPostgresDatabase();
    const db = new PostgresDatabase(pg.url);
    const holder = new PostgresDatabase(pg.url);
    try {
      await migrate(db);
      await new LedgerStore(db).insert([ledgerRow({ requestId: "locked-out" })]);
      // Another session holds the table: the report waits on its lock, and statement_timeout counts the wait.
      let unlock = () => {};
      const unlocked = new Promise<void>((resolve) => (unlock = resolve));
      let locked = () => {};
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const holding = holder.transaction(async (tx) => {
        await tx.run("LOCK TABLE usage_ledger IN ACCESS EXCLUSIVE MODE");
        locked();
        await unlocked;
      });
      await lockTaken;
      const timeoutMs = 200;
      const report = reportOn(new LedgerStore(db, { concurrency: 2, maxWaiting: 0, waitMs: 0, timeoutMs }));
      timedOut(await failure(report()), timeoutMs);
      unlock();
      await holding;
      expect((await report()).rows).toHaveLength(1);
      expect((await db.query("SHOW statement_timeout"))[0]).toEqual({ statement_timeout: "0" });
    } finally {
      await holder.close();
      await db.close();
      await pg.drop();
    }
  });

  it("on SQLite is stopped as its rows are read, answers DeadlineExceeded, and the store serves the next statement", async () => {
    // The store's clock reads 0: every deadline counted from it has passed when the thread reads the first row.
    const db = new SqliteDatabase(`${tempDir()}/store.db`, () => 0);
    try {
      await migrate(db);
      const ledger = new LedgerStore(db, { concurrency: 1, maxWaiting: 0, waitMs: 0, timeoutMs: 1_000 });
      await ledger.insert([ledgerRow({ requestId: "past-deadline" })]);
      timedOut(await failure(reportOn(ledger)()), 1_000);
      expect((await ledger.byRequestIds(["past-deadline"])).map((row) => row.requestId)).toEqual(["past-deadline"]);
      expect(await ledger.spend(ledgerRow().keyId, 0, Number.MAX_SAFE_INTEGER)).toBeGreaterThanOrEqual(0);
    } finally {
      await db.close();
    }
  });
});
