// OpenAI's models. Prices are the standard tier's list prices per million
// tokens (no batch discount), checked in November 2026; limits and rules from
// each model's page and the API reference. A row's snapshots are the dated
// versions its page lists at the row's price; other dated or suffixed names
// have no price here ("gpt-4o-2024-05-13" is billed at $5/$15, "o1-pro",
// "gpt-5-pro" and the "-search-preview" and "-deep-research" models at their
// own prices, the last two with a fee per web search the ledger cannot count),
// so keys with a budget are refused them until pricing.models prices them.
// The models OpenAI serves on its Responses API only (the Codex and -pro
// models) say so in `wire.endpoint`: the OpenAI dialect sends them there.
import type { VendorFile } from "../schema.js";
import { chatModels, checked, embeddingModel, usd } from "./helpers.js";

const MODELS = "https://platform.openai.com/docs/models";
const PRICES = "2026-11";

/**
 * Reasoning models (o-series, the GPT-5 family) take only the default
 * temperature and top_p, and refuse `stop` and the penalties: "Unsupported
 * parameter: 'stop' is not supported with this model"
 * (https://platform.openai.com/docs/guides/reasoning).
 */
const REASONING_MODEL_RULES = {
  fixed: { temperature: 1, topP: 1 },
  unsupported: ["stop" as const, "presencePenalty" as const, "frequencyPenalty" as const],
};

/** Reasoning by `reasoning_effort`; the reasoning itself stays hidden in Chat Completions. */
const EFFORT = { always: true, control: "effort" as const, efforts: ["low" as const, "medium" as const, "high" as const], returnsText: false };
/**
 * The API reference's `reasoning_effort` (https://platform.openai.com/docs/api-reference/chat/create):
 * GPT-5 (gpt-5, -mini, -nano) also takes "minimal" ("Supported values are:
 * 'minimal', 'low', 'medium', and 'high'", its 400 for xhigh); gpt-5.1 drops
 * minimal for "none" (no reasoning); "xhigh is supported for all models after
 * gpt-5.1-codex-max" (gpt-5.2's 400: "Supported values are: 'none', 'low',
 * 'medium', 'high', and 'xhigh'"). The Codex models before codex-max take low
 * to high only (gpt-5.1-codex's 400: "Supported values are: 'low', 'medium',
 * and 'high'"). A model's effort it does not take becomes the nearest it does,
 * and the adjustments say so.
 */
const EFFORT_MINIMAL = { ...EFFORT, efforts: ["minimal" as const, "low" as const, "medium" as const, "high" as const] };
const EFFORT_XHIGH = { ...EFFORT, efforts: ["low" as const, "medium" as const, "high" as const, "xhigh" as const] };

const GPT5_BASE = { contextWindow: 400_000, maxOutputTokens: 128_000, imageInput: true, parameters: REASONING_MODEL_RULES };
/** gpt-5, gpt-5-mini and gpt-5-nano. */
const GPT5 = { ...GPT5_BASE, reasoning: EFFORT_MINIMAL };
/** The Codex models up to gpt-5.1-codex (and -mini). */
const GPT5_CODEX = { ...GPT5_BASE, reasoning: EFFORT };
/** From gpt-5.1-codex-max on: gpt-5.2 and later, their Codex models. */
const GPT5_XHIGH = { ...GPT5_BASE, reasoning: EFFORT_XHIGH };
const GPT5_PRO = { ...GPT5_BASE, reasoning: { ...EFFORT, efforts: ["high" as const] } };
const O_SERIES = { contextWindow: 200_000, maxOutputTokens: 100_000, parallelToolCalls: false, parameters: REASONING_MODEL_RULES, reasoning: EFFORT };
/**
 * Served on the Responses API only (each model's page: "Chat Completions
 * v1/chat/completions: Not supported"; `/chat/completions` answers 400 "This
 * model is only supported in v1/responses and not in v1/chat/completions."):
 * the Codex and -pro models. That API has no seed (nor stop or penalties, which
 * reasoning models refuse anyway): dropped, and said.
 */
function responsesOnly<T extends { parameters: typeof REASONING_MODEL_RULES }>(facts: T) {
  return { ...facts, parameters: { ...facts.parameters, unsupported: [...facts.parameters.unsupported, "seed" as const] }, wire: { endpoint: "responses" as const } };
}
const DEV_MODELS = "https://developers.openai.com/api/docs/models";
const CODEX_CHECKED = "2026-12-04";

const GPT41 = { contextWindow: 1_047_576, maxOutputTokens: 32_768, imageInput: true };
const GPT4O = { contextWindow: 128_000, maxOutputTokens: 16_384, imageInput: true };

