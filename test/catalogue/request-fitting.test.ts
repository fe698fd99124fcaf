// A request fitted to the model that serves it, by the shipped catalogue:
// what each vendor's rules change, and that every change is reported.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { adjustmentsHeader } from "../../src/catalogue/adjustments.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest, type UnsupportedPolicy } from "../../src/catalogue/request-fitting.js";
import { toGeminiBody } from "../../src/providers/gemini/wire.js";
import { toQianfanChatBody } from "../../src/providers/qianfan-v1/wire.js";

const catalogue = Catalogue.shipped();
const messages = [{ role: Role.USER, content: "hi" }];

function fit(provider: string, model: string, request: Record<string, unknown>, options: { dialect?: string; policy?: UnsupportedPolicy } = {}) {
  const params = create(ChatRequestSchema, { model, messages, ...request });
  // Served as the gateway serves it: over the dialect's codec, when the test names one.
  const fitted = fitChatRequest(params, catalogue.lookup(provider, model, options.dialect), options.policy ?? "degrade", options.dialect ? { model, dialect: options.dialect } : undefined);
  if (!fitted.ok) throw new Error(fitted.reason);
  return { ...fitted, header: adjustmentsHeader(fitted.adjustments), said: fitted.adjustments.map((a) => `${a.parameter}=${AdjustmentKind[a.kind]!.toLowerCase()}(${a.requested}->${a.sent})`) };
}

