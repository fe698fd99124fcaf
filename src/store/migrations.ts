import type { SqlDatabase, SqlExecutor } from "./sql.js";

/**
 * One schema for SQLite and Postgres. Times are epoch milliseconds (BIGINT),
 * money is integer nano-units of the accounting currency (BIGINT), so sums
 * are exact and the same SQL runs on both. `{{ID}}` is the one dialect
 * difference: an auto-numbered primary key.
 *
 * Migrations are append-only: never edit one that has shipped, add the next.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "gateway keys and usage ledger",
    sql: `
      CREATE TABLE gateway_keys (
        id TEXT PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        key_hint TEXT NOT NULL,
        display_name TEXT NOT NULL,
        team TEXT NOT NULL DEFAULT '',
        admin BOOLEAN NOT NULL DEFAULT FALSE,
        allowed_models TEXT NOT NULL DEFAULT '[]',
        requests_per_minute INTEGER NOT NULL DEFAULT 0,
        tokens_per_minute BIGINT NOT NULL DEFAULT 0,
        budget_nanos BIGINT,
        budget_period TEXT,
        soft_threshold DOUBLE PRECISION,
        when_exhausted TEXT,
        economy_models TEXT NOT NULL DEFAULT '[]',
        expire_ms BIGINT,
        create_ms BIGINT NOT NULL,
        update_ms BIGINT NOT NULL,
        revoke_ms BIGINT
      );
      CREATE INDEX gateway_keys_team ON gateway_keys (team);
      CREATE TABLE gateway_key_changes (
        id INTEGER PRIMARY KEY,
        generation BIGINT NOT NULL
      );
      INSERT INTO gateway_key_changes (id, generation) VALUES (1, 0);
      CREATE TABLE usage_ledger (
        id {{ID}},
        at_ms BIGINT NOT NULL,
        request_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        team TEXT NOT NULL,
        method TEXT NOT NULL,
        provider TEXT NOT NULL,
        requested_model TEXT NOT NULL,
        served_model TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL,
        cost_nanos BIGINT NOT NULL,
        currency TEXT NOT NULL,
        latency_ms INTEGER NOT NULL,
        status TEXT NOT NULL,
        cache_hit BOOLEAN NOT NULL,
        downgraded BOOLEAN NOT NULL,
        attempts INTEGER NOT NULL
      );
      CREATE INDEX usage_ledger_at ON usage_ledger (at_ms);
      CREATE INDEX usage_ledger_key_at ON usage_ledger (key_id, at_ms);
      CREATE TABLE gateway_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "usage ledger keeps each attempt",
    // JSON, so SQL can look inside: Postgres `attempt_log::jsonb`, SQLite `json_each(attempt_log)`.
    sql: "ALTER TABLE usage_ledger ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '[]'",
  },
  {
    version: 3,
    name: "usage ledger rows have a unique key",
    // Drawn when a row is queued and journaled: a row replayed after a crash is inserted once
    // (INSERT … ON CONFLICT (row_key) DO NOTHING). Older rows have none (NULLs do not collide).
    sql: `
      ALTER TABLE usage_ledger ADD COLUMN row_key TEXT;
      CREATE UNIQUE INDEX usage_ledger_row_key ON usage_ledger (row_key)
    `,
  },
];

const ID_COLUMN = {
  sqlite: "INTEGER PRIMARY KEY",
  postgres: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
};

// An arbitrary constant: the advisory lock that lets one instance migrate at a time.
const MIGRATION_LOCK = 7_262_011;

/** Applies the migrations not applied yet, in one transaction; safe when several instances start at once. */
export async function migrate(db: SqlDatabase): Promise<number[]> {
  return db.transaction(async (tx) => {
    if (tx.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)");
    const applied = new Set((await tx.query("SELECT version FROM schema_migrations")).map((row) => Number(row.version)));
    const done: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await apply(tx, migration.sql.replaceAll("{{ID}}", ID_COLUMN[tx.dialect]));
      await tx.run("INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)", [migration.version, migration.name, Date.now()]);
      done.push(migration.version);
    }
    return done;
  });
}

async function apply(tx: SqlExecutor, sql: string): Promise<void> {
  for (const statement of sql.split(";").map((s) => s.trim()).filter(Boolean)) await tx.run(statement);
}
