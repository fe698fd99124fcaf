// Code written for OpenAI's legacy function calling (`functions`,
// `function_call`, the assistant's `function_call`, the `function` role),
// through the official SDK, unchanged: its functions are asked of every
// vendor as tools (Claude and Gemini once refused them), the call reaches it
// in the legacy shape, whole and streamed, and its follow-up turn goes on at
// the vendor, or at a vendor of another dialect as that vendor's own tool turns.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { restStream } from "../providers/rest.js";

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gemini: GeminiFake;
let gw: TestGateway;
let sdk: OpenAI;

beforeAll(async () => {
  openai = await startOpenAIFake({ apiKey: "sk-legacy" });
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-legacy" });
  gemini = await startGeminiFake({ apiKey: "gemini-legacy-key" });
  gw = await startGateway({
    OPENAI_API_KEY: "sk-legacy",
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_API_KEY: "sk-ant-legacy",
    ANTHROPIC_BASE_URL: anthropic.baseUrl,
    GEMINI_API_KEY: "gemini-legacy-key",
    GEMINI_BASE_URL: gemini.baseUrl,
  });
  sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await openai?.close();
  await anthropic?.close();
  await gemini?.close();
});

const functions = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }];
const called = { name: "get_weather", arguments: JSON.stringify({ query: "Weather in Oslo?" }) };

describe("legacy functions through the official SDK", () => {
  it("a whole answer carries the vendor's function_call, and ends with function_call", async () => {
    const res = await sdk.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Weather in Oslo?" }], functions });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe("function_call");
    expect(choice.message.function_call).toEqual(called);
    expect(choice.message.tool_calls).toBeUndefined();
    // The vendor was asked with the tools that replaced them.
    const sent = openai.chatRequests().at(-1)!;
    expect(sent.functions).toBeUndefined();
    expect(sent.tools).toEqual([{ type: "function", function: functions[0] }]);
  });

  it("a stream carries it as function_call fragments, which the SDK's helper puts together", async () => {
    const runner = sdk.chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Weather in Oslo?" }], functions });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("function_call");
    expect(final.choices[0]!.message.function_call).toEqual(called);
    expect(final.choices[0]!.message.tool_calls ?? []).toEqual([]);
  });

  it("raw chunks: the name with the first fragment, no tool_calls anywhere", async () => {
    const { chunks } = await restStream(gw, { model: "gpt-4o-mini", messages: [{ role: "user", content: "Weather in Bergen?" }], functions });
    const deltas = chunks.flatMap((chunk) => (chunk.choices ?? []).map((choice: { delta: object }) => choice.delta));
    const fragments = deltas.filter((delta) => "function_call" in delta).map((delta) => (delta as { function_call: object }).function_call);
    expect(fragments[0]).toEqual({ name: "get_weather", arguments: "" });
    expect(fragments.slice(1).every((fragment) => !("name" in fragment))).toBe(true);
    expect(deltas.some((delta) => "tool_calls" in delta)).toBe(false);
    expect(chunks.map((chunk) => chunk.choices?.[0]?.finish_reason).filter(Boolean)).toEqual(["function_call"]);
  });

  it("the follow-up turn, with the assistant's function_call and the function's result, goes on at the vendor", async () => {
    const res = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      functions,
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, function_call: called },
        { role: "function", name: "get_weather", content: "sunny, 21C" },
      ],
    });
    expect(res.choices[0]!.message.content).toBe("Tool result: sunny, 21C");
    expect(res.choices[0]!.finish_reason).toBe("stop");
    // Sent as the tool call and the tool result that answers it (the fake refuses a tool message with no call before it).
    const sent = openai.chatRequests().at(-1)!.messages as { role: string; tool_calls?: { id: string; function: object }[]; tool_call_id?: string }[];
    expect(sent[1]!.tool_calls).toEqual([{ id: sent[2]!.tool_call_id, type: "function", function: called }]);
    expect(sent[2]).toMatchObject({ role: "tool", content: "sunny, 21C" });
  });

  it("the follow-up turn goes on at a vendor of another dialect, as its own tool turns", async () => {
    const res = await sdk.chat.completions.create({
      model: "claude-sonnet-4-5",
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: null, function_call: called },
        { role: "function", name: "get_weather", content: "sunny, 21C" },
      ],
    });
    expect(res.choices[0]!.finish_reason).toBe("stop");
    // The Anthropic fake refuses a tool_result that answers no tool_use of the message before it.
    const sent = anthropic.messageRequests().at(-1)!.messages as { role: string; content: { type: string; id?: string; tool_use_id?: string; name?: string; input?: object }[] }[];
    const use = sent[1]!.content.find((block) => block.type === "tool_use")!;
    expect(use).toMatchObject({ name: "get_weather", input: { query: "Weather in Oslo?" } });
    expect(sent[2]!.content.find((block) => block.type === "tool_result")?.tool_use_id).toBe(use.id);
  });

  it("a function result with no call of its function before it is refused, naming the message", async () => {
    const refused = sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "function", name: "get_weather", content: "sunny" },
      ],
    });
    await expect(refused).rejects.toMatchObject({ status: 400, error: { type: "invalid_request_error", param: "messages[1]" } });
  });
});