describe("parameter rules", () => {
  it("sends no parallel_tool_calls to a model without the switch (o-series: 400 unsupported_parameter), saying so when it asked for parallel calls", () => {
    // As the Chat Completions and Responses surfaces read it: OpenAI's own fields, kept in vendor_options.
    const fitOpenAI = (model: string, vendorOptions: Record<string, boolean | string>) => {
      const params = Object.assign(create(ChatRequestSchema, { model, messages, tools: [{ name: "f" }], vendorOptions }), { vendorOptionsDialect: "openai" });
      const fitted = fitChatRequest(params, catalogue.lookup("openai", model, "openai"), "degrade", { model, dialect: "openai" });
      if (!fitted.ok) throw new Error(fitted.reason);
      return { sent: fitted.params.vendorOptions, header: adjustmentsHeader(fitted.adjustments) };
    };
    expect(fitOpenAI("o3", { parallel_tool_calls: true, prompt_cache_key: "k" })).toEqual({ sent: { prompt_cache_key: "k" }, header: "parallel_tool_calls=dropped(o3 calls one function at a time)" });
    expect(fitOpenAI("o4-mini", { parallel_tool_calls: false })).toEqual({ sent: undefined, header: "" });
    // A model with the switch gets the field as sent.
    expect(fitOpenAI("gpt-4o", { parallel_tool_calls: false, prompt_cache_key: "k" })).toEqual({ sent: { parallel_tool_calls: false, prompt_cache_key: "k" }, header: "" });
  });

  it("clamps Zhipu's temperature into 0-1 and drops what it ignores, saying so", () => {
    const { params, said, header } = fit("zhipu", "glm-4.5", { temperature: 1.6, seed: 7n, presencePenalty: 0.5, topP: 0.5 });
    expect(params).toMatchObject({ temperature: 1, seed: undefined, presencePenalty: undefined, topP: 0.5 });
    // GLM-4.5 thinks unless told not to: a call that asks for no reasoning is told not to, first.
    expect(said).toEqual(["reasoning=converted(->off)", "seed=dropped(7->)", "presence_penalty=dropped(0.5->)", "temperature=clamped(1.6->1.0)"]);
    expect(header).toBe("reasoning=converted(unset->off); seed=dropped(glm-4.5 ignores seed); presence_penalty=dropped(glm-4.5 ignores presence_penalty); temperature=clamped(1.6->1.0)");
  });

  it("sends OpenAI's reasoning models only the default temperature, and no stop", () => {
    const { params, header } = fit("openai", "o3", { temperature: 0.2, stop: ["END"], maxTokens: 100 });
    expect(params).toMatchObject({ temperature: undefined, stop: [], maxTokens: 100 });
    expect(header).toBe("stop=dropped(o3 refuses stop); temperature=dropped(o3 takes only the default temperature 1.0)");
    expect(fit("openai", "gpt-5-mini-2025-08-07", { temperature: 1 }).adjustments).toEqual([]);
    expect(fit("openai", "gpt-4o", { temperature: 0.2, stop: ["END"] }).adjustments).toEqual([]);
  });

  it("keeps one of temperature and top_p for Claude models that take one, and clamps the temperature", () => {
    const { params, said } = fit("anthropic", "claude-sonnet-4-5", { temperature: 1.6, topP: 0.9, seed: 1n });
    expect(params).toMatchObject({ temperature: 1, topP: undefined, seed: undefined });
    expect(said).toEqual(["seed=dropped(1->)", "top_p=dropped(0.9->)", "temperature=clamped(1.6->1.0)"]);
    // Older models take both.
    expect(fit("anthropic", "claude-sonnet-4", { temperature: 0.5, topP: 0.9 }).adjustments).toEqual([]);
  });

  it("scales ERNIE's temperature, bounds max_tokens from 2 to the model's most, and drops what v1 cannot carry", () => {
    const v1 = { dialect: "qianfan-v1" };
    expect(fit("qianfan", "ernie-4.0-8k", { temperature: 1.6 }, v1).said).toEqual(["temperature=scaled(1.6->0.8)"]);
    expect(fit("qianfan", "ernie-4.0-8k", { temperature: 0 }, v1).params.temperature).toBe(0.01);
    expect(fit("qianfan", "ernie-4.0-8k", { maxTokens: 1 }, v1).said).toEqual(["max_tokens=clamped(1->2)"]);
    expect(fit("qianfan", "ernie-4.0-8k", { maxTokens: 5000 }, v1).said).toEqual(["max_tokens=clamped(5000->2048)"]);
    expect(fit("qianfan", "ernie-speed-128k", { maxTokens: 5000 }, v1).params.maxTokens).toBe(4096);
    expect(fit("qianfan", "ernie-4.0-8k", { frequencyPenalty: 1, seed: 3n }, v1).said).toEqual(["seed=dropped(3->)", "frequency_penalty=dropped(1.0->)"]);
    expect(fit("qianfan", "ernie-4.0-8k", { frequencyPenalty: 1 }, { dialect: "openai" }).adjustments).toEqual([]);
  });

  it("drops what DashScope's native API and Gemini's have no field for (frequency_penalty, an end user), saying so", () => {
    const native = fit("dashscope", "qwen-plus", { frequencyPenalty: 1.5, user: "end-user-7", presencePenalty: 0.5 }, { dialect: "dashscope" });
    expect(native.params).toMatchObject({ frequencyPenalty: undefined, user: "", presencePenalty: 0.5 });
    expect(native.header).toBe("frequency_penalty=dropped(qwen-plus ignores frequency_penalty); user=dropped(qwen-plus ignores user)");
    // Compatible mode takes OpenAI's fields.
    expect(fit("dashscope", "qwen-plus", { frequencyPenalty: 1.5, user: "end-user-7" }, { dialect: "openai" }).adjustments).toEqual([]);
    const gemini = fit("gemini", "gemini-2.5-flash", { user: "end-user-7", frequencyPenalty: 1.5 }, { dialect: "gemini" });
    expect(gemini.params).toMatchObject({ user: "", frequencyPenalty: 1.5 });
    expect(gemini.header).toBe("user=dropped(gemini-2.5-flash ignores user)");
  });

  it("clamps max_tokens above any model's most output", () => {
    expect(fit("openai", "gpt-4o", { maxTokens: 2 ** 31 - 1 }).said).toEqual(["max_tokens=clamped(2147483647->16384)"]);
  });

  it("sends a request as asked to a model nothing is known of", () => {
    const params = create(ChatRequestSchema, { model: "llama3.1", messages, temperature: 1.9, seed: 1n });
    expect(fitChatRequest(params, catalogue.lookup("ollama", "llama3.1", "openai"), "degrade")).toEqual({ ok: true, params, traits: {}, adjustments: [] });
  });
});

