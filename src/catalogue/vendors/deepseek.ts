// DeepSeek's models. Prices per million tokens (cache hits at the cache-hit
// input price) from its 2025 price list; rules from the API reference and
// the thinking-mode guide.
import type { VendorFile } from "../schema.js";
import { chatModels, checked, usd } from "./helpers.js";

const PRICING = "https://api-docs.deepseek.com/quick_start/pricing";

/**
 * Thinking mode: switched on by the reasoner model or `thinking: {type:
 * "enabled"}`, steered by `reasoning_effort` (low or high; medium counts as
 * high); temperature, top_p and the penalties have no effect while thinking;
 * the reasoning comes back as `reasoning_content`, and after tool calls it
 * must be sent back with the assistant turns, else 400
 * (https://api-docs.deepseek.com/guides/thinking_mode); logprobs and
 * top_logprobs are not supported there, and "will trigger an error"
 * (https://api-docs.deepseek.com/guides/reasoning_model).
 */
const THINKING = {
  control: "effort" as const,
  efforts: ["low" as const, "high" as const],
  returnsText: true,
  replay: "text" as const,
  parameters: { ignored: ["temperature" as const, "topP" as const, "presencePenalty" as const, "frequencyPenalty" as const] },
  noLogprobs: true,
};

export const DEEPSEEK: VendorFile = {
  provider: "deepseek",
  defaults: {
    contextWindow: 128_000,
    // response_format takes "text" and "json_object" only.
    ...chatModels({ jsonSchema: false, parallelToolCalls: true, imageInput: false }),
    // stop: "Up to 16 sequences".
    maxStopSequences: 16,
    // The API reference documents no `seed` and no `user`: they are ignored.
    parameters: { ignored: ["seed", "user"] },
    wire: { maxTokensField: "max_tokens", reasoningEffortField: "reasoning_effort", reasoningSwitch: "thinking" },
    source: checked("https://api-docs.deepseek.com/api/create-chat-completion", "2026-12-01"),
  },
  models: [
    { model: "deepseek-chat", maxOutputTokens: 8_192, reasoning: { ...THINKING, always: false }, price: usd(0.27, 1.1, 0.07), source: checked(PRICING, "2025") },
    { model: "deepseek-reasoner", maxOutputTokens: 65_536, reasoning: { ...THINKING, always: true }, price: usd(0.55, 2.19, 0.14), source: checked(PRICING, "2025") },
  ],
};