describe("legacy functions at a vendor of another dialect", () => {
  it("Claude is asked with them as tools, function_call {name} as the forced tool, and the call comes back in the legacy shape", async () => {
    const res = await sdk.chat.completions.create({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Weather in Oslo?" }], functions, function_call: { name: "get_weather" } });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe("function_call");
    expect(choice.message.function_call).toEqual(called);
    expect(choice.message.tool_calls).toBeUndefined();
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.tools).toEqual([{ name: "get_weather", description: "weather by city", input_schema: functions[0]!.parameters }]);
    expect(sent.tool_choice).toEqual({ type: "tool", name: "get_weather" });
  });

  it("Gemini is asked with them as function declarations, and streams the call back in the legacy shape", async () => {
    const { status, chunks } = await restStream(gw, { model: "gemini-2.5-flash", messages: [{ role: "user", content: "Weather in Oslo?" }], functions, function_call: "auto" });
    expect(status).toBe(200);
    const deltas = chunks.flatMap((chunk) => (chunk.choices ?? []).map((choice: { delta: object }) => choice.delta));
    expect(deltas.find((delta) => "function_call" in delta)).toMatchObject({ function_call: { name: "get_weather" } });
    expect(chunks.map((chunk) => chunk.choices?.[0]?.finish_reason).filter(Boolean)).toEqual(["function_call"]);
    const sent = gemini.generateRequests().at(-1)!;
    expect(sent.tools[0].functionDeclarations.map((declaration: { name: string }) => declaration.name)).toEqual(["get_weather"]);
  });

  it('function_call "none": the model may call nothing', async () => {
    const res = await sdk.chat.completions.create({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Weather in Oslo?" }], functions, function_call: "none" });
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(anthropic.messageRequests().at(-1)!.tool_choice).toEqual({ type: "none" });
  });
});

describe("legacy fields beside their replacements, or wrong", () => {
  const asked = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Weather in Oslo?" }] };
  it.each([
    ["functions beside tools", { functions, tools: [{ type: "function", function: functions[0] }] }, "functions"],
    ["function_call beside tool_choice", { functions, function_call: "auto", tool_choice: "auto" }, "function_call"],
    ["function_call without functions", { function_call: "auto" }, "function_call"],
    ["function_call naming a function not among them", { functions, function_call: { name: "get_time" } }, "function_call.name"],
    ["a function without a valid name", { functions: [{ name: "get weather" }] }, "functions[0].name"],
    ["function_call of another mode", { functions, function_call: "required" }, "function_call"],
  ])("%s: refused before any vendor is asked, naming the field", async (_, fields, param) => {
    const before = openai.chatRequests().length;
    const refused = sdk.chat.completions.create({ ...asked, ...fields } as never);
    await expect(refused).rejects.toMatchObject({ status: 400, error: { type: "invalid_request_error", param } });
    expect(openai.chatRequests().length).toBe(before);
  });
});
