// Prompt-cache writes and Anthropic's long-context tier in the price table:
// what a call costs, and that a call's reservation still bounds it.
import { describe, expect, it } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { buildConfig } from "../../src/config/load-config.js";
import { PriceTable, type TokenCounts } from "../../src/usage/pricing.js";

const catalogue = Catalogue.shipped();
const table = new PriceTable(buildConfig({}, {}, "test").usage!.pricing, catalogue);

/** Nano-dollars per token at a price of `perMillion` dollars per million tokens. */
const at = (perMillion: number) => perMillion * 1000;

describe("cache writes", () => {
  it("are charged at the five-minute and the hour-long write prices, apart from reads and other input", () => {
    // claude-sonnet-4-5: in $3, cache hits $0.30, writes $3.75 (5 min) and $6 (1 h), out $15.
    const tokens: TokenCounts = { promptTokens: 110_010, cachedTokens: 5_000, cacheWriteTokens: 100_000, cacheWrite1hTokens: 60_000, completionTokens: 5 };
    expect(table.cost("anthropic", "claude-sonnet-4-5", tokens)).toBe(5_010 * at(3) + 5_000 * at(0.3) + 40_000 * at(3.75) + 60_000 * at(6) + 5 * at(15));
  });

  it("are five-minute writes when the vendor does not say their lifetime", () => {
    const tokens: TokenCounts = { promptTokens: 100_010, cachedTokens: 0, cacheWriteTokens: 100_000, completionTokens: 5 };
    expect(table.cost("anthropic", "claude-opus-4-6", tokens)).toBe(10 * at(5) + 100_000 * at(6.25) + 5 * at(25));
  });

  it("cost the input price on a model with no write price", () => {
    // gpt-4o: in $2.50, cached $1.25: writes, where a vendor reports them, are input.
    const tokens: TokenCounts = { promptTokens: 1_000, cachedTokens: 400, cacheWriteTokens: 500, cacheWrite1hTokens: 100, completionTokens: 0 };
    expect(table.cost("openai", "gpt-4o", tokens)).toBe(600 * at(2.5) + 400 * at(1.25));
  });

  it("never count for more than the prompt they are part of", () => {
    // A vendor's inconsistent counts: the writes are what is left of the prompt after the reads, and the hour-long ones at most the writes.
    const tokens: TokenCounts = { promptTokens: 100, cachedTokens: 60, cacheWriteTokens: 500, cacheWrite1hTokens: 900, completionTokens: 0 };
    expect(table.cost("anthropic", "claude-sonnet-4-5", tokens)).toBe(60 * at(0.3) + 40 * at(6));
  });

  it("take the operator's write prices, from pricing.models and from catalogue rows", () => {
    const config = buildConfig(
      {
        pricing: { models: { "my-claude": { input: 1, output: 2, cache_write: 4, cache_write_hour: 8 } } },
        models: [{ provider: "anthropic", model: "house-model", price: { input: 1, output: 2, cache_write: 3, currency: "USD" }, source: { url: "https://wiki.example.com/prices", date: "2026-12-01" } }],
      },
      {},
      "switchboard.yaml",
    );
    const custom = new PriceTable(config.usage!.pricing, Catalogue.shipped(config.catalogue!.models));
    const writes: TokenCounts = { promptTokens: 300, cachedTokens: 0, cacheWriteTokens: 300, cacheWrite1hTokens: 100, completionTokens: 0 };
    expect(custom.cost("anthropic", "my-claude", writes)).toBe(200 * at(4) + 100 * at(8));
    // No hour-long price: the row's write price.
    expect(custom.cost("anthropic", "house-model", writes)).toBe(300 * at(3));
  });
});

