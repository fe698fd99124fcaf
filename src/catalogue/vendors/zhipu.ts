// Zhipu's GLM models. Prices per million tokens in yuan from its 2025 price
// list (cache hits at a fifth of the input price where the model caches, see
// GLM45); rules from the chat completions reference.
import type { VendorFile } from "../schema.js";
import { chatModels, checked, cny, embeddingModel } from "./helpers.js";

const PRICING = "https://open.bigmodel.cn/pricing";

/**
 * GLM-4.5 and GLM-4.5-Air think unless told `thinking: {type: "disabled"}`
 * ("supports enabled and disabled; dynamic thinking is on by default",
 * https://docs.bigmodel.cn/cn/guide/models/text/glm-4.5), and return `reasoning_content`.
 */
const THINKING = { always: false, byDefault: true, control: "toggle" as const, returnsText: true };

const GLM4 = { contextWindow: 128_000, maxOutputTokens: 4_095 };

/**
 * GLM-4.5 and GLM-4.5-Air cache prompts on their own and report the hits as
 * `prompt_tokens_details.cached_tokens`, billed at a fifth of the input price
 * (the rows' third price): GLM-4.5 ¥0.4 against ¥2 on the price list, and "if
 * your request triggers a cache hit, the cached content will be calculated at
 * 1/5 of the original price" (https://docs.z.ai/help/faq, "How does cache
 * works in GLM-4.5?"; z.ai's USD list likewise, $0.11 against $0.60). The
 * GLM-4 rows list no cache price: hits, if ever reported, are billed as input
 * (and logged, src/catalogue/token-prices.ts).
 */
const GLM45 = { contextWindow: 128_000, maxOutputTokens: 96_000, reasoning: THINKING };

export const ZHIPU: VendorFile = {
  provider: "zhipu",
  defaults: {
    // response_format takes "text" and "json_object" only.
    ...chatModels({ jsonSchema: false, parallelToolCalls: false, imageInput: false }),
    // stop: "only a single stop word for now", as ["stop_word1"].
    maxStopSequences: 1,
    parameters: {
      // temperature is [0.0, 1.0] and top_p [0.01, 1.0]: the contract's wider ranges are clamped.
      ranges: { temperature: { min: 0, max: 1, fit: "clamp" }, topP: { min: 0.01, max: 1, fit: "clamp" } },
      // The reference documents no seed and no penalties.
      ignored: ["seed", "presencePenalty", "frequencyPenalty"],
    },
    // The end user's id is `user_id`, not OpenAI's `user`.
    wire: { maxTokensField: "max_tokens", userField: "user_id", reasoningSwitch: "thinking" },
    source: checked("https://docs.bigmodel.cn/api-reference/%E6%A8%A1%E5%9E%8B-api/%E5%AF%B9%E8%AF%9D%E8%A1%A5%E5%85%A8", "2026-12-01"),
  },
  models: [
    { model: "glm-4.5", ...GLM45, price: cny(2, 8, 0.4), source: checked(PRICING, "2025") },
    { model: "glm-4.5-air", ...GLM45, price: cny(0.8, 2, 0.16), source: checked(PRICING, "2025") },
    { model: "glm-4-plus", ...GLM4, price: cny(5, 5), source: checked(PRICING, "2025") },
    { model: "glm-4-air", ...GLM4, price: cny(0.5, 0.5), source: checked(PRICING, "2025") },
    { model: "glm-4-flash", ...GLM4, price: cny(0, 0), source: checked(PRICING, "2025") },
    { model: "embedding-3", ...embeddingModel(8_192, 2048, 64, [256, 512, 1024]), price: cny(0.5, 0), source: checked(PRICING, "2025") },
    { model: "embedding-2", ...embeddingModel(512, 1024, 64), source: checked("https://docs.bigmodel.cn/cn/guide/models/embedding/embedding-2", "2026-12-01") },
  ],
};