describe("system messages mid-conversation (Claude Code adds one after a user turn)", () => {
  const turns = [
    { role: Role.SYSTEM, content: "be brief" },
    { role: Role.USER, content: "hi" },
    { role: Role.SYSTEM, content: "the working directory is /src" },
  ];

  it("move to the start for a model that takes them only there (Qwen), saying so", () => {
    const { params, header } = fit("dashscope", "qwen-plus", { messages: turns });
    expect(params.messages.map((m) => [m.role, m.content])).toEqual([
      [Role.SYSTEM, "be brief"],
      [Role.SYSTEM, "the working directory is /src"],
      [Role.USER, "hi"],
    ]);
    expect(header).toBe("messages=converted(1 system messages mid-conversation->at the start)");
  });

  it("move to the start over Gemini's and ERNIE v1's APIs, whose system prompt is one top-level field, saying so; the codecs send what they sent", () => {
    const served = [
      ["gemini", "gemini-2.5-flash", "gemini"],
      ["qianfan", "ernie-4.0-8k", "qianfan-v1"],
    ] as const;
    for (const [provider, model, dialect] of served) {
      const { params, header } = fit(provider, model, { messages: turns }, { dialect });
      expect(header, model).toBe("messages=converted(1 system messages mid-conversation->at the start)");
      // The codec moves them, as it always has: they stay where the caller put them until then.
      expect(params.messages.map((m) => m.content), model).toEqual(["be brief", "hi", "the working directory is /src"]);
      const asked = create(ChatRequestSchema, { model, messages: turns });
      const body = (request: typeof params) => (dialect === "gemini" ? toGeminiBody(provider, request, model) : toQianfanChatBody(request, provider, false));
      expect(body(params), model).toEqual(body(asked));
    }
    // Qianfan v2 speaks the OpenAI dialect, which takes them where they are.
    expect(fit("qianfan", "ernie-4.0-8k", { messages: turns }, { dialect: "openai" }).adjustments).toEqual([]);
  });

  it("over ERNIE v1, leave an error naming messages[i] naming the caller's, a system message after it notwithstanding", () => {
    const twoCalls = [
      { role: Role.USER, content: "hi" },
      { role: Role.ASSISTANT, toolCalls: [{ id: "a", name: "f", arguments: "{}" }, { id: "b", name: "g", arguments: "{}" }] },
      { role: Role.SYSTEM, content: "answer in French" },
      { role: Role.USER, content: "well?" },
    ];
    const { params } = fit("qianfan", "ernie-4.0-8k", { messages: twoCalls }, { dialect: "qianfan-v1" });
    expect(() => toQianfanChatBody(params, "qianfan", false)).toThrow("messages[1] makes 2 tool calls");
  });

  it("stay where they are for models that take them there", () => {
    for (const [provider, model] of [["openai", "gpt-4o"], ["anthropic", "claude-opus-4-8"]] as const) {
      const { params, adjustments } = fit(provider, model, { messages: turns });
      expect(params.messages.map((m) => m.content)).toEqual(["be brief", "hi", "the working directory is /src"]);
      expect(adjustments).toEqual([]);
    }
  });

  /** Fitted as the gateway fits a call to a provider speaking Anthropic's Messages API. */
  function overAnthropic(model: string, turns: { role: Role; content: string }[]) {
    const fitted = fitChatRequest(create(ChatRequestSchema, { model, messages: turns }), catalogue.lookup("anthropic", model, "anthropic"), "degrade", { model, dialect: "anthropic" });
    if (!fitted.ok) throw new Error(fitted.reason);
    return { contents: fitted.params.messages.map((m) => m.content), header: adjustmentsHeader(fitted.adjustments) };
  }

  it("over Anthropic's API, move to the start where it takes none, saying so; the catalogue alone decides", () => {
    const afterAssistant = [
      { role: Role.USER, content: "hi" },
      { role: Role.ASSISTANT, content: "yo" },
      { role: Role.SYSTEM, content: "tools may be slow" },
      { role: Role.USER, content: "weather?" },
      { role: Role.SYSTEM, content: "answer in French" },
    ];
    // Opus 4.8 takes one right after a user turn only.
    expect(overAnthropic("claude-opus-4-8", afterAssistant)).toEqual({
      contents: ["tools may be slow", "hi", "yo", "weather?", "answer in French"],
      header: "messages=converted(1 system messages mid-conversation->at the start)",
    });
    // An older Claude model takes none; nor, as before, does a model nothing is known of.
    for (const model of ["claude-sonnet-4-5", "my-anthropic-compatible-model"]) {
      expect(overAnthropic(model, afterAssistant), model).toEqual({
        contents: ["tools may be slow", "answer in French", "hi", "yo", "weather?"],
        header: "messages=converted(2 system messages mid-conversation->at the start)",
      });
    }
  });

  it("stay where they are for a Claude model newer than its rows, which does not take an older row's refusal", () => {
    for (const model of ["claude-opus-4-9-20270101", "claude-sonnet-4-7", "claude-sonnet-6"]) {
      expect(overAnthropic(model, turns), model).toEqual({ contents: ["be brief", "hi", "the working directory is /src"], header: "" });
    }
  });
});

