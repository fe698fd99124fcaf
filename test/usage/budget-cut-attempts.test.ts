// A key's budget holds when a call's attempts are cut and tried again. Each
// attempt cut after its request went out (a timeout, a hedge's loser) is
// charged its prompt, so before a further attempt is sent the call's budget
// reservation grows by what it may add, or the attempt is not sent: concurrent
// calls whose attempts hang take a key past its budget by at most one call's
// cost, on the in-process counter and on Redis alike. And a prompt cut on a
// dear model is charged at that model's price, not at the price of the cheap
// fallback that served. A real gateway in front of fake vendors on loopback.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Money } from "../../gen/ts/google/type/money_pb.js";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { boundTokens, estimatedUsage } from "../../src/gateway/usage-estimate.js";
import { fromMoneyParts } from "../../src/usage/pricing.js";
import { sendJson, startFakeServer, type FakeServer } from "../fakes/fake-server.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { startUsageWorld, type Backend, type UsageWorld } from "../support/usage-setup.js";

const DOLLAR = 1_000_000_000; // nanos
const BUDGET = 1_000; // dollars
const MAX_ATTEMPTS = 4;
const nanos = (money: Money | undefined) => (money ? fromMoneyParts(money.units, money.nanos) : 0);

/**
 * An OpenAI-compatible vendor that never answers a request whose last message
 * says "[hang:ID:N]" the first N times that ID comes (the gateway cuts it at
 * its timeout), and answers the others in one token for a one-token prompt.
 */
async function startHangingVendor(): Promise<FakeServer> {
  const seen = new Map<string, number>();
  return startFakeServer((req, res) => {
    const body = req.body as { model: string; messages: { content: string }[] };
    const hang = /\[hang:([^:\]]+):(\d+)\]/.exec(body.messages.at(-1)?.content ?? "");
    if (hang) {
      const times = seen.get(hang[1]!) ?? 0;
      seen.set(hang[1]!, times + 1);
      if (times < Number(hang[2])) return;
    }
    sendJson(res, 200, {
      id: "chatcmpl-hanging",
      object: "chat.completion",
      created: 1700000000,
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  });
}

async function worldWith(backend: Backend, vendor: FakeServer): Promise<UsageWorld> {
  return startUsageWorld(backend, {
    providers: { vendor: { dialect: "openai", base_url: `${vendor.origin}/v1`, api_key: "env:OPENAI_API_KEY", timeout_ms: 500 } },
    routes: [
      { model: "summarise", provider: "vendor", upstream_model: "gpt-4o" },
      // gpt-4o-mini is served by the world's own fake vendor (provider "openai").
      { model: "dear", provider: "vendor", upstream_model: "gpt-4o", fallbacks: ["gpt-4o-mini"] },
    ],
    traffic: {
      retry: { max_attempts: MAX_ATTEMPTS, attempts_per_candidate: 1, base_delay_ms: 1, max_delay_ms: 5 },
      retry_budget: { min_retries: 10_000 },
      breaker: { enabled: false },
    },
    key_pool: EVERY_CALL_REACHES_THE_VENDOR,
  });
}

describe.each<Backend>(["sqlite", "postgres+redis"])("concurrent calls whose attempts are cut, on %s", (backend) => {
  let vendor: FakeServer;
  let world: UsageWorld;
  beforeAll(async () => {
    vendor = await startHangingVendor();
    world = await worldWith(backend, vendor);
  });
  afterAll(async () => {
    await world?.close();
    await vendor?.close();
  });

  it("take the key past its budget by at most one call's cost, and the spend is the ledger's", async () => {
    const keyId = `cjk-${backend.replace("+", "-")}`;
    const { secret } = await world.admin().createKey({ keyId, key: { displayName: keyId, budget: { limit: { units: BigInt(BUDGET) } } } });
    const client = world.gw.client("connect", secret);
    // Chinese text: one token a character in the prompt's estimate as in its bound, so a cut attempt is charged
    // about what the whole call reserved (max_tokens 1). Each call's first three attempts hang and are cut.
    const text = "请总结这段文字".repeat(28);
    const messageOf = (i: number) => `${text} [hang:${backend}-${String(i).padStart(2, "0")}:3]`;
    const params = { messages: [create(MessageSchema, { role: Role.USER, content: messageOf(0) })], maxTokens: 1, tools: [] };
    const prompt = estimatedUsage(params, 0).promptTokens * DOLLAR; // what a cut attempt is charged, gpt-4o at $1 a token
    const reserved = boundTokens(params) * DOLLAR; // what a call reserves at admission
    const mostOneCall = reserved + (MAX_ATTEMPTS - 1) * prompt;

    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        client.chat({ model: "summarise", messages: [{ role: Role.USER, content: messageOf(i) }], maxTokens: 1 }).then(
          () => "ok",
          (err: unknown) => ConnectError.from(err),
        ),
      ),
    );
    // Every reservation settled once: what the budget counts is what the ledger holds.
    const ledger = async () => nanos((await world.admin().getUsageReport({ key: `keys/${keyId}` })).total?.cost);
    const spent = async () => nanos((await world.admin().getKey({ name: `keys/${keyId}` })).key?.budgetStatus?.spent);
    // Each try asks the admin API three times; the wait allows for a loaded CI machine, it promises no speed.
    await expect.poll(async () => (await spent()) === (await ledger()) && (await ledger()) > 0, { timeout: 10_000 }).toBe(true);
    const total = await spent();
    expect(total).toBeGreaterThan(BUDGET * DOLLAR);
    expect(total).toBeLessThanOrEqual(BUDGET * DOLLAR + mostOneCall);

    const failures = outcomes.filter((outcome): outcome is ConnectError => outcome !== "ok");
    // Refused at admission, or admitted and not tried again; the odd call whose every attempt was cut (one cut
    // before its request reached the vendor, which counted one hang less) ends with the last cut.
    for (const err of failures) expect([Code.ResourceExhausted, Code.DeadlineExceeded], err.rawMessage).toContain(err.code);
    // Calls admitted within the budget whose retry it could not take: refused before the retry was sent.
    expect(failures.some((err) => err.code === Code.ResourceExhausted && err.rawMessage.includes("the call was not tried again"))).toBe(true);
    // Both are counted, each at its stage.
    const refusals = await world.gw.app.metrics.registry.getSingleMetricAsString("switchboard_budget_refusals_total");
    expect(refusals).toMatch(/switchboard_budget_refusals_total\{stage="another_attempt"\} [1-9]/);
  });
});

