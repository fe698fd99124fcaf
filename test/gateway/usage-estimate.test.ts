// The token estimate a call is charged when its vendor reports no usage (or
// the call was cut before it could): a quarter of a token per character of
// most text, one per character of Chinese, Japanese or Korean.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ContentPartSchema, MessageSchema, ResponseFormatType, Role, ToolCallSchema, ToolSchema, UsageSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import {
  ESTIMATED_IMAGE_TOKENS,
  estimatedUsage,
  estimateUsage,
  embedTokens,
  promptBoundTokens,
  reportedUsage,
  saysAnything,
  UNKNOWN_IMAGE_TOKENS,
} from "../../src/gateway/usage-estimate.js";

const prompt = (content: string) => ({ messages: [create(MessageSchema, { role: Role.USER, content })] });
/** An answer of text alone. */
const said = (content: string) => create(MessageSchema, { role: Role.ASSISTANT, content });

describe("the usage estimate", () => {
  it("counts about four characters a token in alphabetic text", () => {
    expect(estimateUsage(prompt("a".repeat(400)), said("b".repeat(40))).promptTokens).toBe(100 + 3);
    expect(estimateUsage(prompt("a".repeat(400)), said("b".repeat(40))).completionTokens).toBe(10);
  });

  it("counts a token a character in Chinese, Japanese and Korean text, a quarter for the rest of it", () => {
    expect(estimatedUsage(prompt("你好世界".repeat(100)), 0).promptTokens).toBe(400 + 3);
    expect(estimatedUsage(prompt("こんにちは 안녕하세요"), 0).promptTokens).toBe(10 + 1 + 3);
    expect(estimatedUsage(prompt(`${"天".repeat(10)}${"x".repeat(40)}`), 0).promptTokens).toBe(10 + 10 + 3);
  });

  // An answer is counted as a prompt is (hostile audit 4, finding 3): a 4,400-character Chinese answer was 1,100 tokens.
  it("counts an answer's text as it counts the prompt's: a Chinese answer a token a character", () => {
    const chinese = "请写长文".repeat(1_100);
    expect(estimateUsage(prompt("hi"), said(chinese)).completionTokens).toBe(4_400);
    expect(estimateUsage(prompt("hi"), said(chinese)).completionTokens).toBe(estimatedUsage(prompt(chinese), 0).promptTokens - 3);
    expect(estimateUsage(prompt("hi"), said(`${"天".repeat(10)}${"x".repeat(40)}`)).completionTokens).toBe(20);
  });

  // Vendors audit, finding 1: a Qianfan v1 answer that was one 4,000-character function call, with 0/0 usage, was billed 0 completion tokens.
  it("counts an answer's tool calls, names and arguments, as it counts its text", () => {
    const args = JSON.stringify({ query: "x".repeat(4_000) });
    const call = create(ToolCallSchema, { id: "c1", name: "search", arguments: args });
    const answer = create(MessageSchema, { role: Role.ASSISTANT, toolCalls: [call, call] });
    expect(estimateUsage(prompt("hi"), answer).completionTokens).toBe(Math.ceil((2 * ("search".length + args.length)) / 4));
    const both = create(MessageSchema, { role: Role.ASSISTANT, content: "a".repeat(40), reasoningContent: "b".repeat(40), refusal: "c".repeat(40), toolCalls: [call] });
    expect(estimateUsage(prompt("hi"), both).completionTokens).toBe(Math.ceil((120 + "search".length + args.length) / 4));
  });

  // Vendors audit, finding 1: a prompt of text and two images was estimated at 6 tokens, the images at none.
  it("counts the prompt's images, tools' schemas and vendor options, which promptBoundTokens reserves for", () => {
    const image = (url: string) => create(ContentPartSchema, { part: { case: "imageUrl", value: { url } } });
    const text = create(ContentPartSchema, { part: { case: "text", value: "a".repeat(40) } });
    const withImages = { messages: [create(MessageSchema, { role: Role.USER, parts: [text, image("https://example.com/a.png"), image("data:image/png;base64,AAAA")] })] };
    expect(estimatedUsage(withImages, 0).promptTokens).toBe(10 + 3 + 2 * ESTIMATED_IMAGE_TOKENS);
    // The estimate is a typical count, the bound the most: an image is reserved for at more than it is estimated at.
    expect(promptBoundTokens({ ...withImages, tools: [] })).toBe(40 + 3 + 2 * UNKNOWN_IMAGE_TOKENS);

    const parameters = { type: "object", properties: { query: { type: "string", description: "q".repeat(400) } } };
    const tool = create(ToolSchema, { name: "search", description: "d".repeat(40), parameters });
    const schemaChars = "search".length + 40 + JSON.stringify(parameters).length;
    const vendorOptions = { system: "s".repeat(400) };
    const withTools = { ...prompt("a".repeat(40)), tools: [tool], vendorOptions };
    expect(estimatedUsage(withTools, 0).promptTokens).toBe(Math.ceil((40 + schemaChars + JSON.stringify(vendorOptions).length) / 4) + 3);
    // The bound counts the same terms, a token a character.
    expect(promptBoundTokens(withTools)).toBe(40 + schemaChars + JSON.stringify(vendorOptions).length + 3);
  });
});