describe("forced tool use a model cannot take as asked", () => {
  const tools = [{ name: "get_weather" }, { name: "get_time" }];
  const required = { toolChoice: { choice: { case: "mode" as const, value: ToolChoiceMode.REQUIRED } } };
  const v1 = { dialect: "qianfan-v1" };

  it('degrades ERNIE v1\'s "required" with several tools to auto, saying so; a lone tool or a named one is forced as asked', () => {
    const { params, said, adjustments } = fit("qianfan", "ernie-4.0-8k", { tools, ...required }, v1);
    expect(params.toolChoice?.choice).toEqual({ case: "mode", value: ToolChoiceMode.AUTO });
    expect(said).toEqual(["tool_choice=degraded(required->auto)"]);
    expect(adjustments[0]!.reason).toBe("ernie-4.0-8k can force only one named function, not a call to any of 2 tools");
    expect(fit("qianfan", "ernie-4.0-8k", { tools: tools.slice(0, 1), ...required }, v1).adjustments).toEqual([]);
    expect(fit("qianfan", "ernie-4.0-8k", { tools, toolChoice: { choice: { case: "functionName", value: "get_time" } } }, v1).adjustments).toEqual([]);
    // Qianfan v2 (the OpenAI dialect) takes "required".
    expect(fit("qianfan", "ernie-4.0-8k", { tools, ...required }, { dialect: "openai" }).adjustments).toEqual([]);
  });

  it("refuses it, saying why, when the route's policy is refuse", () => {
    const params = create(ChatRequestSchema, { model: "ernie-4.0-8k", messages, tools, ...required });
    expect(fitChatRequest(params, catalogue.lookup("qianfan", "ernie-4.0-8k", "qianfan-v1"), "refuse")).toEqual({
      ok: false,
      reason: 'ernie-4.0-8k can force only one named function, not a call to any of 2 tools, and the route\'s policy for that is "refuse"',
    });
  });
});

describe("response formats a model cannot honour", () => {
  const schema = { responseFormat: { type: ResponseFormatType.JSON_SCHEMA, schemaName: "answer", schema: { type: "object", properties: { city: { type: "string" } } } } };

  it.each([
    ["deepseek", "deepseek-chat", []],
    ["moonshot", "kimi-k2", []],
    // GLM-4.5 thinks unless told not to, and is told not to first.
    ["zhipu", "glm-4.5", ["reasoning=converted(->off)"]],
  ])("degrade a JSON schema for %s to JSON mode, the schema in a system message", (provider, model, before) => {
    const { params, said, adjustments } = fit(provider, model, schema);
    expect(params.responseFormat?.type).toBe(ResponseFormatType.JSON_OBJECT);
    expect(params.messages[0]).toMatchObject({ role: Role.SYSTEM, content: expect.stringContaining('{"type":"object","properties":{"city":{"type":"string"}}}') });
    expect(said).toEqual([...before, "response_format=degraded(json_schema->json_object)"]);
    expect(adjustments.at(-1)!.reason).toContain("does not take JSON schemas");
  });

  it("degrade a JSON schema over DashScope's native API, which documents JSON mode only; compatible mode takes it", () => {
    const { params, said } = fit("dashscope", "qwen-plus", schema, { dialect: "dashscope" });
    expect(params.responseFormat?.type).toBe(ResponseFormatType.JSON_OBJECT);
    expect(params.messages[0]).toMatchObject({ role: Role.SYSTEM, content: expect.stringContaining("JSON schema") });
    expect(said).toEqual(["response_format=degraded(json_schema->json_object)"]);
    expect(fit("dashscope", "qwen-plus", schema, { dialect: "openai" }).adjustments).toEqual([]);
  });

  it("in DashScope's compatible mode, keep a JSON schema for the series Alibaba lists (qwen3-max, qwen-plus, qwen-flash) and degrade it for the rest", () => {
    for (const model of ["qwen3-max", "qwen3-max-2025-09-23", "qwen-plus-latest", "qwen-flash"]) expect(fit("dashscope", model, schema, { dialect: "openai" }).said).toEqual([]);
    for (const model of ["qwen-max", "qwen-turbo", "qwen-long", "qwq-plus"]) {
      expect(fit("dashscope", model, schema, { dialect: "openai" }).said).toEqual(["response_format=degraded(json_schema->json_object)"]);
    }
  });

  it("refuse it, saying why, when the route's policy is refuse", () => {
    const params = create(ChatRequestSchema, { model: "deepseek-chat", messages, ...schema });
    expect(fitChatRequest(params, catalogue.lookup("deepseek", "deepseek-chat"), "refuse")).toEqual({ ok: false, reason: 'deepseek-chat does not take JSON schemas, and the route\'s policy for that is "refuse"' });
    expect(fitChatRequest(params, catalogue.lookup("openai", "gpt-4o"), "refuse")).toMatchObject({ ok: true, adjustments: [] });
  });
});

