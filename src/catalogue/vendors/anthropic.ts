// Anthropic's models. Prices per million tokens as the pricing page lists
// them (cache reads at a tenth of the input price, cache writes at 1.25× for
// five minutes and 2× for an hour; Opus from 4.5 on costs a third of Opus
// 4.1), limits from the models overview; both checked in December 2026. A
// row's snapshots are the API ids the overview lists for that model (dated,
// "-latest" and "-0"); another dated name has the row's limits but no price.
import type { Price, VendorFile } from "../schema.js";
import { chatModels, checked, usd } from "./helpers.js";

const MODELS = "https://docs.anthropic.com/en/docs/about-claude/models/overview";
const PRICES = "2026-12";

/**
 * A Claude model's prices (https://docs.anthropic.com/en/docs/about-claude/pricing):
 * input, output, cache hits, and cache writes kept five minutes (the default)
 * and an hour (`cache_control: {ttl: "1h"}`).
 */
const claude = (input: number, output: number, cacheHit: number, write5m: number, write1h: number): Price => ({
  ...usd(input, output, cacheHit),
  cacheWrite: write5m,
  cacheWriteHour: write1h,
});

/**
 * Sonnet 4 and 4.5 take a prompt of up to 1M tokens with the
 * `context-1m-2025-08-07` beta; one over 200K tokens (input, cache writes and
 * reads together) is billed whole at the long-context rates: input 2×, output
 * 1.5×, the cache prices on the doubled input (pricing page, "Long context
 * pricing"). From Claude 4.6 on, the 1M window is billed at the standard rates.
 */
const SONNET_4_LONG_CONTEXT = { above: 200_000, input: 6, output: 22.5, cachedInput: 0.6, cacheWrite: 7.5, cacheWriteHour: 12 };
const SONNET_4_PRICE: Price = { ...claude(3, 15, 0.3, 3.75, 6), longContext: SONNET_4_LONG_CONTEXT };

/**
 * Extended thinking: `thinking: {type: "enabled", budget_tokens}` with at
 * least 1,024 tokens and fewer than max_tokens; while thinking, no
 * temperature, top_p only from 0.95 to 1, no forced tool use; the thinking
 * blocks of a tool-use turn must come back unchanged, signatures included
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking).
 */
const WHILE_THINKING = {
  always: false,
  returnsText: true,
  replay: "signed" as const,
  parameters: { unsupported: ["temperature" as const], ranges: { topP: { min: 0.95, max: 1 } } },
  noForcedTools: true,
};
const THINKING = { ...WHILE_THINKING, control: "budget" as const, budget: { min: 1_024, max: 64_000 }, budgetWithinMaxTokens: true };

/**
 * Claude Opus 4.7 and 4.8 think adaptively only: `thinking: {type: "adaptive"}`,
 * steered by `output_config.effort`; `type: "enabled"` with `budget_tokens` is
 * refused with a 400 (https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking;
 * Amazon Bedrock's adaptive-thinking page says the same of Opus 4.7). They take
 * the efforts low to max, xhigh (new with Opus 4.7) between high and max
 * (https://platform.claude.com/docs/en/build-with-claude/effort); OpenAI's
 * minimal becomes low. A caller's budget becomes the effort it stands for.
 */
const ADAPTIVE_THINKING = {
  ...WHILE_THINKING,
  control: "adaptive" as const,
  efforts: ["low" as const, "medium" as const, "high" as const, "xhigh" as const, "max" as const],
};

/**
 * From Claude Opus 4.1 on, a request may set temperature or top_p, not both:
 * "`temperature` and `top_p` cannot both be specified for this model"
 * (https://docs.anthropic.com/en/docs/about-claude/models/migrating-to-claude-4).
 */
const ONE_SAMPLING_KNOB = { exclusive: [["temperature" as const, "topP" as const]] };

/**
 * System messages inside `messages`, right after a user turn: Claude Opus 4.8
 * on, and so a Claude model too new to have a row; the models before refuse
 * them ("role 'system' is not supported on this model"), and get them in the
 * top-level system prompt (https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages).
 */
const BEFORE_OPUS_4_8 = { midConversationSystem: false };