export const OPENAI: VendorFile = {
  provider: "openai",
  defaults: {
    ...chatModels({ jsonSchema: true, parallelToolCalls: true, imageInput: false }),
    // stop: "Up to 4 sequences".
    maxStopSequences: 4,
    // max_completion_tokens is current and the only one reasoning models take; max_tokens is deprecated.
    // parallel_tool_calls: "Whether to enable parallel function calling during tool use" (the o-series, parallelToolCalls false, is not sent it).
    wire: { maxTokensField: "max_completion_tokens", reasoningEffortField: "reasoning_effort", parallelToolCallsField: "parallel_tool_calls" },
    source: checked("https://platform.openai.com/docs/api-reference/chat/create", "2026-12-01"),
  },
  models: [
    // The o-series families: a new o-model (or a dated one) reasons and takes these rules before it has a row of its own.
    { model: "o1*", ...O_SERIES, source: checked("https://platform.openai.com/docs/guides/reasoning", "2026-12-01") },
    { model: "o3*", ...O_SERIES, source: checked("https://platform.openai.com/docs/guides/reasoning", "2026-12-01") },
    { model: "o4*", ...O_SERIES, source: checked("https://platform.openai.com/docs/guides/reasoning", "2026-12-01") },
    { model: "gpt-5.5", ...GPT5_XHIGH, price: usd(5, 30, 0.5), source: checked(`${MODELS}/gpt-5.5`, PRICES) },
    { model: "gpt-5.5-pro", ...responsesOnly(GPT5_PRO), price: usd(30, 180), source: checked(`${MODELS}/gpt-5.5-pro`, PRICES) },
    { model: "gpt-5.4", ...GPT5_XHIGH, price: usd(2.5, 15, 0.25), source: checked(`${MODELS}/gpt-5.4`, PRICES) },
    { model: "gpt-5.4-pro", ...responsesOnly(GPT5_PRO), price: usd(30, 180), source: checked(`${MODELS}/gpt-5.4-pro`, PRICES) },
    { model: "gpt-5.4-mini", ...GPT5_XHIGH, price: usd(0.75, 4.5, 0.075), source: checked(`${MODELS}/gpt-5.4-mini`, PRICES) },
    { model: "gpt-5.4-nano", ...GPT5_XHIGH, price: usd(0.2, 1.25, 0.02), source: checked(`${MODELS}/gpt-5.4-nano`, PRICES) },
    // Unpriced here (see the header): their rows say only that OpenAI serves them on the Responses API.
    { model: "gpt-5-pro", ...responsesOnly(GPT5_PRO), source: checked(`${DEV_MODELS}/gpt-5-pro`, CODEX_CHECKED) },
    { model: "o1-pro", ...responsesOnly(O_SERIES), source: checked(`${DEV_MODELS}/o1-pro`, CODEX_CHECKED) },
    { model: "o3-pro", ...responsesOnly(O_SERIES), source: checked(`${DEV_MODELS}/o3-pro`, CODEX_CHECKED) },
    // The Codex models, for agentic coding (Codex's default model). A later one (gpt-5.2-codex) is served alike before it has a row, xhigh included.
    { model: "gpt-5*-codex*", ...responsesOnly(GPT5_XHIGH), source: checked(`${DEV_MODELS}/gpt-5-codex`, CODEX_CHECKED) },
    { model: "gpt-5-codex", ...responsesOnly(GPT5_CODEX), price: usd(1.25, 10, 0.125), source: checked(`${DEV_MODELS}/gpt-5-codex`, CODEX_CHECKED) },
    { model: "gpt-5.1-codex", ...responsesOnly(GPT5_CODEX), price: usd(1.25, 10, 0.125), source: checked(`${DEV_MODELS}/gpt-5.1-codex`, CODEX_CHECKED) },
    { model: "gpt-5.1-codex-mini", ...responsesOnly(GPT5_CODEX), price: usd(0.25, 2, 0.025), source: checked(`${DEV_MODELS}/gpt-5.1-codex-mini`, CODEX_CHECKED) },
    { model: "gpt-5.1-codex-max", ...responsesOnly(GPT5_XHIGH), price: usd(1.25, 10, 0.125), source: checked(`${DEV_MODELS}/gpt-5.1-codex-max`, CODEX_CHECKED) },
    // o4-mini tuned for the Codex CLI.
    { model: "codex-mini-latest", ...responsesOnly(O_SERIES), imageInput: true, price: usd(1.5, 6, 0.375), source: checked(`${DEV_MODELS}/codex-mini-latest`, CODEX_CHECKED) },
    { model: "gpt-5", snapshots: ["gpt-5-2025-08-07"], ...GPT5, price: usd(1.25, 10, 0.125), source: checked(`${MODELS}/gpt-5`, PRICES) },
    { model: "gpt-5-mini", snapshots: ["gpt-5-mini-2025-08-07"], ...GPT5, price: usd(0.25, 2, 0.025), source: checked(`${MODELS}/gpt-5-mini`, PRICES) },
    { model: "gpt-5-nano", snapshots: ["gpt-5-nano-2025-08-07"], ...GPT5, price: usd(0.05, 0.4, 0.005), source: checked(`${MODELS}/gpt-5-nano`, PRICES) },
    { model: "gpt-4.1", snapshots: ["gpt-4.1-2025-04-14"], ...GPT41, price: usd(2, 8, 0.5), source: checked(`${MODELS}/gpt-4.1`, PRICES) },
    { model: "gpt-4.1-mini", snapshots: ["gpt-4.1-mini-2025-04-14"], ...GPT41, price: usd(0.4, 1.6, 0.1), source: checked(`${MODELS}/gpt-4.1-mini`, PRICES) },
    { model: "gpt-4.1-nano", snapshots: ["gpt-4.1-nano-2025-04-14"], ...GPT41, price: usd(0.1, 0.4, 0.025), source: checked(`${MODELS}/gpt-4.1-nano`, PRICES) },
    { model: "gpt-4o", snapshots: ["gpt-4o-2024-08-06", "gpt-4o-2024-11-20"], ...GPT4O, price: usd(2.5, 10, 1.25), source: checked(`${MODELS}/gpt-4o`, PRICES) },
    // Images cost 2,833 tokens plus 5,667 a 512-px tile, up to 8 tiles (https://platform.openai.com/docs/guides/images-vision).
    { model: "gpt-4o-mini", snapshots: ["gpt-4o-mini-2024-07-18"], ...GPT4O, imageTokens: 2_833 + 8 * 5_667, price: usd(0.15, 0.6, 0.075), source: checked(`${MODELS}/gpt-4o-mini`, PRICES) },
    {
      model: "gpt-4-turbo", snapshots: ["gpt-4-turbo-2024-04-09"],
      contextWindow: 128_000,
      maxOutputTokens: 4_096,
      imageInput: true,
      jsonSchema: false,
      price: usd(10, 30),
      source: checked(`${MODELS}/gpt-4-turbo`, PRICES),
    },
    { model: "gpt-4", snapshots: ["gpt-4-0613"], contextWindow: 8_192, maxOutputTokens: 8_192, jsonMode: false, jsonSchema: false, price: usd(30, 60), source: checked(`${MODELS}/gpt-4`, PRICES) },
    { model: "gpt-3.5-turbo", snapshots: ["gpt-3.5-turbo-0125"], contextWindow: 16_385, maxOutputTokens: 4_096, jsonSchema: false, price: usd(0.5, 1.5), source: checked(`${MODELS}/gpt-3.5-turbo`, PRICES) },
    { model: "o1", snapshots: ["o1-2024-12-17"], ...O_SERIES, imageInput: true, price: usd(15, 60, 7.5), source: checked(`${MODELS}/o1`, PRICES) },
    {
      model: "o1-mini", snapshots: ["o1-mini-2024-09-12"],
      ...O_SERIES,
      maxOutputTokens: 65_536,
      contextWindow: 128_000,
      tools: false,
      jsonMode: false,
      jsonSchema: false,
      // o1-mini reasons its own way: it takes no reasoning_effort.
      reasoning: { always: true, control: "none", returnsText: false },
      price: usd(1.1, 4.4, 0.55),
      source: checked(`${MODELS}/o1-mini`, PRICES),
    },
    { model: "o3", snapshots: ["o3-2025-04-16"], ...O_SERIES, imageInput: true, price: usd(2, 8, 0.5), source: checked(`${MODELS}/o3`, PRICES) },
    { model: "o3-mini", snapshots: ["o3-mini-2025-01-31"], ...O_SERIES, price: usd(1.1, 4.4, 0.55), source: checked(`${MODELS}/o3-mini`, PRICES) },
    { model: "o4-mini", snapshots: ["o4-mini-2025-04-16"], ...O_SERIES, imageInput: true, price: usd(1.1, 4.4, 0.275), source: checked(`${MODELS}/o4-mini`, PRICES) },
    { model: "text-embedding-3-small", ...embeddingModel(8_191, 1536, 2048, "any"), price: usd(0.02, 0), source: checked(`${MODELS}/text-embedding-3-small`, PRICES) },
    { model: "text-embedding-3-large", ...embeddingModel(8_191, 3072, 2048, "any"), price: usd(0.13, 0), source: checked(`${MODELS}/text-embedding-3-large`, PRICES) },
    { model: "text-embedding-ada-002", ...embeddingModel(8_191, 1536, 2048), price: usd(0.1, 0), source: checked(`${MODELS}/text-embedding-ada-002`, PRICES) },
  ],
};
