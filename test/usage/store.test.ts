import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/auth/key-policy.js";
import { KeyStore } from "../../src/auth/key-store.js";
import { LedgerStore, type LedgerRow } from "../../src/usage/ledger-store.js";
import { migrate, MIGRATIONS } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { ledgerRow } from "../support/ledger-rows.js";
import { createPostgresDatabase, tempDir, type StoreKind } from "../support/stores.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 10, 12); // a Tuesday noon

function record(id: string, overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id,
    digest: `digest-${id}`,
    keyHint: "sk-sb-…abcd",
    displayName: `key ${id}`,
    team: "payments",
    admin: false,
    allowedModels: ["gpt-4o*"],
    requestsPerMinute: 100,
    tokensPerMinute: 10_000,
    budget: { limitNanos: 5_000_000_000, period: "month", softThreshold: 0.9, whenExhausted: "refuse" },
    economyModels: [{ model: "gpt-4o", economyModel: "gpt-4o-mini" }],
    createMs: T0,
    updateMs: T0,
    ...overrides,
  };
}

const row = (overrides: Partial<LedgerRow>) =>
  ledgerRow({ atMs: T0, team: "payments", servedModel: "gpt-4o", promptTokens: 10, completionTokens: 5, costNanos: 1_000, ...overrides });

