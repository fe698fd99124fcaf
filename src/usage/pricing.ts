import type { Catalogue } from "../catalogue/catalogue.js";
import type { Price } from "../catalogue/schema.js";
import { cacheReadsAtInputPrice, CacheReadFallbackWarning, tokenPrices } from "../catalogue/token-prices.js";
import type { UsageConfig } from "../config/usage-config.js";
import { compileGlob, isGlob } from "../common/glob.js";
import type { Logger } from "../observability/logger.js";

/** Money as integer nano-units (1e-9) of the accounting currency: exact sums, and far below 2^53 for any real budget. */
export const NANOS_PER_UNIT = 1_000_000_000;

export interface TokenCounts {
  promptTokens: number;
  /** Answer tokens, reasoning tokens included. */
  completionTokens: number;
  cachedTokens: number;
  /** Of the completion tokens, those spent reasoning (priced as output unless the model's price says otherwise). */
  reasoningTokens?: number;
  /** Of the prompt tokens, those written to the vendor's cache (priced as input unless the model's price says otherwise). */
  cacheWriteTokens?: number;
  /** Of the cache writes, those kept for an hour; the rest are priced as the vendor's default (five-minute) writes. */
  cacheWrite1hTokens?: number;
}

/** A price converted to nano-units of the accounting currency per token, every fallback resolved. */
interface TokenPrice {
  input: number;
  output: number;
  cachedInput: number;
  cacheWrite: number;
  cacheWriteHour: number;
  reasoning: number;
  /** Cache reads are at the input price for want of a price of their own (token-prices.ts). */
  cacheReadsAtInputPrice: boolean;
}

/** A model's prices: the base, and where the model has one, the tier a long prompt is billed at whole. */
interface ModelPrices {
  base: TokenPrice;
  longContext?: { above: number; price: TokenPrice };
  /** A call that reasoned has its whole answer at the reasoning price (schema.ts). */
  answerAtReasoningPrice: boolean;
}

interface Table {
  exact: Map<string, Price>;
  globs: { matches: (name: string) => boolean; price: Price }[];
}

/**
 * The price table: the configured `pricing.models` over the model catalogue's
 * prices (src/catalogue: the shipped vendor files and the operator's
 * `models:` rows). A model is priced by the configured "provider/model", its
 * exact name or a glob; else by the catalogue's row for it, or for a snapshot
 * the row lists ("gpt-4o-2024-08-06"), unless a configured name it starts
 * with is at least as long as the row's; else by the longest configured name
 * it starts with (the operator's choice). The gateway never guesses a price
 * from a catalogue row that is only the start of the name ("o1" for "o1-pro"):
 * such a model has no price until one is configured. Unknown models cost
 * nothing, and `isPriced` says so (keys with a budget are refused them).
 */
export class PriceTable {
  readonly currency: string;
  private readonly configured: Table;
  private readonly rates: Record<string, number>;
  private readonly memo = new Map<string, ModelPrices | null>();
  private readonly cacheReadFallback: CacheReadFallbackWarning | undefined;

  /** `logger`, where given, hears once per model of cache reads billed at the input price for want of a cached price. */
  constructor(
    pricing: UsageConfig["pricing"],
    private readonly catalogue: Catalogue,
    logger?: Pick<Logger, "warn">,
  ) {
    this.cacheReadFallback = logger && new CacheReadFallbackWarning(logger);
    this.currency = pricing.currency;
    this.rates = pricing.exchangeRates;
    this.configured = compile(pricing.models);
  }

  /**
   * What a call cost, in nano-units of the accounting currency: each kind of
   * token at its price (the whole answer of a call that reasoned at the
   * reasoning price, where the model's price says so), all of them at the
   * long-context tier's when the prompt (cache reads and writes included) is
   * over its mark.
   */
  cost(provider: string, model: string, tokens: TokenCounts): number {
    const prices = this.lookup(provider, model);
    if (!prices) return 0;
    const long = prices.longContext;
    const price = long && tokens.promptTokens > long.above ? long.price : prices.base;
    // Reads and writes are parts of the prompt, apart from each other; the hour-long writes are part of the writes.
    const cached = Math.min(tokens.cachedTokens, tokens.promptTokens);
    if (cached > 0 && price.cacheReadsAtInputPrice) this.cacheReadFallback?.note(provider, model);
    const written = Math.min(tokens.cacheWriteTokens ?? 0, tokens.promptTokens - cached);
    const hour = Math.min(tokens.cacheWrite1hTokens ?? 0, written);
    const reasoned = Math.min(tokens.reasoningTokens ?? 0, tokens.completionTokens);
    const reasoning = reasoned > 0 && prices.answerAtReasoningPrice ? tokens.completionTokens : reasoned;
    return Math.round(
      (tokens.promptTokens - cached - written) * price.input +
        cached * price.cachedInput +
        (written - hour) * price.cacheWrite +
        hour * price.cacheWriteHour +
        (tokens.completionTokens - reasoning) * price.output +
        reasoning * price.reasoning,
    );
  }

