import { ConfigError } from "../config/config-error.js";
import type { UsageConfig } from "../config/usage-config.js";
import type { Logger } from "../observability/logger.js";
import { migrate } from "./migrations.js";
import type { SqlDatabase } from "./sql.js";
import { SqliteDatabase } from "./sqlite-database.js";
import { storeUnavailable } from "./store-errors.js";

/**
 * The gateway's one store (SQLite, or Postgres when DATABASE_URL is set), with
 * its migrations applied: gateway keys, the usage ledger, and what the key
 * pools must remember across restarts. The caller closes it.
 */
export async function openStore(store: UsageConfig["store"], env: NodeJS.ProcessEnv, logger: Logger): Promise<SqlDatabase> {
  // The Postgres client is loaded only for Postgres: memory an embedded gateway never needs.
  const db: SqlDatabase = store.kind === "postgres" ? new (await import("./postgres-database.js")).PostgresDatabase(env.DATABASE_URL!, { queryTimeoutMs: store.queryTimeoutMs }) : new SqliteDatabase(store.file);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ store: db.dialect, migrations: applied }, "store migrated");
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    // A database that cannot be reached or logged in to is the operator's to fix, said in one line naming the setting.
    if (db.dialect === "postgres" && (storeUnavailable(err) || refusedConnection(err))) {
      throw new ConfigError("environment", "DATABASE_URL", `cannot connect to the Postgres store (${withoutPassword(describe(err), env.DATABASE_URL!)})`);
    }
    // The client reads the URL at its first connection; a URL it cannot read is a setting to fix, not a crash.
    if (db.dialect === "postgres" && (err as { code?: unknown }).code === "ERR_INVALID_URL") {
      throw new ConfigError("environment", "DATABASE_URL", "is not a URL the Postgres client can read (postgres://user:password@host:port/database; percent-encode : / ? # @ % in the user or password)");
    }
    throw new Error(`cannot prepare the store (${db.dialect}): ${(err as Error).message}`);
  }
}

/** Postgres refused the connection itself: SQLSTATE class 28 (the user or password) or 3D000 (no such database). */
function refusedConnection(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("28") || code === "3D000");
}

/** A connection error's message; Node's error for a refused connection on every address has none of its own, only a code. */
function describe(err: unknown): string {
  const { message, code } = err as { message?: string; code?: string };
  return message || code || String(err);
}

/** pg's messages never quote the password; this holds even if one did (as written in the URL, or decoded). */
function withoutPassword(message: string, url: string): string {
  let raw = "";
  try {
    raw = new URL(url).password;
  } catch {
    // pg reads what URL does not; its messages about such a URL quote no part of it.
  }
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // kept as written
  }
  return [raw, decoded].filter(Boolean).reduce((text, password) => text.split(password).join("[password]"), message);
}
