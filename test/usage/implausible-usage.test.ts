// A vendor (or a fake upstream) whose counts are well formed but look untrue
// of the call: an answer of 5,000 tokens where max_tokens 50 was sent, a
// prompt of 500,000 tokens to a model whose window is 128,000, counts whose
// price is past what one charge can be. The caller still gets its answer; the
// answer, the ledger row and the key's budget all carry the same counts and
// charge: counts past the call's bounds as the vendor billed them (a vendor
// that samples more than once per call, compacting or running server tools,
// honestly does), a charge past what a counter takes in one step cut to
// MAX_NANOS. One warn line (event usage_fault) says what was reported, kept
// and past which bound, and switchboard_usage_faults_total counts it.
import { createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_NANOS } from "../../src/usage/budgets.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { tempDir } from "../support/stores.js";
import { startUsageReportingVendor, type UsageReportingVendor } from "../support/usage-reporting-vendor.js";

/** gpt-4o's context window in the model catalogue. */
const GPT_4O_WINDOW = 128_000;
/** A dollar a token (the pricing below): a token is a billion nano-units. */
const NANOS_PER_TOKEN = 1e9;

describe("a vendor whose counts cannot be true of the call", () => {
  let vendor: UsageReportingVendor;
  let gw: TestGateway;
  let admin: Client<typeof AdminService>;
  let keys = 0;

  beforeAll(async () => {
    vendor = await startUsageReportingVendor();
    gw = await startGateway(
      { EVIL_KEY: "sk-evil-upstream-0123456789", SWITCHBOARD_DATA_DIR: tempDir() },
      {
        providers: { evil: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:EVIL_KEY" } },
        // gpt-4o: a model the catalogue knows (its window); evil-chat: one it knows nothing of.
        routes: [
          { model: "gpt-4o", provider: "evil" },
          { model: "evil-*", provider: "evil" },
        ],
        pricing: { models: { "evil/*": { input: 1_000_000, output: 1_000_000 } } },
        ledger: { flush_interval_ms: 50 },
        traffic: { retry: { max_attempts: 1 } },
        key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      },
    );
    admin = createClient(AdminService, gw.transport("connect"));
  });
  afterAll(async () => {
    await gw?.stop();
    await vendor?.close();
  });

  /** A fresh key with a budget of a million units (the most a key may have), and its secret. */
  async function freshKey(): Promise<{ keyId: string; secret: string }> {
    const keyId = `victim-${++keys}`;
    const { secret } = await admin.createKey({ keyId, key: { displayName: keyId, budget: { limit: { units: 1_000_000n } } } });
    return { keyId, secret };
  }

  /** What the ledger holds of the key's calls, once `calls` rows are in; and the key's budget spend. */
  async function charged(keyId: string, calls: number): Promise<{ prompt: number; completion: number; costNanos: number; spentNanos: number }> {
    await expect.poll(async () => Number((await admin.getUsageReport({ key: `keys/${keyId}` })).total?.requests)).toBe(calls);
    const total = (await admin.getUsageReport({ key: `keys/${keyId}` })).total!;
    const spent = (await admin.getKey({ name: `keys/${keyId}` })).key?.budgetStatus?.spent;
    return {
      prompt: Number(total.promptTokens),
      completion: Number(total.completionTokens),
      costNanos: Number(total.cost?.units) * 1e9 + (total.cost?.nanos ?? 0),
      spentNanos: Number(spent?.units) * 1e9 + (spent?.nanos ?? 0),
    };
  }

  const faultLines = (requestId: string) => gw.logs.entries.filter((line) => line.event === "usage_fault" && line.requestId === requestId);

  async function faultCount(field: string): Promise<number> {
    const metric = await gw.app.metrics.registry.getSingleMetric("switchboard_usage_faults_total")!.get();
    return metric.values.find((value) => value.labels.provider === "evil" && value.labels.field === field)?.value ?? 0;
  }

  it("an answer past the max_tokens sent: told, and charged as the vendor billed it, unary and streamed, on Connect and REST", async () => {
    vendor.usage = { prompt_tokens: 7, completion_tokens: 5_000, total_tokens: 5_007 };
    const { keyId, secret } = await freshKey();
    const before = await faultCount("completion_tokens");
    const client = gw.client("connect", secret);
    const ask = { model: "evil-chat", maxTokens: 50, messages: [{ role: Role.USER, content: "hello" }] };

    const answer = await client.chat(ask);
    expect(answer.message?.content).toBe("evil says hi");
    expect(answer.usage).toMatchObject({ promptTokens: 7, completionTokens: 5_000, totalTokens: 5_007 });

    let summary;
    for await (const event of client.chatStream(ask)) if (event.event.case === "summary") summary = event.event.value;
    expect(summary?.usage).toMatchObject({ promptTokens: 7, completionTokens: 5_000, totalTokens: 5_007 });
    expect(summary?.usageEstimated).toBe(false);

    const rest = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "evil-chat", max_tokens: 50, messages: [{ role: "user", content: "hello" }] }),
    });
    expect(rest.status).toBe(200);
    expect(((await rest.json()) as { usage: unknown }).usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5_000, total_tokens: 5_007 });

    const ledger = await charged(keyId, 3);
    expect(ledger).toEqual({ prompt: 21, completion: 15_000, costNanos: 15_021 * NANOS_PER_TOKEN, spentNanos: 15_021 * NANOS_PER_TOKEN });

    // Once a call: the stream's end is its one report.
    for (const requestId of [answer.requestId, summary!.requestId, rest.headers.get("x-request-id")!]) {
      const lines = faultLines(requestId);
      expect(lines, requestId).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "warn", fault: "vendor", provider: "evil", model: "evil-chat", fields: ["completion_tokens"], reported: { completion_tokens: 5_000 }, kept: { completion_tokens: 5_000 }, bounds: { completion_tokens: 50 } });
    }
    expect((await faultCount("completion_tokens")) - before).toBe(3);
    expect(gw.logs.text).not.toContain("sk-evil-upstream");
  });

  it("a prompt past the model's context window: told, and charged as the vendor billed it", async () => {
    vendor.usage = { prompt_tokens: 500_000, completion_tokens: 3, total_tokens: 500_003 };
    const { keyId, secret } = await freshKey();
    const answer = await gw.client("connect", secret).chat({ model: "gpt-4o", messages: [{ role: Role.USER, content: "hello" }] });
    expect(answer.usage).toMatchObject({ promptTokens: 500_000, completionTokens: 3, totalTokens: 500_003 });

    const ledger = await charged(keyId, 1);
    expect(ledger).toEqual({ prompt: 500_000, completion: 3, costNanos: 500_003 * NANOS_PER_TOKEN, spentNanos: 500_003 * NANOS_PER_TOKEN });
    expect(faultLines(answer.requestId)).toEqual([
      expect.objectContaining({ level: "warn", provider: "evil", model: "gpt-4o", fields: ["prompt_tokens"], reported: { prompt_tokens: 500_000 }, kept: { prompt_tokens: 500_000 }, bounds: { prompt_tokens: GPT_4O_WINDOW } }),
    ]);
  });

  it("counts whose price is past what one charge can be: the ledger and the budget both get MAX_NANOS", async () => {
    // A model with no known window: two billion tokens at a dollar each, 2e18 nano-units, is past MAX_NANOS (2^51).
    vendor.usage = { prompt_tokens: 2_000_000_000, completion_tokens: 3, total_tokens: 2_000_000_003 };
    const { keyId, secret } = await freshKey();
    const before = await faultCount("cost_nanos");
    const answer = await gw.client("connect", secret).chat({ model: "evil-chat", messages: [{ role: Role.USER, content: "hello" }] });
    expect(answer.message?.content).toBe("evil says hi");

    const ledger = await charged(keyId, 1);
    expect(ledger.costNanos).toBe(MAX_NANOS);
    expect(ledger.spentNanos).toBe(MAX_NANOS);
    expect(faultLines(answer.requestId)).toEqual([expect.objectContaining({ level: "warn", provider: "evil", fields: ["cost_nanos"], kept: { cost_nanos: MAX_NANOS } })]);
    expect((await faultCount("cost_nanos")) - before).toBe(1);
  });
});
