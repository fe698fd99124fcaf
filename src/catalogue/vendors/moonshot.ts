// Moonshot's Kimi models. Prices per million tokens in yuan from its 2025
// price list; rules from the chat API reference.
import type { VendorFile } from "../schema.js";
import { chatModels, checked, cny } from "./helpers.js";

const PRICING = "https://platform.moonshot.cn/docs/pricing/chat";

export const MOONSHOT: VendorFile = {
  provider: "moonshot",
  defaults: {
    // response_format takes {"type": "json_object"} only.
    ...chatModels({ jsonSchema: false, parallelToolCalls: true, imageInput: false }),
    // stop: at most 5 strings of at most 32 bytes each.
    maxStopSequences: 5,
    parameters: {
      // temperature is [0, 1] (0.3 recommended): the contract's 0-2 is clamped.
      ranges: { temperature: { min: 0, max: 1, fit: "clamp" } },
      // The reference documents no `seed` and no `user`.
      ignored: ["seed", "user"],
    },
    wire: { maxTokensField: "max_tokens" },
    source: checked("https://platform.moonshot.cn/docs/api/chat", "2026-12-01"),
  },
  models: [
    { model: "moonshot-v1-8k", contextWindow: 8_192, maxOutputTokens: 8_192, price: cny(2, 10), source: checked(PRICING, "2025") },
    { model: "moonshot-v1-32k", contextWindow: 32_768, maxOutputTokens: 32_768, price: cny(5, 20), source: checked(PRICING, "2025") },
    { model: "moonshot-v1-128k", contextWindow: 131_072, maxOutputTokens: 131_072, price: cny(10, 30), source: checked(PRICING, "2025") },
    { model: "kimi-k2", contextWindow: 131_072, maxOutputTokens: 131_072, price: cny(4, 16, 1), source: checked(PRICING, "2025") },
    { model: "kimi-latest", contextWindow: 131_072, maxOutputTokens: 131_072, imageInput: true, price: cny(2, 10, 1), source: checked(PRICING, "2025") },
  ],
};
