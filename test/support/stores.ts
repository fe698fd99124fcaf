import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase, SqlRow } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import pg from "pg";
import { requireService } from "./require-service.js";

/**
 * A fresh Postgres database on the test server (test files run in parallel
 * against one server, so each gets its own database), dropped by `drop`.
 */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = requireService("SWITCHBOARD_TEST_DATABASE_URL");
  const name = `sb_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A Redis key prefix no other test uses. */
export function redisPrefix(): string {
  return `sbtest-${randomBytes(5).toString("hex")}:`;
}

export type StoreKind = "sqlite" | "postgres";

/** A pepper for gateways on a test's Postgres database: a Postgres store needs SWITCHBOARD_PEPPER. */
export const POSTGRES_PEPPER = "a-pepper-for-the-test-database-0123456789";

/**
 * The environment that selects a store for a gateway: nothing for SQLite (a
 * file under the gateway's own data directory), DATABASE_URL (and the
 * SWITCHBOARD_PEPPER it needs) for Postgres.
 */
export async function storeEnv(kind: StoreKind): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (kind === "sqlite") return { env: {}, drop: async () => {} };
  const db = await createPostgresDatabase();
  return { env: { DATABASE_URL: db.url, SWITCHBOARD_PEPPER: POSTGRES_PEPPER }, drop: db.drop };
}

export function tempDir(prefix = "sb-usage-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A migrated database of either kind for a test file, and how to drop it (a no-op for SQLite's temporary file). */
export async function openMigratedDatabase(kind: StoreKind): Promise<{ db: SqlDatabase; drop(): Promise<void> }> {
  if (kind === "sqlite") {
    const db = new SqliteDatabase(join(tempDir(), "store.db"));
    await migrate(db);
    return { db, drop: async () => {} };
  }
  const pg = await createPostgresDatabase();
  const db = new PostgresDatabase(pg.url);
  await migrate(db);
  return { db, drop: pg.drop };
}

/** `db` as the code under test uses it, with every row a query returns also pushed to `rowsRead`: what a test says was read. */
export function watchingReads(db: SqlDatabase, rowsRead: SqlRow[]): SqlDatabase {
  return {
    dialect: db.dialect,
    query: async (sql, params) => {
      const rows = await db.query(sql, params);
      rowsRead.push(...rows);
      return rows;
    },
    run: (sql, params) => db.run(sql, params),
    transaction: (work) => db.transaction(work),
    probeWrite: () => db.probeWrite(),
    close: async () => {},
  };
}