const CLAUDE_4 = { contextWindow: 200_000, maxOutputTokens: 64_000, reasoning: THINKING, ...BEFORE_OPUS_4_8 };
const CLAUDE_4_RECENT = { ...CLAUDE_4, parameters: ONE_SAMPLING_KNOB };
/** A 1M-token context: Claude 4.6 on, and Sonnet 4 and 4.5 with the beta (budgets reserve for the longest prompt a model takes). */
const MILLION = 1_000_000;
/** From Claude 4.6 on: a 1M-token context at the standard rates, and answers of up to 128K tokens (each model's page: "Max output: 128K tokens"). */
const CLAUDE_4_6 = { ...CLAUDE_4_RECENT, contextWindow: MILLION, maxOutputTokens: 128_000 };
/** Claude 4.6's limits, thinking adaptively only. */
const CLAUDE_4_7 = { ...CLAUDE_4_6, reasoning: ADAPTIVE_THINKING };
/**
 * Claude 5 thinks adaptively, and by default: left out, `thinking` is on
 * (https://platform.claude.com/docs/en/about-claude/models/whats-new-opus-5:
 * "thinking on by default"). A call that asks for no reasoning is sent
 * `thinking: {type: "disabled"}`, which Opus 5 and Haiku 5.5 take at effort
 * high or below (the gateway sends none with it). Each model's default effort
 * (its page's "Default effort": high, or medium on Opus 5.5 and Haiku 5.5) is
 * the vendor's to apply: the catalogue has no field for it. xhigh and max are
 * taken too, as on Opus 4.7.
 */
const ADAPTIVE_BY_DEFAULT = { ...ADAPTIVE_THINKING, byDefault: true };
/**
 * "Adaptive (always on)": thinking cannot be disabled, `{type: "disabled"}`
 * and a budget are a 400, forced tool use is refused, and thinking blocks go
 * back unchanged, tied to the model and conversation that wrote them (Opus 5.5
 * and Fable 5.1: https://platform.claude.com/docs/en/models/opus-5-5/whats-new-opus-5-5).
 * A call that asks for no reasoning reasons all the same: it is sent adaptive
 * thinking, and gets the reasoning back, rather than a 400.
 */
const ADAPTIVE_ALWAYS = { ...ADAPTIVE_THINKING, always: true };
/** Claude 5's limits (each page: "Context window: 1M tokens · Max output: 128K tokens"), taking system messages mid-conversation as Opus 4.8 does. */
const CLAUDE_5 = { ...CLAUDE_4_6, reasoning: ADAPTIVE_BY_DEFAULT, midConversationSystem: true };
/**
 * Sonnet 5 on: temperature, top_p and top_k at other than their defaults are
 * a 400 (https://platform.claude.com/docs/en/models/sonnet-5/migration-guide),
 * so they are dropped, and said to be.
 */
