// The models OpenAI serves only on its Responses API (gpt-5-codex, the other
// Codex and -pro models): `/v1/chat/completions` answers them 400 "This model
// is only supported in v1/responses …", so the OpenAI dialect sends them to
// `/v1/responses` (the catalogue's `wire.endpoint`), whatever surface the
// caller used: Chat Completions, the Responses API (Codex's) and the Messages
// API (Claude Code's), unary and streamed, with tool round trips, OpenAI's
// encrypted reasoning carried to the next turn, and the usage in the ledger.
import Anthropic from "@anthropic-ai/sdk";
import { createClient } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { UsageDimension } from "../../gen/ts/switchboard/v1/admin_usage_pb.js";
import { ONLY_ON_RESPONSES, RESPONSES_REASONING_TOKENS } from "../fakes/openai-responses-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";

const MODEL = "gpt-5-codex";
const CACHED = 2;
let fake: OpenAIFake;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-openai-vendor", models: ["gpt-4o-mini", MODEL, "gpt-5.1-codex-max"], cachedTokens: CACHED });
  gw = await startGateway({ OPENAI_API_KEY: "sk-openai-vendor", OPENAI_BASE_URL: fake.baseUrl }, { ledger: { flush_interval_ms: 50 } });
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.close();
});

const weather = { type: "function" as const, function: { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } } };

describe("OpenAI's own answer on Chat Completions (the path the gateway took before)", () => {
  it("is a 400 for a model served only on the Responses API", async () => {
    const res = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-openai-vendor", "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(ONLY_ON_RESPONSES);
  });
});

describe("a Chat Completions caller reaching gpt-5-codex", () => {
  it("is answered through /v1/responses, store false, with its usage (cached and reasoning tokens)", async () => {
    const before = fake.chatRequests().length;
    const answer = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello codex" }], reasoning_effort: "low" });
    expect(answer.choices[0]!.message.content).toBe("Echo: hello codex");
    expect(answer.choices[0]!.finish_reason).toBe("stop");
    expect(answer.usage).toMatchObject({ prompt_tokens_details: { cached_tokens: CACHED }, completion_tokens_details: { reasoning_tokens: RESPONSES_REASONING_TOKENS } });
    expect(fake.chatRequests().length).toBe(before);
    const sent = fake.responsesRequests().at(-1)!;
    expect(sent).toMatchObject({ model: MODEL, store: false, include: ["reasoning.encrypted_content"], reasoning: { effort: "low" } });
    expect(sent.input).toEqual([
      { type: "message", role: "developer", content: "be brief" },
      { type: "message", role: "user", content: "hello codex" },
    ]);
  });

  it("streams the text and ends with the usage", async () => {
    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "stream it" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage ??= chunk.usage;
    }
    expect(text).toBe("Echo: stream it");
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(RESPONSES_REASONING_TOKENS);
    expect(fake.responsesRequests().at(-1)!.stream).toBe(true);
  });

  it("completes a tool round trip, OpenAI's encrypted reasoning going back with the call", async () => {
    const question = { role: "user" as const, content: "Paris" };
    const first = await openai.chat.completions.create({ model: MODEL, messages: [question], tools: [weather] });
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    const call = first.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: "get_weather", arguments: JSON.stringify({ query: "Paris" }) });
    const sentTools = fake.responsesRequests().at(-1)!.tools;
    expect(sentTools).toEqual([{ type: "function", name: "get_weather", description: "The weather in a city", parameters: weather.function.parameters, strict: false }]);

    const second = await openai.chat.completions.create({ model: MODEL, messages: [question, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "sunny, 21C" }], tools: [weather] });
    expect(second.choices[0]!.message.content).toBe("Tool result: sunny, 21C");
    const input = fake.responsesRequests().at(-1)!.input;
    expect(input.map((item: { type: string }) => item.type)).toEqual(["message", "reasoning", "function_call", "function_call_output"]);
    expect(input[1].encrypted_content).toMatch(/^gAAAAAfake-reasoning-/);
    expect(input[3]).toEqual({ type: "function_call_output", call_id: call.id, output: "sunny, 21C" });
  });

  it("says an answer cut at max_output_tokens is cut (length)", async () => {
    const answer = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "a b c d e f g h i j k l m n o p q r s t" }], max_completion_tokens: 16 });
    expect(answer.choices[0]!.finish_reason).toBe("length");
    expect(fake.responsesRequests().at(-1)!.max_output_tokens).toBe(16);
  });

  it("sends JSON-schema output as text.format", async () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };
    const answer = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "json please" }], response_format: { type: "json_schema", json_schema: { name: "reply", schema, strict: true } } });
    expect(JSON.parse(answer.choices[0]!.message.content!)).toEqual({ answer: "Echo: json please" });
    expect(fake.responsesRequests().at(-1)!.text).toEqual({ format: { type: "json_schema", name: "reply", schema, strict: true } });
  });
});

