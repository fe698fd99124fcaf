// Mid-conversation system messages (`{role: "system"}` inside `messages`,
// https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages),
// sent with the official Anthropic SDK to the gateway's Messages surface: a
// Claude model that takes them gets them where the caller put them; an older
// one gets them in its top-level system prompt; an OpenAI model gets them as
// system messages in place. Misplaced ones are refused as Anthropic refuses them.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicFake, type AnthropicFake } from "../fakes/anthropic-fake.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { MASTER_KEY, startGateway, type TestGateway } from "../support/gateway.js";
import { EVERY_CALL_REACHES_THE_VENDOR } from "../support/key-pool-settings.js";

let anthropic: AnthropicFake;
let openai: OpenAIFake;
let gw: TestGateway;
let sdk: Anthropic;

beforeAll(async () => {
  // Opus 4.8 takes them, as does Opus 5.5 (Claude Code's default, which always thinks); Sonnet 4.5 refuses them.
  anthropic = await startAnthropicFake({ apiKey: "sk-ant-vendor", models: ["claude-opus-4-8", "claude-opus-5-5", "claude-sonnet-4-5"] });
  openai = await startOpenAIFake({ apiKey: "sk-openai-vendor" });
  gw = await startGateway(
    { ANTHROPIC_API_KEY: "sk-ant-vendor", ANTHROPIC_BASE_URL: anthropic.baseUrl, OPENAI_API_KEY: "sk-openai-vendor", OPENAI_BASE_URL: openai.baseUrl },
    { key_pool: EVERY_CALL_REACHES_THE_VENDOR },
  );
  sdk = new Anthropic({ baseURL: gw.url, apiKey: MASTER_KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([anthropic?.close(), openai?.close()]);
});

const SYSTEM = "You are terse.";
const LATER: Anthropic.TextBlockParam = { type: "text", text: "From now on, answer in French.", cache_control: { type: "ephemeral" } };
/** A conversation that ends on a system message right after the user's turn, as Claude Code sends one. */
const MESSAGES: Anthropic.MessageParam[] = [
  { role: "user", content: "hello" },
  { role: "assistant", content: "Hi." },
  { role: "user", content: "what is new?" },
  { role: "system", content: [LATER] },
];

/** The answer's text blocks: a model that always thinks opens its answer with a thinking block. */
const textOf = (content: Anthropic.ContentBlock[]) => content.filter((block) => block.type === "text");

describe.each(["claude-opus-4-8", "claude-opus-5-5"])("a mid-conversation system message to %s, which takes them", (model) => {
  it("reaches the vendor where the caller put it, blocks and cache_control as written", async () => {
    const answer = await sdk.messages.create({ model, max_tokens: 64, system: SYSTEM, messages: MESSAGES });
    expect(textOf(answer.content)).toEqual([{ type: "text", text: "Echo: what is new?" }]);
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.system).toBe(SYSTEM);
    expect(sent.messages).toEqual(MESSAGES);
  });

  it("stays in place before the assistant turn that followed it, in a stream", async () => {
    const messages: Anthropic.MessageParam[] = [...MESSAGES, { role: "assistant", content: "Rien." }, { role: "user", content: "and now?" }];
    const final = await sdk.messages.stream({ model, max_tokens: 64, messages }).finalMessage();
    expect(textOf(final.content)).toEqual([{ type: "text", text: "Echo: and now?" }]);
    expect(anthropic.messageRequests().at(-1)!.messages).toEqual(messages);
  });
});

describe("a mid-conversation system message to claude-sonnet-4-5, which refuses them", () => {
  it("joins the top-level system prompt, after the caller's, its blocks as written", async () => {
    const answer = await sdk.messages.create({ model: "claude-sonnet-4-5", max_tokens: 64, system: SYSTEM, messages: MESSAGES });
    expect(answer.content).toEqual([{ type: "text", text: "Echo: what is new?" }]);
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.system).toEqual([{ type: "text", text: SYSTEM }, LATER]);
    expect(sent.messages).toEqual(MESSAGES.slice(0, 3));
  });
});

