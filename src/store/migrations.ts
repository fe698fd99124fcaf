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
  {
    version: 4,
    name: "encrypted vendor secrets (db:) and AWS version numbers",
    // stored_secrets: one row per name; last_version only grows (a removed and re-created secret
    // goes on counting, so canary verdicts on its old versions never apply to new ones).
    // stored_secret_versions: ciphertext (AES-256-GCM under the version's own data key), the data key
    // wrapped by the key-encryption key named in `kek`, and a fingerprint. Never a secret in clear.
    // aws_secret_versions: AWS version ids (UUIDs) numbered in the order the fleet first saw them.
    sql: `
      CREATE TABLE stored_secrets (
        name TEXT PRIMARY KEY,
        last_version INTEGER NOT NULL,
        create_ms BIGINT NOT NULL,
        update_ms BIGINT NOT NULL,
        delete_ms BIGINT
      );
      CREATE TABLE stored_secret_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        ciphertext TEXT NOT NULL,
        wrapped_key TEXT NOT NULL,
        kek TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        create_ms BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (name, version)
      );
      CREATE INDEX stored_secret_versions_kek ON stored_secret_versions (kek);
      CREATE TABLE aws_secret_versions (
        secret TEXT NOT NULL,
        version_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        PRIMARY KEY (secret, version_id),
        UNIQUE (secret, number)
      )
    `,
  },
  {
    version: 5,
    name: "usage ledger records what cache hits saved",
    // A call answered from the response cache costs the caller nothing (cost_nanos 0); what the
    // vendor would have charged for it is kept here, so reports can say what the cache saved.
    sql: "ALTER TABLE usage_ledger ADD COLUMN saved_cost_nanos BIGINT NOT NULL DEFAULT 0",
  },
  {
    version: 6,
    name: "read-only admin keys",
    // An admin key with this flag may only read through the AdminService (a console's viewers).
    sql: "ALTER TABLE gateway_keys ADD COLUMN admin_read_only BOOLEAN NOT NULL DEFAULT FALSE",
  },
  {
    version: 7,
    name: "usage ledger records the API surface",
    // The API the caller spoke ("anthropic_messages", "openai_responses"); '' for the typed API and chat completions.
    sql: "ALTER TABLE usage_ledger ADD COLUMN surface TEXT NOT NULL DEFAULT ''",
  },
  {
    version: 8,
    name: "stored responses of the Responses API",
    // One row per answer of POST /v1/responses kept for previous_response_id: readable only with the key that made it
    // (key_id), until expire_ms. `conversation` is the unified messages (proto JSON), `response` the answer as returned.
    sql: `
      CREATE TABLE stored_responses (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        create_ms BIGINT NOT NULL,
        expire_ms BIGINT NOT NULL,
        conversation TEXT NOT NULL,
        response TEXT NOT NULL
      );
      CREATE INDEX stored_responses_expire ON stored_responses (expire_ms)
    `,
  },
  {
    version: 9,
    name: "stored responses count their bytes per key",
    // What each key keeps is bounded (SWITCHBOARD_RESPONSES_MAX_MB_PER_KEY): `bytes` is a row's conversation and
    // response as stored (rows from before: their length in characters); the index answers a key's sum alone.
    sql: `
      ALTER TABLE stored_responses ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
      UPDATE stored_responses SET bytes = LENGTH(conversation) + LENGTH(response);
      CREATE INDEX stored_responses_key ON stored_responses (key_id, expire_ms, bytes)
    `,
  },
  {
    version: 10,
    name: "gateway key changes name the key",
    // One row per step of gateway_key_changes.generation, naming the key that changed, so instances evict
    // just that key from their caches; only the last steps are kept (see KeyStore). A step without its row
    // (an older gateway wrote it) empties nothing: the caches re-check every key instead.
    sql: `
      CREATE TABLE gateway_key_change_log (
        generation BIGINT PRIMARY KEY,
        key_id TEXT NOT NULL
      )
    `,
  },
  {
    version: 11,
    name: "stored responses count their messages and content blocks",
    // A continuation is held to a call's bounds (providers/call-size.ts) with its stored conversation, judged from
    // these before the conversation is read. Rows from before have none (NULL): their conversation is counted once read.
    sql: `
      ALTER TABLE stored_responses ADD COLUMN message_count INTEGER;
      ALTER TABLE stored_responses ADD COLUMN block_count INTEGER
    `,
  },
  {
    version: 12,
    name: "stored responses index their conversation's messages",
    // For each message of `conversation`, the input items it makes and the characters its proto JSON takes there (a JSON
    // array, two numbers a message; responses/conversation-index.ts): a page of input items reads its own messages
    // (SUBSTR), not the whole conversation. Rows from before have none (NULL): their conversation is read whole to list it.
    sql: "ALTER TABLE stored_responses ADD COLUMN message_index TEXT",
  },
  {
    version: 13,
    name: "gateway keys name the key that made them, and count live keys by index",
    // Live keys are bounded per team, per admin key that made them and in all (keys.quotas): `created_by` is the
    // making key's id ('' for keys from before, which no admin key's quota counts), and each count is answered from
    // an index alone. The team index's first column serves what gateway_keys_team did.
    sql: `
      ALTER TABLE gateway_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
      CREATE INDEX gateway_keys_team_live ON gateway_keys (team, revoke_ms, expire_ms);
      CREATE INDEX gateway_keys_created_by_live ON gateway_keys (created_by, revoke_ms, expire_ms);
      CREATE INDEX gateway_keys_live ON gateway_keys (revoke_ms, expire_ms);
      DROP INDEX gateway_keys_team
    `,
  },
  {
    version: 14,
    name: "gateway keys listed by index, and retired keys found by index",
    // ListKeys pages in (create_ms, id) order from a row value: these indexes give a page without sorting the table,
    // the whole gateway's or one team's. Retired keys are deleted after keys.keep_retired_days (KeyStore): those
    // revoked long enough are found in gateway_keys_live, those expired long enough in this expire_ms index.
    sql: `
      CREATE INDEX gateway_keys_created ON gateway_keys (create_ms, id);
      CREATE INDEX gateway_keys_team_created ON gateway_keys (team, create_ms, id);
      CREATE INDEX gateway_keys_expired ON gateway_keys (expire_ms)
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
