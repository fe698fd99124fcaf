import { describe, expect, it } from "vitest";
import type { KeyBudget } from "../../src/auth/key-policy.js";
import { ConfigError } from "../../src/config/config-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import { buildUsageConfig } from "../../src/config/usage-config.js";
import { currentPeriod, decide, MemorySpendCounter, type BudgetAsk } from "../../src/usage/budgets.js";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { PriceTable } from "../../src/usage/pricing.js";

const tokens = (promptTokens: number, completionTokens: number, cachedTokens = 0) => ({ promptTokens, completionTokens, cachedTokens });

describe("the price table", () => {
  const catalogue = Catalogue.shipped();
  const table = new PriceTable(buildUsageConfig({}, {}, "test", "/tmp").pricing, catalogue);

  it("prices a call from the shipped defaults, in nano-dollars", () => {
    // gpt-4o: $2.50 in, $10 out per million tokens.
    expect(table.cost("openai", "gpt-4o", tokens(1_000_000, 0))).toBe(2.5e9);
    expect(table.cost("openai", "gpt-4o", tokens(1000, 500))).toBe(1000 * 2500 + 500 * 10_000);
    // Cached prompt tokens at the cached price ($1.25).
    expect(table.cost("openai", "gpt-4o", tokens(1000, 0, 400))).toBe(600 * 2500 + 400 * 1250);
  });

  it("prices dated and suffixed versions by the longest known name, not a shorter one", () => {
    expect(table.cost("openai", "gpt-4o-mini-2024-07-18", tokens(1_000_000, 0))).toBe(0.15e9);
    expect(table.cost("anthropic", "claude-3-5-haiku-20241022", tokens(1_000_000, 0))).toBe(0.8e9);
    expect(table.cost("openai", "gpt-4o-2024-08-06", tokens(1_000_000, 0))).toBe(2.5e9);
    expect(table.isPriced("openai", "gpt-4omni")).toBe(false);
  });

  it("converts vendors' CNY prices to the accounting currency", () => {
    // qwen-plus: ¥0.8 per million prompt tokens, at the default 0.14 USD per CNY.
    expect(table.cost("dashscope", "qwen-plus", tokens(1_000_000, 0))).toBeCloseTo(0.8 * 0.14 * 1e9, -1);
  });

  it("prices a dated model by the row that lists it, never by a shorter name it starts with", () => {
    expect(table.cost("anthropic", "claude-opus-4-1-20250805", tokens(1_000_000, 0))).toBe(15e9);
    // Dates no row lists: not claude-opus-4's $15 (nor a guess at claude-opus-4-6's $5), no price at all.
    expect(table.isPriced("anthropic", "claude-opus-4-6-20260205")).toBe(false);
    expect(table.isPriced("openai", "gpt-5.4-mini-2026-03-17")).toBe(false);
  });

  it("costs nothing for an unknown model, and says it has no price", () => {
    expect(table.isPriced("ollama", "llama3.2")).toBe(false);
    expect(table.cost("ollama", "llama3.2", tokens(1000, 1000))).toBe(0);
  });

  it("has a default price for well-known models of every vendor, from the model catalogue", () => {
    const served = [["openai", "gpt-4o"], ["anthropic", "claude-sonnet-4"], ["gemini", "gemini-2.5-flash"], ["deepseek", "deepseek-chat"], ["moonshot", "moonshot-v1-8k"], ["zhipu", "glm-4-plus"], ["qianfan", "ernie-4.0-8k"], ["dashscope", "qwen-max"]];
    for (const [provider, model] of served) {
      expect(catalogue.lookup(provider!, model!)?.facts.price, model).toBeDefined();
      expect(table.isPriced(provider!, model!), model).toBe(true);
    }
  });

  it("prices reasoning tokens as output, unless the model's price says otherwise", () => {
    // o3: $2 in, $8 out; 300 of the 1,000 completion tokens were reasoning.
    expect(table.cost("openai", "o3", { ...tokens(0, 1000), reasoningTokens: 300 })).toBe(1000 * 8000);
    const config = buildConfig({ pricing: { models: { "o3": { input: 2, output: 8, reasoning: 4 } } } }, {}, "test");
    const apart = new PriceTable(config.usage!.pricing, catalogue);
    expect(apart.cost("openai", "o3", { ...tokens(0, 1000), reasoningTokens: 300 })).toBe(700 * 8000 + 300 * 4000);
  });

  it("lets the config override and add prices, by name, glob or provider/model", () => {
    const config = buildConfig(
      {
        pricing: {
          exchange_rates: { EUR: 1.1 },
          models: {
            "gpt-4o": { input: 1, output: 2 },
            "llama*": { input: 0.1, output: 0.1 },
            "ollama/special": { input: 3, output: 3, currency: "EUR" },
          },
        },
      },
      {},
      "test",
    );
    const custom = new PriceTable(config.usage!.pricing, catalogue);
    expect(custom.cost("openai", "gpt-4o", tokens(1_000_000, 1_000_000))).toBe(3e9);
    // Defaults still apply to what the config leaves alone.
    expect(custom.cost("openai", "gpt-4o-mini", tokens(1_000_000, 0))).toBe(0.15e9);
    expect(custom.cost("ollama", "llama3.2", tokens(1_000_000, 0))).toBe(0.1e9);
    expect(custom.cost("ollama", "special", tokens(1_000_000, 0))).toBeCloseTo(3.3e9, -1);
  });

  it("refuses a price in a currency it cannot convert, naming the field", () => {
    expect(() => buildConfig({ pricing: { models: { x: { input: 1, output: 1, currency: "JPY" } } } }, {}, "file.yaml")).toThrow(ConfigError);
    expect(() => buildConfig({ pricing: { models: { x: { input: 1, output: 1, currency: "JPY" } } } }, {}, "file.yaml")).toThrow(/pricing\.models\.x\.currency.*JPY/);
  });
});

