import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import type { SqlDatabase } from "../../src/store/sql.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { createPostgresDatabase, POSTGRES_PEPPER, tempDir, type StoreKind } from "../support/stores.js";

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
    const env: Record<string, string> = {};
    if (kind === "postgres") {
      const db = await createPostgresDatabase();
      dropDb = db.drop;
      env.DATABASE_URL = db.url;
      env.SWITCHBOARD_PEPPER = POSTGRES_PEPPER;
    }
    // A flush interval far longer than the test: the rows can only reach the store through the shutdown flush.
    const configFile = join(dataDir, "switchboard.yaml");
    writeFileSync(configFile, "ledger:\n  flush_interval_ms: 600000\n  batch_size: 10000\n");
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
      cwd: join(import.meta.dirname, "../.."),
      env: {
        PATH: process.env.PATH,
        HOST: "127.0.0.1",
        PORT: "0",
        SWITCHBOARD_DATA_DIR: dataDir,
        SWITCHBOARD_CONFIG: configFile,
        SWITCHBOARD_MASTER_KEY: MASTER,
        OPENAI_API_KEY: "sk-up",
        OPENAI_BASE_URL: fake.baseUrl,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await expect.poll(() => /"port":(\d+)/.exec(output), { timeout: 20_000, interval: 100 }).toBeTruthy();
    const url = `http://127.0.0.1:${/"port":(\d+)/.exec(output)![1]}`;

    const completed: string[] = [];
    let completedAfterSignal = 0;
    let signalled = false;
    let sequence = 0;
    const client = createClient(AIService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const headers = (id: string) => ({ authorization: `Bearer ${MASTER}`, "x-request-id": id });

    const unaryWorker = async (): Promise<void> => {
      for (;;) {
        const id = `unary-${sequence++}`;
        try {
          const res = await fetch(`${url}/switchboard.v1.AIService/Chat`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers(id) },
            body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: `call ${id}` }] }),
          });
          const body = (await res.json()) as { requestId?: string };
          if (res.status !== 200 || body.requestId !== id) return;
        } catch {
          return;
        }
        completed.push(id);
        if (signalled) completedAfterSignal++;
      }
    };
    const streamWorker = async (): Promise<void> => {
      for (;;) {
        const id = `stream-${sequence++}`;
        let done = false;
        try {
          for await (const event of client.chatStream({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content: `stream ${id}` }] }, { headers: headers(id) })) {
            if (event.event.case === "summary" && event.event.value.requestId === id) done = true;
          }
        } catch {
          return;
        }
        if (!done) return;
        completed.push(id);
        if (signalled) completedAfterSignal++;
      }
    };

    const workers = [...Array.from({ length: 6 }, unaryWorker), ...Array.from({ length: 6 }, streamWorker)];
    await expect.poll(() => completed.length, { timeout: 15_000, interval: 10 }).toBeGreaterThanOrEqual(150);
    signalled = true;
    child.kill("SIGTERM");
    await Promise.all(workers);
    expect(await exited).toBe(0);
    // Some calls were in flight when the signal came and finished during the drain.
    expect(completedAfterSignal).toBeGreaterThan(0);

    const db: SqlDatabase = kind === "postgres" ? new PostgresDatabase(env.DATABASE_URL!) : new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      const ledger = new LedgerStore(db);
      const found = new Set<string>();
      for (let i = 0; i < completed.length; i += 500) {
        for (const row of await ledger.byRequestIds(completed.slice(i, i + 500))) {
          expect(row.status).toBe("ok");
          found.add(row.requestId);
        }
      }
      const missing = completed.filter((id) => !found.has(id));
      expect(missing).toEqual([]);
      expect(found.size).toBe(completed.length);
    } finally {
      await db.close();
    }
  });
});
