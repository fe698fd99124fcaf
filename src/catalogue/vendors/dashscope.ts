// Alibaba's Qwen models on DashScope (native API and compatible mode).
// Prices per million tokens in yuan from its 2025 price list (cache hits at
// the implicit cache's price, see implicitCache); rules from the
// text-generation API reference.
import type { Price, VendorFile } from "../schema.js";
import { chatModels, checked, cny, embeddingModel } from "./helpers.js";

const PRICING = "https://help.aliyun.com/zh/model-studio/models";
const THINKING_DOCS = "https://help.aliyun.com/zh/model-studio/deep-thinking";
/** JSON mode for most Qwen models; JSON schemas for the qwen3-max, qwen-plus and qwen-flash series only. */
const JSON_MODE_DOCS = "https://help.aliyun.com/zh/model-studio/json-mode";

/**
 * "Qwen3 open-source edition, QwQ commercial and open-source editions, QVQ, and Qwen-Omni support only streaming output";
 * a hybrid model thinks only in a streamed answer ("parameter.enable_thinking must be set to false for non-streaming calls").
 */
const STREAM_DOCS = "https://help.aliyun.com/en/model-studio/stream";
const STREAM_ONLY = { wire: { streamOnly: true }, source: checked(STREAM_DOCS, "2026-12-04") };

/** Hybrid Qwen3 models think when `enable_thinking` is true, within `thinking_budget`, and return `reasoning_content`; only in a streamed answer. */
const HYBRID = { always: false, control: "budget" as const, budget: { min: 1, max: 38_912 }, returnsText: true, streamOnly: true };

/**
 * Thinking-only models (QwQ, Qwen3 "-thinking-2507"): they always think, and
 * need no `enable_thinking` ("Thinking-only: the model always thinks before
 * replying, and this cannot be disabled"). Given no `thinking_budget`, one
 * thinks within its default, the longest chain of thought it takes: spent
 * beyond max_tokens, so reserved for a call that gives none.
 */
const thinkingOnly = (maxBudget: number) => ({ always: true, control: "budget" as const, budget: { min: 1, max: maxBudget }, defaultBudget: maxBudget, returnsText: true });

/**
 * The implicit context cache (https://help.aliyun.com/zh/model-studio/user-guide/context-cache)
 * is always on for qwen-max, qwen-plus, qwen-flash and qwen-turbo (not
 * qwen-long or QwQ; nor their snapshots and -latest names, "暂不支持快照与
 * latest 模型"), and bills its hits, reported as `cached_tokens`, at a fifth
 * of the input price ("对命中缓存的部分收取 20% 的费用"). Written out (0.48,
 * not 2.4 × 0.2, which floating point makes 0.48000000000000004).
 */
const implicitCache = (input: number, output: number, cacheHit: number): Price => cny(input, output, cacheHit);

/**
 * A hybrid model's prices: input, output, and the output of a call in
 * thinking mode, which the price list gives apart and bills for the whole
 * output of such a call, the answer as well as the reasoning; cache hits as
 * implicitCache says.
 */
const thinkingMode = (input: number, output: number, thinkingOutput: number, cacheHit: number): Price => ({
  ...implicitCache(input, output, cacheHit),
  reasoning: thinkingOutput,
  answerAtReasoningPrice: true,
});

export const DASHSCOPE: VendorFile = {
  provider: "dashscope",
  nativeDialect: "dashscope",
  defaults: {
    ...chatModels({ jsonSchema: false, parallelToolCalls: true, imageInput: false }),
    parameters: {
      // temperature is [0, 2) and top_p (0, 1] (1 itself is refused by some models, so one-api caps it below).
      ranges: { temperature: { min: 0, max: 1.99, fit: "clamp" }, topP: { min: 0.0001, max: 0.9999, fit: "clamp" } },
    },
    // Qwen's chat templates take a system message only first ("System message must be at the beginning", QwenLM/Qwen#956).
    midConversationSystem: false,
    // Compatible mode only; the native codec knows its own names. parallel_tool_calls (false by default) is documented in both modes.
    wire: { maxTokensField: "max_tokens", reasoningSwitch: "enable_thinking", reasoningBudgetField: "thinking_budget", parallelToolCallsField: "parallel_tool_calls" },
    source: checked("https://help.aliyun.com/zh/model-studio/use-qwen-by-calling-api", "2026-12-01"),
  },
  dialects: {
    // The native API's parameters: JSON mode is response_format {type: "json_object"}, no schemas documented; no
    // frequency_penalty (repetition_penalty is a scale of its own, with no documented mapping from it); no end-user field.
    dashscope: { jsonSchema: false, parameters: { ignored: ["frequencyPenalty", "user"] } },
  },
  models: [
    // Qwen3 models are hybrid thinkers.
    { model: "qwen3*", reasoning: HYBRID, source: checked(THINKING_DOCS, "2026-12-01") },
    // Open-source Qwen3 (named by size: qwen3-32b, qwen3-235b-a22b, qwen3-30b-a3b-instruct-2507, …) answer only as a stream.
    // The hybrid ones (qwen3-32b, qwen3-235b-a22b, qwen3-30b-a3b: no -instruct or -thinking suffix) think unless
    // told not to ("enable_thinking defaults to true for the open-source Qwen3 models, false for the commercial ones").
    { model: "qwen3-*b", ...STREAM_ONLY, reasoning: { ...HYBRID, byDefault: true } },
    { model: "qwen3-*b-*", ...STREAM_ONLY },
    // The "-thinking-2507" ones think on every call, within the budgets the Qwen3 family takes.
    { model: "qwen3-*-thinking-*", reasoning: thinkingOnly(HYBRID.budget.max), source: checked(THINKING_DOCS, "2026-12-01") },
    { model: "qwq*", ...STREAM_ONLY, reasoning: thinkingOnly(32_768) },
    { model: "qvq*", ...STREAM_ONLY },
    { model: "qwen*-omni*", ...STREAM_ONLY },
    { model: "qwen3-max*", jsonSchema: true, source: checked(JSON_MODE_DOCS, "2026-12-04") },
    { model: "qwen-flash*", jsonSchema: true, source: checked(JSON_MODE_DOCS, "2026-12-04") },
    { model: "qwen-max", contextWindow: 32_768, maxOutputTokens: 8_192, price: implicitCache(2.4, 9.6, 0.48), source: checked(PRICING, "2025") },
    { model: "qwen-plus", contextWindow: 131_072, maxOutputTokens: 16_384, reasoning: HYBRID, jsonSchema: true, price: thinkingMode(0.8, 2, 8, 0.16), source: checked(PRICING, "2025") },
    { model: "qwen-turbo", contextWindow: 1_000_000, maxOutputTokens: 16_384, reasoning: HYBRID, price: thinkingMode(0.3, 0.6, 6, 0.06), source: checked(PRICING, "2025") },
    { model: "qwen-long", contextWindow: 10_000_000, maxOutputTokens: 8_192, price: cny(0.5, 2), source: checked(PRICING, "2025") },
    {
      model: "qwq-plus",
      contextWindow: 131_072,
      maxOutputTokens: 8_192,
      reasoning: thinkingOnly(32_768),
      source: checked(THINKING_DOCS, "2026-12-01"),
    },
    { model: "text-embedding-v3", ...embeddingModel(8_192, 1024, 10, [768, 512, 256, 128, 64]), price: cny(0.5, 0), source: checked(PRICING, "2025") },
    { model: "text-embedding-v2", ...embeddingModel(2_048, 1536, 25), price: cny(0.7, 0), source: checked(PRICING, "2025") },
  ],
};
