// Small constructors that keep the vendor files readable as tables.
import type { Price } from "../schema.js";

/** List prices per million tokens in US dollars: input, output, cached input. */
export const usd = (input: number, output: number, cachedInput?: number): Price => ({ input, output, currency: "USD", ...(cachedInput === undefined ? {} : { cachedInput }) });

/** List prices per million tokens in yuan, as the Chinese vendors publish them. */
export const cny = (input: number, output: number, cachedInput?: number): Price => ({ input, output, currency: "CNY", ...(cachedInput === undefined ? {} : { cachedInput }) });

/** A source: the page and when it was checked. */
export const checked = (url: string, date: string) => ({ url, date });

/** What a vendor's chat models can do, as its defaults say: JSON mode and tools, and what varies by vendor. */
export const chatModels = (can: { jsonSchema: boolean; parallelToolCalls: boolean; imageInput: boolean }) => ({ kind: "chat" as const, jsonMode: true, tools: true, ...can });

/** An embedding model: its input limit, vector length, the other lengths it can shorten to, and texts per request. */
export const embeddingModel = (contextWindow: number, dimensions: number, maxBatch: number, shorterDimensions?: "any" | number[]) => ({
  kind: "embedding" as const,
  contextWindow,
  embedding: { dimensions, maxBatch, ...(shorterDimensions === undefined ? {} : { shorterDimensions }) },
});