describe("a prompt cut on a dear model before a cheap fallback served", () => {
  let vendor: FakeServer;
  let world: UsageWorld;
  beforeAll(async () => {
    vendor = await startHangingVendor();
    world = await worldWith("sqlite", vendor);
  });
  afterAll(async () => {
    await world?.close();
    await vendor?.close();
  });

  it("is charged at the dear model's price, the served model's tokens staying its own", async () => {
    const { secret } = await world.admin().createKey({ keyId: "failover", key: { displayName: "failover", budget: { limit: { units: 1_000n } } } });
    const content = "hello there this is a longer prompt [hang:dear:9]";
    const res = await world.gw.client("connect", secret).chat({ model: "dear", messages: [{ role: Role.USER, content }], maxTokens: 1 });
    expect(res.attempts.map((a) => [a.provider, a.model, a.outcome])).toEqual([
      ["vendor", "gpt-4o", "timeout"],
      ["openai", "gpt-4o-mini", "ok"],
    ]);
    const cutPrompt = estimatedUsage({ messages: [create(MessageSchema, { role: Role.USER, content })] }, 0).promptTokens;
    const served = res.usage!;
    // gpt-4o at $1 a token, gpt-4o-mini at a tenth of a cent (TEST_PRICING).
    const expected = cutPrompt * DOLLAR + (served.promptTokens + served.completionTokens) * (DOLLAR / 1_000);

    await expect.poll(async () => nanos((await world.admin().getKey({ name: "keys/failover" })).key?.budgetStatus?.spent), { timeout: 10_000 }).toBe(expected);
    const report = await world.admin().getUsageReport({ key: "keys/failover" });
    expect(nanos(report.total?.cost)).toBe(expected);
    expect(Number(report.total?.promptTokens)).toBe(served.promptTokens);

    // The metrics count the cut prompt as gpt-4o's.
    const metric = await world.gw.app.metrics.registry.getSingleMetric("switchboard_cost_total")!.get();
    const dear = metric.values.find((v) => v.labels.provider === "vendor" && v.labels.model === "gpt-4o");
    expect(dear?.value).toBeCloseTo(cutPrompt, 6);
  });
});
