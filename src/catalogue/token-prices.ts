// A price row's prices per million tokens with every unset one at the price
// it falls back to (schema.ts says which): what a call is billed
// (src/usage/pricing.ts) and what ListModels shows are the same numbers. The
// one fallback likely to overbill, cache reads at the input price, is logged.
import type { Logger } from "../observability/logger.js";
import type { Price } from "./schema.js";

/** One tier's prices per million tokens, every kind of token priced. */
export interface TokenPrices {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  cacheWriteHour: number;
  output: number;
  reasoning: number;
}

/** The prices of one tier (a row's base prices, or its long-context tier's), fallbacks resolved within it. */
export function tokenPrices(price: Omit<Price, "currency" | "longContext">): TokenPrices {
  const cacheWrite = price.cacheWrite ?? price.input;
  return {
    input: price.input,
    cachedInput: price.cachedInput ?? price.input,
    cacheWrite,
    cacheWriteHour: price.cacheWriteHour ?? cacheWrite,
    output: price.output,
    reasoning: price.reasoning ?? price.output,
  };
}

/**
 * Whether a tier bills cache reads at its input price only for want of a
 * cached-input price: a vendor that reports cache hits bills them less as a
 * rule, so such a price is most likely missing (a free tier loses nothing).
 */
export function cacheReadsAtInputPrice(price: Omit<Price, "currency" | "longContext">): boolean {
  return price.cachedInput === undefined && price.input > 0;
}

/** Models past this many are not remembered, nor warned of: the warning must not grow without end. */
const MAX_WARNED_MODELS = 10_000;

/**
 * Says once per model that a call reported cache reads its price bills at the
 * full input price (cacheReadsAtInputPrice), so that an operator sees the
 * fallback and gives the model a cached-input price (pricing.models, or a
 * catalogue row). Names the model only: no key, no request.
 */
export class CacheReadFallbackWarning {
  private readonly warned = new Set<string>();

  constructor(private readonly logger: Pick<Logger, "warn">) {}

  note(provider: string, model: string): void {
    const name = `${provider}/${model}`;
    if (this.warned.has(name) || this.warned.size >= MAX_WARNED_MODELS) return;
    this.warned.add(name);
    this.logger.warn(
      { provider, model },
      `a call to "${name}" read prompt tokens from the vendor's cache, but the model's price has no cached-input price: they are billed at its full input price. Give it one (pricing.models, or the catalogue's models: rows) if the vendor bills cache hits less. Said once per model`,
    );
  }
}