describe("reasoning requests", () => {
  const effort = (value: ReasoningEffort) => ({ reasoning: { effort: value } });

  it("drop a reasoning request to a model that does not reason", () => {
    const { params, header } = fit("openai", "gpt-4o", effort(ReasoningEffort.HIGH));
    expect(params.reasoning).toBeUndefined();
    expect(header).toBe("reasoning=dropped(gpt-4o does not reason)");
  });

  it("send an effort to models steered by effort: a budget becomes the effort it stands for, an effort they lack the next one up", () => {
    const converted = fit("openai", "o3", { reasoning: { budgetTokens: 20_000 } });
    expect(converted).toMatchObject({ params: { reasoning: { effort: ReasoningEffort.HIGH } }, said: ["reasoning.budget_tokens=converted(20000->effort high)"] });
    expect(converted.params.reasoning?.budgetTokens).toBeUndefined();
    expect(fit("deepseek", "deepseek-reasoner", effort(ReasoningEffort.MEDIUM))).toMatchObject({ params: { reasoning: { effort: ReasoningEffort.HIGH } }, said: ["reasoning.effort=converted(medium->high)"] });
    expect(fit("gemini", "gemini-3-pro-preview", effort(ReasoningEffort.MEDIUM)).params.reasoning?.effort).toBe(ReasoningEffort.HIGH);
  });

  it("send a budget to models steered by budget, within their range", () => {
    expect(fit("dashscope", "qwen-plus", effort(ReasoningEffort.LOW))).toMatchObject({ params: { reasoning: { budgetTokens: 2048 } }, said: ["reasoning.effort=converted(low->budget_tokens 2048)"] });
    expect(fit("gemini", "gemini-2.5-pro", { reasoning: { budgetTokens: 50 } }).said).toEqual(["reasoning.budget_tokens=clamped(50->128)"]);
  });

  it("switch reasoning on, no more, for models that take only that", () => {
    const { params, said } = fit("zhipu", "glm-4.5", effort(ReasoningEffort.HIGH));
    expect(params.reasoning?.effort).toBe(ReasoningEffort.UNSPECIFIED);
    expect(params.reasoning?.budgetTokens).toBeUndefined();
    expect(said).toEqual(["reasoning.effort=dropped(high->)"]);
  });

  it("make room for Claude's budget within max_tokens, and follow its rules while it thinks", () => {
    const raised = fit("anthropic", "claude-sonnet-4-5", { ...effort(ReasoningEffort.HIGH), temperature: 0.5, topP: 0.5 });
    expect(raised.params).toMatchObject({ reasoning: { budgetTokens: 24_576 }, maxTokens: 24_576 + 4_096, temperature: undefined, topP: 0.95 });
    expect(raised.said).toEqual([
      "reasoning.effort=converted(high->budget_tokens 24576)",
      "max_tokens=raised(->28672)",
      "temperature=dropped(0.5->)",
      "top_p=clamped(0.5->0.95)",
    ]);
    expect(fit("anthropic", "claude-sonnet-4-5", { reasoning: { budgetTokens: 4096 }, maxTokens: 2000 })).toMatchObject({ params: { reasoning: { budgetTokens: 1999 }, maxTokens: 2000 } });
    const dropped = fit("anthropic", "claude-sonnet-4-5", { reasoning: { budgetTokens: 4096 }, maxTokens: 500, temperature: 0.5 });
    expect(dropped.params).toMatchObject({ reasoning: undefined, temperature: 0.5 });
    expect(dropped.header).toContain("reasoning=dropped(max_tokens 500 leaves no room for claude-sonnet-4-5's smallest reasoning budget 1024)");
    const forced = fit("anthropic", "claude-sonnet-4", { ...effort(ReasoningEffort.LOW), tools: [{ name: "f" }], toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } } });
    expect(forced.params.toolChoice?.choice).toEqual({ case: "mode", value: ToolChoiceMode.AUTO });
    expect(forced.said).toContain("tool_choice=degraded(required->auto)");
  });

  it("tell the codec to send DeepSeek's reasoning back only when the call reasons", () => {
    expect(fit("deepseek", "deepseek-reasoner", {}).traits).toMatchObject({ replayReasoningText: true, reasoningSwitch: "thinking" });
    expect(fit("deepseek", "deepseek-chat", {}).traits.replayReasoningText).toBe(false);
    expect(fit("deepseek", "deepseek-chat", effort(ReasoningEffort.LOW)).traits.replayReasoningText).toBe(true);
  });
});
