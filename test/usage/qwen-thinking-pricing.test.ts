// Qwen's hybrid models have an output price per mode: a call in thinking mode
// has its whole output, answer and reasoning alike, billed at the thinking
// price (qwen-plus ¥8 against ¥2 a million, qwen-turbo ¥6 against ¥0.6).
import { describe, expect, it } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { buildUsageConfig } from "../../src/config/usage-config.js";
import { PriceTable } from "../../src/usage/pricing.js";

const USD_PER_CNY = 0.14; // the default exchange rate
const nanos = (tokens: number, cnyPerMillion: number) => (tokens * cnyPerMillion * USD_PER_CNY * 1e9) / 1e6;

describe("Qwen's thinking-mode prices", () => {
  const table = new PriceTable(buildUsageConfig({}, {}, "test", "/tmp").pricing, Catalogue.shipped());

  it("bills the whole output of a call that thought at the thinking price", () => {
    expect(table.cost("dashscope", "qwen-plus", { promptTokens: 0, completionTokens: 1000, cachedTokens: 0, reasoningTokens: 300 })).toBeCloseTo(nanos(1000, 8), -1);
    expect(table.cost("dashscope", "qwen-turbo", { promptTokens: 0, completionTokens: 1000, cachedTokens: 0, reasoningTokens: 1 })).toBeCloseTo(nanos(1000, 6), -1);
  });

  it("bills a call that did not think at the output price", () => {
    expect(table.cost("dashscope", "qwen-plus", { promptTokens: 1000, completionTokens: 1000, cachedTokens: 0 })).toBeCloseTo(nanos(1000, 0.8) + nanos(1000, 2), -1);
  });

  it("reserves every token of a call to such a model at the thinking price, since it may think", () => {
    expect(table.estimate("dashscope", "qwen-plus", 1000)).toBeCloseTo(nanos(1000, 8), -1);
  });
});
