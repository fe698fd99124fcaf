// Reasoning models end to end: a two-turn conversation with a tool call on
// Anthropic (signed thinking blocks, which its fake checks come back
// unchanged), DeepSeek (reasoning_content, which must come back after tool
// calls) and Gemini (thought summaries; thought signatures riding in tool
// call ids), over Connect, gRPC and REST, unary and streamed; and reasoning
// tokens in usage and in cost.
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { FinishReason, MessageSchema, Role, ToolCallSchema, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort, type ReasoningBlock } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";
import { assembled, restChat, restStream } from "./rest.js";

let anthropic: AnthropicFake;
let deepseek: OpenAIFake;
let gemini: GeminiFake;
let gw: TestGateway;

beforeAll(async () => {
  anthropic = await startAnthropicFake({ apiKey: "sk-anthropic" });
  deepseek = await startOpenAIFake({ apiKey: "sk-deepseek", vendor: "deepseek" });
  gemini = await startGeminiFake({ apiKey: "gm-key" });
  gw = await startGateway(
    {
      ANTHROPIC_API_KEY: "sk-anthropic",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      DEEPSEEK_API_KEY: "sk-deepseek",
      DEEPSEEK_BASE_URL: deepseek.baseUrl,
      GEMINI_API_KEY: "gm-key",
      GEMINI_BASE_URL: gemini.baseUrl,
    },
    {
      traffic: { retry: { max_attempts: 1 } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
      // Reasoning billed apart, to see it priced apart: $1 in, $2 out, $100 reasoning per million tokens.
      pricing: { models: { "deepseek-reasoner": { input: 1, output: 2, reasoning: 100 } } },
    },
  );
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([anthropic, deepseek, gemini].map((fake) => fake?.close()));
});

const tools = [{ name: "get_weather", description: "weather by city", parameters: { type: "object", properties: { query: { type: "string" } } } }];
const question = "weather in Paris?";

interface Vendor {
  model: string;
  /** The vendor's bodies, the last one being the second turn. */
  bodies: () => Record<string, any>[];
  /** What the vendor needs back with the assistant turn, checked on the wire of the second turn. */
  checkReplay: (secondTurn: Record<string, any>, firstAnswer: Message) => void;
}

const VENDORS: Record<string, Vendor> = {
  anthropic: {
    model: "claude-sonnet-4-5",
    bodies: () => anthropic.messageRequests(),
    checkReplay(wire, first) {
      const [thinking] = wire.messages[1].content;
      // The signed block, exactly as Anthropic gave it (the fake checks the signature too).
      expect(thinking).toEqual({ type: "thinking", thinking: first.reasoning[0]!.text, signature: first.reasoning[0]!.signature });
      expect(wire.thinking).toEqual({ type: "enabled", budget_tokens: 24_576 });
    },
  },
  deepseek: {
    model: "deepseek-reasoner",
    bodies: () => deepseek.chatRequests(),
    checkReplay(wire, first) {
      expect(wire.messages[1]).toMatchObject({ role: "assistant", reasoning_content: first.reasoningContent, tool_calls: [expect.objectContaining({ id: first.toolCalls[0]!.id })] });
      expect(wire.reasoning_effort).toBe("high");
    },
  },
  gemini: {
    model: "gemini-3-pro-preview",
    bodies: () => gemini.generateRequests(),
    checkReplay(wire) {
      expect(wire.contents[1].parts[0]).toMatchObject({ functionCall: { name: "get_weather" }, thoughtSignature: expect.any(String) });
      expect(wire.generationConfig.thinkingConfig).toEqual({ includeThoughts: true, thinkingLevel: "high" });
    },
  },
};

/** One turn over Connect or gRPC, unary or streamed, as the message a client keeps for the next turn. */
async function connectTurn(protocol: "connect" | "grpc", stream: boolean, model: string, messages: Message[]) {
  const request = { model, messages, tools, reasoning: { effort: ReasoningEffort.HIGH } };
  if (!stream) {
    const res = await gw.client(protocol).chat(request);
    return { message: res.message!, finishReason: res.finishReason, usage: res.usage! };
  }
  let content = "";
  let reasoningContent = "";
  let reasoning: ReasoningBlock[] = [];
  let summary;
  for await (const event of gw.client(protocol).chatStream(request)) {
    if (event.event.case === "delta") {
      content += event.event.value.content;
      reasoningContent += event.event.value.reasoningContent;
    } else if (event.event.case === "summary") {
      summary = event.event.value;
      reasoning = summary.reasoning;
    }
  }
  const message = create(MessageSchema, { role: Role.ASSISTANT, content, reasoningContent, reasoning, toolCalls: summary!.toolCalls.map((call) => create(ToolCallSchema, call)) });
  return { message, finishReason: summary!.finishReason, usage: summary!.usage! };
}

describe.each(Object.keys(VENDORS))("a two-turn reasoning conversation with a tool call on %s", (name) => {
  const vendor = VENDORS[name]!;

  it.each([
    ["connect", false],
    ["connect", true],
    ["grpc", false],
    ["grpc", true],
  ] as const)("over %s (streamed: %s)", async (protocol, stream) => {
    const user = create(MessageSchema, { role: Role.USER, content: question });
    const first = await connectTurn(protocol, stream, vendor.model, [user]);
    expect(first.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(first.message.toolCalls[0]!.name).toBe("get_weather");
    expect(first.message.reasoningContent).not.toBe("");
    if (name === "anthropic") expect(first.message.reasoning).toEqual([expect.objectContaining({ text: first.message.reasoningContent, signature: expect.any(String) })]);

    const toolResult = create(MessageSchema, { role: Role.TOOL, toolCallId: first.message.toolCalls[0]!.id, content: "sunny, 21C" });
    const second = await connectTurn(protocol, stream, vendor.model, [user, first.message, toolResult]);
    expect(second.message.content).toBe("Tool result: sunny, 21C");
    expect(second.finishReason).toBe(FinishReason.STOP);
    expect(second.message.reasoningContent).not.toBe("");
    vendor.checkReplay(vendor.bodies().at(-1)!, first.message);
  });

  it.each([false, true])("over REST (streamed: %s), reasoning_content and reasoning_details kept in the message sent back", async (stream) => {
    const body = (messages: Record<string, unknown>[]) => ({
      model: vendor.model,
      messages,
      reasoning_effort: "high",
      tools: tools.map((tool) => ({ type: "function", function: tool })),
    });
    const turn = async (messages: Record<string, unknown>[]) => {
      if (!stream) {
        const res = await restChat(gw, body(messages));
        expect(res.status).toBe(200);
        return { message: res.json.choices[0].message, finishReason: res.json.choices[0].finish_reason };
      }
      const res = await restStream(gw, body(messages));
      expect(res.status).toBe(200);
      return assembled(res.chunks);
    };
    const user = { role: "user", content: question };
    const first = await turn([user]);
    expect(first.finishReason).toBe("tool_calls");
    expect(first.message.reasoning_content).toEqual(expect.any(String));
    if (name === "anthropic") expect(first.message.reasoning_details).toEqual([{ type: "reasoning.text", text: first.message.reasoning_content, signature: expect.any(String), index: 0 }]);
    const second = await turn([user, first.message, { role: "tool", tool_call_id: first.message.tool_calls[0].id, content: "sunny, 21C" }]);
    expect(second.message.content).toBe("Tool result: sunny, 21C");
    expect(second.finishReason).toBe("stop");
    const replayed = vendor.bodies().at(-1)!;
    if (name === "anthropic") expect(replayed.messages[1].content[0]).toEqual({ type: "thinking", thinking: first.message.reasoning_content, signature: first.message.reasoning_details[0].signature });
    if (name === "deepseek") expect(replayed.messages[1].reasoning_content).toBe(first.message.reasoning_content);
  });
});

describe("the vendors' own checks hold", () => {
  it("Anthropic refuses a thinking block whose text changed: the signature is checked", async () => {
    const user = create(MessageSchema, { role: Role.USER, content: question });
    const first = await connectTurn("connect", false, "claude-sonnet-4-5", [user]);
    const tampered = create(MessageSchema, { ...first.message, reasoning: [{ ...first.message.reasoning[0]!, text: "something else" }] });
    const toolResult = create(MessageSchema, { role: Role.TOOL, toolCallId: first.message.toolCalls[0]!.id, content: "sunny" });
    await expect(connectTurn("connect", false, "claude-sonnet-4-5", [user, tampered, toolResult])).rejects.toThrow(/Invalid `signature` in `thinking` block/);
  });

  it("DeepSeek refuses a tool-call turn of thinking mode sent back without its reasoning_content", async () => {
    const res = await restChat(gw, {
      model: "deepseek-reasoner",
      messages: [
        { role: "user", content: question },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    // The gateway sends the field (empty, as the caller gave none): DeepSeek takes it.
    expect(res.status).toBe(200);
    expect(deepseek.chatRequests().at(-1)!.messages[1].reasoning_content).toBe("");
  });
});

describe("reasoning tokens", () => {
  it("are counted in usage, within the completion tokens", async () => {
    const deep = await gw.client().chat({ model: "deepseek-reasoner", messages: [{ role: Role.USER, content: "hi" }] });
    expect(deep.usage).toMatchObject({ reasoningTokens: 7 });
    expect(deep.usage!.completionTokens).toBeGreaterThan(7);
    const gem = await gw.client().chat({ model: "gemini-2.5-flash", messages: [{ role: Role.USER, content: "hi" }], reasoning: { budgetTokens: 1024 } });
    expect(gem.usage).toMatchObject({ reasoningTokens: 5 });
    expect(gem.message?.reasoningContent).toBe("Thinking about hi.");
  });

  it("are priced: at the reasoning price where the model has one, the rest of the answer at the output price", async () => {
    const admin = createClient(AdminService, gw.transport("connect"));
    const before = (await admin.getUsageReport({ model: "deepseek-reasoner" })).total;
    const res = await gw.client().chat({ model: "deepseek-reasoner", messages: [{ role: Role.USER, content: "price me" }] });
    const usage = res.usage!;
    const after = (await admin.getUsageReport({ model: "deepseek-reasoner" })).total;
    const nanos = (money: { units: bigint; nanos: number } | undefined) => Number(money?.units ?? 0n) * 1e9 + (money?.nanos ?? 0);
    // Per token, in nano-dollars: $1, $2 and $100 per million are 1,000, 2,000 and 100,000.
    const expected = usage.promptTokens * 1_000 + (usage.completionTokens - usage.reasoningTokens) * 2_000 + usage.reasoningTokens * 100_000;
    expect(nanos(after?.cost) - nanos(before?.cost)).toBe(expected);
  });
});
