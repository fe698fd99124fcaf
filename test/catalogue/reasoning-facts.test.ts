// What the catalogue's reasoning facts make of a call that says little about
// reasoning: a model that thinks by default is told not to (GLM-4.5), a model
// that always thinks within a default budget has it reserved (QwQ, Qwen3
// "-thinking-2507"), and a caller's own Gemini thinking level is checked
// against the levels the model takes before any vendor is asked.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { AdjustmentKind } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { fitChatRequest } from "../../src/catalogue/request-fitting.js";
import { RequestFitter } from "../../src/gateway/call-fitting.js";
import type { ProviderRuntime } from "../../src/gateway/provider-runtime.js";
import type { Router } from "../../src/gateway/router.js";
import { promptBoundTokens } from "../../src/gateway/usage-estimate.js";
import { toOpenAIReasoning } from "../../src/providers/openai/reasoning.js";
import type { ChatParams } from "../../src/providers/provider.js";

const catalogue = Catalogue.shipped();
const messages = [{ role: Role.USER, content: "hi" }];
const request = (model: string, fields: Record<string, unknown> = {}): ChatParams => create(ChatRequestSchema, { model, messages, ...fields });

/** The gateway's fitter over the shipped catalogue, each provider speaking the dialect named. */
function fitter(dialects: Record<string, string> = {}): RequestFitter {
  const providers = new Map(Object.entries(dialects).map(([name, dialect]) => [name, { adapter: { dialect } } as unknown as ProviderRuntime]));
  return new RequestFitter({ catalogue, providers, router: { route: () => undefined } as unknown as Router, whenUnsupported: "degrade" });
}

describe("GLM-4.5, which thinks unless told not to", () => {
  it.each(["glm-4.5", "glm-4.5-air"])("%s is sent thinking disabled when the call asks for no reasoning, and the call is told", (model) => {
    const fitted = fitChatRequest(request(model), catalogue.lookup("zhipu", model), "degrade");
    if (!fitted.ok) throw new Error(fitted.reason);
    expect(fitted.traits.reasoningOff).toBe(true);
    expect(toOpenAIReasoning(fitted.params, fitted.traits)).toEqual({ thinking: { type: "disabled" } });
    expect(fitted.adjustments).toEqual([expect.objectContaining({ parameter: "reasoning", kind: AdjustmentKind.CONVERTED, requested: "", sent: "off" })]);
  });

  it("thinks when asked, with nothing said", () => {
    const fitted = fitChatRequest(request("glm-4.5", { reasoning: {} }), catalogue.lookup("zhipu", "glm-4.5"), "degrade");
    if (!fitted.ok) throw new Error(fitted.reason);
    expect(fitted.traits.reasoningOff).toBeUndefined();
    expect(toOpenAIReasoning(fitted.params, fitted.traits)).toEqual({ thinking: { type: "enabled" } });
    expect(fitted.adjustments).toEqual([]);
  });
});

describe("budget reservations for models that always reason", () => {
  const reserved = (provider: string, model: string, fields: Record<string, unknown> = {}) => {
    const params = request(model, fields);
    return fitter().forCall(params).boundTokens({ provider, upstreamModel: model }) - promptBoundTokens(params);
  };

  it("hold QwQ's and Qwen3 thinking-2507's default thinking budget, spent beyond max_tokens, when the call gives none", () => {
    expect(reserved("dashscope", "qwq-plus", { maxTokens: 100 })).toBe(100 + 32_768);
    expect(reserved("dashscope", "qwq-32b", { maxTokens: 100 })).toBe(100 + 32_768);
    expect(reserved("dashscope", "qwen3-235b-a22b-thinking-2507", { maxTokens: 100 })).toBe(100 + 38_912);
    // Without max_tokens, the model's most output besides.
    expect(reserved("dashscope", "qwq-plus")).toBe(8_192 + 32_768);
    // The caller's own budget is the one held.
    expect(reserved("dashscope", "qwq-plus", { maxTokens: 100, reasoning: { budgetTokens: 1_000 } })).toBe(100 + 1_000);
    // A hybrid model asked for no reasoning does not think: nothing more is held.
    expect(reserved("dashscope", "qwen-plus", { maxTokens: 100 })).toBe(100);
  });

  it("send the vendor nothing more: the default budget is the vendor's own", () => {
    const fitted = fitChatRequest(request("qwen3-235b-a22b-thinking-2507", { maxTokens: 100 }), catalogue.lookup("dashscope", "qwen3-235b-a22b-thinking-2507"), "degrade");
    if (!fitted.ok) throw new Error(fitted.reason);
    expect(fitted.params.reasoning).toBeUndefined();
    expect(fitted.traits.reasoningOff).toBeUndefined();
    expect(fitted.adjustments).toEqual([]);
  });

  it("hold deepseek-reasoner's 64K of output, reasoning included, and nothing beyond it", () => {
    // "max_tokens: the longest answer, chain of thought included; 32K by default, 64K at most" (api-docs.deepseek.com/guides/reasoning_model).
    expect(reserved("deepseek", "deepseek-reasoner")).toBe(65_536);
    expect(reserved("deepseek", "deepseek-reasoner", { maxTokens: 100_000, reasoning: { effort: ReasoningEffort.HIGH } })).toBe(65_536);
  });
});

describe("a caller's own Gemini thinking level", () => {
  const gemini = fitter({ gemini: "gemini", proxy: "openai" });
  const withLevel = (model: string, thinkingConfig: JsonObject) => request(model, { vendorOptions: { generationConfig: { thinkingConfig } } });
  const admit = (params: ChatParams, provider = "gemini") => gemini.forCall(params).admissible([{ provider, upstreamModel: params.model }]);

  it("is refused, naming the field and the levels the model takes, when the model does not take it", () => {
    const { candidates, error } = admit(withLevel("gemini-3-pro-preview", { thinkingLevel: "medium" }));
    expect(candidates).toEqual([]);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_ARGUMENT");
    expect(error?.findDetails(BadRequestSchema)[0]?.fieldViolations).toEqual([
      expect.objectContaining({ field: "vendor_options.generationConfig.thinkingConfig.thinkingLevel", description: 'gemini-3-pro-preview takes the thinking levels "low", "high", not "medium"' }),
    ]);
    const snake = admit(request("gemini-3-pro", { vendorOptions: { generation_config: { thinking_config: { thinking_level: "max" } } } }));
    expect(snake.error?.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("vendor_options.generation_config.thinking_config.thinking_level");
  });

  it("goes as sent when the model takes it, in either case, Gemini 3 Flash's minimal too", () => {
    expect(admit(withLevel("gemini-3-pro-preview", { thinkingLevel: "low" })).error).toBeUndefined();
    expect(admit(withLevel("gemini-3-pro-preview", { thinkingLevel: "HIGH" })).error).toBeUndefined();
    expect(admit(withLevel("gemini-3-flash", { thinkingLevel: "minimal" })).error).toBeUndefined();
    expect(admit(withLevel("gemini-3-flash", { thinkingLevel: "medium" })).error).toBeUndefined();
  });

  it("is left alone where no Gemini codec reads it", () => {
    expect(admit(withLevel("gemini-3-pro-preview", { thinkingLevel: "medium" }), "proxy").error).toBeUndefined();
  });
});
