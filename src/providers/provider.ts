import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatRequest, EmbedRequest } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { FinishReason, Logprobs, Message, ToolCallDelta, Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { Credential } from "../secrets/credential.js";
import type { MessageFields } from "./caller-fields.js";
import type { ModelTraits } from "./model-traits.js";
import type { UsageFault } from "./vendor-usage.js";

/** The fields of a chat request, whether it came as ChatRequest, ChatStreamRequest or REST. */
export type ChatParams = Omit<ChatRequest, "$typeName" | "$unknown"> & {
  /** The request as the caller wrote it in a vendor's own dialect, for that dialect's codec alone (see DialectOriginal). */
  original?: DialectOriginal;
  /**
   * The dialect `vendor_options` were written in, when a surface put its
   * callers' own fields there ("openai": the Chat Completions surface). A
   * vendor of another dialect gets them translated, dropped or refused
   * (openai/chat-only-fields.ts). Unset: options meant for whichever vendor serves.
   */
  vendorOptionsDialect?: string;
  /**
   * False: one tool call per answer at most (Anthropic's
   * `tool_choice.disable_parallel_tool_use` on `/v1/messages`; OpenAI's
   * `parallel_tool_calls: false` for a vendor of another dialect), said by
   * each codec its own way where the vendor has a switch for it; request
   * fitting drops it, and reports it, where there is none.
   */
  parallelToolCalls?: boolean;
  /**
   * The caller's name of a unified field its surface names otherwise, for
   * errors: `stop` is `stop_sequences` on `/v1/messages`; a tool call's
   * `arguments` and `name` (within `messages[i].tool_calls[j]`) are
   * `function.arguments` and `function.name` (`callName`) on
   * `/v1/chat/completions`; the function `tool_choice` names is
   * `tool_choice.function.name` there and `tool_choice.name` on `/v1/messages`;
   * a tool's `name` (within `tools[i]`) is `function.name` on `/v1/chat/completions`;
   * `logprobs` is asked by `include` on `/v1/responses`; `max_tokens` is
   * `max_output_tokens` there; a message's `parts` are its `content` on
   * `/v1/chat/completions`; legacy `functions` are the tools there. Where the
   * caller's messages are not the unified ones one for one, `messages` says
   * where each came from (caller-fields.ts).
   */
  fieldNames?: Readonly<Partial<Record<"stop" | "arguments" | "callName" | "toolChoiceName" | "toolName" | "tools" | "logprobs" | "maxTokens" | "parts", string>>> & {
    readonly messages?: readonly MessageFields[];
  };
  /** Sample from the K likeliest tokens only: `top_k` on `/v1/messages`, for the vendors that take it (Gemini's `topK`; Anthropic gets the caller's own). */
  topK?: number;
  /** The tool calls whose results report a failure (`is_error` on `/v1/messages`), by id: Gemini says it as `response.error`. */
  failedToolCalls?: readonly string[];
  /**
   * How many messages the gateway put in front of the caller's (the JSON
   * schema it gives in a system message, request-fitting.ts): an error that
   * names `messages[i]` names the caller's `messages[i - insertedMessages]`.
   */
  insertedMessages?: number;
  /**
   * Settings of a `/v1/responses` caller that only OpenAI's Responses API
   * takes (its `reasoning.summary` and `truncation`): sent on when that API
   * serves (openai-responses/upstream-request.ts); no other vendor has them.
   */
  responsesSettings?: ResponsesSettings;
};

export interface ResponsesSettings {
  reasoningSummary?: "auto" | "concise" | "detailed";
  truncation?: "auto" | "disabled";
}

/**
 * A request a caller wrote in one vendor's dialect (Anthropic Messages on
 * `/v1/messages`), kept beside the unified request read from it. Only the
 * codec of that dialect reads it, to send on what the unified request cannot
 * carry (Anthropic's cache_control, beta features); every other dialect gets
 * the unified request alone.
 */
export interface DialectOriginal {
  dialect: string;
  /** The caller's JSON body. */
  body: JsonObject;
  /** The caller's headers that belong to the dialect (`anthropic-beta`). */
  headers: Readonly<Record<string, string>>;
}
export type EmbedParams = Omit<EmbedRequest, "$typeName" | "$unknown"> & {
  /** The caller's name of a unified field its surface names otherwise, for errors: `inputs` and `token_inputs` are `input` on `/v1/embeddings`. */
  fieldNames?: Readonly<Partial<Record<"inputs" | "tokenInputs", string>>>;
};

/** Everything an adapter needs for one upstream attempt, and nothing about gateway keys. */
export interface UpstreamCall<P> {
  params: P;
  /** The model name the vendor receives. */
  upstreamModel: string;
  credential: Credential;
  /** Fires on the caller's cancellation or deadline. */
  signal: AbortSignal;
  /**
   * Headers the gateway adds to this attempt's requests: the trace context
   * (`traceparent`) while tracing is on. They never override
   * the dialect's own, the content type or the credential's.
   */
  headers?: Readonly<Record<string, string>>;
  /** What the dialect needs to know of the model (from the model catalogue); its defaults when absent. */
  traits?: ModelTraits;
  /** Streams: told when the vendor said the answer's end, and what it sent after it (AfterAnswer). */
  afterAnswer?: AfterAnswer;
  /** Told once a request of the call is written whole to the vendor: from then on the vendor can bill its prompt. */
  requestSent?: () => void;
}

/**
 * What a streaming adapter tells of the vendor's stream once the vendor said
 * the answer's end (its finish or stop reason), where only its usage and its
 * end marker are still to come: for a pipeline that reads on, for the usage,
 * when the caller has left by then, and bounds what it reads so.
 */
export interface AfterAnswer {
  /** The vendor said the answer's end. Told once. */
  ended(): void;
  /** The characters of the vendor's events read since, each event as it is read. */
  read(chars: number): void;
}

/**
 * What a vendor says of its answer beside its content, each when it says it
 * (OpenAI's dated `model`, `system_fingerprint`, `service_tier`), named as
 * the unified answer names them.
 */
export interface VendorIdentity {
  vendorModel?: string;
  systemFingerprint?: string;
  serviceTier?: string;
}

export interface ChatResult extends VendorIdentity {
  id: string;
  message: Message;
  finishReason: FinishReason;
  /** The request's stop sequence the model stopped at, when the vendor says which (Anthropic's `stop_sequence`). */
  stopSequence?: string;
  usage: Usage | undefined;
  /** Counts in the vendor's usage that could not be true (vendor-usage.ts), for the gateway to say once. */
  usageFault?: UsageFault;
  /** The tokens' log probabilities, when the request asked for them and the vendor gave them. */
  logprobs?: Logprobs;
}

/**
 * What a streaming adapter yields: deltas, then exactly one end. A delta may
 * carry a piece of the reasoning text or of a refusal, and the reasoning
 * blocks a vendor signs, each whole as soon as the vendor closed it; the end
 * carries them all again, for the next turn. The first delta may carry the
 * vendor's id and identity of the answer, when the vendor said them by then
 * (for surfaces that name the answer from its first event); the end says them again.
 */
export type ChatStreamEvent = ChatStreamDelta | ({ type: "end"; id: string; finishReason: FinishReason; stopSequence?: string; usage: Usage | undefined; usageFault?: UsageFault; reasoning?: ReasoningBlock[] } & VendorIdentity);

export type ChatStreamDelta = {
  type: "delta";
  content: string;
  toolCalls: ToolCallDelta[];
  reasoning?: string;
  refusal?: string;
  /** True when `reasoning` is a piece of the vendor's summary of its reasoning (ChatDelta.reasoning_summarized). */
  reasoningSummarized?: boolean;
  reasoningBlocks?: ReasoningBlock[];
  /** The log probabilities of this delta's tokens, when asked for and given. */
  logprobs?: Logprobs;
  /** The vendor's id of the answer, on the first delta. */
  id?: string;
  /**
   * The vendor's usage so far, where it tells it before the end: Anthropic's
   * message_start counts the prompt (its cache reads and writes too) on the
   * first delta; one that repeats a running usage on every chunk tells it on
   * the first delta after it counted the prompt (running-usage.ts). A stream cut before the end is charged these
   * prompt counts rather than an estimate (src/gateway/heard-usage.ts); the
   * end's usage is still the answer's.
   */
  usage?: Usage;
} & VendorIdentity;

export interface EmbedResult {
  vectors: number[][];
  usage: Usage | undefined;
  /** Counts in the vendor's usage that could not be true (vendor-usage.ts), for the gateway to say once. */
  usageFault?: UsageFault;
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
  /** Set where the dialect requires max_tokens: the codec's `defaultMaxTokens`. */
  readonly defaultMaxTokens?: number;
  chat(call: UpstreamCall<ChatParams>): Promise<ChatResult>;
  chatStream(call: UpstreamCall<ChatParams>): AsyncIterable<ChatStreamEvent>;
  embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult>;
  /** The vendor's own model list; an empty list where the vendor has none. */
  listModels(credential: Credential, signal: AbortSignal): Promise<DiscoveredModel[]>;
  close(): Promise<void>;
}