describe("budget periods and decisions", () => {
  it("uses calendar periods in UTC; weeks start on Monday", () => {
    const now = Date.UTC(2026, 2, 11, 15, 30); // Wednesday 11 March 2026
    expect(currentPeriod("month", now)).toEqual({ startMs: Date.UTC(2026, 2, 1), endMs: Date.UTC(2026, 3, 1) });
    expect(currentPeriod("week", now)).toEqual({ startMs: Date.UTC(2026, 2, 9), endMs: Date.UTC(2026, 2, 16) });
    expect(currentPeriod("day", now)).toEqual({ startMs: Date.UTC(2026, 2, 11), endMs: Date.UTC(2026, 2, 12) });
    expect(currentPeriod("month", Date.UTC(2026, 11, 31, 23))).toEqual({ startMs: Date.UTC(2026, 11, 1), endMs: Date.UTC(2027, 0, 1) });
  });

  const budget: KeyBudget = { limitNanos: 1000, period: "month", softThreshold: 0.9, whenExhausted: "refuse" };
  const ask = (overrides: Partial<BudgetAsk> = {}): BudgetAsk => ({
    keyId: "k",
    budget,
    period: currentPeriod("month"),
    reserveNormal: 50,
    reserveEconomy: 5,
    ...overrides,
  });

  it("switches to the economy model at the soft threshold, before the budget is gone", () => {
    expect(decide(899, ask())).toEqual({ decision: "normal", reserve: 50 });
    expect(decide(900, ask())).toEqual({ decision: "economy", reserve: 5 });
    // Without an economy mapping the requested model keeps serving until the limit.
    expect(decide(950, ask({ reserveEconomy: undefined }))).toEqual({ decision: "normal", reserve: 50 });
  });

  it("refuses at the limit, or serves only economy models when configured so", () => {
    expect(decide(1000, ask()).decision).toBe("refused");
    const economyOnly = { ...budget, whenExhausted: "economy_only" as const };
    expect(decide(1000, ask({ budget: economyOnly }))).toEqual({ decision: "economy", reserve: 5 });
    expect(decide(1000, ask({ budget: economyOnly, reserveEconomy: undefined })).decision).toBe("refused");
  });

  it("counts calls in flight: reservations hold until they settle with the real cost", async () => {
    const counter = new MemorySpendCounter(async () => 850);
    const a = await counter.admit(ask());
    expect(a).toMatchObject({ decision: "normal", spentNanos: 850, reservedNanos: 50 });
    // Another call while the first is in flight sees its reservation.
    const b = await counter.admit(ask());
    expect(b).toMatchObject({ decision: "economy", spentNanos: 900, reservedNanos: 5 });
    await a.settle(20);
    await b.settle(2);
    // A settlement counts once, however often it is called.
    await a.settle(20);
    expect(await counter.spent("k", ask().period)).toBe(872);
    counter.close();
  });
});
