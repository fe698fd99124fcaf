// The token estimate a call is charged when its vendor reports no usage (or
// the call was cut before it could): a quarter of a token per character of
// most text, one per character of Chinese, Japanese or Korean.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MessageSchema, Role, ToolCallSchema, UsageSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { estimatedUsage, estimateUsage, promptBoundTokens, reportedUsage, saysAnything } from "../../src/gateway/usage-estimate.js";

const prompt = (content: string) => ({ messages: [create(MessageSchema, { role: Role.USER, content })] });

describe("the usage estimate", () => {
  it("counts about four characters a token in alphabetic text", () => {
    expect(estimateUsage(prompt("a".repeat(400)), "b".repeat(40)).promptTokens).toBe(100 + 3);
    expect(estimateUsage(prompt("a".repeat(400)), "b".repeat(40)).completionTokens).toBe(10);
  });

  it("counts a token a character in Chinese, Japanese and Korean text, a quarter for the rest of it", () => {
    expect(estimatedUsage(prompt("你好世界".repeat(100)), 0).promptTokens).toBe(400 + 3);
    expect(estimatedUsage(prompt("こんにちは 안녕하세요"), 0).promptTokens).toBe(10 + 1 + 3);
    expect(estimatedUsage(prompt(`${"天".repeat(10)}${"x".repeat(40)}`), 0).promptTokens).toBe(10 + 10 + 3);
  });

  // An answer is counted as a prompt is (hostile audit 4, finding 3): a 4,400-character Chinese answer was 1,100 tokens.
  it("counts an answer's text as it counts the prompt's: a Chinese answer a token a character", () => {
    const chinese = "请写长文".repeat(1_100);
    expect(estimateUsage(prompt("hi"), chinese).completionTokens).toBe(4_400);
    expect(estimateUsage(prompt("hi"), chinese).completionTokens).toBe(estimatedUsage(prompt(chinese), 0).promptTokens - 3);
    expect(estimateUsage(prompt("hi"), `${"天".repeat(10)}${"x".repeat(40)}`).completionTokens).toBe(20);
  });
});

describe("the bound a budget reserves and a token limit takes", () => {
  it("counts text sent in vendor options (Anthropic's system, OpenAI's prediction), which reaches the model too", () => {
    const text = "x".repeat(24_000);
    const plain = promptBoundTokens({ ...prompt("hi"), tools: [] });
    expect(promptBoundTokens({ ...prompt("hi"), tools: [], vendorOptions: { system: text } })).toBeGreaterThanOrEqual(plain + text.length);
    expect(promptBoundTokens({ ...prompt("hi"), tools: [], vendorOptions: { prediction: { type: "content", content: text } } })).toBeGreaterThanOrEqual(plain + text.length);
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
