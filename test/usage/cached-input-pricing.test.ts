// Cache hits at the vendors' cache prices: Qwen's implicit cache and GLM-4.5's
// bill a hit at a fifth of the input price, Gemini 1.5 at its context-caching
// price; and a model whose price has no cached-input price, whose hits are
// billed as input, is logged once, so that an operator sees the fallback.
import { describe, expect, it, vi } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { buildUsageConfig } from "../../src/config/usage-config.js";
import { PriceTable, type TokenCounts } from "../../src/usage/pricing.js";

const pricing = buildUsageConfig({}, {}, "test", "/tmp").pricing;
const catalogue = Catalogue.shipped();
const USD_PER_CNY = pricing.exchangeRates.CNY!;
/** Nano-dollars for `tokens` tokens at `perMillion` per million in the given currency. */
const nanos = (tokens: number, perMillion: number, currency: "CNY" | "USD") => (tokens * perMillion * (currency === "CNY" ? USD_PER_CNY : 1) * 1e9) / 1e6;

const uncached: TokenCounts = { promptTokens: 1_000_000, cachedTokens: 0, completionTokens: 0 };
const mostlyCached: TokenCounts = { promptTokens: 1_000_000, cachedTokens: 900_000, completionTokens: 0 };

describe("cache hits", () => {
  const table = new PriceTable(pricing, catalogue);

  it.each([
    // provider, model, input, cache hit (per million), currency
    ["zhipu", "glm-4.5", 2, 0.4, "CNY"],
    ["zhipu", "glm-4.5-air", 0.8, 0.16, "CNY"],
    ["dashscope", "qwen-max", 2.4, 0.48, "CNY"],
    ["dashscope", "qwen-plus", 0.8, 0.16, "CNY"],
    ["dashscope", "qwen-turbo", 0.3, 0.06, "CNY"],
    ["gemini", "gemini-1.5-pro", 1.25, 0.3125, "USD"],
    ["gemini", "gemini-1.5-flash", 0.075, 0.01875, "USD"],
  ] as const)("on %s %s cost the cache price, less than the input price", (provider, model, input, hit, currency) => {
    const cost = table.cost(provider, model, mostlyCached);
    expect(cost).toBeCloseTo(nanos(100_000, input, currency) + nanos(900_000, hit, currency), -1);
    expect(cost).toBeLessThan(table.cost(provider, model, uncached));
  });
});

describe("cache hits on a model with no cached-input price", () => {
  const warnings = () => {
    const logger = { warn: vi.fn() };
    return { logger, table: new PriceTable(pricing, catalogue, logger) };
  };

  it("are billed at the input price, and said once per model, naming it", () => {
    const { logger, table } = warnings();
    // glm-4-plus: ¥5 in and out, no cache price.
    expect(table.cost("zhipu", "glm-4-plus", mostlyCached)).toBeCloseTo(nanos(1_000_000, 5, "CNY"), -1);
    table.cost("zhipu", "glm-4-plus", mostlyCached);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![0]).toEqual({ provider: "zhipu", model: "glm-4-plus" });
    expect(logger.warn.mock.calls[0]![1]).toMatch(/"zhipu\/glm-4-plus".*no cached-input price.*full input price/);

    table.cost("zhipu", "glm-4-air", mostlyCached);
    expect(logger.warn).toHaveBeenCalledTimes(2);
    expect(logger.warn.mock.calls[1]![0]).toEqual({ provider: "zhipu", model: "glm-4-air" });
  });

  it("are not said of a call with none, a model with a cache price, or a free one", () => {
    const { logger, table } = warnings();
    table.cost("zhipu", "glm-4-plus", uncached);
    table.cost("zhipu", "glm-4.5", mostlyCached);
    table.cost("dashscope", "qwen-max", mostlyCached);
    table.cost("zhipu", "glm-4-flash", mostlyCached);
    expect(logger.warn).not.toHaveBeenCalled();
  });
});
