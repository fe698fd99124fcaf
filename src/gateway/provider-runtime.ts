import type { HedgeConfig } from "../config/traffic.js";
import type { ChatStreamEvent, ProviderAdapter, UpstreamCall } from "../providers/provider.js";
import type { KeyPool } from "../secrets/key-pool.js";

/** A configured provider as the pipeline uses it: its adapter, its key pool and its traffic settings. */
export interface ProviderRuntime {
  adapter: ProviderAdapter;
  pool: KeyPool;
  /** Upper bound for one attempt when the caller's deadline is later or absent. */
  timeoutMs: number;
  /** Streams: upper bound for the wait until an attempt's first token. */
  firstTokenTimeoutMs?: number;
  /** Hedged unary calls, when configured. */
  hedge?: HedgeConfig;
  /** The most texts one embedding request carries. */
  embedBatchSize: number;
  /** Its embeddings take token ids (token_inputs); absent, they do not. */
  embedTokenInputs?: boolean;
}

/**
 * What one attempt gets: the adapter to call and the call without its params; and, for an attempt the gateway
 * sends as several requests (an embedding's batches), where to tell what of its prompt the vendor can bill should it fail.
 */
export type AttemptCall = Omit<UpstreamCall<unknown>, "params"> & { promptBilled: (promptTokens: number) => void };
export type AttemptRun<T> = (adapter: ProviderAdapter, call: AttemptCall) => Promise<T>;
export type StreamOpen = (adapter: ProviderAdapter, call: AttemptCall) => AsyncIterable<ChatStreamEvent>;
