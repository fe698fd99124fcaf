// A store that cannot be written (a full disk, a failing one, read-only, a lost connection) keeps every usage row,
// in memory and in the journal, and says so in health; only a row the store refuses for what it holds is set aside.
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { migrate } from "../../src/store/migrations.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerJournal } from "../../src/usage/ledger-journal.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";
import { UsageLedger, type LedgerSink } from "../../src/usage/usage-ledger.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { tempDir } from "../support/stores.js";
import { mountTmpfs } from "../support/tmpfs.js";

let serial = 0;
const row = (overrides: Partial<LedgerRow> = {}) => ledgerRow({ requestId: `full-${++serial}`, ...overrides });

function writer(sink: LedgerSink, journal?: LedgerJournal) {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const states: boolean[] = [];
  const ledger = new UsageLedger(sink, { flushIntervalMs: 60_000, batchSize: 100, journal, onStoreState: (writable) => states.push(writable), logger: createLogger("silent"), metrics });
  const counted = async (result: string) => {
    const text = await metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total");
    return Number(new RegExp(`result="${result}"} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  return { ledger, states, counted };
}

const errorWith = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });

/** What a store says when it cannot be written at all: none of it is a row's fault. */
const STORE_FAILURES: [string, Error][] = [
  ["SQLite SQLITE_FULL", errorWith("database or disk is full")],
  ["SQLite SQLITE_IOERR (a full tmpfs)", errorWith("disk I/O error")],
  ["SQLite read-only", errorWith("attempt to write a readonly database")],
  ["ENOSPC", errorWith("ENOSPC: no space left on device, write", "ENOSPC")],
  ["Postgres tablespace full (53100)", errorWith('could not extend file "base/16384/16402": No space left on device', "53100")],
  ["Postgres shutting down (57P01)", errorWith("terminating connection due to administrator command", "57P01")],
  ["Postgres connection lost", errorWith("Connection terminated unexpectedly")],
];

describe("a store that cannot be written, injected through the store interface", () => {
  let db: SqliteDatabase;
  let failure: Error | undefined;
  /** The real SQLite store, failing its writes with `failure` while it is set; a write that needs no new page passes, as on a full disk. */
  let failing: SqlDatabase;
  beforeAll(async () => {
    db = new SqliteDatabase(join(tempDir(), "switchboard.db"));
    await migrate(db);
    failing = {
      dialect: db.dialect,
      query: (sql, params) => db.query(sql, params),
      run: (sql, params) => (failure && /^\s*INSERT/i.test(sql) ? Promise.reject(failure) : db.run(sql, params)),
      transaction: (work) => (failure ? Promise.reject(failure) : db.transaction(work)),
      probeWrite: () => (failure ? Promise.reject(failure) : db.probeWrite()),
      close: async () => {},
    };
  });
  afterAll(() => db.close());

  it.each(STORE_FAILURES)("%s: every row waits, in memory and in the journal; none is set aside; all are written once the store is back", async (_name, error) => {
    const store = new LedgerStore(failing);
    const journal = LedgerJournal.open(tempDir("sb-journal-"), { logger: createLogger("silent") });
    const { ledger, states, counted } = writer(store, journal);
    failure = error;
    const rows = [row(), row(), row()];
    for (const r of rows) ledger.append(r);
    await expect(ledger.flush()).rejects.toThrow(error.message);
    expect(ledger.queued).toBe(3);
    expect(journal.pendingRows).toBe(3);
    expect(await counted("rejected")).toBe(0);
    expect(states).toEqual([false]);
    // The probe fails too: with no row to write, health stays degraded.
    await expect(ledger.flush()).rejects.toThrow(error.message);
    await expect(store.probe()).rejects.toThrow(error.message);

    failure = undefined;
    await ledger.flush();
    expect((await store.byRequestIds(rows.map((r) => r.requestId))).map((r) => r.requestId)).toEqual(rows.map((r) => r.requestId));
    expect(journal.pendingRows).toBe(0);
    expect(await counted("written")).toBe(3);
    expect(states).toEqual([false, true]);
    await ledger.close();
  });

  it("a row the store refuses for what it holds (SQLSTATE class 22 or 23) is set aside; a row it cannot write for lack of room waits", async () => {
    const refusals: Record<string, Error> = {
      poison22: errorWith('value "99999999999" is out of range for type integer', "22003"),
      poison23: errorWith('new row for relation "usage_ledger" violates check constraint', "23514"),
      full: errorWith('could not extend file "base/16384/16402": No space left on device', "53100"),
    };
    let full = true;
    const sink: LedgerSink = {
      insert: async (rows) => {
        for (const r of rows) {
          const refusal = refusals[r.requestedModel];
          if (refusal && (r.requestedModel !== "full" || full)) throw refusal;
        }
        return rows.length;
      },
      probe: async () => {},
    };
    const { ledger, counted } = writer(sink);
    for (const model of ["ok", "poison22", "full", "poison23", "ok"]) ledger.append(row({ requestedModel: model }));
    await expect(ledger.flush()).rejects.toThrow("could not extend file");
    expect(await counted("rejected")).toBe(1);
    // The row that found no room, and those after it, wait.
    expect(ledger.queued).toBe(3);
    full = false;
    await ledger.flush();
    expect(await counted("rejected")).toBe(2);
    expect(await counted("written")).toBe(3);
    await ledger.close();
  });
});

const probeDisk = mountTmpfs(1024);
describe.skipIf(!probeDisk)("the store's probe on a real full disk (a tmpfs; needs root)", () => {
  afterAll(() => probeDisk?.unmount());

  it("fails while the disk is full, though a write that needs no new page still passes there, and passes once there is room", async () => {
    const db = new SqliteDatabase(join(probeDisk!.dir, "switchboard.db"));
    try {
      await migrate(db);
      const store = new LedgerStore(db);
      await store.probe();
      probeDisk!.fill();
      // What the probe used to be, and what it would be fooled by.
      await db.run("UPDATE usage_ledger SET status = status WHERE id = -1");
      await expect(store.probe()).rejects.toThrow(/no room to grow .*switchboard\.db \(ENOSPC/);
      probeDisk!.free();
      await store.probe();
    } finally {
      await db.close();
    }
  });
});

const dataDisk = mountTmpfs(2048);
describe.skipIf(!dataDisk)("a gateway whose SQLite store's disk fills up (a tmpfs; needs root)", () => {
  let fake: OpenAIFake;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    fake = await startOpenAIFake({ apiKey: "sk-up" });
    gw = await startGateway(
      { OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, SWITCHBOARD_DATA_DIR: dataDisk!.dir },
      { ledger: { flush_interval_ms: 50, journal_dir: tempDir("sb-journal-") } },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await fake?.close();
    dataDisk?.unmount();
  });

  const healthz = async () => (await (await fetch(`${gw!.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
  const metric = async (name: string, labels: string) => Number(new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(await gw!.app.metrics.registry.getSingleMetricAsString(name))?.[1] ?? 0);

  it("says degraded (healthz, switchboard_dependency_up, grpc.health `store`) while full, and no answered call loses its row once there is room", async () => {
    const health = createClient(Health, gw!.transport("grpc", null));
    const client = gw!.client("connect");
    const chat = (i: number) => client.chat({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: `call ${i} ${"x".repeat(200)}` }] });
    const answered: string[] = [(await chat(0)).requestId];
    await expect.poll(() => metric("switchboard_ledger_rows_total", 'result="written"')).toBe(1);

    dataDisk!.fill();
    // Enough rows to need new pages in the file.
    for (let i = 1; i <= 60; i++) answered.push((await chat(i)).requestId);
    await expect.poll(healthz).toMatchObject({ status: "degraded", dependencies: { store: expect.stringMatching(/^sqlite cannot be written \(.+\); calls go on, their usage rows wait in the journal$/) } });
    expect(await metric("switchboard_dependency_up", 'dependency="store"')).toBe(0);
    expect((await health.check({ service: "store" })).status).toBe(Status.NOT_SERVING);
    expect(await metric("switchboard_ledger_rows_total", 'result="rejected"')).toBe(0);

    dataDisk!.free();
    await expect.poll(healthz, { timeout: 10_000 }).toMatchObject({ status: "ok", dependencies: { store: "ok" } });
    expect((await health.check({ service: "store" })).status).toBe(Status.SERVING);
    await gw!.stop();
    gw = undefined;

    const db = new SqliteDatabase(join(dataDisk!.dir, "switchboard.db"));
    try {
      const stored = (await new LedgerStore(db).byRequestIds(answered)).map((r) => r.requestId);
      expect(answered.filter((id) => !stored.includes(id))).toEqual([]);
      expect(stored).toHaveLength(answered.length);
    } finally {
      await db.close();
    }
  });
});
