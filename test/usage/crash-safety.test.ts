import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import { num, type SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { callUntilStopped } from "../support/call-load.js";
import { spawnGateway } from "../support/gateway-process.js";
import { ledgerRowsFor } from "../support/ledger-rows.js";
import { storeEnv, tempDir, type StoreKind } from "../support/stores.js";

const MASTER = "sk-test-crash-master";

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", extraWords: 5 });
});
afterAll(() => fake.close());

async function rowsWritten(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/switchboard_ledger_rows_total\{result="written"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe.each<StoreKind>(["sqlite", "postgres"])("kill -9 of a gateway under load, on %s", (kind) => {
  let drop = async () => {};
  afterAll(() => drop());

  it("loses no call whose answer was sent, and records none twice", { timeout: 180_000 }, async () => {
    const dataDir = tempDir("sb-crash-");
    const store = await storeEnv(kind);
    drop = store.drop;
    // A batch a second: when the kill comes, earlier rows are in the store and the latest are not yet.
    const configFile = join(dataDir, "switchboard.yaml");
    writeFileSync(configFile, "ledger:\n  flush_interval_ms: 1000\n  batch_size: 10000\n");
    const env = {
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_CONFIG: configFile,
      SWITCHBOARD_MASTER_KEY: MASTER,
      OPENAI_API_KEY: "sk-up",
      OPENAI_BASE_URL: fake.baseUrl,
      ...store.env,
    };

    const first = spawnGateway(env);
    const url = await first.listening();
    // Four unary and four streaming clients.
    const calls = callUntilStopped(url, MASTER, 4);
    await expect.poll(() => rowsWritten(url), { timeout: 30_000, interval: 50 }).toBeGreaterThan(0);
    // Killed between two batches, with at least 25 answered calls not yet written (a second's calls: a busy
    // machine, the suite's other files running, answers fewer than a hundred a second).
    let stored = 0;
    await expect.poll(async () => calls.ok.length - (stored = await rowsWritten(url)), { timeout: 30_000, interval: 10 }).toBeGreaterThanOrEqual(25);
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    await calls.done;

    // The next start on the same data directory (and database) finds what the dead one left.
    const second = spawnGateway(env);
    await second.listening();
    second.child.kill("SIGTERM");
    expect(await second.exited, `${second.child.signalCode}\n${second.output()}`).toBe(0);

    const db: SqlDatabase = kind === "postgres" ? new PostgresDatabase(store.env.DATABASE_URL!) : new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      const rows = await ledgerRowsFor(db, calls.ok);
      for (const row of rows) expect(row.status).toBe("ok");
      const found = new Set(rows.map((row) => row.requestId));
      const [counted] = await db.query("SELECT COUNT(*) AS total FROM usage_ledger");
      const replayed = /"rows":(\d+)[^\n]*replaying usage ledger rows/.exec(second.output())?.[1];
      console.info(`${kind}: ${calls.made()} calls made, ${calls.ok.length} seen ok, ${found.size} of them in the ledger (${num(counted?.total)} rows in all; ${stored} stored before the kill, ${replayed} replayed from the journal)`);
      expect(calls.ok.filter((id) => !found.has(id))).toEqual([]);
      const twice = await db.query("SELECT request_id, COUNT(*) AS n FROM usage_ledger GROUP BY request_id HAVING COUNT(*) > 1");
      expect(twice).toEqual([]);
    } finally {
      await db.close();
    }
    expect(second.output()).toContain("replaying usage ledger rows an earlier run had not stored");
    // Everything is in the store: the journal is empty.
    expect(readdirSync(join(dataDir, "ledger-journal"))).toEqual([]);
  });
});
