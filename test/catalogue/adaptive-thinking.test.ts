// Claude Opus 4.7 and 4.8 think adaptively only: `thinking: {type: "adaptive"}`
// steered by `output_config.effort`; a `budget_tokens` is a 400
// (https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking,
// https://platform.claude.com/docs/en/build-with-claude/effort). A caller's
// effort or budget becomes what they take; older Claude models keep budgets.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import { messagesRequestFromAnthropic } from "../../src/providers/anthropic/messages-request.js";
import type { ChatParams } from "../../src/providers/provider.js";

const catalogue = Catalogue.shipped();
const codec = createAnthropicCodec({ provider: "anthropic" });

function sent(params: ChatParams, model: string) {
  const fitted = fitChatRequest(params, catalogue.lookup("anthropic", model, codec.dialect), "degrade", { model, dialect: codec.dialect });
  if (!fitted.ok) throw new Error(fitted.reason);
  return { body: codec.chatRequest(fitted.params, model, false, fitted.traits).body as Record<string, any>, adjustments: fitted.adjustments };
}

const ask = (reasoning: { effort?: ReasoningEffort; budgetTokens?: number }, model = "claude-opus-4-7") =>
  create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "think" }], maxTokens: 8_000, reasoning });

describe.each(["claude-opus-4-7", "claude-opus-4-8"])("%s", (model) => {
  it("takes an effort as adaptive thinking with output_config.effort, its thinking summarized", () => {
    const { body, adjustments } = sent(ask({ effort: ReasoningEffort.LOW }, model), model);
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.output_config).toEqual({ effort: "low" });
    expect(adjustments).toEqual([]);
  });

  it("takes a budget as the effort it stands for, and says so", () => {
    const { body, adjustments } = sent(ask({ budgetTokens: 30_000 }, model), model);
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.output_config).toEqual({ effort: "high" });
    expect(adjustments).toEqual([expect.objectContaining({ parameter: "reasoning.budget_tokens", kind: AdjustmentKind.CONVERTED, requested: "30000", sent: "effort high" })]);
  });

  it("thinks at Anthropic's default effort when asked for reasoning alone", () => {
    const { body } = sent(ask({}, model), model);
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.output_config).toBeUndefined();
  });
});

it("sends a /v1/messages caller's budget to Opus 4.7 as adaptive thinking, keeping its display and other output_config", () => {
  const { request } = messagesRequestFromAnthropic({
    model: "claude-opus-4-7",
    max_tokens: 16_000,
    thinking: { type: "enabled", budget_tokens: 2_000, display: "omitted" },
    output_config: { format: { type: "json_schema", schema: { type: "object" } } },
    messages: [{ role: "user", content: "think" }],
  });
  const { body } = sent(request, "claude-opus-4-7");
  expect(body.thinking).toEqual({ type: "adaptive", display: "omitted" });
  expect(body.output_config).toEqual({ format: { type: "json_schema", schema: { type: "object" } }, effort: "low" });
});

it("keeps budgets for the Claude models that take them", () => {
  const { body } = sent(ask({ effort: ReasoningEffort.LOW }, "claude-opus-4-6"), "claude-opus-4-6");
  expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2_048 });
  expect(body.output_config).toBeUndefined();
});