describe("the bound a budget reserves and a token limit takes", () => {
  it("counts text sent in vendor options (Anthropic's system, OpenAI's prediction), which reaches the model too", () => {
    const text = "x".repeat(24_000);
    const plain = promptBoundTokens({ ...prompt("hi"), tools: [] });
    expect(promptBoundTokens({ ...prompt("hi"), tools: [], vendorOptions: { system: text } })).toBeGreaterThanOrEqual(plain + text.length);
    expect(promptBoundTokens({ ...prompt("hi"), tools: [], vendorOptions: { prediction: { type: "content", content: text } } })).toBeGreaterThanOrEqual(plain + text.length);
  });

  // Hostile audit 5, finding 1: reasoning a caller sends back reached DeepSeek as reasoning_content, billed and uncounted.
  it("counts the reasoning a turn carries back, as text or as blocks whole, whichever is larger", () => {
    const text = "r".repeat(10_000);
    const plain = promptBoundTokens({ messages: [create(MessageSchema, { role: Role.ASSISTANT, content: "a" })] });
    const turn = (fields: Parameters<typeof create<typeof MessageSchema>>[1]) => promptBoundTokens({ messages: [create(MessageSchema, { role: Role.ASSISTANT, content: "a", ...fields })] });
    expect(turn({ reasoningContent: text })).toBe(plain + text.length);
    // The blocks Anthropic is sent back: text and signature, or the encrypted data; the text beside them is the same reasoning, counted once.
    expect(turn({ reasoningContent: text, reasoning: [create(ReasoningBlockSchema, { text, signature: "s".repeat(100) })] })).toBe(plain + text.length + 100);
    expect(turn({ reasoning: [create(ReasoningBlockSchema, { redacted: text })] })).toBe(plain + text.length);
    expect(turn({ reasoningContent: text, reasoning: [create(ReasoningBlockSchema, { text: "short", signature: "" })] })).toBe(plain + text.length);
  });

  it("counts every other text a codec writes: names, tool call ids, refusals, the response schema", () => {
    const long = "n".repeat(1_000);
    const plain = promptBoundTokens(prompt("hi"));
    const user = (fields: Parameters<typeof create<typeof MessageSchema>>[1]) => promptBoundTokens({ messages: [create(MessageSchema, { role: Role.USER, content: "hi", ...fields })] });
    expect(user({ name: long })).toBe(plain + long.length);
    expect(user({ role: Role.TOOL, toolCallId: long })).toBe(plain + long.length);
    expect(user({ role: Role.ASSISTANT, refusal: long })).toBe(plain + long.length);
    const call = create(ToolCallSchema, { id: long, name: "f", arguments: "{}" });
    expect(user({ role: Role.ASSISTANT, toolCalls: [call] })).toBe(plain + long.length + 1 + 2);
    const schema = { type: "object", description: long };
    const responseFormat = { $typeName: "switchboard.v1.ResponseFormat" as const, type: ResponseFormatType.JSON_SCHEMA, schemaName: "answer", schema, strict: false };
    expect(promptBoundTokens({ ...prompt("hi"), responseFormat })).toBe(plain + "answer".length + JSON.stringify(schema).length);
  });

  it("counts what Claude gets of a /v1/messages body as written and the unified request does not carry", () => {
    const long = "x".repeat(1_000);
    const tool = { name: "t", description: "d", input_schema: { type: "object" } };
    const base = { model: "m", max_tokens: 10, tools: [tool], messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] };
    const unified = { ...prompt("hi"), tools: [create(ToolSchema, { name: "t", description: "d", parameters: { type: "object" } })] };
    const bound = (body: Record<string, unknown>) => promptBoundTokens({ ...unified, original: { dialect: "anthropic", body: body as never, headers: {} } });
    expect(bound(base)).toBe(promptBoundTokens(unified));
    const cases: Record<string, Record<string, unknown>> = {
      input_examples: { ...base, tools: [{ ...tool, input_examples: [{ q: long }] }] },
      cache_control: { ...base, messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral", x: long } }] }] },
      "a top-level field": { ...base, context_management: { note: long } },
      "a sub-field of thinking": { ...base, thinking: { type: "adaptive", display: long } },
      "a field of a message": { ...base, messages: [{ role: "user", content: "hi", extra: long }] },
    };
    for (const [what, body] of Object.entries(cases)) expect(bound(body), what).toBeGreaterThanOrEqual(promptBoundTokens(unified) + long.length);
    // Not another dialect's, whose vendor gets the unified request alone.
    expect(promptBoundTokens({ ...unified, original: { dialect: "other", body: cases.input_examples as never, headers: {} } })).toBe(promptBoundTokens(unified));
  });

  it("counts a text's UTF-8 bytes, which no token is shorter than: Braille costs OpenAI's tokenizers 3 tokens a character", () => {
    // o200k_base makes 3,000 tokens of these 1,000 characters (each its 3 bytes).
    const braille = "\u2800\u28ff\u2812\u2824".repeat(250);
    expect(promptBoundTokens({ ...prompt(braille), tools: [] })).toBe(3_000 + 3);
    expect(promptBoundTokens({ ...prompt("plain text"), tools: [] })).toBe(10 + 3);
    expect(embedTokens({ inputs: [braille, "ab"] }).bound).toBe(3_002);
  });
});

