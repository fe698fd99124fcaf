import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { callUntilStopped } from "../support/call-load.js";
import { spawnGateway } from "../support/gateway-process.js";
import { ledgerRowsFor } from "../support/ledger-rows.js";
import { storeEnv, tempDir, type StoreKind } from "../support/stores.js";

const MASTER = "sk-test-sigterm-master";

let fake: OpenAIFake;
beforeAll(async () => {
  // Streams take a few hundred milliseconds, so some are in flight when the signal comes.
  fake = await startOpenAIFake({ apiKey: "sk-up", chunkDelayMs: 10, extraWords: 10 });
});
afterAll(() => fake.close());

describe.each<StoreKind>(["sqlite", "postgres"])("SIGTERM during a burst of calls, on %s", (kind) => {
  let dropDb = async () => {};
  afterAll(() => dropDb());

  it("exits 0 with every completed call in the ledger", { timeout: 60_000 }, async () => {
    const dataDir = tempDir("sb-sigterm-");
    const store = await storeEnv(kind);
    dropDb = store.drop;
    // A flush interval far longer than the test: the rows can only reach the store through the shutdown flush.
    const configFile = join(dataDir, "switchboard.yaml");
    writeFileSync(configFile, "ledger:\n  flush_interval_ms: 600000\n  batch_size: 10000\n");
    const gateway = spawnGateway({ SWITCHBOARD_DATA_DIR: dataDir, SWITCHBOARD_CONFIG: configFile, SWITCHBOARD_MASTER_KEY: MASTER, OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, ...store.env });
    const url = await gateway.listening();

    // Six unary and six streaming clients.
    const calls = callUntilStopped(url, MASTER, 6);
    await expect.poll(() => calls.ok.length, { timeout: 15_000, interval: 10 }).toBeGreaterThanOrEqual(150);
    const completedBeforeSignal = calls.ok.length;
    gateway.child.kill("SIGTERM");
    await calls.done;
    expect(await gateway.exited).toBe(0);
    // Some calls were in flight when the signal came and finished during the drain.
    expect(calls.ok.length).toBeGreaterThan(completedBeforeSignal);

    const db: SqlDatabase = kind === "postgres" ? new PostgresDatabase(store.env.DATABASE_URL!) : new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      const rows = await ledgerRowsFor(db, calls.ok);
      for (const row of rows) expect(row.status).toBe("ok");
      const found = new Set(rows.map((row) => row.requestId));
      const missing = calls.ok.filter((id) => !found.has(id));
      expect(missing).toEqual([]);
      expect(found.size).toBe(calls.ok.length);
    } finally {
      await db.close();
    }
  });
});
