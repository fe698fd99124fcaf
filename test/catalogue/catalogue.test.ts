// The model catalogue's files and lookups: every shipped row validates and
// names its source, a row without one is refused, prices agree with the table
// the catalogue replaced, and operators' YAML rows add to it or override it.
import { describe, expect, it } from "vitest";
import { Catalogue, CatalogueError, validateVendor } from "../../src/catalogue/catalogue.js";
import { SHIPPED_VENDORS } from "../../src/catalogue/vendors/index.js";
import { ConfigError } from "../../src/config/config-error.js";
import { buildConfig } from "../../src/config/load-config.js";
import { PriceTable } from "../../src/usage/pricing.js";

const catalogue = Catalogue.shipped();

/**
 * src/usage/default-prices.ts as it was when the catalogue replaced it
 * (model, currency, input, output, cached input per million tokens): every
 * price must have come over unchanged.
 */
const FORMER_DEFAULT_PRICES: [string, "usd" | "cny", number, number, number?][] = [
  ["gpt-5.5", "usd", 5, 30, 0.5],
  ["gpt-5.5-pro", "usd", 30, 180],
  ["gpt-5.4", "usd", 2.5, 15, 0.25],
  ["gpt-5.4-pro", "usd", 30, 180],
  ["gpt-5.4-mini", "usd", 0.75, 4.5, 0.075],
  ["gpt-5.4-nano", "usd", 0.2, 1.25, 0.02],
  ["gpt-5", "usd", 1.25, 10, 0.125],
  ["gpt-5-mini", "usd", 0.25, 2, 0.025],
  ["gpt-5-nano", "usd", 0.05, 0.4, 0.005],
  ["gpt-4.1", "usd", 2, 8, 0.5],
  ["gpt-4.1-mini", "usd", 0.4, 1.6, 0.1],
  ["gpt-4.1-nano", "usd", 0.1, 0.4, 0.025],
  ["gpt-4o", "usd", 2.5, 10, 1.25],
  ["gpt-4o-mini", "usd", 0.15, 0.6, 0.075],
  ["gpt-4-turbo", "usd", 10, 30],
  ["gpt-4", "usd", 30, 60],
  ["gpt-3.5-turbo", "usd", 0.5, 1.5],
  ["o1", "usd", 15, 60, 7.5],
  ["o1-mini", "usd", 1.1, 4.4, 0.55],
  ["o3", "usd", 2, 8, 0.5],
  ["o3-mini", "usd", 1.1, 4.4, 0.55],
  ["o4-mini", "usd", 1.1, 4.4, 0.275],
  ["text-embedding-3-small", "usd", 0.02, 0],
  ["text-embedding-3-large", "usd", 0.13, 0],
  ["text-embedding-ada-002", "usd", 0.1, 0],
  ["claude-opus-4-8", "usd", 5, 25, 0.5],
  ["claude-opus-4-7", "usd", 5, 25, 0.5],
  ["claude-opus-4-6", "usd", 5, 25, 0.5],
  ["claude-opus-4-5", "usd", 5, 25, 0.5],
  ["claude-sonnet-4-6", "usd", 3, 15, 0.3],
  ["claude-opus-4-1", "usd", 15, 75, 1.5],
  ["claude-opus-4", "usd", 15, 75, 1.5],
  ["claude-sonnet-4-5", "usd", 3, 15, 0.3],
  ["claude-sonnet-4", "usd", 3, 15, 0.3],
  ["claude-haiku-4-5", "usd", 1, 5, 0.1],
  ["claude-3-7-sonnet", "usd", 3, 15, 0.3],
  ["claude-3-5-sonnet", "usd", 3, 15, 0.3],
  ["claude-3-5-haiku", "usd", 0.8, 4, 0.08],
  ["claude-3-opus", "usd", 15, 75, 1.5],
  ["claude-3-haiku", "usd", 0.25, 1.25, 0.03],
  ["gemini-3-pro", "usd", 2, 12, 0.2],
  ["gemini-3-flash", "usd", 0.5, 3, 0.05],
  ["gemini-2.5-pro", "usd", 1.25, 10, 0.31],
  ["gemini-2.5-flash", "usd", 0.3, 2.5, 0.075],
  ["gemini-2.5-flash-lite", "usd", 0.1, 0.4, 0.025],
  ["gemini-2.0-flash", "usd", 0.1, 0.4, 0.025],
  ["gemini-2.0-flash-lite", "usd", 0.075, 0.3],
  ["gemini-1.5-pro", "usd", 1.25, 5],
  ["gemini-1.5-flash", "usd", 0.075, 0.3],
  ["gemini-embedding-001", "usd", 0.15, 0],
  ["text-embedding-004", "usd", 0, 0],
  ["deepseek-chat", "usd", 0.27, 1.1, 0.07],
  ["deepseek-reasoner", "usd", 0.55, 2.19, 0.14],
  ["moonshot-v1-8k", "cny", 2, 10],
  ["moonshot-v1-32k", "cny", 5, 20],
  ["moonshot-v1-128k", "cny", 10, 30],
  ["kimi-k2", "cny", 4, 16, 1],
  ["kimi-latest", "cny", 2, 10, 1],
  ["glm-4.5", "cny", 2, 8],
  ["glm-4.5-air", "cny", 0.8, 2],
  ["glm-4-plus", "cny", 5, 5],
  ["glm-4-air", "cny", 0.5, 0.5],
  ["glm-4-flash", "cny", 0, 0],
  ["embedding-3", "cny", 0.5, 0],
  ["ernie-4.5-turbo-128k", "cny", 0.8, 3.2],
  ["ernie-4.0-turbo-8k", "cny", 20, 60],
  ["ernie-4.0-8k", "cny", 30, 90],
  ["ernie-3.5-8k", "cny", 0.8, 2],
  ["ernie-speed-128k", "cny", 0, 0],
  ["ernie-lite-8k", "cny", 0, 0],
  ["qwen-max", "cny", 2.4, 9.6],
  ["qwen-plus", "cny", 0.8, 2],
  ["qwen-turbo", "cny", 0.3, 0.6],
  ["qwen-long", "cny", 0.5, 2],
  ["text-embedding-v3", "cny", 0.5, 0],
  ["text-embedding-v2", "cny", 0.7, 0],
];

