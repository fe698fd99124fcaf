import type { UsageConfig } from "../config/usage-config.js";
import type { Logger } from "../observability/logger.js";
import { migrate } from "./migrations.js";
import type { SqlDatabase } from "./sql.js";
import { SqliteDatabase } from "./sqlite-database.js";

/**
 * The gateway's one store (SQLite, or Postgres when DATABASE_URL is set), with
 * its migrations applied: gateway keys, the usage ledger, and what the key
 * pools must remember across restarts. The caller closes it.
 */
export async function openStore(store: UsageConfig["store"], env: NodeJS.ProcessEnv, logger: Logger): Promise<SqlDatabase> {
  // The Postgres client is loaded only for Postgres: memory an embedded gateway never needs.
  const db: SqlDatabase = store.kind === "postgres" ? new (await import("./postgres-database.js")).PostgresDatabase(env.DATABASE_URL!) : new SqliteDatabase(store.file);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ store: db.dialect, migrations: applied }, "store migrated");
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    throw new Error(`cannot prepare the store (${db.dialect}): ${(err as Error).message}`);
  }
}
