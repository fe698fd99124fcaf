// A Claude Code-like session (thinking on, a tool loop) through the Anthropic
// SDK on routes that put Claude first and another vendor behind it: one turn
// fails over, and the turns after it still work whoever serves them. The fakes
// hold the vendors' rules: Anthropic checks every thinking signature and wants
// tool_use ids unique in the conversation; Gemini 3 wants a thought signature
// (its own, or Google's placeholder) on the function calls of the current turn.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anthropicError, startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startDashScopeFake, type DashScopeFake } from "../fakes/dashscope-fake.js";
import { startGeminiFake, type GeminiFake } from "../fakes/gemini-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

const LOOKUP: Anthropic.Tool = { name: "lookup", description: "Looks a thing up.", input_schema: { type: "object", properties: { query: { type: "string" } } } };
const THINKING = { type: "enabled", budget_tokens: 1024 } as const;
const OVERLOADED = anthropicError(529, "overloaded_error", "Overloaded");

let anthropic: AnthropicFake;
let dashscope: DashScopeFake;
let gemini: GeminiFake;
let gw: TestGateway;
let sdk: Anthropic;

beforeAll(async () => {
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor" });
  dashscope = await startDashScopeFake({ apiKey: "sk-dashscope-vendor" });
  gemini = await startGeminiFake({ apiKey: "AIzaGeminiVendorKey" });
  gw = await startGateway(
    {
      ANTHROPIC_API_KEY: "sk-ant-vendor",
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      DASHSCOPE_API_KEY: "sk-dashscope-vendor",
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
      GEMINI_API_KEY: "AIzaGeminiVendorKey",
      GEMINI_BASE_URL: gemini.baseUrl,
    },
    {
      routes: [
        { model: "claude-fo", provider: "anthropic", upstream_model: "claude-sonnet-4-5", fallbacks: ["qwen-plus"] },
        { model: "claude-fo-gem", provider: "anthropic", upstream_model: "claude-sonnet-4-5", fallbacks: ["gemini-3-pro-preview"] },
        { model: "claude-on-gemini", provider: "gemini", upstream_model: "gemini-2.5-flash" },
      ],
      // One attempt a candidate: an overloaded Claude fails over at once.
      traffic: { retry: { max_attempts: 2, attempts_per_candidate: 1 } },
      key_pool: EVERY_CALL_REACHES_THE_VENDOR,
    },
  );
  sdk = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([anthropic?.close(), dashscope?.close(), gemini?.close()]);
});

/** One session: the turns so far, each answer appended as the client keeps it. */
class Session {
  readonly messages: Anthropic.MessageParam[] = [];
  constructor(
    private readonly model: string,
    private readonly thinking = true,
  ) {}

  /** Sends the next user turn; returns the answer and who served it. */
  async turn(content: Anthropic.MessageParam["content"], model = this.model): Promise<{ answer: Anthropic.Message; provider: string | null }> {
    this.messages.push({ role: "user", content });
    const { data, response } = await sdk.messages
      .create({ model, max_tokens: 4000, tools: [LOOKUP], messages: this.messages, ...(this.thinking ? { thinking: THINKING } : {}) })
      .withResponse();
    this.messages.push({ role: "assistant", content: data.content });
    return { answer: data, provider: response.headers.get("x-switchboard-provider") };
  }

  /** The result of the last answer's tool call, as the next user turn. */
  toolResult(text: string): Anthropic.ContentBlockParam[] {
    const last = this.messages.at(-1)!.content as Anthropic.ContentBlock[];
    const call = last.find((block): block is Anthropic.ToolUseBlock => block.type === "tool_use")!;
    return [{ type: "tool_result", tool_use_id: call.id, content: text }];
  }
}

const thinkingBlocks = (body: Record<string, any>) =>
  body.messages.flatMap((m: { content: unknown }) => (Array.isArray(m.content) ? m.content.filter((b: { type: string }) => b.type === "thinking") : []));