describe("the shipped vendor files", () => {
  it("validate, each row with the page and date its facts were checked against", () => {
    for (const vendor of SHIPPED_VENDORS) {
      const checked = validateVendor(vendor, "test");
      for (const row of checked.models) {
        expect(row.source.url, `${vendor.provider} ${row.model}`).toMatch(/^https:\/\//);
        expect(row.source.date, `${vendor.provider} ${row.model}`).toMatch(/^\d{4}(-\d{2}(-\d{2})?)?$/);
      }
    }
  });

  it("refuse a row without a source, naming the vendor, the row and the field", () => {
    const withoutSource = { ...SHIPPED_VENDORS[0], models: [{ model: "gpt-x", contextWindow: 1000 }] };
    expect(() => validateVendor(withoutSource, "test")).toThrow(CatalogueError);
    expect(() => validateVendor(withoutSource, "test")).toThrow(/catalogue vendor "openai", models\[0\] \(gpt-x\): source: every row needs a source/);
    expect(() => new Catalogue([withoutSource])).toThrow(/models\[0\] \(gpt-x\): source/);
    const undated = { ...SHIPPED_VENDORS[0], models: [{ model: "gpt-x", source: { url: "https://example.com/x" } }] };
    expect(() => validateVendor(undated, "test")).toThrow(/models\[0\] \(gpt-x\): source.date/);
  });

  it("refuse an unknown field and a row named twice", () => {
    expect(() => validateVendor({ ...SHIPPED_VENDORS[0], models: [{ model: "x", maxTokens: 5, source: { url: "https://e.com", date: "2026" } }] }, "test")).toThrow(/unknown field\(s\) "maxTokens"/);
    const row = { model: "x", source: { url: "https://e.com", date: "2026" } };
    expect(() => new Catalogue([{ ...SHIPPED_VENDORS[0], models: [row, row] }])).toThrow(/"x" has two rows/);
  });

  it("carry every price of the table they replaced, unchanged", () => {
    const table = new PriceTable(buildConfig({}, {}, "test").usage!.pricing, catalogue);
    for (const [model, currency, input, output, cachedInput] of FORMER_DEFAULT_PRICES) {
      const vendor = catalogue.providers().find((provider) => catalogue.models(provider).some((entry) => entry.model === model));
      expect(vendor, model).toBeDefined();
      const price = catalogue.lookup(vendor!, model)!.facts.price;
      // Prices the table never had (Anthropic's cache writes and long-context tier, the cache prices of Qwen, GLM-4.5 and Gemini 1.5) may be added.
      expect(price, model).toMatchObject({ input, output, currency: currency.toUpperCase(), ...(cachedInput === undefined ? {} : { cachedInput }) });
      if (cachedInput === undefined && price?.cachedInput !== undefined) expect(price.cachedInput, model).toBeLessThan(input);
      expect(table.isPriced(vendor!, model), model).toBe(true);
    }
  });
});

describe("catalogue lookups", () => {
  it("describe a dated version by the longest row it starts with", () => {
    expect(catalogue.lookup("openai", "gpt-4o-mini-2024-07-18")).toMatchObject({ row: "gpt-4o-mini", facts: { maxOutputTokens: 16_384 } });
    expect(catalogue.lookup("anthropic", "claude-opus-4-1-20250805")?.row).toBe("claude-opus-4-1");
    expect(catalogue.lookup("openai", "gpt-4omni")?.row).toBe("");
  });

  it("describe a later version by its families and its vendor, not by an older row whose name it starts with", () => {
    for (const model of ["claude-opus-4-9-20270101", "claude-opus-4-9", "claude-opus-4-10", "claude-sonnet-4-7", "claude-sonnet-4-5.1", "claude-sonnet-6"]) {
      const entry = catalogue.lookup("anthropic", model, "anthropic")!;
      // Not Opus 4's 32K answers, $15 input and refusal of system messages mid-conversation.
      expect(entry, model).toMatchObject({ row: "claude-*", facts: { midConversationSystem: true } });
      expect(entry.facts.price, model).toBeUndefined();
      expect(entry.facts.maxOutputTokens, model).toBeUndefined();
    }
    // A date, a tag or a ".0" is the row's own model.
    for (const [model, row] of [
      ["claude-opus-4-0", "claude-opus-4"],
      ["claude-opus-4-20250514", "claude-opus-4"],
      ["claude-opus-4@20250514", "claude-opus-4"],
      ["claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"],
      ["claude-3-7-sonnet-latest", "claude-3-7-sonnet"],
    ] as const) {
      expect(catalogue.lookup("anthropic", model)?.row, model).toBe(row);
    }
    expect(catalogue.lookup("gemini", "gemini-2.5-pro-preview-05-06")?.row).toBe("gemini-2.5-pro");
    expect(catalogue.lookup("gemini", "gemini-1.5-pro-002")?.row).toBe("gemini-1.5-pro");
    expect(catalogue.lookup("qianfan", "ernie-3.5-8k-0613")?.row).toBe("ernie-3.5-8k");
  });

  it("layer a model's row over its vendor's defaults, and what its provider's dialect changes last", () => {
    const v2 = catalogue.lookup("qianfan", "ernie-4.0-8k", "openai")!;
    const v1 = catalogue.lookup("qianfan", "ernie-4.0-8k", "qianfan-v1")!;
    expect(v2.facts).toMatchObject({ maxOutputTokens: 2048, jsonSchema: true, parameters: { minMaxTokens: 2 } });
    expect(v1.facts).toMatchObject({ maxOutputTokens: 2048, jsonSchema: false, parameters: { minMaxTokens: 2, ignored: ["seed", "frequencyPenalty"] } });
  });

  it("take a provider of another name by the dialect only one vendor speaks, and a proxy's model by the row that names it (rows only)", () => {
    expect(catalogue.lookup("claude-eu", "claude-sonnet-4-5", "anthropic")).toMatchObject({ vendor: "anthropic", facts: { parameters: { unsupported: ["seed", "presencePenalty", "frequencyPenalty"] } } });
    const proxied = catalogue.lookup("vllm", "deepseek-chat", "openai")!;
    expect(proxied).toMatchObject({ vendor: "deepseek", row: "deepseek-chat", facts: { price: { input: 0.27 } } });
    expect(proxied.facts.parameters).toEqual({});
    expect(catalogue.lookup("ollama", "llama3.1", "openai")).toBeUndefined();
  });
});

describe("operators' rows, in YAML", () => {
  const config = (models: Record<string, unknown>[], extra: Record<string, unknown> = {}) => buildConfig({ models, ...extra } as never, {}, "switchboard.yaml");

  it("add a model (or a family by glob) with its limits and price, and override what a shipped row says", () => {
    const built = config([
      {
        provider: "openai",
        model: "ft:gpt-4o-mini:acme:*",
        context_window: 128000,
        max_output_tokens: 4096,
        parameters: { unsupported: ["top_p"], ranges: { temperature: { min: 0, max: 1 } } },
        price: { input: 0.3, cached_input: 0.15, output: 1.2, currency: "USD" },
        source: { url: "https://wiki.example.com/contracts/openai", date: "2026-11-30" },
      },
      { provider: "zhipu", model: "glm-4.5", price: { input: 1.5, output: 6, currency: "CNY" }, source: { url: "https://wiki.example.com/contracts/zhipu", date: "2026-11-30" } },
    ]);
    const own = Catalogue.shipped(built.catalogue!.models);
    expect(own.lookup("openai", "ft:gpt-4o-mini:acme:support-v2")?.facts).toMatchObject({
      maxOutputTokens: 4096,
      parameters: { unsupported: ["topP"], ranges: { temperature: { min: 0, max: 1, fit: "clamp" } } },
      price: { input: 0.3, cachedInput: 0.15, output: 1.2 },
    });
    // Only what the row says changes: the shipped limits stay.
    expect(own.lookup("zhipu", "glm-4.5")?.facts).toMatchObject({ maxOutputTokens: 96_000, price: { input: 1.5, output: 6, currency: "CNY" } });
    const table = new PriceTable(built.usage!.pricing, own);
    expect(table.cost("openai", "ft:gpt-4o-mini:acme:support-v2", { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0 })).toBe(0.3e9);
  });

  it("refuse a row without a source, naming the file and the field in snake_case", () => {
    expect(() => config([{ provider: "openai", model: "gpt-x", max_output_tokens: 10 }])).toThrow(ConfigError);
    expect(() => config([{ provider: "openai", model: "gpt-x", max_output_tokens: 10 }])).toThrow(/switchboard\.yaml: models\[0\]\.source: every row needs a source/);
    expect(() => config([{ provider: "openai", model: "gpt-x", max_output_tokenz: 10, source: { url: "https://e.com", date: "2026" } }])).toThrow(/models\[0\].*unknown field/);
  });

  it("refuse a price in a currency the accounting currency has no rate from", () => {
    const row = { provider: "openai", model: "gpt-x", price: { input: 1, output: 1, currency: "JPY" }, source: { url: "https://e.com", date: "2026" } };
    expect(() => config([row])).toThrow(/models\[0\]\.price\.currency: no exchange rate from JPY to USD/);
    expect(() => config([row], { pricing: { exchange_rates: { JPY: 0.0067 } } })).not.toThrow();
  });

  it("take a route's policy for requests a model cannot honour, and a default for the rest", () => {
    const built = buildConfig({ catalogue: { when_unsupported: "refuse" }, routes: [{ model: "glm-*", provider: "zhipu", when_unsupported: "degrade" }] }, { ZHIPU_API_KEY: "k" }, "switchboard.yaml");
    expect(built.catalogue!.whenUnsupported).toBe("refuse");
    expect(built.routes[0]).toMatchObject({ model: "glm-*", whenUnsupported: "degrade" });
    expect(buildConfig({}, {}, "test").catalogue!.whenUnsupported).toBe("degrade");
  });
});
