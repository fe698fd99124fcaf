// The efforts beyond low, medium and high (minimal, xhigh, max) as each vendor
// is sent them: a model whose catalogue row lists the effort gets it as it is;
// one that does not gets the nearest it has (minimal→low, xhigh→high), said in
// the adjustments; a model steered by budget gets the budget the effort stands
// for, within its range.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { modelFacts } from "../../src/catalogue/model-facts.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { createAnthropicCodec } from "../../src/providers/anthropic/codec.js";
import { messagesRequestFromAnthropic } from "../../src/providers/anthropic/messages-request.js";
import { createDashScopeCodec } from "../../src/providers/dashscope/codec.js";
import { createGeminiCodec } from "../../src/providers/gemini/codec.js";
import { createOpenAICodec } from "../../src/providers/openai/codec.js";
import type { Codec } from "../../src/providers/codec.js";
import type { ChatParams } from "../../src/providers/provider.js";
import { EFFORT_VALUES, type EffortName } from "../../src/providers/reasoning.js";

const catalogue = Catalogue.shipped();
const CODECS: Record<string, Codec> = {
  openai: createOpenAICodec({}),
  deepseek: createOpenAICodec({}),
  anthropic: createAnthropicCodec({ provider: "anthropic" }),
  gemini: createGeminiCodec({ provider: "gemini" }),
  dashscope: createDashScopeCodec({ provider: "dashscope" }),
};

function sent(provider: string, model: string, params: ChatParams) {
  const codec = CODECS[provider]!;
  const entry = catalogue.lookup(provider, model, codec.dialect);
  expect(entry, `${provider}/${model} is in the catalogue`).toBeDefined();
  const fitted = fitChatRequest(params, entry, "degrade", { model, dialect: codec.dialect });
  if (!fitted.ok) throw new Error(fitted.reason);
  const adjusted = fitted.adjustments.map((a) => `${a.parameter}=${AdjustmentKind[a.kind]}(${a.requested}->${a.sent})`);
  return { body: codec.chatRequest(fitted.params, model, false, fitted.traits).body as Record<string, any>, adjusted };
}

const ask = (model: string, effort: EffortName) => create(ChatRequestSchema, { model, messages: [{ role: Role.USER, content: "think" }], reasoning: { effort: EFFORT_VALUES[effort] } });
const [MINIMAL, XHIGH, MAX] = ["minimal", "xhigh", "max"] as const;

describe("OpenAI, by reasoning_effort (Chat Completions) or reasoning.effort (Responses)", () => {
  it.each([
    ["gpt-5", MINIMAL, "minimal", []],
    ["gpt-5-mini", MINIMAL, "minimal", []],
    ["gpt-5.4", XHIGH, "xhigh", []],
    ["o4-mini", MINIMAL, "low", ["reasoning.effort=CONVERTED(minimal->low)"]],
    ["gpt-5", XHIGH, "high", ["reasoning.effort=CONVERTED(xhigh->high)"]],
    ["gpt-5.4", MINIMAL, "low", ["reasoning.effort=CONVERTED(minimal->low)"]],
    ["gpt-5.5", MAX, "xhigh", ["reasoning.effort=CONVERTED(max->xhigh)"]],
  ] as const)("%s asked %s gets reasoning_effort %s", (model, effort, wire, adjusted) => {
    const out = sent("openai", model, ask(model, effort));
    expect(out.body.reasoning_effort).toBe(wire);
    expect(out.adjusted).toEqual(adjusted);
  });

  it.each([
    ["gpt-5.1-codex-max", XHIGH, "xhigh", []],
    ["gpt-5.2-codex", XHIGH, "xhigh", []],
    ["gpt-5.1-codex", XHIGH, "high", ["reasoning.effort=CONVERTED(xhigh->high)"]],
    ["gpt-5-codex", MINIMAL, "low", ["reasoning.effort=CONVERTED(minimal->low)"]],
    ["gpt-5.4-pro", XHIGH, "high", ["reasoning.effort=CONVERTED(xhigh->high)"]],
  ] as const)("%s (served on the Responses API) asked %s gets reasoning.effort %s", (model, effort, wire, adjusted) => {
    const out = sent("openai", model, ask(model, effort));
    expect(out.body.reasoning).toEqual({ effort: wire });
    expect(out.adjusted).toEqual(adjusted);
  });

  it("lists the efforts each model takes on ListModels", () => {
    const efforts = (model: string) => modelFacts(catalogue.lookup("openai", model)!).reasoning?.efforts;
    expect(efforts("gpt-5")).toEqual([ReasoningEffort.MINIMAL, ReasoningEffort.LOW, ReasoningEffort.MEDIUM, ReasoningEffort.HIGH]);
    expect(efforts("gpt-5.1-codex-max")).toEqual([ReasoningEffort.LOW, ReasoningEffort.MEDIUM, ReasoningEffort.HIGH, ReasoningEffort.XHIGH]);
  });
});