  /**
   * An upper bound for a call of at most `tokens` tokens, prompt and
   * completion mixed, before it is made: every token at the dearest price it
   * could be billed at (an hour-long cache write, say), the long-context
   * tier's included when the call could reach it.
   */
  estimate(provider: string, model: string, tokens: number): number {
    const prices = this.lookup(provider, model);
    if (!prices) return 0;
    const long = prices.longContext;
    // The tier applies to a prompt over its mark: a call of no more tokens than that cannot reach it.
    const dearest = long && tokens > long.above ? Math.max(dearestOf(prices.base), dearestOf(long.price)) : dearestOf(prices.base);
    return Math.round(tokens * dearest);
  }

  isPriced(provider: string, model: string): boolean {
    return this.lookup(provider, model) !== undefined;
  }

  /** One input and one output token at the model's base price (nano-units), or undefined when it has no price. */
  tokenPrice(provider: string, model: string): { input: number; output: number } | undefined {
    const base = this.lookup(provider, model)?.base;
    return base && { input: base.input, output: base.output };
  }

  private lookup(provider: string, model: string): ModelPrices | undefined {
    const memoKey = `${provider}/${model}`;
    let found = this.memo.get(memoKey);
    if (found === undefined) {
      const price = this.find(provider, model);
      found = price ? this.convert(price) : null;
      if (this.memo.size < 10_000) this.memo.set(memoKey, found);
    }
    return found ?? undefined;
  }

  private find(provider: string, model: string): Price | undefined {
    const configured = findIn(this.configured, provider, model);
    if (configured) return configured;
    const entry = this.catalogue.lookup(provider, model);
    // Only the model's own row, a row listing it as a snapshot, or a family has a price in the catalogue (catalogue.ts).
    const catalogued = entry?.facts.price;
    const prefix = longestPrefix(this.configured, model);
    // The model's own row (or family) wins; a row it is a snapshot of yields to a configured name as long (a negotiated "gpt-4o" price covers its snapshots).
    if (catalogued && (!prefix || entry.row === model || isGlob(entry.row) || entry.row.length > prefix.length)) return catalogued;
    return prefix?.price ?? catalogued;
  }

  private convert(price: Price): ModelPrices | null {
    const rate = this.rates[price.currency];
    if (rate === undefined) return null;
    // Per million tokens → per token, in nano-units: × 1e9 / 1e6.
    const factor = (rate * NANOS_PER_UNIT) / 1_000_000;
    const long = price.longContext;
    return { base: perToken(price, factor), longContext: long ? { above: long.above, price: perToken(long, factor) } : undefined, answerAtReasoningPrice: price.answerAtReasoningPrice === true };
  }
}

/** One set of prices per token, each unset price at the one it falls back to (the same numbers ListModels shows). */
function perToken(price: Omit<Price, "currency" | "longContext">, factor: number): TokenPrice {
  const perMillion = tokenPrices(price);
  return {
    input: perMillion.input * factor,
    output: perMillion.output * factor,
    cachedInput: perMillion.cachedInput * factor,
    cacheWrite: perMillion.cacheWrite * factor,
    cacheWriteHour: perMillion.cacheWriteHour * factor,
    reasoning: perMillion.reasoning * factor,
    cacheReadsAtInputPrice: cacheReadsAtInputPrice(price),
  };
}

/** The most one token can cost at these prices. */
function dearestOf(price: TokenPrice): number {
  return Math.max(price.input, price.output, price.cachedInput, price.cacheWrite, price.cacheWriteHour, price.reasoning);
}

function compile(prices: Readonly<Record<string, Price>>): Table {
  const table: Table = { exact: new Map(), globs: [] };
  for (const [name, price] of Object.entries(prices)) {
    if (isGlob(name)) table.globs.push({ matches: compileGlob(name), price });
    else table.exact.set(name, price);
  }
  return table;
}

function findIn(table: Table, provider: string, model: string): Price | undefined {
  const qualified = `${provider}/${model}`;
  return table.exact.get(qualified) ?? table.exact.get(model) ?? table.globs.find((entry) => entry.matches(qualified) || entry.matches(model))?.price;
}

/** A dated or suffixed version of a configured name, as the operator chose: the longest configured name followed by "-", "@" or ":". */
function longestPrefix(table: Table, model: string): { length: number; price: Price } | undefined {
  let best: { length: number; price: Price } | undefined;
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