describe("a session whose turn failed over from Claude to Qwen, thinking on", () => {
  it("goes on with Claude: the unsigned thinking Qwen's turn left is not sent to Anthropic", async () => {
    const session = new Session("claude-fo");
    anthropic.enqueue(OVERLOADED);
    const first = await session.turn("find the report");
    expect(first.provider).toBe("dashscope");
    expect(first.answer.content).toEqual([expect.objectContaining({ type: "thinking", signature: "" }), expect.objectContaining({ type: "tool_use" })]);

    // The tool loop goes on with Claude: Qwen's thinking cannot come back, so this request thinks no more (Anthropic would refuse the loop).
    const second = await session.turn(session.toolResult("found"));
    expect(second.provider).toBe("anthropic");
    expect(second.answer.content).toEqual([{ type: "text", text: "Tool result: found" }]);
    const sent = anthropic.messageRequests().at(-1)!;
    expect(thinkingBlocks(sent)).toEqual([]);
    expect(sent.thinking).toBeUndefined();
    expect(sent.messages[1].content).toEqual([expect.objectContaining({ type: "tool_use", id: (first.answer.content[1] as Anthropic.ToolUseBlock).id })]);

    // A new user turn thinks again, and its own tool loop keeps Claude's signed thinking.
    const third = await session.turn("and the summary?");
    expect(third.provider).toBe("anthropic");
    expect(third.answer.content[0]).toEqual(expect.objectContaining({ type: "thinking", signature: expect.any(String) }));
    const fourth = await session.turn(session.toolResult("summary found"));
    expect(fourth.answer.content.at(-1)).toEqual({ type: "text", text: "Tool result: summary found" });
    expect(anthropic.messageRequests().at(-1)!.thinking).toEqual(expect.objectContaining({ type: "enabled" }));
  });

  it("keeps a turn that held nothing but unsigned thinking, as text", async () => {
    const messages: Anthropic.MessageParam[] = [
      { role: "user", content: "think about it" },
      { role: "assistant", content: [{ type: "thinking", thinking: "Qwen thought this.", signature: "" }] },
      { role: "user", content: "so?" },
    ];
    const answer = await sdk.messages.create({ model: "claude-sonnet-4-5", max_tokens: 4000, thinking: THINKING, messages });
    expect(answer.content.at(-1)).toEqual({ type: "text", text: "Echo: so?" });
    expect(anthropic.messageRequests().at(-1)!.messages[1].content).toEqual([{ type: "text", text: "Qwen thought this." }]);
  });
});

describe("a session whose turn failed over from Claude to Gemini 3", () => {
  it.each([true, false])("goes on with Gemini, Claude's tool call carrying Google's placeholder signature, and back with Claude (thinking %s)", async (thinking) => {
    const session = new Session("claude-fo-gem", thinking);
    const first = await session.turn("find the report");
    expect(first.provider).toBe("anthropic");

    anthropic.enqueue(OVERLOADED);
    const second = await session.turn(session.toolResult("found"));
    expect(second.provider).toBe("gemini");
    expect(second.answer.content.at(-1)).toEqual({ type: "text", text: "Tool result: found" });
    const call = gemini.generateRequests().at(-1)!.contents[1].parts.find((p: { functionCall?: unknown }) => p.functionCall);
    expect(call.thoughtSignature).toBe("skip_thought_signature_validator");

    // Back with Claude: Gemini's thought summary came unsigned and stays behind.
    const third = await session.turn("and the summary?");
    expect(third.provider).toBe("anthropic");
    expect(thinkingBlocks(anthropic.messageRequests().at(-1)!).every((b: { signature: string }) => b.signature !== "")).toBe(true);
  });
});

describe("tool call ids Gemini leaves to the gateway", () => {
  it("differ from turn to turn, so that Claude takes the conversation on", async () => {
    const session = new Session("claude-on-gemini", false);
    const first = await session.turn("find the report");
    await session.turn(session.toolResult("found"));
    const third = await session.turn("and the summary?");
    const ids = [first, third].map(({ answer }) => (answer.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock).id);
    expect(ids[0]).not.toBe(ids[1]);

    // Anthropic refuses two tool_use blocks with one id in a conversation.
    const fourth = await session.turn(session.toolResult("summary found"), "claude-sonnet-4-5");
    expect(fourth.answer.content).toEqual([{ type: "text", text: "Tool result: summary found" }]);
  });
});
