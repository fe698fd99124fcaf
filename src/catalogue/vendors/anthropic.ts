// Anthropic's models. Prices per million tokens (cache reads at a tenth of
// the input price; Opus from 4.5 on costs a third of Opus 4.1), checked in
// November 2026; limits from the models overview.
import type { VendorFile } from "../schema.js";
import { chatModels, checked, usd } from "./helpers.js";

const MODELS = "https://docs.anthropic.com/en/docs/about-claude/models/overview";
const PRICES = "2026-11";

/**
 * Extended thinking: `thinking: {type: "enabled", budget_tokens}` with at
 * least 1,024 tokens and fewer than max_tokens; while thinking, no
 * temperature, top_p only from 0.95 to 1, no forced tool use; the thinking
 * blocks of a tool-use turn must come back unchanged, signatures included
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking).
 */
const THINKING = {
  always: false,
  control: "budget" as const,
  budget: { min: 1_024, max: 64_000 },
  budgetWithinMaxTokens: true,
  returnsText: true,
  replay: "signed" as const,
  parameters: { unsupported: ["temperature" as const], ranges: { topP: { min: 0.95, max: 1 } } },
  noForcedTools: true,
};

/**
 * From Claude Opus 4.1 on, a request may set temperature or top_p, not both:
 * "`temperature` and `top_p` cannot both be specified for this model"
 * (https://docs.anthropic.com/en/docs/about-claude/models/migrating-to-claude-4).
 */
const ONE_SAMPLING_KNOB = { exclusive: [["temperature" as const, "topP" as const]] };

const CLAUDE_4 = { contextWindow: 200_000, maxOutputTokens: 64_000, reasoning: THINKING };
const CLAUDE_4_RECENT = { ...CLAUDE_4, parameters: ONE_SAMPLING_KNOB };

export const ANTHROPIC: VendorFile = {
  provider: "anthropic",
  nativeDialect: "anthropic",
  defaults: {
    // No response_format: JSON mode and schemas are one forced tool call (src/providers/anthropic/wire.ts).
    ...chatModels({ jsonSchema: true, parallelToolCalls: true, imageInput: true }),
    parameters: {
      // Anthropic's temperature is 0-1: the contract's 0-2 is clamped, keeping the caller's intent at the edges.
      ranges: { temperature: { min: 0, max: 1, fit: "clamp" } },
      // No seed or penalties, and unknown fields are refused ("Extra inputs are not permitted").
      unsupported: ["seed", "presencePenalty", "frequencyPenalty"],
    },
    source: checked("https://docs.anthropic.com/en/api/messages", "2026-12-01"),
  },
  models: [
    // Every Claude model from 3.7 on thinks: a new one does before it has a row of its own (the older rows say they do not).
    { model: "claude-*", reasoning: THINKING, source: checked("https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking", "2026-12-01") },
    { model: "claude-opus-4-8", ...CLAUDE_4_RECENT, price: usd(5, 25, 0.5), source: checked(MODELS, PRICES) },
    { model: "claude-opus-4-7", ...CLAUDE_4_RECENT, price: usd(5, 25, 0.5), source: checked(MODELS, PRICES) },
    { model: "claude-opus-4-6", ...CLAUDE_4_RECENT, price: usd(5, 25, 0.5), source: checked(MODELS, PRICES) },
    { model: "claude-opus-4-5", ...CLAUDE_4_RECENT, price: usd(5, 25, 0.5), source: checked(MODELS, PRICES) },
    { model: "claude-sonnet-4-6", ...CLAUDE_4_RECENT, price: usd(3, 15, 0.3), source: checked(MODELS, PRICES) },
    { model: "claude-opus-4-1", ...CLAUDE_4_RECENT, maxOutputTokens: 32_000, price: usd(15, 75, 1.5), source: checked(MODELS, PRICES) },
    { model: "claude-opus-4", ...CLAUDE_4, maxOutputTokens: 32_000, price: usd(15, 75, 1.5), source: checked(MODELS, PRICES) },
    { model: "claude-sonnet-4-5", ...CLAUDE_4_RECENT, price: usd(3, 15, 0.3), source: checked(MODELS, PRICES) },
    { model: "claude-sonnet-4", ...CLAUDE_4, price: usd(3, 15, 0.3), source: checked(MODELS, PRICES) },
    { model: "claude-haiku-4-5", ...CLAUDE_4_RECENT, price: usd(1, 5, 0.1), source: checked(MODELS, PRICES) },
    { model: "claude-3-7-sonnet", ...CLAUDE_4, price: usd(3, 15, 0.3), source: checked(MODELS, PRICES) },
    { model: "claude-3-5-sonnet", contextWindow: 200_000, maxOutputTokens: 8_192, reasoning: null, price: usd(3, 15, 0.3), source: checked(MODELS, PRICES) },
    { model: "claude-3-5-haiku", contextWindow: 200_000, maxOutputTokens: 8_192, imageInput: false, reasoning: null, price: usd(0.8, 4, 0.08), source: checked(MODELS, PRICES) },
    { model: "claude-3-opus", contextWindow: 200_000, maxOutputTokens: 4_096, reasoning: null, price: usd(15, 75, 1.5), source: checked(MODELS, PRICES) },
    { model: "claude-3-haiku", contextWindow: 200_000, maxOutputTokens: 4_096, reasoning: null, price: usd(0.25, 1.25, 0.03), source: checked(MODELS, PRICES) },
  ],
};
