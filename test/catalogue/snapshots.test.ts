// A model is priced only by a row that is really its own: its row, a row that
// lists it as a snapshot, or the operator's pricing.models (exact, glob or a
// name it starts with). A catalogue row that is only the start of its name
// ("o1" for "o1-pro") lends it limits and rules, never a price: the gateway
// would record a tenth of what the vendor bills.
import { describe, expect, it } from "vitest";
import { Catalogue } from "../../src/catalogue/catalogue.js";
import { SHIPPED_VENDORS } from "../../src/catalogue/vendors/index.js";
import { buildConfig } from "../../src/config/load-config.js";
import { PriceTable } from "../../src/usage/pricing.js";

const catalogue = Catalogue.shipped();
const table = new PriceTable(buildConfig({}, {}, "test").usage!.pricing, catalogue);
const million = (promptTokens: number, completionTokens: number) => ({ promptTokens: promptTokens * 1e6, completionTokens: completionTokens * 1e6, cachedTokens: 0 });
const source = { url: "https://wiki.example.com/contracts/openai", date: "2026-11-30" };

/** Names that start with a priced row's but are other models, billed otherwise (some with a fee per web search on top). */
const DEARER = ["gpt-4o-2024-05-13", "gpt-4o-mini-search-preview", "gpt-4o-search-preview-2025-03-11", "o1-pro", "gpt-5-pro", "o3-deep-research", "gpt-4-32k"];

describe("prices of names a row only starts", () => {
  it("has no price for another model that starts with a priced row's name, so keys with a budget are refused it", () => {
    for (const model of DEARER) {
      expect(table.isPriced("openai", model), model).toBe(false);
      expect(table.cost("openai", model, million(1, 1)), model).toBe(0);
      expect(catalogue.lookup("openai", model)?.facts.price, model).toBeUndefined();
    }
  });

  it("keeps the row's limits and rules for such a model: only its price is not guessed", () => {
    expect(catalogue.lookup("openai", "gpt-4o-2024-05-13")).toMatchObject({ row: "gpt-4o", facts: { maxOutputTokens: 16_384, imageInput: true } });
    expect(catalogue.lookup("openai", "o1-preview")).toMatchObject({ row: "o1", facts: { reasoning: { always: true } } });
  });

  it("prices a snapshot its row lists at the row's price, on OpenAI and Anthropic", () => {
    expect(table.cost("openai", "gpt-4o-mini-2024-07-18", million(1, 1))).toBe((0.15 + 0.6) * 1e9);
    expect(table.cost("openai", "gpt-4o-2024-08-06", million(1, 1))).toBe((2.5 + 10) * 1e9);
    expect(table.cost("openai", "o1-2024-12-17", million(1, 1))).toBe((15 + 60) * 1e9);
    expect(table.cost("anthropic", "claude-3-5-haiku-20241022", million(1, 0))).toBe(0.8e9);
    expect(table.cost("anthropic", "claude-sonnet-4-5-20250929", million(0.1, 0))).toBe(0.3e9);
    expect(catalogue.lookup("openai", "gpt-4o-mini-2024-07-18")).toMatchObject({ row: "gpt-4o-mini", snapshots: ["gpt-4o-mini-2024-07-18"] });
  });

  it("lets the operator's pricing.models price such a model, by its name, a glob or a name it starts with", () => {
    const config = buildConfig({ pricing: { models: { "o1-pro": { input: 150, output: 600 }, "gpt-5-p*": { input: 15, output: 120 }, "gpt-4o-2024": { input: 5, output: 15 } } } }, {}, "test");
    const priced = new PriceTable(config.usage!.pricing, catalogue);
    expect(priced.cost("openai", "o1-pro", million(1, 1))).toBe(750e9);
    expect(priced.cost("openai", "gpt-5-pro", million(1, 1))).toBe(135e9);
    // The operator's prefix is longer than the row that lists gpt-4o-2024-08-06: the operator's choice stands.
    expect(priced.cost("openai", "gpt-4o-2024-05-13", million(1, 1))).toBe(20e9);
    expect(priced.cost("openai", "gpt-4o-2024-08-06", million(1, 1))).toBe(20e9);
  });

  it("gives a configured price for a row to its snapshots too (a negotiated gpt-4o price covers gpt-4o-2024-08-06)", () => {
    const configured = new PriceTable(buildConfig({ pricing: { models: { "gpt-4o": { input: 1, output: 2 } } } }, {}, "test").usage!.pricing, catalogue);
    expect(configured.cost("openai", "gpt-4o-2024-08-06", million(1, 1))).toBe(3e9);
    const built = buildConfig({ models: [{ provider: "openai", model: "gpt-4o", price: { input: 1, output: 2, currency: "USD" }, source }] } as never, {}, "test");
    const rowed = new PriceTable(built.usage!.pricing, Catalogue.shipped(built.catalogue!.models));
    expect(rowed.cost("openai", "gpt-4o-2024-08-06", million(1, 1))).toBe(3e9);
    expect(rowed.isPriced("openai", "gpt-4o-2024-05-13")).toBe(false);
  });
});

describe("snapshots in rows", () => {
  const config = (models: Record<string, unknown>[]) => buildConfig({ models } as never, {}, "switchboard.yaml");

  it("are declared on an operator's row in YAML, at its price", () => {
    const built = config([{ provider: "openai", model: "ft:acme", snapshots: ["ft:acme-2026-11-30"], price: { input: 1, output: 1, currency: "USD" }, source }]);
    const own = new PriceTable(built.usage!.pricing, Catalogue.shipped(built.catalogue!.models));
    expect(own.cost("openai", "ft:acme-2026-11-30", million(1, 0))).toBe(1e9);
    expect(own.isPriced("openai", "ft:acme-2026-12-01")).toBe(false);
  });

  it("are refused when they are globs, another row's name or another row's snapshot", () => {
    expect(() => config([{ provider: "openai", model: "x", snapshots: ["x-*"], source }])).toThrow(/models\[0\]\.snapshots\.0: a snapshot is one model's name, not a glob/);
    expect(() => Catalogue.shipped(config([{ provider: "openai", model: "x*", snapshots: ["x-1"], source }]).catalogue!.models)).toThrow(/models\[0\]: a family \("x\*"\) has no snapshots/);
    const row = (model: string, snapshots: string[]) => ({ model, snapshots, source });
    const vendor = (models: unknown[]) => new Catalogue([{ ...SHIPPED_VENDORS[0], models }]);
    expect(() => vendor([row("a", ["a-1"]), row("b", ["a-1"])])).toThrow(/snapshot "a-1" is a snapshot of "a"/);
    expect(() => vendor([row("a", ["b"]), { model: "b", source }])).toThrow(/"b" is a snapshot of "a" and cannot have a row of its own/);
    expect(() => vendor([{ model: "b", source }, row("a", ["b"])])).toThrow(/snapshot "b" has a row of its own/);
  });
});
