// The Chat Completions fields the unified request has no place for
// (parallel_tool_calls, logprobs, store, metadata, prediction, …), as the
// official OpenAI SDK sends them for LangChain and the Agents SDK: vendors of
// the OpenAI dialect get them as before; Claude and Gemini, whose fakes refuse
// any field they do not know as the real APIs do, get them said their way or
// not at all (reported in x-switchboard-adjusted), and log probabilities they
// cannot return are refused, naming the field and the model. A route that
// falls back from gpt-4o-mini to Claude serves the same request.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const CLAUDE = "claude-sonnet-4-5";
const GEMINI = "gemini-2.5-flash";
const GPT = "gpt-4o-mini";
/** Served by gpt-4o-mini, falling back to Claude. */
const FALLING_BACK = "smart";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gemini: GeminiFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-openai-fake-000000000001" });
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-fake-000000000001" });
  gemini = await startGeminiFake({ apiKey: "AIzaFakeGeminiKey000000001" });
  gw = await startGateway(
    {
      OPENAI_API_KEY: "sk-openai-fake-000000000001",
      OPENAI_BASE_URL: openai.baseUrl,
      ANTHROPIC_API_KEY: "sk-ant-fake-000000000001",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      GEMINI_API_KEY: "AIzaFakeGeminiKey000000001",
      GEMINI_BASE_URL: gemini.baseUrl,
    },
    {
      // One attempt a candidate: a failing gpt-4o-mini falls back to Claude at once.
      traffic: { retry: { max_attempts: 2, attempts_per_candidate: 1 } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      routes: [{ model: FALLING_BACK, provider: "openai", upstream_model: GPT, fallbacks: [CLAUDE] }],
    },
  );
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()]);
});

const LOOKUP: OpenAI.ChatCompletionTool = { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { query: { type: "string" } } } } };

/** What LangChain's bind_tools(parallel_tool_calls=False) and the Agents SDK send besides the conversation. */
const AGENT_FIELDS = {
  parallel_tool_calls: false,
  store: true,
  metadata: { session: "s1" },
  prediction: { type: "content", content: "Paris" },
  modalities: ["text"],
  prompt_cache_key: "conversation-7",
  logprobs: false,
} satisfies Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>;

function ask(model: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}): OpenAI.ChatCompletionCreateParamsNonStreaming {
  return { model, messages: [{ role: "user", content: "weather in Paris" }], tools: [LOOKUP], ...AGENT_FIELDS, ...extra };
}

describe("Chat Completions fields with no place in the unified request", () => {
  it("reach a vendor of the OpenAI dialect as they were sent", async () => {
    await sdk.chat.completions.create(ask(GPT));
    expect(openai.chatRequests().at(-1)).toMatchObject(AGENT_FIELDS);
  });

  it("Claude: parallel_tool_calls false becomes disable_parallel_tool_use; the others are dropped and reported", async () => {
    const { data, response } = await sdk.chat.completions.create(ask(CLAUDE)).withResponse();
    expect(data.choices[0]!.finish_reason).toBe("tool_calls");
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
    for (const field of Object.keys(AGENT_FIELDS)) expect(sent).not.toHaveProperty(field);
    const adjusted = response.headers.get("x-switchboard-adjusted") ?? "";
    for (const field of ["store", "metadata", "prediction"]) expect(adjusted).toContain(`${field}=dropped(`);
    // Asking for nothing Claude does not do anyway is not worth a word (its cache needs no routing).
    for (const field of ["parallel_tool_calls", "modalities", "logprobs", "prompt_cache_key"]) expect(adjusted).not.toContain(`${field}=`);
  });

  it("Claude: a forced tool keeps its choice, one call at a time", async () => {
    await sdk.chat.completions.create(ask(CLAUDE, { tool_choice: { type: "function", function: { name: "lookup" } } }));
    expect(anthropic.messageRequests().at(-1)!.tool_choice).toEqual({ type: "tool", name: "lookup", disable_parallel_tool_use: true });
  });

  it("Gemini: nothing foreign is sent; parallel_tool_calls false, which Gemini has no switch for, is reported", async () => {
    const { data, response } = await sdk.chat.completions.create(ask(GEMINI)).withResponse();
    expect(data.choices[0]!.finish_reason).toBe("tool_calls");
    const sent = gemini.generateRequests().at(-1)!;
    for (const field of Object.keys(AGENT_FIELDS)) expect(sent).not.toHaveProperty(field);
    expect(response.headers.get("x-switchboard-adjusted")).toContain(`parallel_tool_calls=dropped(${GEMINI} has no switch for parallel function calls`);
  });

  it("a field the gateway does not know goes only to the OpenAI dialect, and is reported as dropped for Claude", async () => {
    const extra = { knob_of_some_vendor: 3 } as Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>;
    await sdk.chat.completions.create(ask(GPT, extra));
    expect(openai.chatRequests().at(-1)).toMatchObject({ knob_of_some_vendor: 3 });
    const { response } = await sdk.chat.completions.create(ask(CLAUDE, extra)).withResponse();
    expect(anthropic.messageRequests().at(-1)).not.toHaveProperty("knob_of_some_vendor");
    expect(response.headers.get("x-switchboard-adjusted")).toContain("knob_of_some_vendor=dropped(");
  });

  it("a route falling back from gpt-4o-mini to Claude serves the agent's request", async () => {
    openai.enqueue({ kind: "error", status: 500, body: { error: { message: "boom", type: "server_error" } } });
    const answer = await sdk.chat.completions.create(ask(FALLING_BACK));
    expect(answer.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { name: "lookup" } });
    expect(anthropic.messageRequests().at(-1)!.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
  });

  it.each([
    [CLAUDE, { logprobs: true }, "logprobs"],
    [GEMINI, { logprobs: true, top_logprobs: 2 }, "logprobs"],
    [CLAUDE, { top_logprobs: 2 }, "top_logprobs"],
  ] as const)("%s with %j: 400 naming the field and the model, no vendor asked", async (model, extra, field) => {
    const before = anthropic.requests.length + gemini.requests.length;
    const err = await sdk.chat.completions.create(ask(model, extra)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const error = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.param).toBe(field);
    expect(error.message).toContain(`${field}: ${model} returns no log probabilities`);
    expect(anthropic.requests.length + gemini.requests.length).toBe(before);
  });

  it("log probabilities asked of a route whose primary gives them are served by it", async () => {
    await sdk.chat.completions.create(ask(FALLING_BACK, { logprobs: true, top_logprobs: 2 }));
    expect(openai.chatRequests().at(-1)).toMatchObject({ logprobs: true, top_logprobs: 2 });
  });

  it("a field of the wrong type is the caller's 400, naming it", async () => {
    const err = await sdk.chat.completions.create(ask(CLAUDE, { parallel_tool_calls: "no" as unknown as boolean })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("parallel_tool_calls");
  });
});
