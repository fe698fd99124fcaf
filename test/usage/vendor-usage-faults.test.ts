// The audit's vendor, end to end: an OpenAI-compatible vendor whose usage is
// "NaN", numbers as strings, fractions, 1e30 or negative. Every call still
// succeeds, on REST and on Connect and gRPC, unary and streamed and embedded,
// with the gateway's own estimate as its usage; the fault is logged once per
// call at warn, naming the provider and the field; the key's spend stays a
// few cents; every call's ledger row is written, and so are the next calls';
// the store stays healthy. On SQLite and on Postgres.
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { PostgresDatabase } from "../../src/store/postgres-database.js";
import { LedgerStore } from "../../src/usage/ledger-store.js";
import { startGateway, type Protocol, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { storeEnv, tempDir, type StoreKind } from "../support/stores.js";
import { startUsageReportingVendor, type UsageReportingVendor } from "../support/usage-reporting-vendor.js";

const GOOD = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };

/** What the audit's vendor sent (/tmp/audit/evil.mjs), and its kin. */
const BAD: [string, Record<string, unknown>][] = [
  ['"NaN" (evil-nan-usage)', { prompt_tokens: "NaN", completion_tokens: null, total_tokens: "x" }],
  ["numbers as strings", { prompt_tokens: "12", completion_tokens: "3", total_tokens: "15" }],
  ["fractions (evil-float-usage)", { prompt_tokens: 1.5, completion_tokens: 2.7, total_tokens: 4.2 }],
  ["1e30 (evil-huge-usage)", { prompt_tokens: 1e30, completion_tokens: 1e30, total_tokens: 1e30 }],
  ["negative (-5)", { prompt_tokens: -5, completion_tokens: -5, total_tokens: -10 }],
];

/** A usage the gateway can stand behind: whole, in range, adding up; the estimate for a short answer is a few tokens. */
function expectSane(usage: { prompt: unknown; completion: unknown; total: unknown } | undefined, what: string): void {
  expect(usage, what).toBeDefined();
  const { prompt, completion, total } = usage!;
  for (const count of [prompt, completion, total]) {
    expect(Number.isSafeInteger(count), `${what}: ${String(count)}`).toBe(true);
    expect(count as number, what).toBeGreaterThanOrEqual(0);
    expect(count as number, what).toBeLessThan(100);
  }
  expect(total, what).toBe((prompt as number) + (completion as number));
}
const fromProto = (usage: Usage | undefined) => usage && { prompt: usage.promptTokens, completion: usage.completionTokens, total: usage.totalTokens };
const fromRest = (usage: Record<string, unknown> | undefined) => usage && { prompt: usage.prompt_tokens, completion: usage.completion_tokens, total: usage.total_tokens };