describe("a Responses API caller (Codex) reaching gpt-5-codex", () => {
  const tool = { type: "function" as const, name: "get_weather", description: null, parameters: weather.function.parameters, strict: false };

  it("is answered unary and streamed", async () => {
    const unary = await openai.responses.create({ model: MODEL, input: "hi there", store: false });
    expect(unary.output_text).toBe("Echo: hi there");
    expect(unary.usage).toMatchObject({ input_tokens_details: { cached_tokens: CACHED }, output_tokens_details: { reasoning_tokens: RESPONSES_REASONING_TOKENS } });
    const streamed = await openai.responses.stream({ model: "gpt-5.1-codex-max", input: "stream there", store: false }).finalResponse();
    expect(outputText(streamed)).toBe("Echo: stream there");
    expect(streamed.status).toBe("completed");
    expect(fake.responsesRequests().at(-1)).toMatchObject({ model: "gpt-5.1-codex-max", stream: true, store: false });
  });

  it("completes a streamed tool round trip holding the conversation itself, its reasoning items carried back", async () => {
    const question: OpenAI.Responses.ResponseInputItem = { role: "user", content: "Lyon" };
    const first = await openai.responses.stream({ model: MODEL, input: [question], tools: [tool], store: false, include: ["reasoning.encrypted_content"] }).finalResponse();
    const call = first.output.find((item) => item.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: "get_weather", arguments: JSON.stringify({ query: "Lyon" }) });
    const reasoning = first.output.find((item) => item.type === "reasoning") as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.encrypted_content).toBeTruthy();

    const second = await openai.responses.create({
      model: MODEL,
      input: [question, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: call.call_id, output: "rainy, 12C" }],
      tools: [tool],
      store: false,
    });
    expect(second.output_text).toBe("Tool result: rainy, 12C");
    // The fake verifies the encrypted_content is one it issued.
    const input = fake.responsesRequests().at(-1)!.input;
    expect(input.filter((item: { type: string }) => item.type === "reasoning")).toHaveLength(1);
  });
});

describe("a Messages API caller (Claude Code) reaching gpt-5-codex", () => {
  const tool = { name: "get_weather", description: "The weather in a city", input_schema: { type: "object" as const, properties: { query: { type: "string" } }, required: ["query"] } };

  it("is answered unary and streamed", async () => {
    const unary = await anthropic.messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: "hello claude code" }] });
    expect(unary.content.filter((block) => block.type === "text")).toEqual([expect.objectContaining({ text: "Echo: hello claude code" })]);
    expect(unary.usage.cache_read_input_tokens).toBe(CACHED);
    const streamed = await anthropic.messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: "stream claude code" }] }).finalMessage();
    expect(streamed.content.filter((block) => block.type === "text")).toEqual([expect.objectContaining({ text: "Echo: stream claude code" })]);
    expect(streamed.stop_reason).toBe("end_turn");
  });

  it("completes a tool round trip, the redacted reasoning block going back to OpenAI", async () => {
    const question = { role: "user" as const, content: "Oslo" };
    const first = await anthropic.messages.stream({ model: MODEL, max_tokens: 256, tools: [tool], messages: [question] }).finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content.find((block): block is Anthropic.ToolUseBlock => block.type === "tool_use")!;
    expect(use.input).toEqual({ query: "Oslo" });
    const second = await anthropic.messages.create({
      model: MODEL,
      max_tokens: 256,
      tools: [tool],
      messages: [question, { role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "snow, -3C" }] }],
    });
    expect(second.content.filter((block) => block.type === "text")).toEqual([expect.objectContaining({ text: "Tool result: snow, -3C" })]);
  });
});

describe("the ledger", () => {
  it("prices gpt-5-codex's calls at its row's prices, cached input at its own", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const codex = async () => (await admin.getUsageReport({ groupBy: [UsageDimension.MODEL] })).rows.find((row) => row.model === MODEL);
    await expect.poll(async () => Number((await codex())?.requests ?? 0), { timeout: 5_000 }).toBeGreaterThanOrEqual(12);
    const row = (await codex())!;
    expect(Number(row.errors)).toBe(0);
    const [prompt, cached, completion] = [Number(row.promptTokens), Number(row.cachedTokens), Number(row.completionTokens)];
    expect(cached).toBe(CACHED * Number(row.requests));
    // $1.25 per million input tokens, $0.125 cached, $10 output (reasoning included): 1250, 125 and 10000 nanos a token.
    const nanos = (prompt - cached) * 1250 + cached * 125 + completion * 10_000;
    expect(row.cost).toMatchObject({ currencyCode: "USD" });
    expect(Number(row.cost!.units) * 1e9 + row.cost!.nanos).toBe(nanos);
  });
});

/** The text of a Response's messages (the SDK adds `output_text` to unary answers only). */
function outputText(response: OpenAI.Responses.Response): string {
  return response.output.flatMap((item) => (item.type === "message" ? item.content.map((part) => (part.type === "output_text" ? part.text : "")) : [])).join("");
}
