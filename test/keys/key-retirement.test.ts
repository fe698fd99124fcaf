// Audit admin F1: key quotas counted live keys only and no key row was ever
// deleted, so a team admin making keys with a 1-second ttl (or making and
// revoking them) in a loop filled the shared store without bound, 112 rows in
// a team whose quota was 5. A revoked or expired key now keeps its place for
// keys.quotas.count_retired_hours and its row is deleted keys.keep_retired_days
// after it retired: a bound's rows are at most limit × (1 + kept / counted).
// Audit admin F3: ListKeys sorted the whole table for each batch of 100; it
// now reads a page from the (create_ms, id) indexes of migration 14.
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { KeyExistsError, KeyQuotaError, KeyStore, type KeyQuota } from "../../src/auth/key-store.js";
import type { SqlDatabase, SqlValue } from "../../src/store/sql.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { failure, rejection } from "../support/failure.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { storedKey } from "../support/key-records.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { openMigratedDatabase, storeEnv, type StoreKind } from "../support/stores.js";

const HOUR = 3_600_000;
const RETIREMENT = { countedMs: HOUR, keptMs: 4 * HOUR };
const T0 = 1_773_000_000_000;

describe.each<StoreKind>(["sqlite", "postgres"])("retired keys on %s", (kind) => {
  let db: SqlDatabase;
  let drop: () => Promise<void>;
  let store: KeyStore;
  let team = 0;
  /** Each test's keys in a team of their own, so that one test's keys are not another's count. */
  const teamQuota = (limit: number): { name: string; quotas: KeyQuota[] } => {
    const name = `team-${++team}`;
    return { name, quotas: [{ of: { team: name }, limit }] };
  };
  const rowsOf = async (name: string) => Number((await db.query("SELECT COUNT(*) AS n FROM gateway_keys WHERE team = $1", [name]))[0]!.n);

  beforeAll(async () => {
    ({ db, drop } = await openMigratedDatabase(kind));
    store = new KeyStore(db, RETIREMENT);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it("keeps a revoked key's place, and an expired one's, for count_retired_hours", async () => {
    const { name, quotas } = teamQuota(2);
    await store.insert(storedKey(`${name}-a`, { team: name, createMs: T0 }), quotas);
    await store.revoke(`${name}-a`, T0 + 1);
    await store.insert(storedKey(`${name}-b`, { team: name, createMs: T0 + 2, expireMs: T0 + 1_000 }), quotas);
    // Both retired (revoked; a 1-second ttl past), both still counted.
    const refused = await rejection(store.insert(storedKey(`${name}-c`, { team: name, createMs: T0 + 5_000 }), quotas));
    expect(refused).toBeInstanceOf(KeyQuotaError);
    expect((refused as KeyQuotaError).counted).toBe(2);
    await store.insert(storedKey(`${name}-c`, { team: name, createMs: T0 + 1 + HOUR }), quotas);
  });

  it("bounds the rows a make-and-revoke loop and a short-ttl loop leave, however long they run", async () => {
    const { name, quotas } = teamQuota(3);
    const bound = 3 * (1 + RETIREMENT.keptMs / RETIREMENT.countedMs);
    let made = 0;
    let most = 0;
    // Two days, a try every 5 minutes, alternating the two loops the audit ran.
    for (let now = T0; now < T0 + 48 * HOUR; now += 5 * 60_000) {
      const id = `${name}-${now}`;
      try {
        if (made % 2 === 0) {
          await store.insert(storedKey(id, { team: name, createMs: now, updateMs: now }), quotas);
          await store.revoke(id, now);
        } else {
          await store.insert(storedKey(id, { team: name, createMs: now, updateMs: now, expireMs: now + 1_000 }), quotas);
        }
        made++;
      } catch (err) {
        expect(err).toBeInstanceOf(KeyQuotaError);
      }
      most = Math.max(most, await rowsOf(name));
    }
    // Three places, each taken again an hour after it retires: 3 keys an hour, each kept for 4 hours after.
    expect(made).toBeGreaterThan(bound * 2);
    expect(most).toBeLessThanOrEqual(bound);
    expect(await store.get(`${name}-${T0}`)).toBeUndefined();
  });

  it("gives an expired key a later expiry without counting it twice", async () => {
    const { name, quotas } = teamQuota(1);
    const key = storedKey(`${name}-k`, { team: name, createMs: T0, updateMs: T0, expireMs: T0 + 1_000 });
    await store.insert(key, quotas);
    // A minute after it expired it still holds the team's one place: its own.
    expect(await store.update({ ...key, expireMs: T0 + HOUR * 24, updateMs: T0 + 60_000 }, T0, quotas)).toBe(true);
    expect(await rejection(store.insert(storedKey(`${name}-other`, { team: name, createMs: T0 + 120_000 }), quotas))).toBeInstanceOf(KeyQuotaError);
  });

  it("never gives again the id of a deleted key that made a call; one that never did may be given again", async () => {
    const { name } = teamQuota(0);
    const [used, unused] = [`${name}-used`, `${name}-unused`];
    // Before the other tests' keys: the deletions below reach these two only.
    const at = T0 - 30 * 24 * HOUR;
    for (const id of [used, unused]) {
      await store.insert(storedKey(id, { team: name, createMs: at }));
      await store.revoke(id, at);
    }
    await new LedgerStore(db).insert([ledgerRow({ keyId: used, team: name, atMs: at, requestId: `${used}-call` })]);
    // A creation past keep_retired_days deletes them.
    await store.insert(storedKey(`${name}-later`, { team: name, createMs: at + RETIREMENT.keptMs + 1 }));
    expect(await store.get(used)).toBeUndefined();
    expect(await store.get(unused)).toBeUndefined();
    expect(await rejection(store.insert(storedKey(used, { team: name, createMs: at + RETIREMENT.keptMs + 2 })))).toBeInstanceOf(KeyExistsError);
    await store.insert(storedKey(unused, { team: name, createMs: at + RETIREMENT.keptMs + 2 }));
  });

  it("reads a ListKeys page from an index, the whole gateway's or a team's, without sorting the table", async () => {
    // Enough keys that a planner weighing its statistics prefers an index to a scan.
    const seeded = "seeded";
    await db.run(
      kind === "sqlite"
        ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
           INSERT INTO gateway_keys (id, digest, key_hint, display_name, team, create_ms, update_ms) SELECT 'k' || i, 'd' || i, 'h', 'n', '${seeded}' || (i % 20), i, i FROM n`
        : `INSERT INTO gateway_keys (id, digest, key_hint, display_name, team, create_ms, update_ms) SELECT 'k' || i, 'd' || i, 'h', 'n', '${seeded}' || (i % 20), i, i FROM generate_series(1, 50000) AS i`,
    );
    if (kind === "postgres") await db.run("ANALYZE gateway_keys");
    for (const [query, index] of [
      [{}, "gateway_keys_created"],
      [{ team: `${seeded}1` }, "gateway_keys_team_created"],
    ] as const) {
      const statements: { sql: string; params: readonly SqlValue[] }[] = [];
      const listing = new KeyStore(recordingQueries(db, statements), RETIREMENT);
      await listing.list({ ...query, limit: 101, after: { createMs: 25_000, id: "k25000" }, now: T0 });
      const [{ sql, params }] = statements as [(typeof statements)[0]];
      const plan = await explain(db, sql, params);
      expect(plan, plan).toContain(index);
      expect(plan, plan).not.toMatch(/TEMP B-TREE|Sort/);
    }
  });
});

describe.each<StoreKind>(["sqlite", "postgres"])("the audit's loops through CreateKey on %s", (kind) => {
  let gw: TestGateway;
  let drop: () => Promise<void>;
  let teamAdmin: Client<typeof AdminService>;

  beforeAll(async () => {
    const store = await storeEnv(kind);
    drop = store.drop;
    // The team's admin key takes one of its 4 places.
    gw = await startGateway(store.env, { keys: { quotas: { per_team: 4, per_admin_key: 100, total: 1_000 } } });
    const master = createClient(AdminService, gw.transport("connect"));
    const { secret } = await master.createKey({ keyId: "churn-admin", key: { displayName: "churn admin", team: "churn", admin: true } });
    teamAdmin = createClient(AdminService, gw.transport("connect", secret));
  });
  afterEach(() => void vi.useRealTimers());
  afterAll(async () => {
    await gw?.stop();
    await drop?.();
  });

  /** The gateway's clock (Date alone: its sockets and timers run as ever), moved on by the test. */
  const clockFrom = (start: number) => {
    vi.useFakeTimers({ toFake: ["Date"], now: start });
    return (ms: number) => vi.setSystemTime(Date.now() + ms);
  };
  const expectQuotaRefusal = async (call: Promise<unknown>) => {
    const err = await failure(call);
    expect(err.code, err.rawMessage).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "KEY_QUOTA_EXCEEDED", metadata: { quota: "keys.quotas.per_team", limit: "4", team: "churn" } });
    expect(err.rawMessage).toContain("a revoked or expired key frees its place 24 hours after");
  };

  it("refuses a make-and-revoke loop once the team's places are taken, and a 1-second-ttl loop the same, until a day has passed", async () => {
    const advance = clockFrom(Date.now());
    for (let i = 0; i < 3; i++) {
      const { key } = await teamAdmin.createKey({ key: { displayName: `revoked ${i}` } });
      await teamAdmin.revokeKey({ name: key!.name });
    }
    await expectQuotaRefusal(teamAdmin.createKey({ key: { displayName: "one more" } }));
    advance(24 * HOUR + 1_000);
    for (let i = 0; i < 3; i++) {
      await teamAdmin.createKey({ key: { displayName: `short ${i}`, expiration: { case: "ttl", value: durationFromMs(1_000) } } });
      advance(2_000);
    }
    await expectQuotaRefusal(teamAdmin.createKey({ key: { displayName: "one more", expiration: { case: "ttl", value: durationFromMs(1_000) } } }));
    advance(24 * HOUR);
    await teamAdmin.createKey({ key: { displayName: "a day later" } });
  });
});

/** `db`, with each query's statement and parameters pushed to `statements`. */
function recordingQueries(db: SqlDatabase, statements: { sql: string; params: readonly SqlValue[] }[]): SqlDatabase {
  return {
    dialect: db.dialect,
    query: (sql, params = []) => (statements.push({ sql, params }), db.query(sql, params)),
    run: (sql, params) => db.run(sql, params),
    transaction: (work) => db.transaction(work),
    probeWrite: () => db.probeWrite(),
    close: async () => {},
  };
}

/** The store's plan for a statement, one line a step. */
async function explain(db: SqlDatabase, sql: string, params: readonly SqlValue[]): Promise<string> {
  const rows = await db.query(`${db.dialect === "sqlite" ? "EXPLAIN QUERY PLAN" : "EXPLAIN"} ${sql}`, params);
  return rows.map((row) => String(row.detail ?? row["QUERY PLAN"])).join("\n");
}
