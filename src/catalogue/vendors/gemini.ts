// Google's Gemini models (Developer API). Prices per million tokens for
// prompts up to 200k tokens, checked in November 2026; limits and thinking
// from the models page and the thinking guide.
import type { Reasoning, VendorFile } from "../schema.js";
import { chatModels, checked, embeddingModel, usd } from "./helpers.js";

const MODELS = "https://ai.google.dev/gemini-api/docs/models";
const PRICES = "2026-11";

/**
 * Gemini 2.5 thinks within `thinkingConfig.thinkingBudget` (a range per
 * model; 2.5 Pro cannot switch it off); Gemini 3 takes `thinkingLevel`
 * instead. Thought summaries come back with `includeThoughts`; function-call
 * thought signatures ride in the tool call ids
 * (https://ai.google.dev/gemini-api/docs/thinking).
 */
const BUDGET = (min: number, max: number, always: boolean) => ({ always, control: "budget" as const, budget: { min, max }, returnsText: true });
/** Gemini 3's levels (`thinkingLevel`), which are the contract's efforts: 3 Flash's "minimal" is the contract's minimal. */
const LEVELS = (efforts: NonNullable<Reasoning["efforts"]>) => ({ always: true, control: "effort" as const, efforts, returnsText: true });

const LONG = { contextWindow: 1_048_576, maxOutputTokens: 65_536 };
const FLASH_2 = { contextWindow: 1_048_576, maxOutputTokens: 8_192 };

export const GEMINI: VendorFile = {
  provider: "gemini",
  nativeDialect: "gemini",
  defaults: {
    ...chatModels({ jsonSchema: true, parallelToolCalls: true, imageInput: true }),
    // generationConfig.stopSequences: "The set of character sequences (up to 5)".
    maxStopSequences: 5,
    // GenerateContentRequest has no end-user field.
    parameters: { ignored: ["user"] },
    // The system prompt is the request's one systemInstruction, ahead of the contents.
    midConversationSystem: false,
    source: checked("https://ai.google.dev/api/generate-content", "2026-12-01"),
  },
  models: [
    // Families: a new Gemini 3 or 2.5 model thinks the way its generation does before it has a row of its own.
    { model: "gemini-3*", ...LONG, reasoning: LEVELS(["low", "high"]), source: checked("https://ai.google.dev/gemini-api/docs/thinking", "2026-12-01") },
    // Before Gemini 3, function declarations and responseMimeType application/json together are refused (400 "Function
    // calling with a response mime type: 'application/json' is unsupported", googleapis/python-genai#867); Gemini 3
    // takes structured output with tools (https://ai.google.dev/gemini-api/docs/structured-output#structured_outputs_with_tools).
    { model: "gemini-2*", jsonModeWithTools: false, source: checked("https://ai.google.dev/gemini-api/docs/structured-output#structured_outputs_with_tools", "2026-12-04") },
    { model: "gemini-2.5*", ...LONG, reasoning: BUDGET(1, 24_576, true), source: checked("https://ai.google.dev/gemini-api/docs/thinking", "2026-12-01") },
    { model: "gemini-3-pro", ...LONG, reasoning: LEVELS(["low", "high"]), price: usd(2, 12, 0.2), source: checked(`${MODELS}#gemini-3-pro`, PRICES) },
    { model: "gemini-3-flash", ...LONG, reasoning: LEVELS(["minimal", "low", "medium", "high"]), price: usd(0.5, 3, 0.05), source: checked(`${MODELS}#gemini-3-flash`, PRICES) },
    { model: "gemini-2.5-pro", ...LONG, reasoning: BUDGET(128, 32_768, true), price: usd(1.25, 10, 0.31), source: checked(`${MODELS}#gemini-2.5-pro`, PRICES) },
    { model: "gemini-2.5-flash", ...LONG, reasoning: BUDGET(1, 24_576, true), price: usd(0.3, 2.5, 0.075), source: checked(`${MODELS}#gemini-2.5-flash`, PRICES) },
    { model: "gemini-2.5-flash-lite", ...LONG, reasoning: BUDGET(512, 24_576, false), price: usd(0.1, 0.4, 0.025), source: checked(`${MODELS}#gemini-2.5-flash-lite`, PRICES) },
    { model: "gemini-2.0-flash", ...FLASH_2, price: usd(0.1, 0.4, 0.025), source: checked(`${MODELS}#gemini-2.0-flash`, PRICES) },
    // No cached price: the pricing page has no context-caching price for 2.0 Flash-Lite, and "context caching is not available
    // for gemini-2.0-flash-lite" (Google, https://discuss.ai.google.dev/t/83445), so no hits are reported to bill.
    { model: "gemini-2.0-flash-lite", ...FLASH_2, price: usd(0.075, 0.3), source: checked(`${MODELS}#gemini-2.0-flash-lite`, PRICES) },
    // Cached input as the pricing page listed it while 1.5 was served, for prompts up to 128k tokens like the rest of these prices
    // (https://ai.google.dev/gemini-api/docs/pricing: context caching $0.3125 and $0.01875, beside storage per hour).
    { model: "gemini-1.5-pro", contextWindow: 2_097_152, maxOutputTokens: 8_192, price: usd(1.25, 5, 0.3125), source: checked(`${MODELS}#gemini-1.5-pro`, PRICES) },
    { model: "gemini-1.5-flash", ...FLASH_2, price: usd(0.075, 0.3, 0.01875), source: checked(`${MODELS}#gemini-1.5-flash`, PRICES) },
    { model: "gemini-embedding-001", ...embeddingModel(2_048, 3072, 100, "any"), price: usd(0.15, 0), source: checked(`${MODELS}#gemini-embedding`, PRICES) },
    { model: "text-embedding-004", ...embeddingModel(2_048, 768, 100, "any"), price: usd(0, 0), source: checked(`${MODELS}#text-embedding`, PRICES) },
  ],
};
