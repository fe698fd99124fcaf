import type { Catalogue } from "../catalogue/catalogue.js";
import type { ModelPrice, UsageConfig } from "../config/usage-config.js";
import { compileGlob, isGlob } from "../common/glob.js";

/** Money as integer nano-units (1e-9) of the accounting currency: exact sums, and far below 2^53 for any real budget. */
export const NANOS_PER_UNIT = 1_000_000_000;

export interface TokenCounts {
  promptTokens: number;
  /** Answer tokens, reasoning tokens included. */
  completionTokens: number;
  cachedTokens: number;
  /** Of the completion tokens, those spent reasoning (priced as output unless the model's price says otherwise). */
  reasoningTokens?: number;
}

/** A price converted to nano-units of the accounting currency per token. */
interface TokenPrice {
  input: number;
  output: number;
  cachedInput: number;
  reasoning: number;
}

interface Table {
  exact: Map<string, ModelPrice>;
  globs: { matches: (name: string) => boolean; price: ModelPrice }[];
}

/**
 * The price table: the configured `pricing.models` over the model catalogue's
 * prices (src/catalogue: the shipped vendor files and the operator's
 * `models:` rows). A model is priced by the configured "provider/model", its
 * exact name or a glob; else by the catalogue's row for it; a dated or
 * suffixed version ("gpt-4o-2024-08-06") by the longest name it starts with,
 * the configured table winning a tie. Unknown models cost nothing, and
 * `isPriced` says so.
 */
export class PriceTable {
  readonly currency: string;
  private readonly configured: Table;
  private readonly rates: Record<string, number>;
  private readonly memo = new Map<string, TokenPrice | null>();

  constructor(
    pricing: UsageConfig["pricing"],
    private readonly catalogue: Catalogue,
  ) {
    this.currency = pricing.currency;
    this.rates = pricing.exchangeRates;
    this.configured = compile(pricing.models);
  }

  /** What a call cost, in nano-units of the accounting currency. */
  cost(provider: string, model: string, tokens: TokenCounts): number {
    const price = this.lookup(provider, model);
    if (!price) return 0;
    const cached = Math.min(tokens.cachedTokens, tokens.promptTokens);
    const reasoning = Math.min(tokens.reasoningTokens ?? 0, tokens.completionTokens);
    return Math.round(
      (tokens.promptTokens - cached) * price.input + cached * price.cachedInput + (tokens.completionTokens - reasoning) * price.output + reasoning * price.reasoning,
    );
  }

  /** An upper bound for a call of about `tokens` tokens, prompt and completion mixed, before it is made. */
  estimate(provider: string, model: string, tokens: number): number {
    const price = this.lookup(provider, model);
    return price ? Math.round(tokens * Math.max(price.input, price.output, price.reasoning)) : 0;
  }

  isPriced(provider: string, model: string): boolean {
    return this.lookup(provider, model) !== undefined;
  }

  private lookup(provider: string, model: string): TokenPrice | undefined {
    const memoKey = `${provider}/${model}`;
    let found = this.memo.get(memoKey);
    if (found === undefined) {
      const price = this.find(provider, model);
      found = price ? this.convert(price) : null;
      if (this.memo.size < 10_000) this.memo.set(memoKey, found);
    }
    return found ?? undefined;
  }

  private find(provider: string, model: string): ModelPrice | undefined {
    const configured = findIn(this.configured, provider, model);
    if (configured) return configured;
    const entry = this.catalogue.lookup(provider, model);
    const catalogued = entry?.facts.price;
    const prefix = longestPrefix(this.configured, model);
    // The catalogue's own row (or family) for the model wins; a row it matched by prefix competes with the configured prefixes.
    if (catalogued && (!prefix || entry.row === model || isGlob(entry.row) || entry.row.length > prefix.length)) return catalogued;
    return prefix?.price ?? catalogued;
  }

  private convert(price: ModelPrice): TokenPrice | null {
    const rate = this.rates[price.currency];
    if (rate === undefined) return null;
    // Per million tokens → per token, in nano-units: × 1e9 / 1e6.
    const factor = (rate * NANOS_PER_UNIT) / 1_000_000;
    return {
      input: price.input * factor,
      output: price.output * factor,
      cachedInput: (price.cachedInput ?? price.input) * factor,
      reasoning: (price.reasoning ?? price.output) * factor,
    };
  }
}

function compile(prices: Readonly<Record<string, ModelPrice>>): Table {
  const table: Table = { exact: new Map(), globs: [] };
  for (const [name, price] of Object.entries(prices)) {
    if (isGlob(name)) table.globs.push({ matches: compileGlob(name), price });
    else table.exact.set(name, price);
  }
  return table;
}

function findIn(table: Table, provider: string, model: string): ModelPrice | undefined {
  const qualified = `${provider}/${model}`;
  return table.exact.get(qualified) ?? table.exact.get(model) ?? table.globs.find((entry) => entry.matches(qualified) || entry.matches(model))?.price;
}

/** A dated or suffixed version: the longest configured name followed by "-", "@" or ":". */
function longestPrefix(table: Table, model: string): { length: number; price: ModelPrice } | undefined {
  let best: { length: number; price: ModelPrice } | undefined;
  for (const [name, price] of table.exact) {
    if (name.length > (best?.length ?? 0) && model.startsWith(name) && /[-@:]/.test(model.charAt(name.length))) best = { length: name.length, price };
  }
  return best;
}

/** Nano-units as a decimal string for people ("0.000123"). */
export function formatNanos(nanos: number, digits = 6): string {
  return (nanos / NANOS_PER_UNIT).toFixed(digits);
}

/** `google.type.Money`-shaped units and nanos from nano-units (both carry the sign). */
export function moneyParts(nanos: number): { units: bigint; nanos: number } {
  const rounded = Math.round(nanos);
  const units = Math.trunc(rounded / NANOS_PER_UNIT);
  return { units: BigInt(units), nanos: rounded - units * NANOS_PER_UNIT };
}

/** Nano-units from `google.type.Money`-shaped units and nanos. */
export function fromMoneyParts(units: bigint, nanos: number): number {
  return Number(units) * NANOS_PER_UNIT + nanos;
}