describe("when the vendor's usage is its word", () => {
  const zero = create(UsageSchema, {});
  const counted = create(UsageSchema, { promptTokens: 120, completionTokens: 11, totalTokens: 131 });
  const answer = (fields: Partial<{ content: string; reasoningContent: string; refusal: string }> & { toolCall?: boolean }) =>
    create(MessageSchema, { role: Role.ASSISTANT, ...fields, toolCalls: fields.toolCall ? [create(ToolCallSchema, { id: "c", name: "f", arguments: "{}" })] : [] });

  it("takes no usage, or one that counts nothing for an answer that said something, as none: the gateway estimates", () => {
    expect(reportedUsage(undefined, true)).toBeUndefined();
    expect(reportedUsage(undefined, false)).toBeUndefined();
    for (const said of [{ content: "hi" }, { reasoningContent: "hmm" }, { refusal: "no" }, { toolCall: true }]) {
      expect(saysAnything(answer(said)), JSON.stringify(said)).toBe(true);
      expect(reportedUsage(zero, saysAnything(answer(said))), JSON.stringify(said)).toBeUndefined();
    }
  });

  it("keeps zero for an empty answer, and any usage that counts something", () => {
    expect(saysAnything(answer({}))).toBe(false);
    expect(reportedUsage(zero, false)).toBe(zero);
    expect(reportedUsage(counted, true)).toBe(counted);
    // A prompt served from cache, nothing else counted: the vendor counted something.
    const cachedOnly = create(UsageSchema, { cachedTokens: 5 });
    expect(reportedUsage(cachedOnly, true)).toBe(cachedOnly);
  });
});