const NO_SAMPLING = { unsupported: ["temperature" as const, "topP" as const] };
/** Each model's own page, which states its context window and max output (the overview's table lags behind new releases). */
const modelPage = (slug: string, date = "2026-12-03") => checked(`https://platform.claude.com/docs/en/models/${slug}/overview`, date);
/** When the Claude 5 rows were checked against their pages. */
const CLAUDE_5_CHECKED = "2026-12-04";

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
    // And takes system messages mid-conversation, as Opus 4.8 does (BEFORE_OPUS_4_8).
    { model: "claude-*", reasoning: THINKING, midConversationSystem: true, source: checked("https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking", "2026-12-01") },
    { model: "claude-opus-5-5", ...CLAUDE_5, reasoning: ADAPTIVE_ALWAYS, price: claude(4, 20, 0.2, 5, 8), source: modelPage("opus-5-5", CLAUDE_5_CHECKED) },
    // Fable 5.1 kept Fable 5's input and output prices, and cut cache reads to a quarter of Fable 5's $1 (its page; 0.025× the input price, where other Claude models read at 0.1×).
    { model: "claude-fable-5-1", ...CLAUDE_5, reasoning: ADAPTIVE_ALWAYS, price: claude(10, 50, 0.25, 12.5, 20), source: modelPage("fable-5-1", CLAUDE_5_CHECKED) },
    // Sonnet 5.5 refuses thinking "disabled" too: only "between_tools" turns off its thinking before the first tool call, and it still thinks between them. So it always
    // reasons, as far as the gateway can ask, and forced tool use is a 400. Cache reads are $0.10, half Sonnet 5's, from 2026-10-07 (its migration guide; pages checked before show $0.20).
    { model: "claude-sonnet-5-5", ...CLAUDE_5, reasoning: ADAPTIVE_ALWAYS, parameters: NO_SAMPLING, price: claude(2, 10, 0.1, 2.5, 4), source: checked("https://platform.claude.com/docs/en/models/sonnet-5-5/migration-guide", CLAUDE_5_CHECKED) },
    // Haiku 5.5 is priced by prompt length ("From $0.10 / $0.50": the rates change above 100,000 prompt tokens), and the page's full table for the upper band was not
    // checked: no price, so a budgeted key is not served it until an operator prices it (pricing.models, whose long_context can hold the upper band).
    { model: "claude-haiku-5-5", ...CLAUDE_5, source: modelPage("haiku-5-5", CLAUDE_5_CHECKED) },
    // Legacy (https://platform.claude.com/docs/en/models/opus-5/overview): thinking on by default, "disabled" taken at effort high or below.
    { model: "claude-opus-5", ...CLAUDE_5, price: claude(5, 25, 0.5, 6.25, 10), source: modelPage("opus-5", CLAUDE_5_CHECKED) },
    // Claude Code stopped sending Sonnet 5 mid-conversation system messages (2.1.201), and third parties disagree on whether it takes them: they join the system prompt.
    { model: "claude-sonnet-5", ...CLAUDE_5, midConversationSystem: false, parameters: NO_SAMPLING, price: claude(2, 10, 0.2, 2.5, 4), source: modelPage("sonnet-5", CLAUDE_5_CHECKED) },
    { model: "claude-opus-4-8", ...CLAUDE_4_7, midConversationSystem: true, price: claude(5, 25, 0.5, 6.25, 10), source: modelPage("opus-4-8") },
    { model: "claude-opus-4-7", ...CLAUDE_4_7, price: claude(5, 25, 0.5, 6.25, 10), source: modelPage("opus-4-7") },
    { model: "claude-opus-4-6", ...CLAUDE_4_6, price: claude(5, 25, 0.5, 6.25, 10), source: modelPage("opus-4-6") },
    { model: "claude-opus-4-5", snapshots: ["claude-opus-4-5-20251101"], ...CLAUDE_4_RECENT, price: claude(5, 25, 0.5, 6.25, 10), source: checked(MODELS, PRICES) },
    { model: "claude-sonnet-4-6", ...CLAUDE_4_6, price: claude(3, 15, 0.3, 3.75, 6), source: modelPage("sonnet-4-6") },
    { model: "claude-opus-4-1", snapshots: ["claude-opus-4-1-20250805"], ...CLAUDE_4_RECENT, maxOutputTokens: 32_000, price: claude(15, 75, 1.5, 18.75, 30), source: checked(MODELS, PRICES) },
    { model: "claude-opus-4", snapshots: ["claude-opus-4-20250514", "claude-opus-4-0"], ...CLAUDE_4, maxOutputTokens: 32_000, price: claude(15, 75, 1.5, 18.75, 30), source: checked(MODELS, PRICES) },
    { model: "claude-sonnet-4-5", snapshots: ["claude-sonnet-4-5-20250929"], ...CLAUDE_4_RECENT, contextWindow: MILLION, price: SONNET_4_PRICE, source: checked(MODELS, PRICES) },
    { model: "claude-sonnet-4", snapshots: ["claude-sonnet-4-20250514", "claude-sonnet-4-0"], ...CLAUDE_4, contextWindow: MILLION, price: SONNET_4_PRICE, source: checked(MODELS, PRICES) },
    { model: "claude-haiku-4-5", snapshots: ["claude-haiku-4-5-20251001"], ...CLAUDE_4_RECENT, price: claude(1, 5, 0.1, 1.25, 2), source: checked(MODELS, PRICES) },
    { model: "claude-3-7-sonnet", snapshots: ["claude-3-7-sonnet-20250219", "claude-3-7-sonnet-latest"], ...CLAUDE_4, price: claude(3, 15, 0.3, 3.75, 6), source: checked(MODELS, PRICES) },
    { model: "claude-3-5-sonnet", snapshots: ["claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20240620", "claude-3-5-sonnet-latest"], ...BEFORE_OPUS_4_8, contextWindow: 200_000, maxOutputTokens: 8_192, reasoning: null, price: claude(3, 15, 0.3, 3.75, 6), source: checked(MODELS, PRICES) },
    { model: "claude-3-5-haiku", snapshots: ["claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"], ...BEFORE_OPUS_4_8, contextWindow: 200_000, maxOutputTokens: 8_192, imageInput: false, reasoning: null, price: claude(0.8, 4, 0.08, 1, 1.6), source: checked(MODELS, PRICES) },
    { model: "claude-3-opus", snapshots: ["claude-3-opus-20240229", "claude-3-opus-latest"], ...BEFORE_OPUS_4_8, contextWindow: 200_000, maxOutputTokens: 4_096, reasoning: null, price: claude(15, 75, 1.5, 18.75, 30), source: checked(MODELS, PRICES) },
    { model: "claude-3-haiku", snapshots: ["claude-3-haiku-20240307"], ...BEFORE_OPUS_4_8, contextWindow: 200_000, maxOutputTokens: 4_096, reasoning: null, price: claude(0.25, 1.25, 0.03, 0.3, 0.5), source: checked(MODELS, PRICES) },
  ],
};
