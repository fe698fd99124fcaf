// The Claude 5 lineup as each model's page states it
// (https://platform.claude.com/docs/en/models/<model>/overview, checked
// 2026-12-04): 1M tokens in, 128K out, its prices; and its thinking. Opus 5.5,
// Fable 5.1 and Sonnet 5.5 always think ("disabled" and forced tool use are a
// 400): a call that asks for no reasoning is sent adaptive thinking, not
// refused. Opus 5, Sonnet 5 and Haiku 5.5 think unless told not to: such a
// call is sent thinking "disabled", and told so.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import type { ChatParams } from "../../src/providers/provider.js";
import { violation } from "../fakes/anthropic-fake.js";

const catalogue = Catalogue.shipped();
const codec = createAnthropicCodec({ provider: "anthropic" });
const ALWAYS = ["claude-opus-5-5", "claude-fable-5-1", "claude-sonnet-5-5"];
const BY_DEFAULT = ["claude-opus-5", "claude-sonnet-5", "claude-haiku-5-5"];
const weather = { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } };

const ask = (model: string, fields: Record<string, unknown> = {}): ChatParams =>
  create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "hi" }], maxTokens: 8_000, ...fields });

/** The body the Anthropic codec sends for `params`, fitted to the shipped catalogue's row, and what the call is told. */
function sent(params: ChatParams) {
  const fitted = fitChatRequest(params, catalogue.lookup("anthropic", params.model, codec.dialect), "degrade", { model: params.model, dialect: codec.dialect });
  if (!fitted.ok) throw new Error(fitted.reason);
  return { body: codec.chatRequest(fitted.params, params.model, false, fitted.traits).body as Record<string, any>, adjustments: fitted.adjustments };
}

describe("the Claude 5 rows", () => {
  it.each([
    // model, input, output, cache read, 5-minute write, 1-hour write (USD per million tokens)
    ["claude-opus-5-5", 4, 20, 0.2, 5, 8],
    ["claude-fable-5-1", 10, 50, 0.25, 12.5, 20],
    ["claude-sonnet-5-5", 2, 10, 0.1, 2.5, 4],
    ["claude-opus-5", 5, 25, 0.5, 6.25, 10],
    ["claude-sonnet-5", 2, 10, 0.2, 2.5, 4],
  ])("%s reads 1M tokens, writes 128K, and is priced %d / %d (cache %d, writes %d and %d)", (model, input, output, cachedInput, cacheWrite, cacheWriteHour) => {
    const facts = catalogue.lookup("anthropic", model)?.facts;
    expect(facts).toMatchObject({ contextWindow: 1_000_000, maxOutputTokens: 128_000, price: { currency: "USD", input, output, cachedInput, cacheWrite, cacheWriteHour } });
    expect(facts?.reasoning?.control).toBe("adaptive");
  });

  it("leaves Haiku 5.5 unpriced: its price depends on the prompt's length", () => {
    const facts = catalogue.lookup("anthropic", "claude-haiku-5-5")?.facts;
    expect(facts).toMatchObject({ contextWindow: 1_000_000, maxOutputTokens: 128_000 });
    expect(facts?.price).toBeUndefined();
  });
});

describe.each(ALWAYS)("%s, which always thinks", (model) => {
  it("is sent adaptive thinking on a call that asked for no reasoning, and Anthropic takes it", () => {
    const { body, adjustments } = sent(ask(model));
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.output_config).toBeUndefined();
    expect(violation(body)).toBeUndefined();
    expect(adjustments).toEqual([]);
  });

  it("takes a forced tool as auto, and says so, though no reasoning was asked", () => {
    const { body, adjustments } = sent(ask(model, { tools: [weather], toolChoice: { choice: { case: "functionName", value: "weather" } } }));
    expect(body.tool_choice).toEqual({ type: "auto" });
    expect(violation(body)).toBeUndefined();
    expect(adjustments).toEqual([expect.objectContaining({ parameter: "tool_choice", kind: AdjustmentKind.DEGRADED, requested: "function weather", sent: "auto" })]);
    expect(sent(ask(model, { tools: [weather], toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } } })).body.tool_choice).toEqual({ type: "auto" });
  });

  it("offers JSON mode's tool rather than forcing it", () => {
    const { body } = sent(ask(model, { responseFormat: { type: ResponseFormatType.JSON_OBJECT } }));
    expect(body.tool_choice).toEqual({ type: "auto" });
    expect(violation(body)).toBeUndefined();
  });

  it("sends an earlier turn's thinking back, as a tool loop needs it", () => {
    const signed = { text: "Let me look it up.", signature: "sig-1" };
    const { body } = sent(
      create(ChatRequestSchema, {
        model,
        messages: [
          { role: Role.USER, content: "weather?" },
          { role: Role.ASSISTANT, reasoning: [signed], toolCalls: [{ id: "toolu_1", name: "weather", arguments: '{"city":"Paris"}' }] },
          { role: Role.TOOL, toolCallId: "toolu_1", content: "sunny" },
        ],
        tools: [weather],
      }),
    );
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.messages[1].content[0]).toEqual({ type: "thinking", thinking: "Let me look it up.", signature: "sig-1" });
  });

  it("takes an effort as before", () => {
    const { body } = sent(ask(model, { reasoning: { effort: ReasoningEffort.LOW } }));
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.output_config).toEqual({ effort: "low" });
  });
});

describe.each(BY_DEFAULT)("%s, which thinks unless told not to", (model) => {
  it("is told not to on a call that asked for no reasoning, and the call is told", () => {
    const { body, adjustments } = sent(ask(model));
    expect(body.thinking).toEqual({ type: "disabled" });
    expect(violation(body)).toBeUndefined();
    expect(adjustments).toEqual([expect.objectContaining({ parameter: "reasoning", kind: AdjustmentKind.CONVERTED, requested: "", sent: "off" })]);
  });

  it("keeps a forced tool when it does not think", () => {
    expect(sent(ask(model, { tools: [weather], toolChoice: { choice: { case: "functionName", value: "weather" } } })).body.tool_choice).toEqual({ type: "tool", name: "weather" });
  });

  it("thinks adaptively when asked", () => {
    const { body } = sent(ask(model, { reasoning: { effort: ReasoningEffort.MEDIUM } }));
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.output_config).toEqual({ effort: "medium" });
  });
});

describe("Claude Sonnet 5 and 5.5", () => {
  it.each(["claude-sonnet-5", "claude-sonnet-5-5"])("%s is not sent temperature or top_p (a 400 at other than their defaults), and the call is told", (model) => {
    const { body, adjustments } = sent(ask(model, { temperature: 0.2, topP: 0.5 }));
    expect(body.temperature).toBeUndefined();
    expect(body.top_p).toBeUndefined();
    expect(adjustments.map((a) => a.parameter)).toEqual(expect.arrayContaining(["temperature", "top_p"]));
  });

  it("gives Sonnet 5 a mid-conversation system message in its system prompt, and Sonnet 5.5 in place", () => {
    const messages = [
      { role: Role.USER, content: "hi" },
      { role: Role.SYSTEM, content: "be brief" },
    ];
    expect(sent(create(ChatRequestSchema, { model: "claude-sonnet-5", messages })).body).toMatchObject({ system: "be brief", messages: [{ role: "user", content: "hi" }] });
    expect(sent(create(ChatRequestSchema, { model: "claude-sonnet-5-5", messages })).body.messages).toEqual([
      { role: "user", content: "hi" },
      { role: "system", content: "be brief" },
    ]);
  });
});
