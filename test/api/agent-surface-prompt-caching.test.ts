// Prompt caching when Claude serves the OpenAI surfaces. Claude caches
// nothing without a cache_control marker, and Codex resends the whole
// conversation every turn: requests a caller could not mark get Anthropic's
// automatic caching (a top-level cache_control), a caller's own top-level
// cache_control goes on as written, and OpenAI's prompt_cache_key reaches
// OpenAI from `/v1/responses` as from Chat Completions. A provider can turn the
// automatic breakpoint off. Also: a function call with no arguments is "{}" on
// `/v1/responses`, as OpenAI writes it.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const CLAUDE = "claude-sonnet-4-5";
const GPT = "gpt-4o-mini";
/** Claude through a provider with automatic_prompt_caching: false. */
const UNCACHED_CLAUDE = "claude-uncached";
const ANTHROPIC_KEY = "sk-ant-fake-000000000001";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  // With "ping" the model calls it with no arguments at all.
  openai = await startOpenAIFake({ apiKey: "sk-openai-fake-000000000001", toolCall: (body) => (JSON.stringify(body).includes("ping") ? { name: "ping", arguments: "" } : undefined) });
  anthropic = await startAnthropicFake({ apiKey: ANTHROPIC_KEY });
  gw = await startGateway(
    { OPENAI_API_KEY: "sk-openai-fake-000000000001", OPENAI_BASE_URL: openai.baseUrl, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropic.baseUrl },
    {
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      providers: { "anthropic-uncached": { dialect: "anthropic", base_url: anthropic.baseUrl, api_key: "env:ANTHROPIC_API_KEY", automatic_prompt_caching: false } },
      routes: [{ model: UNCACHED_CLAUDE, provider: "anthropic-uncached", upstream_model: CLAUDE }],
    },
  );
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

/** A Responses request with fields the SDK's types do not have (Anthropic's cache_control). */
function respond(body: Record<string, unknown>) {
  return sdk.responses.create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming).withResponse();
}

describe("prompt caching when Claude serves the OpenAI surfaces", () => {
  it("Chat Completions: Claude gets the automatic breakpoint", async () => {
    await sdk.chat.completions.create({ model: CLAUDE, messages: [{ role: "system", content: "a long system prompt" }, { role: "user", content: "hi" }] });
    expect(anthropic.messageRequests().at(-1)!.cache_control).toEqual({ type: "ephemeral" });
  });

  it("Responses, as Codex asks (prompt_cache_key): the automatic breakpoint, and nothing reported", async () => {
    const { response } = await respond({ model: CLAUDE, instructions: "a long system prompt", input: "hi", prompt_cache_key: "session-1", store: false });
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.cache_control).toEqual({ type: "ephemeral" });
    expect(sent).not.toHaveProperty("prompt_cache_key");
    expect(response.headers.get("x-switchboard-adjusted") ?? "").not.toContain("prompt_cache_key");
  });

  it("a caller's own top-level cache_control reaches Claude as written, from either surface", async () => {
    const { response } = await respond({ model: CLAUDE, input: "hi", cache_control: { type: "ephemeral", ttl: "1h" } });
    expect(anthropic.messageRequests().at(-1)!.cache_control).toEqual({ type: "ephemeral", ttl: "1h" });
    expect(response.headers.get("x-switchboard-adjusted") ?? "").not.toContain("cache_control");
    await sdk.chat.completions.create({ model: CLAUDE, messages: [{ role: "user", content: "hi" }], cache_control: { type: "ephemeral", ttl: "1h" } } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(anthropic.messageRequests().at(-1)!.cache_control).toEqual({ type: "ephemeral", ttl: "1h" });
  });

  it("a retention Claude cannot keep is dropped and reported; OpenAI's default asks nothing more", async () => {
    const { response } = await respond({ model: CLAUDE, input: "hi", prompt_cache_retention: "24h" });
    expect(anthropic.messageRequests().at(-1)).not.toHaveProperty("prompt_cache_retention");
    expect(response.headers.get("x-switchboard-adjusted")).toContain("prompt_cache_retention=dropped(");
    const { response: inMemory } = await respond({ model: CLAUDE, input: "hi", prompt_cache_retention: "in-memory" });
    expect(inMemory.headers.get("x-switchboard-adjusted") ?? "").not.toContain("prompt_cache_retention");
  });

  it("a provider with automatic_prompt_caching: false sends no breakpoint of its own", async () => {
    await sdk.chat.completions.create({ model: UNCACHED_CLAUDE, messages: [{ role: "user", content: "hi" }] });
    expect(anthropic.messageRequests().at(-1)).not.toHaveProperty("cache_control");
  });

  it("/v1/messages: the caller's breakpoints are its own, none added", async () => {
    const claude = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
    await claude.messages.create({ model: CLAUDE, max_tokens: 50, messages: [{ role: "user", content: "hi" }] });
    expect(anthropic.messageRequests().at(-1)).not.toHaveProperty("cache_control");
  });
});

describe("/v1/responses served by OpenAI", () => {
  it("prompt_cache_key and prompt_cache_retention reach OpenAI, as from Chat Completions", async () => {
    await respond({ model: GPT, input: "hi", prompt_cache_key: "session-1", prompt_cache_retention: "24h" });
    expect(openai.chatRequests().at(-1)).toMatchObject({ prompt_cache_key: "session-1", prompt_cache_retention: "24h" });
  });

  it('a function call with no arguments has arguments "{}", whole and streamed', async () => {
    const request = { model: GPT, input: "ping", tools: [{ type: "function" as const, name: "ping", parameters: { type: "object", properties: {} }, strict: false }] };
    const whole = await sdk.responses.create(request);
    expect(whole.output.find((item) => item.type === "function_call")).toMatchObject({ name: "ping", arguments: "{}" });
    const events = [];
    for await (const event of await sdk.responses.create({ ...request, stream: true })) events.push(event);
    const done = events.find((event) => event.type === "response.function_call_arguments.done");
    expect(done).toMatchObject({ arguments: "{}" });
    const item = events.find((event) => event.type === "response.output_item.done" && event.item.type === "function_call");
    expect(item).toMatchObject({ item: { arguments: "{}" } });
  });
});
