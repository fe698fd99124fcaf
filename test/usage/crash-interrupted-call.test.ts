import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { NANOS_PER_UNIT } from "../../src/usage/pricing.js";
import { startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { spawnGateway, type GatewayProcess } from "../support/gateway-process.js";
import { tempDir } from "../support/stores.js";

const MASTER = "sk-test-interrupted-master";

/**
 * An OpenAI-dialect vendor whose streams send their first words and then
 * nothing (the connection stays open): a long answer the gateway is killed in
 * the middle of. Unary calls are answered at once.
 */
async function stallingVendor(): Promise<FakeServer> {
  return startFakeServer((req, res) => {
    const body = req.body as { model: string; stream?: boolean };
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "chatcmpl-done",
          object: "chat.completion",
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: "done" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = { id: "chatcmpl-stalled", object: "chat.completion.chunk", model: body.model, choices: [{ index: 0, delta: { role: "assistant", content: "Once upon" } }] };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  });
}

let vendor: FakeServer;
beforeAll(async () => {
  vendor = await stallingVendor();
});
afterAll(() => vendor.close());

describe("kill -9 of a gateway in the middle of a stream", () => {
  const running: GatewayProcess[] = [];
  afterAll(() => {
    for (const gateway of running) if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill("SIGKILL");
  });

  it("records the call once at the next start, as gateway_exited, charged its prompt's estimate and counted once in its key's spend", { timeout: 180_000 }, async () => {
    const dataDir = tempDir("sb-interrupted-");
    const configFile = join(dataDir, "switchboard.yaml");
    // A dollar a token, and batches far apart: the rows of the call that completed are still only in the journal at the kill.
    writeFileSync(configFile, "pricing:\n  models:\n    gpt-4o-mini: { input: 1000000, output: 1000000 }\nledger:\n  flush_interval_ms: 600000\n  batch_size: 10000\n");
    const env = {
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_CONFIG: configFile,
      SWITCHBOARD_MASTER_KEY: MASTER,
      SWITCHBOARD_PEPPER: "a-pepper-for-the-interrupted-call-test",
      OPENAI_API_KEY: "sk-up",
      OPENAI_BASE_URL: `${vendor.origin}/v1`,
    };
    const admin = (url: string) => createClient(AdminService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${MASTER}`), next(req))] }));

    const first = spawnGateway(env);
    running.push(first);
    const url = await first.listening();
    const { secret } = await admin(url).createKey({ keyId: "storyteller", key: { displayName: "storyteller", budget: { limit: { units: 1000n } } } });
    const client = createClient(AIService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const as = (requestId: string) => ({ headers: { authorization: `Bearer ${secret}`, "x-request-id": requestId } });
    const ask = (content: string) => ({ model: "gpt-4o-mini", messages: [{ role: Role.USER, content }] });

    // A call that ends: its provisional entry is superseded by its row.
    expect((await client.chat(ask("finish this"), as("completed-call"))).message?.content).toBe("done");
    // A stream that is cut by the kill, after its first words reached the caller.
    const stream = client.chatStream(ask("tell me a very long story"), as("stalled-stream"))[Symbol.asyncIterator]();
    const firstEvent = await stream.next();
    expect(firstEvent.value?.event.case).toBe("delta");
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    await stream.next().catch(() => {});

    const second = spawnGateway(env);
    running.push(second);
    const again = await second.listening();
    // Both rows are stored (the replay may outlast the start's wait on a busy machine) before the spend is read.
    const written = async () => Number(/switchboard_ledger_rows_total\{result="written"\} (\d+)/.exec(await (await fetch(`${again}/metrics`)).text())?.[1] ?? 0);
    await expect.poll(written, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    // The key's spend, as rebuilt at this start: the stalled call counted once, with the call that completed.
    const spent = (await admin(again).getKey({ name: "keys/storyteller" })).key?.budgetStatus?.spent;
    second.child.kill("SIGTERM");
    expect(await second.exited, second.output()).toBe(0);

    const db = new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      const rows = await new LedgerStore(db).byRequestIds(["completed-call", "stalled-stream"]);
      expect(rows.map((row) => [row.requestId, row.status])).toEqual([
        ["completed-call", "ok"],
        ["stalled-stream", "gateway_exited"],
      ]);
      const [completed, stalled] = rows;
      expect(stalled).toMatchObject({ keyId: "storyteller", method: "chat_stream", provider: "openai", servedModel: "gpt-4o-mini", completionTokens: 0, latencyMs: 0 });
      expect(stalled!.rowKey).toBeDefined();
      expect(stalled!.attempts.at(-1)).toMatchObject({ provider: "openai", model: "gpt-4o-mini", outcome: "gateway_exited" });
      // The prompt's estimate, at a dollar a token.
      expect(stalled!.promptTokens).toBeGreaterThan(0);
      expect(stalled!.costNanos).toBe(stalled!.promptTokens * NANOS_PER_UNIT);
      expect(completed).toMatchObject({ promptTokens: 3, completionTokens: 1, costNanos: 4 * NANOS_PER_UNIT });
      const total = Number(spent?.units ?? 0n) * NANOS_PER_UNIT + (spent?.nanos ?? 0);
      expect(total).toBe(completed!.costNanos + stalled!.costNanos);
    } finally {
      await db.close();
    }
    expect(second.output()).toContain("recorded as gateway_exited");
    // Every row is in the store: the journal is empty.
    expect(readdirSync(join(dataDir, "ledger-journal"))).toEqual([]);
  });
});
