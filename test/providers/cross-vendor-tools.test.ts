// A tool conversation that starts on one vendor and goes on at another: the
// ids one vendor makes must pass the other's rules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

let gemini: GeminiFake;
let openai: OpenAIFake;
let anthropic: AnthropicFake;
let gw: TestGateway;

beforeAll(async () => {
  gemini = await startGeminiFake({ apiKey: "AIzaCrossVendor" });
  openai = await startOpenAIFake({ apiKey: "sk-cross-vendor" });
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-cross-vendor" });
  gw = await startGateway({
    GEMINI_API_KEY: "AIzaCrossVendor",
    GEMINI_BASE_URL: gemini.baseUrl,
    OPENAI_API_KEY: "sk-cross-vendor",
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_API_KEY: "sk-ant-cross-vendor",
    ANTHROPIC_BASE_URL: anthropic.baseUrl,
  });
});
afterAll(async () => {
  await gw?.stop();
  await gemini?.close();
  await openai?.close();
  await anthropic?.close();
});

const tools = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }];

describe("a tool conversation across vendors", () => {
  it("goes on at OpenAI after Gemini 3 called the tool, though Gemini's id is too long for OpenAI", async () => {
    const question = { role: Role.USER, content: "Weather in Paris?" };
    const first = await gw.client().chat({ model: "gemini-3-pro-preview", messages: [question], tools });
    const call = first.message!.toolCalls[0]!;
    expect(call.id.length).toBeGreaterThan(40); // it carries Gemini's thought signature

    const second = await gw.client().chat({
      model: "gpt-4o-mini",
      tools,
      messages: [question, first.message!, { role: Role.TOOL, toolCallId: call.id, content: "sunny, 21C" }],
    });
    expect(second.message?.content).toBe("Tool result: sunny, 21C");
    // The fake enforces OpenAI's 40-character limit and that each tool answer follows its call.
    const sent = openai.requests.at(-1)!.body as { messages: { tool_calls?: { id: string }[]; tool_call_id?: string }[] };
    const sentId = sent.messages[1]!.tool_calls![0]!.id;
    expect(sentId.length).toBeLessThanOrEqual(40);
    expect(sent.messages[2]!.tool_call_id).toBe(sentId);
  });

  it("goes on at Anthropic with an id in Kimi's style, whose characters Anthropic refuses", async () => {
    const kimiId = "functions.get_weather:0";
    const res = await gw.client().chat({
      model: "claude-sonnet-4-5",
      tools,
      messages: [
        { role: Role.USER, content: "Weather in Paris?" },
        { role: Role.ASSISTANT, toolCalls: [{ id: kimiId, name: "get_weather", arguments: '{"query":"Paris"}' }] },
        { role: Role.TOOL, toolCallId: kimiId, content: "cloudy" },
      ],
    });
    // The fake enforces Anthropic's id pattern and that each tool_result answers a tool_use.
    expect(res.message?.content).toBe("Tool result: cloudy");
  });

  it("keeps ids OpenAI accepts as they are", async () => {
    await gw.client().chat({
      model: "gpt-4o-mini",
      tools,
      messages: [
        { role: Role.USER, content: "Weather in Paris?" },
        { role: Role.ASSISTANT, toolCalls: [{ id: "call_abc123", name: "get_weather", arguments: '{"query":"Paris"}' }] },
        { role: Role.TOOL, toolCallId: "call_abc123", content: "rainy" },
      ],
    });
    const sent = openai.requests.at(-1)!.body as { messages: { tool_calls?: { id: string }[]; tool_call_id?: string }[] };
    expect(sent.messages[1]!.tool_calls![0]!.id).toBe("call_abc123");
    expect(sent.messages[2]!.tool_call_id).toBe("call_abc123");
  });
});
