// Canary verdicts in the store, on both engines: the SQL must mean the same on SQLite and Postgres.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { isRejected, KeyVersionMemory } from "../../src/secrets/key-version-memory.js";
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

  const v = (version: number, fingerprint?: string) => ({ version, fingerprint });

  it("knows nothing of a slot it never heard of", async () => {
    expect(await memory.recall("openai/primary")).toEqual({ good: undefined, rejected: [] });
  });

  it("keeps the last promoted version and every rejected one, each rejection once", async () => {
    await memory.promoted("openai/primary", v(1, "aaaa0001"));
    await memory.rejected("openai/primary", v(2, "aaaa0002"));
    await memory.rejected("openai/primary", v(2, "aaaa0002")); // a second instance rolling back the same version
    await memory.promoted("openai/primary", v(3, "aaaa0003"));
    await memory.rejected("openai/primary", v(4, "aaaa0004"));
    expect(await memory.recall("openai/primary")).toEqual({ good: v(3, "aaaa0003"), rejected: [v(2, "aaaa0002"), v(4, "aaaa0004")] });
  });

  it("keeps slots apart, even when one name would match another's as a LIKE pattern", async () => {
    await memory.promoted("openai/key_a", v(7, "bbbb0007"));
    await memory.promoted("openai/keyXa", v(9, "bbbb0009"));
    await memory.rejected("openai/primary-2", v(5, "bbbb0005"));
    expect(await memory.recall("openai/key_a")).toEqual({ good: v(7, "bbbb0007"), rejected: [] });
    expect((await memory.recall("openai/primary")).rejected).toEqual([v(2, "aaaa0002"), v(4, "aaaa0004")]);
  });

  it("tells a secret re-created at its source from the old one by value; a verdict written before values were named holds for any", async () => {
    await memory.rejected("openai/recreated", v(2, "cccc0002"));
    await memory.rejected("openai/recreated", v(5));
    const verdicts = await memory.recall("openai/recreated");
    expect(isRejected(verdicts, v(2, "cccc0002"))).toBe(true);
    expect(isRejected(verdicts, v(2, "dddd0002"))).toBe(false);
    expect(isRejected(verdicts, v(5, "dddd0005"))).toBe(true);
  });
});