describe("the long-context tier", () => {
  it("prices every token of a prompt over 200K tokens at the tier's prices, on a model with the 1M-context beta", () => {
    // claude-sonnet-4-5 over 200K: in $6, out $22.50, cache hits $0.60, writes $7.50 and $12.
    const long: TokenCounts = { promptTokens: 250_003, cachedTokens: 0, completionTokens: 5 };
    expect(table.cost("anthropic", "claude-sonnet-4-5", long)).toBe(250_003 * at(6) + 5 * at(22.5));
    const cached: TokenCounts = { promptTokens: 250_000, cachedTokens: 100_000, cacheWriteTokens: 100_000, cacheWrite1hTokens: 30_000, completionTokens: 1_000, reasoningTokens: 400 };
    expect(table.cost("anthropic", "claude-sonnet-4", cached)).toBe(50_000 * at(6) + 100_000 * at(0.6) + 70_000 * at(7.5) + 30_000 * at(12) + 1_000 * at(22.5));
  });

  it("starts past 200,000 prompt tokens, cache reads and writes counted", () => {
    const prompt = (promptTokens: number, cachedTokens = 0): TokenCounts => ({ promptTokens, cachedTokens, completionTokens: 0 });
    expect(table.cost("anthropic", "claude-sonnet-4-5", prompt(200_000))).toBe(200_000 * at(3));
    expect(table.cost("anthropic", "claude-sonnet-4-5", prompt(200_001))).toBe(200_001 * at(6));
    // 1 uncached token and 200,000 read from the cache: over the mark.
    expect(table.cost("anthropic", "claude-sonnet-4-5", prompt(200_001, 200_000))).toBe(1 * at(6) + 200_000 * at(0.6));
  });

  it("does not apply to a model billed at its standard prices over its whole context", () => {
    // From Claude 4.6 on, the 1M window costs the standard prices.
    expect(table.cost("anthropic", "claude-opus-4-6", { promptTokens: 900_000, cachedTokens: 0, completionTokens: 10 })).toBe(900_000 * at(5) + 10 * at(25));
  });

  it("takes an operator row's own tier, its unset prices falling back within the tier", () => {
    const config = buildConfig(
      {
        models: [
          {
            provider: "acme",
            model: "acme-long",
            price: { input: 1, output: 2, currency: "USD", long_context: { above: 1_000, input: 10, output: 20 } },
            source: { url: "https://wiki.example.com/prices", date: "2026-12-01" },
          },
        ],
      },
      {},
      "switchboard.yaml",
    );
    const custom = new PriceTable(config.usage!.pricing, Catalogue.shipped(config.catalogue!.models));
    expect(custom.cost("acme", "acme-long", { promptTokens: 1_000, cachedTokens: 0, completionTokens: 1 })).toBe(1_000 * at(1) + at(2));
    // Over the mark: reads and writes at the tier's input price, its only prompt price.
    expect(custom.cost("acme", "acme-long", { promptTokens: 1_001, cachedTokens: 1, cacheWriteTokens: 1, completionTokens: 1 })).toBe(1_001 * at(10) + at(20));
  });
});

describe("a call's reservation", () => {
  /** Every way `total` tokens could be billed on one model: prompt and completion split, the prompt's cache reads and writes, and writes' lifetimes. */
  function* splits(total: number): Generator<TokenCounts> {
    for (const promptShare of [0, 0.5, 0.9, 1]) {
      const promptTokens = Math.round(total * promptShare);
      for (const cachedShare of [0, 0.5]) {
        for (const writeShare of [0, 0.5, 1]) {
          const cachedTokens = Math.round(promptTokens * cachedShare);
          const cacheWriteTokens = Math.round((promptTokens - cachedTokens) * writeShare);
          for (const hourShare of [0, 1]) {
            yield { promptTokens, cachedTokens, cacheWriteTokens, cacheWrite1hTokens: Math.round(cacheWriteTokens * hourShare), completionTokens: total - promptTokens };
          }
        }
      }
    }
  }

  it.each([
    ["claude-sonnet-4-5", 150_000],
    ["claude-sonnet-4-5", 264_000],
    ["claude-sonnet-4-5", 1_064_000],
    ["claude-opus-4-6", 1_064_000],
    ["claude-3-haiku", 204_096],
  ])("bounds what any call of %s within %i tokens can cost, hour-long writes and long prompts included", (model, bound) => {
    const reserved = table.estimate("anthropic", model, bound);
    for (const tokens of splits(bound)) expect(table.cost("anthropic", model, tokens), JSON.stringify(tokens)).toBeLessThanOrEqual(reserved);
  });

  it("stays at the output price for a call that cannot reach the long-context tier", () => {
    // The dearest token of a short call on claude-sonnet-4-5 is an output token ($15), dearer than an hour-long write ($6).
    expect(table.estimate("anthropic", "claude-sonnet-4-5", 200_000)).toBe(200_000 * at(15));
    expect(table.estimate("anthropic", "claude-sonnet-4-5", 200_001)).toBe(200_001 * at(22.5));
  });
});
