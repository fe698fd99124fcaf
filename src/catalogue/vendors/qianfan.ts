// Baidu Qianfan's ERNIE models, for both of its APIs (v2, OpenAI-compatible;
// v1, wenxinworkshop). Prices per million tokens in yuan from its 2025 price
// list; limits from each model's API page.
import type { VendorFile } from "../schema.js";
import { chatModels, checked, cny, embeddingModel } from "./helpers.js";

const PRICING = "https://cloud.baidu.com/doc/WENXINWORKSHOP/s/hlrk4akp7";
const V1_DOCS = "https://cloud.baidu.com/doc/WENXINWORKSHOP/s";

const SHORT = { contextWindow: 8_192, maxOutputTokens: 2_048 };
const LONG = { contextWindow: 131_072, maxOutputTokens: 4_096 };


export const QIANFAN: VendorFile = {
  provider: "qianfan",
  nativeDialect: "qianfan-v1",
  defaults: {
    ...chatModels({ jsonSchema: true, parallelToolCalls: false, imageInput: false }),
    // stop: at most 4 elements of at most 20 characters each (v1 and v2 alike).
    maxStopSequences: 4,
    parameters: {
      // ERNIE's temperature is (0, 1.0]: Baidu's own OpenAI adapter halves OpenAI's 0-2, and 0 becomes the smallest it takes.
      ranges: { temperature: { min: 0.01, max: 1, fit: "scale" }, topP: { min: 0, max: 1, fit: "clamp" } },
      // max_output_tokens starts at 2.
      minMaxTokens: 2,
    },
    wire: { maxTokensField: "max_tokens" },
    source: checked("https://cloud.baidu.com/doc/qianfan-api/s/3m7of64lb", "2026-12-01"),
  },
  dialects: {
    // wenxinworkshop: response_format is the string "json_object" (no schemas); no seed, and only one penalty (penalty_score, from presence_penalty);
    // the system prompt is the top-level `system` field; tool_choice names one function, nothing else.
    "qianfan-v1": { jsonSchema: false, parameters: { ignored: ["seed", "frequencyPenalty"] }, midConversationSystem: false, requiredToolChoice: false },
  },
  models: [
    { model: "ernie-4.5-turbo-128k", contextWindow: 131_072, maxOutputTokens: 12_288, price: cny(0.8, 3.2), source: checked(PRICING, "2025") },
    { model: "ernie-4.0-turbo-8k", ...SHORT, price: cny(20, 60), source: checked(PRICING, "2025") },
    { model: "ernie-4.0-turbo-128k", ...LONG, source: checked(`${V1_DOCS}/7lxwwtafj`, "2026-12-01") },
    { model: "ernie-4.0-8k", ...SHORT, price: cny(30, 90), source: checked(PRICING, "2025") },
    { model: "ernie-3.5-8k", ...SHORT, price: cny(0.8, 2), source: checked(PRICING, "2025") },
    { model: "ernie-3.5-128k", ...LONG, source: checked(`${V1_DOCS}/jlil56u11`, "2026-12-01") },
    { model: "ernie-speed-8k", ...SHORT, source: checked(`${V1_DOCS}/6ltgkzya5`, "2026-12-01") },
    { model: "ernie-speed-128k", ...LONG, price: cny(0, 0), source: checked(PRICING, "2025") },
    { model: "ernie-speed-pro-128k", ...LONG, source: checked(`${V1_DOCS}/Pm2nsjdb9`, "2026-12-01") },
    { model: "ernie-lite-8k", ...SHORT, price: cny(0, 0), source: checked(PRICING, "2025") },
    { model: "ernie-lite-8k-0922", ...SHORT, maxOutputTokens: 1_024, price: cny(0, 0), source: checked(PRICING, "2025") },
    { model: "ernie-tiny-8k", ...SHORT, source: checked(`${V1_DOCS}/Ilxpm1r4m`, "2026-12-01") },
    { model: "embedding-v1", ...embeddingModel(512, 384, 16), source: checked(`${V1_DOCS}/alj562vvu`, "2026-12-01") },
    { model: "bge-large-zh", ...embeddingModel(512, 1024, 16), source: checked(`${V1_DOCS}/mllz05nzk`, "2026-12-01") },
    { model: "bge-large-en", ...embeddingModel(512, 1024, 16), source: checked(`${V1_DOCS}/mllz05nzk`, "2026-12-01") },
    { model: "tao-8k", ...embeddingModel(8_192, 1024, 1), source: checked(`${V1_DOCS}/7lq0buxys`, "2026-12-01") },
  ],
};