describe.each<StoreKind>(["sqlite", "postgres"])("a vendor whose usage cannot be true, on %s", (kind) => {
  let vendor: UsageReportingVendor;
  let gw: TestGateway;
  let admin: Client<typeof AdminService>;
  let secret: string;
  let drop = async () => {};
  let databaseUrl: string | undefined;
  let call = 0;
  const requestIds: string[] = [];

  beforeAll(async () => {
    vendor = await startUsageReportingVendor(GOOD);
    const store = await storeEnv(kind);
    drop = store.drop;
    databaseUrl = store.env.DATABASE_URL;
    gw = await startGateway(
      { EVIL_KEY: "sk-evil-upstream-0123456789", SWITCHBOARD_DATA_DIR: tempDir(), ...store.env },
      {
        providers: { evil: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:EVIL_KEY" } },
        routes: [{ model: "evil-*", provider: "evil" }],
        // A tenth of a cent per token: the estimate of a short call costs about a cent; 1e30 tokens would cost 1e27 dollars.
        pricing: { models: { "evil/*": { input: 1_000, output: 1_000 } } },
        ledger: { flush_interval_ms: 50 },
        traffic: { retry: { max_attempts: 1 } },
        key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      },
    );
    admin = createClient(AdminService, gw.transport("connect"));
    ({ secret } = await admin.createKey({ keyId: "victim", key: { displayName: "victim", budget: { limit: { units: 100n } } } }));
  });
  afterAll(async () => {
    await gw?.stop();
    await vendor?.close();
    await drop();
  });

  const ask = () => ({ model: "evil-chat", messages: [{ role: Role.USER, content: `hello evil ${++call}` }] });

  async function rest(path: string, body: object): Promise<{ status: number; requestId: string; text: string }> {
    const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, requestId: res.headers.get("x-request-id") ?? "", text: await res.text() };
  }

  /** Every kind of call there is, once each; their request ids. */
  async function everyCall(): Promise<string[]> {
    const ids: string[] = [];
    const restChat = await rest("/v1/chat/completions", { model: "evil-chat", messages: [{ role: "user", content: `hello evil ${++call}` }] });
    expect(restChat.status, restChat.text).toBe(200);
    expectSane(fromRest(JSON.parse(restChat.text).usage), "REST chat");
    ids.push(restChat.requestId);

    const restStream = await rest("/v1/chat/completions", { model: "evil-chat", messages: [{ role: "user", content: `hello evil ${++call}` }], stream: true, stream_options: { include_usage: true } });
    expect(restStream.status).toBe(200);
    const chunks = restStream.text
      .split("\n\n")
      .map((event) => event.replace(/^data: /, "").trim())
      .filter((data) => data !== "" && data !== "[DONE]")
      .map((data) => JSON.parse(data) as { usage?: Record<string, unknown> });
    expectSane(fromRest(chunks.findLast((c) => c.usage)?.usage), "REST stream");
    ids.push(restStream.requestId);

    const restEmbed = await rest("/v1/embeddings", { model: "evil-embed", input: ["a", "b"] });
    expect(restEmbed.status, restEmbed.text).toBe(200);
    const embedUsage = JSON.parse(restEmbed.text).usage;
    expectSane({ prompt: embedUsage.prompt_tokens, completion: 0, total: embedUsage.total_tokens }, "REST embeddings");
    ids.push(restEmbed.requestId);

    for (const protocol of ["connect", "grpc"] satisfies Protocol[]) {
      const client = gw.client(protocol, secret);
      const answer = await client.chat(ask());
      expect(answer.message?.content).toBe("evil says hi");
      expectSane(fromProto(answer.usage), `${protocol} Chat`);
      ids.push(answer.requestId);

      let summary;
      for await (const event of client.chatStream(ask())) if (event.event.case === "summary") summary = event.event.value;
      expectSane(fromProto(summary?.usage), `${protocol} ChatStream`);
      ids.push(summary!.requestId);

      const embedded = await client.embed({ model: "evil-embed", inputs: ["a", "b"] });
      expect(embedded.embeddings).toHaveLength(2);
      expectSane({ prompt: embedded.usage?.promptTokens, completion: 0, total: embedded.usage?.totalTokens }, `${protocol} Embed`);
      ids.push(embedded.requestId);
    }
    return ids;
  }

  it.each(BAD)("usage %s: every call succeeds with the gateway's estimate, and says the vendor's fault once, naming the field", async (_name, usage) => {
    vendor.usage = usage;
    const ids = await everyCall();
    requestIds.push(...ids);
    expect(new Set(ids).size).toBe(ids.length);
    await expect.poll(() => gw.logs.entries.filter((line) => line.fault === "vendor" && ids.includes(line.requestId)).length).toBe(ids.length);
    for (const id of ids) {
      const faults = gw.logs.entries.filter((line) => line.fault === "vendor" && line.requestId === id);
      expect(faults, id).toHaveLength(1);
      expect(faults[0]).toMatchObject({ level: "warn", provider: "evil", usage: "estimated", fields: expect.objectContaining({ "usage.prompt_tokens": expect.any(String) }) });
    }
    // The vendor's values are never in the log: 1e30 would read "1e+30".
    expect(gw.logs.text).not.toContain("1e+30");
  });

  it("later calls are recorded as the vendor counted them, every call has its ledger row, the spend is a few cents, the store is healthy", async () => {
    vendor.usage = GOOD;
    const answer = await gw.client("connect", secret).chat(ask());
    expect(answer.usage).toMatchObject({ promptTokens: 7, completionTokens: 3, totalTokens: 10 });
    expect(gw.logs.entries.filter((line) => line.fault === "vendor" && line.requestId === answer.requestId)).toEqual([]);
    requestIds.push(answer.requestId);

    const report = await admin.getUsageReport({ key: "keys/victim" });
    expect(Number(report.total?.requests)).toBe(requestIds.length);
    expect(Number(report.total?.errors)).toBe(0);
    // About a cent a call; 1e30 tokens at a tenth of a cent each would be 1e27 dollars.
    expect(Number(report.total?.cost?.units)).toBe(0);
    expect(Number(report.total?.promptTokens)).toBeLessThan(requestIds.length * 100);

    const key = (await admin.getKey({ name: "keys/victim" })).key;
    expect(Number(key?.budgetStatus?.spent?.units)).toBe(0);
    expect(key?.budgetStatus?.exhausted).toBe(false);

    if (databaseUrl) {
      // Each row, read back from Postgres: whole counts, a cost.
      const db = new PostgresDatabase(databaseUrl);
      try {
        const rows = await new LedgerStore(db).byRequestIds(requestIds);
        expect(rows.map((row) => row.requestId).sort()).toEqual([...requestIds].sort());
        for (const row of rows) {
          for (const count of [row.promptTokens, row.completionTokens, row.cachedTokens, row.costNanos]) expect(Number.isSafeInteger(count)).toBe(true);
          expect(row.costNanos).toBeLessThan(1e8);
        }
      } finally {
        await db.close();
      }
    }

    const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { status: string; dependencies: Record<string, string> };
    expect(health.dependencies.store).toBe("ok");
    const rows = await gw.app.metrics.registry.getSingleMetricAsString("switchboard_ledger_rows_total");
    expect(rows).not.toContain('result="rejected"');
  });
});
