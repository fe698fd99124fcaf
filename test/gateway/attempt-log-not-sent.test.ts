// An attempt that never reached the vendor says so in the call's attempts and
// in the ledger's attempt log (outcome "not_sent"): its connection refused, or cut while its connection was still
// opening. Before, the log read "unreachable" or "timeout", as if the vendor had
// failed (issue 16). An attempt the vendor had and never answered keeps its
// outcome ("timeout"). A real gateway in front of vendors on loopback; the
// ledger read back from its SQLite store.
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { SqliteDatabase } from "../../src/store/sqlite-database.js";
import { LedgerStore, type LedgerAttempt } from "../../src/usage/ledger-store.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startSilentVendor, type SilentVendor } from "../fakes/silent-vendor.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { tempDir } from "../support/stores.js";

const messages = [{ role: Role.USER, content: "hi" }];

/** A loopback port nothing listens on: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let fake: OpenAIFake;
let silent: SilentVendor;
let gw: TestGateway;
const dataDir = tempDir("sb-not-sent-");

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up", models: ["gpt-4o", "gpt-4o-mini", "gpt-4.1"] });
  silent = await startSilentVendor();
  const refused = await refusingPort();
  gw = await startGateway(
    { UP_KEY: "sk-up", SWITCHBOARD_DATA_DIR: dataDir },
    {
      providers: {
        up: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:UP_KEY" },
        hung: { dialect: "openai", base_url: fake.baseUrl, api_key: "env:UP_KEY", timeout_ms: 300 },
        refused: { dialect: "openai", base_url: `http://127.0.0.1:${refused}/v1`, api_key: "env:UP_KEY" },
        silent: { dialect: "openai", base_url: `${silent.origin}/v1`, api_key: "env:UP_KEY", timeout_ms: 300 },
      },
      routes: [
        { model: "gpt-4o-mini", provider: "refused", fallbacks: ["up/gpt-4o-mini"] },
        { model: "gpt-4o", provider: "silent", fallbacks: ["up/gpt-4o"] },
        { model: "gpt-4.1", provider: "hung", fallbacks: ["up/gpt-4.1"] },
      ],
      traffic: { retry: { base_delay_ms: 1, max_delay_ms: 5, max_attempts: 2, attempts_per_candidate: 1 } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      ledger: { flush_interval_ms: 50 },
    },
  );
});
afterAll(async () => {
  await silent?.close();
  await gw?.stop();
  await fake?.close();
});

async function upstreamRequests(provider: string): Promise<Record<string, number>> {
  const metric = await gw.app.metrics.registry.getSingleMetric("switchboard_upstream_requests_total")!.get();
  return Object.fromEntries(metric.values.filter((v) => v.labels.provider === provider).map((v) => [String(v.labels.status), v.value]));
}

describe("attempts that never reached the vendor", () => {
  const calls: Record<string, string> = {};

  it("read not_sent in the call's attempts: a refused connection, a connection still opening when cut (not_sent on the metric too)", async () => {
    const refused = await gw.client("connect").chat({ model: "gpt-4o-mini", messages });
    expect(refused.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(["refused:not_sent", "up:ok"]);
    // The metric tells the vendor's health: a refused connection is the vendor unreachable.
    expect(await upstreamRequests("refused")).toEqual({ unreachable: 1 });
    calls.refused = refused.requestId;

    const opening = await gw.client("connect").chat({ model: "gpt-4o", messages });
    expect(opening.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(["silent:not_sent", "up:ok"]);
    expect(await upstreamRequests("silent")).toEqual({ not_sent: 1 });
    calls.opening = opening.requestId;

    // The vendor had this one's request and never answered: its own timeout, not "not sent".
    fake.enqueue({ kind: "hang" });
    const hung = await gw.client("connect").chat({ model: "gpt-4.1", messages });
    expect(hung.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(["hung:timeout", "up:ok"]);
    expect(await upstreamRequests("hung")).toEqual({ timeout: 1 });
    calls.hung = hung.requestId;
  });

  it("read so in the ledger's attempt log", async () => {
    expect(Object.keys(calls)).toHaveLength(3);
    await silent.close();
    await gw.stop(); // every row written
    const db = new SqliteDatabase(join(dataDir, "switchboard.db"));
    try {
      const ledger = new LedgerStore(db);
      const log = async (requestId: string) => (await ledger.byRequestIds([requestId]))[0]!.attempts.map((a: LedgerAttempt) => `${a.provider}:${a.outcome}`);
      expect(await log(calls.refused!)).toEqual(["refused:not_sent", "up:ok"]);
      expect(await log(calls.opening!)).toEqual(["silent:not_sent", "up:ok"]);
      expect(await log(calls.hung!)).toEqual(["hung:timeout", "up:ok"]);
    } finally {
      await db.close();
    }
  });
});