describe("DeepSeek, which takes low and high", () => {
  it.each([
    [MINIMAL, "low", ["reasoning.effort=CONVERTED(minimal->low)"]],
    [XHIGH, "high", ["reasoning.effort=CONVERTED(xhigh->high)"]],
  ] as const)("asked %s gets %s", (effort, wire, adjusted) => {
    const out = sent("deepseek", "deepseek-reasoner", ask("deepseek-reasoner", effort));
    expect(out.body.reasoning_effort).toBe(wire);
    expect(out.adjusted).toEqual(adjusted);
  });
});

describe("Claude", () => {
  it.each([
    [XHIGH, "xhigh", []],
    [MAX, "max", []],
    [MINIMAL, "low", ["reasoning.effort=CONVERTED(minimal->low)"]],
  ] as const)("Opus 4.7 (adaptive) asked %s gets output_config.effort %s", (effort, wire, adjusted) => {
    const out = sent("anthropic", "claude-opus-4-7", { ...ask("claude-opus-4-7", effort), maxTokens: 8_000 });
    expect(out.body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(out.body.output_config).toEqual({ effort: wire });
    expect(out.adjusted).toEqual(adjusted);
  });

  it.each([
    [MINIMAL, 1_024],
    [XHIGH, 49_152],
  ] as const)("Sonnet 4.5 (by budget) asked %s gets the budget it stands for", (effort, budget) => {
    const out = sent("anthropic", "claude-sonnet-4-5", ask("claude-sonnet-4-5", effort));
    expect(out.body.thinking).toEqual({ type: "enabled", budget_tokens: budget });
    expect(out.adjusted[0]).toBe(`reasoning.effort=CONVERTED(${effort}->budget_tokens ${budget})`);
  });

  it("Sonnet 4.5 asked max gets its largest budget, below max_tokens", () => {
    const out = sent("anthropic", "claude-sonnet-4-5", { ...ask("claude-sonnet-4-5", MAX), maxTokens: 64_000 });
    expect(out.body.thinking).toEqual({ type: "enabled", budget_tokens: 63_999 });
    expect(out.adjusted).toEqual(["reasoning.effort=CONVERTED(max->budget_tokens 64000)", "reasoning.budget_tokens=CLAMPED(64000->63999)"]);
  });

  it("reads a /v1/messages caller's output_config.effort beside adaptive thinking, for every vendor", () => {
    const body = { model: "gpt-5.4", max_tokens: 4_000, thinking: { type: "adaptive" }, output_config: { effort: "xhigh" }, messages: [{ role: "user", content: "think" }] };
    const { request } = messagesRequestFromAnthropic(body);
    expect(request.reasoning?.effort).toBe(ReasoningEffort.XHIGH);
    expect(sent("openai", "gpt-5.4", request).body.reasoning_effort).toBe("xhigh");
    const { request: toClaude } = messagesRequestFromAnthropic({ ...body, model: "claude-opus-4-7", output_config: { effort: "max" } });
    expect(sent("anthropic", "claude-opus-4-7", toClaude).body.output_config).toEqual({ effort: "max" });
  });

  it("leaves output_config.effort to Claude alone when the call does not think, and refuses an effort Claude does not have", () => {
    expect(messagesRequestFromAnthropic({ model: "m", max_tokens: 10, output_config: { effort: "low" }, messages: [{ role: "user", content: "x" }] }).request.reasoning).toBeUndefined();
    expect(() => messagesRequestFromAnthropic({ model: "m", max_tokens: 10, thinking: { type: "adaptive" }, output_config: { effort: "minimal" }, messages: [{ role: "user", content: "x" }] })).toThrow(
      /output_config\.effort.*"low", "medium", "high", "xhigh", "max"/,
    );
  });
});

describe("Gemini", () => {
  it.each([
    ["gemini-3-flash", MINIMAL, "minimal", []],
    ["gemini-3-pro", MINIMAL, "low", ["reasoning.effort=CONVERTED(minimal->low)"]],
    ["gemini-3-pro", XHIGH, "high", ["reasoning.effort=CONVERTED(xhigh->high)"]],
  ] as const)("%s asked %s gets thinkingLevel %s", (model, effort, level, adjusted) => {
    const out = sent("gemini", model, ask(model, effort));
    expect(out.body.generationConfig.thinkingConfig).toEqual({ includeThoughts: true, thinkingLevel: level });
    expect(out.adjusted).toEqual(adjusted);
  });

  it.each([
    ["gemini-2.5-pro", XHIGH, 32_768],
    ["gemini-2.5-pro", MINIMAL, 1_024],
    ["gemini-2.5-flash", MAX, 24_576],
  ] as const)("%s asked %s gets thinkingBudget %i, within its range", (model, effort, budget) => {
    const out = sent("gemini", model, ask(model, effort));
    expect(out.body.generationConfig.thinkingConfig).toEqual({ includeThoughts: true, thinkingBudget: budget });
    expect(out.adjusted).toEqual([`reasoning.effort=CONVERTED(${effort}->budget_tokens ${budget})`]);
  });
});

describe("Qwen, by thinking_budget", () => {
  it.each([
    [MINIMAL, 1_024],
    [XHIGH, 38_912],
  ] as const)("qwen3 asked %s gets thinking_budget %i", (effort, budget) => {
    const out = sent("dashscope", "qwen3-max", ask("qwen3-max", effort));
    expect(JSON.stringify(out.body)).toContain(`"thinking_budget":${budget}`);
  });
});