describe.each<StoreKind>(["sqlite", "postgres"])("the usage store on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  let open: () => SqlDatabase;

  beforeAll(async () => {
    if (kind === "postgres") {
      const created = await createPostgresDatabase();
      drop = created.drop;
      open = () => new PostgresDatabase(created.url);
    } else {
      const file = join(tempDir(), "switchboard.db");
      open = () => new SqliteDatabase(file);
    }
    db = open();
    expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  it("applies migrations once: a second start finds nothing to do", async () => {
    expect(await migrate(db)).toEqual([]);
    const rows = await db.query("SELECT version FROM schema_migrations ORDER BY version");
    expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("stores keys with their settings, pages through them, filters them, and bumps the change counter on every change", async () => {
    const keys = new KeyStore(db);
    const before = await keys.generation();
    await keys.insert(record("alpha"));
    await keys.insert(record("beta", { team: "search", admin: true, budget: undefined, createMs: T0 + 1 }));
    await keys.insert(record("gamma", { expireMs: T0 + 10, createMs: T0 + 2 }));
    await expect(keys.insert(record("alpha"))).rejects.toThrow(/alpha/);
    expect(await keys.generation()).toBe(before + 3);

    expect(await keys.findByDigest("digest-alpha")).toEqual(record("alpha"));
    expect((await keys.get("beta"))?.budget).toBeUndefined();
    expect(await keys.get("nope")).toBeUndefined();

    const first = await keys.list({ limit: 2, now: T0 + 100 });
    expect(first.map((k) => k.id)).toEqual(["alpha", "beta"]);
    const next = await keys.list({ limit: 2, now: T0 + 100, after: { createMs: first[1]!.createMs, id: first[1]!.id } });
    expect(next.map((k) => k.id)).toEqual(["gamma"]);
    expect((await keys.list({ limit: 10, now: T0 + 100, team: "search" })).map((k) => k.id)).toEqual(["beta"]);
    expect((await keys.list({ limit: 10, now: T0 + 100, admin: true })).map((k) => k.id)).toEqual(["beta"]);
    expect((await keys.list({ limit: 10, now: T0 + 100, state: "expired" })).map((k) => k.id)).toEqual(["gamma"]);

    const updated = { ...record("alpha"), requestsPerMinute: 7, economyModels: [], updateMs: T0 + 50 };
    expect(await keys.update(updated, T0)).toBe(true);
    expect(await keys.get("alpha")).toEqual(updated);
    const revoked = await keys.revoke("alpha", T0 + 60);
    expect(revoked?.revokeMs).toBe(T0 + 60);
    // Revoking again keeps the first time and changes nothing.
    const generation = await keys.generation();
    expect((await keys.revoke("alpha", T0 + 99))?.revokeMs).toBe(T0 + 60);
    expect(await keys.generation()).toBe(generation);
    expect((await keys.list({ limit: 10, now: T0 + 100, state: "active" })).map((k) => k.id)).toEqual(["beta"]);
  });

  it("remembers the pepper's check value and tells a different pepper apart", async () => {
    const keys = new KeyStore(db);
    expect(await keys.checkPepper("check-1")).toBe(true);
    expect(await keys.checkPepper("check-1")).toBe(true);
    expect(await keys.checkPepper("check-2")).toBe(false);
  });

  it("writes ledger rows in batches and sums them by any dimension", async () => {
    const ledger = new LedgerStore(db);
    const rows: LedgerRow[] = [];
    for (let i = 0; i < 450; i++) {
      rows.push(
        row({
          requestId: `req-${i}`,
          atMs: T0 + (i % 3) * DAY,
          keyId: i % 2 === 0 ? "k1" : "k2",
          team: i % 2 === 0 ? "payments" : "search",
          provider: i % 5 === 0 ? "anthropic" : "openai",
          servedModel: i % 5 === 0 ? "claude-3-5-haiku" : "gpt-4o",
          status: i % 10 === 0 ? "unavailable" : "ok",
          downgraded: i % 9 === 0,
        }),
      );
    }
    await ledger.insert(rows);

    const all = await ledger.report({ startMs: T0 - DAY, endMs: T0 + 10 * DAY, groupBy: [] });
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ requests: 450, errors: 45, promptTokens: 4500, completionTokens: 2250, costNanos: 450_000, downgraded: 50, currency: "USD" });

    const byProvider = await ledger.report({ startMs: T0 - DAY, endMs: T0 + 10 * DAY, groupBy: ["provider"] });
    expect(byProvider.map((r) => [r.provider, r.requests])).toEqual([
      ["openai", 360],
      ["anthropic", 90],
    ]);

    const byDay = await ledger.report({ startMs: T0 - DAY, endMs: T0 + 10 * DAY, groupBy: ["day", "team"] });
    expect(byDay).toHaveLength(6);
    expect(byDay[0]!.dayMs).toBe(Date.UTC(2026, 2, 10));
    expect(byDay.reduce((sum, r) => sum + r.requests, 0)).toBe(450);

    const filtered = await ledger.report({ startMs: T0 - DAY, endMs: T0 + DAY, keyId: "k2", model: "claude-3-5-haiku", groupBy: ["key"] });
    expect(filtered).toEqual([expect.objectContaining({ keyId: "k2", requests: 15 })]);

    expect(await ledger.spend("k1", T0, T0 + DAY)).toBe(75 * 1_000);
    expect(await ledger.spend("k1", T0, T0 + 10 * DAY)).toBe(225 * 1_000);
    expect((await ledger.byRequestIds(["req-0", "req-1", "missing"])).map((r) => r.requestId).sort()).toEqual(["req-0", "req-1"]);
    expect((await ledger.byRequestIds(["req-0"]))[0]).toEqual(rows[0]);
  });

  it("writes all of a batch or none of it", async () => {
    const ledger = new LedgerStore(db);
    const bad = [row({ requestId: "atomic-1" }), row({ requestId: "atomic-2", promptTokens: null as never })];
    await expect(ledger.insert(bad)).rejects.toThrow();
    expect(await ledger.byRequestIds(["atomic-1", "atomic-2"])).toEqual([]);
  });
});

describe("the embedded SQLite file", () => {
  it("keeps rows across a restart, and clears a lock left by a killed owner", async () => {
    const file = join(tempDir(), "switchboard.db");
    const first = new SqliteDatabase(file);
    await migrate(first);
    await new LedgerStore(first).insert([row({ requestId: "kept" })]);
    await first.close();

    // What a SIGKILLed gateway leaves: its owner file (with a dead pid) and the WASM VFS's lock directory.
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(`${file}.lock`);
    writeFileSync(`${file}.owner`, "2147483646\n");
    const second = new SqliteDatabase(file);
    expect(await migrate(second)).toEqual([]);
    expect((await new LedgerStore(second).byRequestIds(["kept"])).map((r) => r.requestId)).toEqual(["kept"]);
    await second.close();
  });

  it("refuses a second live process on the same file, naming it", async () => {
    const file = join(tempDir(), "switchboard.db");
    const { writeFileSync } = await import("node:fs");
    // Our parent process stands in for another live gateway.
    writeFileSync(`${file}.owner`, `${process.ppid}\n`);
    expect(() => new SqliteDatabase(file)).toThrow(new RegExp(`in use by process ${process.ppid}`));
  });
});
