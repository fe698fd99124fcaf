import type { ChatRequest, EmbedRequest } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { FinishReason, Message, ToolCallDelta, Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Credential } from "../secrets/credential.js";

/** The fields of a chat request, whether it came as ChatRequest, ChatStreamRequest or REST. */
export type ChatParams = Omit<ChatRequest, "$typeName" | "$unknown">;
export type EmbedParams = Omit<EmbedRequest, "$typeName" | "$unknown">;

/** Everything an adapter needs for one upstream attempt, and nothing about gateway keys. */
export interface UpstreamCall<P> {
  params: P;
  /** The model name the vendor receives. */
  upstreamModel: string;
  credential: Credential;
  /** Fires on the caller's cancellation or deadline. */
  signal: AbortSignal;
}

export interface ChatResult {
  id: string;
  message: Message;
  finishReason: FinishReason;
  usage: Usage | undefined;
}

/** What a streaming adapter yields: deltas, then exactly one end. */
export type ChatStreamEvent =
  | { type: "delta"; content: string; toolCalls: ToolCallDelta[] }
  | { type: "end"; id: string; finishReason: FinishReason; usage: Usage | undefined };

export interface EmbedResult {
  vectors: number[][];
  usage: Usage | undefined;
}

export interface DiscoveredModel {
  id: string;
  embeddings: boolean;
}

/**
 * One vendor wire dialect. Adapters translate and classify errors as
 * UpstreamError; they know nothing of gateway keys, budgets, caches or retries.
 */
export interface ProviderAdapter {
  /** The provider's configured name, e.g. "openai" or "my-vllm". */
  readonly name: string;
  /** The wire dialect, e.g. "openai", "anthropic". */
  readonly dialect: string;
  chat(call: UpstreamCall<ChatParams>): Promise<ChatResult>;
  chatStream(call: UpstreamCall<ChatParams>): AsyncIterable<ChatStreamEvent>;
  embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult>;
  /** The vendor's own model list; an empty list where the vendor has none. */
  listModels(credential: Credential, signal: AbortSignal): Promise<DiscoveredModel[]>;
  close(): Promise<void>;
}
