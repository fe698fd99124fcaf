// ListModels and GET /v1/models tell a caller every price a call can be
// billed at: cache writes (five minutes and an hour, Usage.cache_write_tokens
// and cache_write_1h_tokens) and the long-context tier of Sonnet 4 and 4.5,
// the same numbers pricing bills (src/usage/pricing.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai" });
  anthropic = await startAnthropicFake({ apiKey: "sk-anthropic" });
  gw = await startGateway({
    OPENAI_API_KEY: "sk-openai",
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_API_KEY: "sk-anthropic",
    ANTHROPIC_BASE_URL: anthropic.baseUrl,
  });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai, anthropic].map((fake) => fake?.close()));
});

/** google.type.Money as the decimal it stands for. */
const usd = (money: { currencyCode: string; units: bigint; nanos: number } | undefined) => (money ? `${money.currencyCode} ${Number(money.units) + money.nanos / 1e9}` : undefined);

async function listed(model: string) {
  const found = (await gw.client("grpc").listModels({ provider: "anthropic" })).models.find((m) => m.id === model);
  expect(found, model).toBeDefined();
  return found!;
}

async function rest(model: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${gw.url}/v1/models/${model}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe("ListModels prices", () => {
  it("include Claude's five-minute and hour-long cache writes, and no long-context tier where there is none", async () => {
    const opus = (await listed("claude-opus-4-6")).pricing!;
    expect(usd(opus.cacheWrite)).toBe("USD 6.25");
    expect(usd(opus.cacheWrite1h)).toBe("USD 10");
    // From Claude 4.6 on, a 1M prompt is billed at the standard rates.
    expect(opus.longContext).toBeUndefined();
  });

  it("include Sonnet 4.5's long-context tier: its mark and every price above it", async () => {
    const pricing = (await listed("claude-sonnet-4-5")).pricing!;
    expect([usd(pricing.input), usd(pricing.cacheWrite), usd(pricing.cacheWrite1h), usd(pricing.output)]).toEqual(["USD 3", "USD 3.75", "USD 6", "USD 15"]);
    const long = pricing.longContext!;
    expect(long.abovePromptTokens).toBe(200_000);
    expect([long.input, long.cachedInput, long.cacheWrite, long.cacheWrite1h, long.output, long.reasoning].map(usd)).toEqual([
      "USD 6",
      "USD 0.6",
      "USD 7.5",
      "USD 12",
      "USD 22.5",
      "USD 22.5",
    ]);
  });

  it("show a vendor that bills cache writes as input at its input price", async () => {
    const gpt = (await gw.client("grpc").listModels({ provider: "openai" })).models.find((m) => m.id === "gpt-4o-mini")!;
    expect([usd(gpt.pricing!.cacheWrite), usd(gpt.pricing!.cacheWrite1h)]).toEqual(["USD 0.15", "USD 0.15"]);
  });
});

describe("GET /v1/models prices", () => {
  it("carry the cache writes and the long-context tier in the model object's `pricing` extension", async () => {
    expect((await rest("claude-sonnet-4-5")).pricing).toEqual({
      currency: "USD",
      input: 3,
      cached_input: 0.3,
      output: 15,
      reasoning: 15,
      cache_write: 3.75,
      cache_write_1h: 6,
      long_context: { above_prompt_tokens: 200_000, input: 6, cached_input: 0.6, output: 22.5, reasoning: 22.5, cache_write: 7.5, cache_write_1h: 12 },
    });
    const opus = await rest("claude-opus-4-7");
    expect(opus).toMatchObject({ object: "model", max_output_tokens: 128_000, pricing: { cache_write: 6.25, cache_write_1h: 10 } });
    expect(opus.pricing).not.toHaveProperty("long_context");
  });
});
