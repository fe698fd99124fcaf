// Prompt-cache writes on the Responses surface: OpenAI's Responses usage has
// no place for them (input_tokens_details holds cached_tokens only), so the
// gateway adds `cache_write_tokens` there, as the Chat Completions surface
// does in prompt_tokens_details. Read through the official OpenAI SDK.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

let anthropic: AnthropicFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor", cacheCreationTokens: 7, cacheReadTokens: 3 });
  gw = await startGateway({ ANTHROPIC_API_KEY: "sk-ant-vendor", ANTHROPIC_BASE_URL: anthropic.baseUrl });
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY });
});
afterAll(async () => {
  await gw?.stop();
  await anthropic?.close();
});

type Details = OpenAI.Responses.ResponseUsage.InputTokensDetails & { cache_write_tokens?: number };

describe("a Response served by Claude with prompt-cache writes", () => {
  it("tells the writes apart in input_tokens_details, unary and streamed", async () => {
    const unary = await sdk.responses.create({ model: "claude-sonnet-4-5", input: "hello" });
    const details = unary.usage!.input_tokens_details as Details;
    expect(details.cache_write_tokens).toBe(7);
    expect(details.cached_tokens).toBe(3);
    // input_tokens stays the whole prompt, writes and reads included, as OpenAI counts it.
    expect(unary.usage!.input_tokens).toBeGreaterThanOrEqual(10);

    const streamed = await sdk.responses.stream({ model: "claude-sonnet-4-5", input: "hello" }).finalResponse();
    expect((streamed.usage!.input_tokens_details as Details).cache_write_tokens).toBe(7);
  });
});
