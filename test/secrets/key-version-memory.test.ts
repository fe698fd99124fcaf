// Canary verdicts in the store, on both engines: the SQL must mean the same on SQLite and Postgres.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { KeyVersionMemory } from "../../src/secrets/key-version-memory.js";
import { migrate } from "../../src/store/migrations.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { createPostgresDatabase, tempDir, type StoreKind } from "../support/stores.js";

describe.each<StoreKind>(["sqlite", "postgres"])("key version memory on %s", (kind) => {
  let db: SqlDatabase;
  let drop = async () => {};
  let memory: KeyVersionMemory;

  beforeAll(async () => {
    if (kind === "postgres") {
      const created = await createPostgresDatabase();
      drop = created.drop;
      db = new PostgresDatabase(created.url);
    } else {
      db = new SqliteDatabase(join(tempDir(), "switchboard.db"));
    }
    await migrate(db);
    memory = new KeyVersionMemory(db, createLogger("silent"));
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  it("knows nothing of a slot it never heard of", async () => {
    expect(await memory.recall("openai/primary")).toEqual({ good: undefined, rejected: new Set() });
  });

  it("keeps the last promoted version and every rejected one, each rejection once", async () => {
    await memory.promoted("openai/primary", 1);
    await memory.rejected("openai/primary", 2);
    await memory.rejected("openai/primary", 2); // a second instance rolling back the same version
    await memory.promoted("openai/primary", 3);
    await memory.rejected("openai/primary", 4);
    expect(await memory.recall("openai/primary")).toEqual({ good: 3, rejected: new Set([2, 4]) });
  });

  it("keeps slots apart, even when one name would match another's as a LIKE pattern", async () => {
    await memory.promoted("openai/key_a", 7);
    await memory.promoted("openai/keyXa", 9);
    await memory.rejected("openai/primary-2", 5);
    expect(await memory.recall("openai/key_a")).toEqual({ good: 7, rejected: new Set() });
    expect((await memory.recall("openai/primary")).rejected).toEqual(new Set([2, 4]));
  });
});