describe("a mid-conversation system message to gpt-4o-mini, served by OpenAI", () => {
  it("is a system message where the caller put it", async () => {
    const answer = await sdk.messages.create({ model: "gpt-4o-mini", max_tokens: 64, system: SYSTEM, messages: MESSAGES });
    expect(answer.content).toEqual([{ type: "text", text: "Echo: what is new?" }]);
    expect(openai.chatRequests().at(-1)!.messages).toEqual([
      { role: "system", content: SYSTEM },
      { role: "user", content: "hello" },
      { role: "assistant", content: "Hi." },
      { role: "user", content: "what is new?" },
      { role: "system", content: LATER.text },
    ]);
  });
});

describe("a system message placed where Anthropic takes none", () => {
  it.each([
    ["first", [{ role: "system", content: "x" }, { role: "user", content: "hi" }], 'messages.0.role: a "system" message must come right after a user turn'],
    ["after an assistant turn", [{ role: "user", content: "hi" }, { role: "assistant", content: "yo" }, { role: "system", content: "x" }], 'messages.2.role: a "system" message must come right after a user turn'],
    ["after another system message", [{ role: "user", content: "hi" }, { role: "system", content: "x" }, { role: "system", content: "y" }], 'messages.1.role: a "system" message must be the last message or come right before an assistant turn'],
    ["before a user turn", [{ role: "user", content: "hi" }, { role: "system", content: "x" }, { role: "user", content: "again" }], 'messages.1.role: a "system" message must be the last message or come right before an assistant turn'],
    ["with an image", [{ role: "user", content: "hi" }, { role: "system", content: [{ type: "image", source: { type: "url", url: "https://example.com/a.png" } }] }], 'messages.1.content.0.type: must be "text"'],
  ])("is refused %s, in Anthropic's error shape, naming the field", async (_, messages, message) => {
    const before = anthropic.messageRequests().length;
    const refused = await sdk.messages.create({ model: "claude-opus-4-8", max_tokens: 64, messages: messages as Anthropic.MessageParam[] }).catch((e) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(refused.error).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining(message) } });
    expect(anthropic.messageRequests().length).toBe(before);
  });

  it("is refused by count_tokens the same way, and counted where it may stand", async () => {
    const counted = await sdk.messages.countTokens({ model: "claude-opus-4-8", system: SYSTEM, messages: MESSAGES });
    const without = await sdk.messages.countTokens({ model: "claude-opus-4-8", system: SYSTEM, messages: MESSAGES.slice(0, 3) });
    expect(counted.input_tokens).toBeGreaterThan(without.input_tokens);
    const refused = await sdk.messages.countTokens({ model: "claude-opus-4-8", messages: [{ role: "system", content: "x" }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(refused.error.error.message).toContain("messages.0.role");
  });
});

describe("system messages from an OpenAI-surface caller, to a Claude model that takes them", () => {
  const chat = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });

  it("stay in place right after a user turn or tool results, and join the system prompt after an assistant turn", async () => {
    const tool = { type: "function" as const, function: { name: "lookup", parameters: { type: "object", properties: {} } } };
    await chat().chat.completions.create({
      model: "claude-opus-4-8",
      tool_choice: "none",
      tools: [tool],
      messages: [
        { role: "system", content: SYSTEM },
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "lookup", arguments: "{}" } }] },
        { role: "system", content: "Tools may be slow." },
        { role: "tool", tool_call_id: "toolu_1", content: "sunny" },
        { role: "system", content: "Answer in French." },
      ],
    });
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.system).toBe(`${SYSTEM}\n\nTools may be slow.`);
    expect(sent.messages).toEqual([
      { role: "user", content: "weather?" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "lookup", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny" }] },
      { role: "system", content: "Answer in French." },
    ]);
  });

  it("join the system prompt of an older Claude model", async () => {
    await chat().chat.completions.create({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }, { role: "system", content: "Answer in French." }] });
    const sent = anthropic.messageRequests().at(-1)!;
    expect(sent.system).toBe("Answer in French.");
    expect(sent.messages).toEqual([{ role: "user", content: "hi" }]);
  });
});
