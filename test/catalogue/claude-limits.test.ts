// Claude's limits as each model's page states them
// (https://platform.claude.com/docs/en/models/<model>/overview, checked
// 2026-12-03): from Claude 4.6 on, "Context window: 1M tokens · Max output:
// 128K tokens"; Opus 4.5 and Haiku 4.5 keep 200K and 64K. A limit set too low
// clamps callers' max_tokens below what the model writes.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";

const catalogue = Catalogue.shipped();

describe("Claude's context windows and longest answers", () => {
  it.each([
    ["claude-opus-4-8", 1_000_000, 128_000],
    ["claude-opus-4-7", 1_000_000, 128_000],
    ["claude-opus-4-6", 1_000_000, 128_000],
    ["claude-sonnet-4-6", 1_000_000, 128_000],
    ["claude-opus-4-5", 200_000, 64_000],
    ["claude-haiku-4-5", 200_000, 64_000],
  ])("%s reads %i tokens and writes up to %i", (model, contextWindow, maxOutputTokens) => {
    expect(catalogue.lookup("anthropic", model)?.facts).toMatchObject({ contextWindow, maxOutputTokens });
    // A dated release takes its model's row.
    expect(catalogue.lookup("anthropic", `${model}-20260101`)?.facts).toMatchObject({ contextWindow, maxOutputTokens });
  });

  it("sends a max_tokens of 100,000 to Opus 4.7 as asked, and clamps it only above 128K", () => {
    const entry = catalogue.lookup("anthropic", "claude-opus-4-7");
    const asked = (maxTokens: number) => fitChatRequest(create(ChatRequestSchema, { model: "claude-opus-4-7", messages: [{ role: Role.USER, content: "hi" }], maxTokens }), entry, "degrade");
    expect(asked(100_000)).toMatchObject({ ok: true, params: { maxTokens: 100_000 }, adjustments: [] });
    expect(asked(200_000)).toMatchObject({ ok: true, params: { maxTokens: 128_000 }, adjustments: [{ parameter: "max_tokens", sent: "128000" }] });
  });
});
