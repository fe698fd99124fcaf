// The token estimate a call is charged when its vendor reports no usage (or
// the call was cut before it could): a quarter of a token per character of
// most text, one per character of Chinese, Japanese or Korean.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MessageSchema, Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { estimateUsageOfLength } from "../../src/gateway/usage-estimate.js";

const prompt = (content: string) => ({ messages: [create(MessageSchema, { role: Role.USER, content })] });

describe("the usage estimate", () => {
  it("counts about four characters a token in alphabetic text", () => {
    expect(estimateUsageOfLength(prompt("a".repeat(400)), 40).promptTokens).toBe(100 + 3);
    expect(estimateUsageOfLength(prompt("a".repeat(400)), 40).completionTokens).toBe(10);
  });

  it("counts a token a character in Chinese, Japanese and Korean text, a quarter for the rest of it", () => {
    expect(estimateUsageOfLength(prompt("你好世界".repeat(100)), 0).promptTokens).toBe(400 + 3);
    expect(estimateUsageOfLength(prompt("こんにちは 안녕하세요"), 0).promptTokens).toBe(10 + 1 + 3);
    expect(estimateUsageOfLength(prompt(`${"天".repeat(10)}${"x".repeat(40)}`), 0).promptTokens).toBe(10 + 10 + 3);
  });
});
