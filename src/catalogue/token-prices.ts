// A price row's prices per million tokens with every unset one at the price
// it falls back to (schema.ts says which): what a call is billed
// (src/usage/pricing.ts) and what ListModels shows are the same numbers.
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
