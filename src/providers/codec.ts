import type { JsonObject } from "@bufbuild/protobuf";
import type { Credential } from "../secrets/credential.js";
import type { ModelTraits } from "./model-traits.js";
import type { ChatParams, ChatResult, ChatStreamEvent, DiscoveredModel, EmbedParams, EmbedResult } from "./provider.js";
import type { UpstreamError } from "./upstream-error.js";

/**
 * One request to a vendor, as a codec describes it; the transport sends it.
 * The credential is not in it: a VendorAuth puts it where the vendor wants it.
 */
export interface VendorRequest {
  method: "GET" | "POST";
  /** Below the provider's base URL, starting with "/", query string included. */
  path: string;
  /** Sent as JSON. */
  body?: JsonObject;
  /** The answer is an event stream in this framing, not one JSON body. */
  stream?: StreamFraming;
  /** Headers of this request only (DashScope's `x-dashscope-sse`). */
  headers?: Record<string, string>;
}

/** Server-sent events (every vendor here), or one JSON value per line (Ollama's native API, NDJSON). */
export type StreamFraming = "sse" | "json-lines";

/** One event of a stream as framed: SSE's event name and data; a JSON line is all data. */
export interface StreamEvent {
  event: string | undefined;
  data: string;
}

/** What a codec needs to word an error: who answered, with which key (for its id, and to redact its secret). */
export interface ErrorContext {
  provider: string;
  credential: Credential;
  /** Other secrets the vendor may echo (an access token derived from the key). */
  alsoSecret?: readonly string[];
}

/**
 * Reads one streamed answer: fed each framed event in order, it returns the
 * unified events that event makes (often none), and at the end the closing
 * event. State lives here, not in the transport.
 */
export interface StreamDecoder {
  /** Throws an UpstreamError for an error the vendor sends mid-stream. */
  next(event: StreamEvent): ChatStreamEvent[];
  /** The vendor sent its end marker: stop reading. */
  readonly done: boolean;
  /**
   * The vendor said the answer's end (its finish or stop reason): what may
   * still come is its usage and its end marker (OpenAI sends the usage in a
   * chunk of its own after the finish reason). Unset where a dialect does not say.
   */
  readonly answered?: boolean;
  /**
   * The body ended (closed, or its connection lost) after the vendor said the
   * answer's end (answered) and before its end marker: the events the end
   * marker would have made, after which finish() ends the answer as read.
   * Absent where finish() needs no end marker (OpenAI's [DONE]).
   */
  endMarkerMissed?(): ChatStreamEvent[];
  /** After the last event: the end event, or an UpstreamError when the answer was cut short. */
  finish(): Extract<ChatStreamEvent, { type: "end" }>;
}

/**
 * One vendor wire dialect, as pure functions: it builds the vendor's
 * requests from unified ones and reads the vendor's answers, stream events
 * and errors back into unified ones. No I/O: the same codec runs against
 * recorded payloads in its unit tests and against the vendor in production.
 * Codecs throw UpstreamError (a request the dialect cannot carry is
 * bad_request; an answer it cannot read is bad_response).
 */
export interface Codec {
  readonly dialect: string;
  /** Headers every request of the dialect carries (Anthropic's `anthropic-version`); configured headers override them. */
  readonly defaultHeaders?: Readonly<Record<string, string>>;
  /** Set where the dialect requires max_tokens (Anthropic's): what the catalogue sends a call without one to a model whose longest answer it does not know. */
  readonly defaultMaxTokens?: number;

  /** `traits`: what the model catalogue knows of the model's wire names; the dialect's defaults when absent. */
  chatRequest(params: ChatParams, model: string, stream: boolean, traits?: ModelTraits): VendorRequest;
  /** `traits` as chatRequest had them: the answer is in the shape of the endpoint the request went to (ModelTraits.endpoint). */
  chatResponse(body: unknown, params: ChatParams, ctx: ErrorContext, traits?: ModelTraits): ChatResult;
  chatStream(params: ChatParams, ctx: ErrorContext, traits?: ModelTraits): StreamDecoder;

  /** Absent: the dialect has no embeddings API. */
  embedRequest?(params: EmbedParams, model: string): VendorRequest;
  embedResponse?(body: unknown, params: EmbedParams, ctx: ErrorContext): EmbedResult;

  /** The vendor's model list, a page at a time; absent where the vendor has none. */
  modelsRequest?(pageToken: string | undefined): VendorRequest;
  modelsResponse?(body: unknown): { models: DiscoveredModel[]; nextPageToken?: string };
  /** The models a dialect without a list endpoint knows it can reach. */
  knownModels?(): DiscoveredModel[];

  /** An HTTP error answer (status >= 400) and its body text. */
  httpError(status: number, headers: ResponseHeaders, text: string, ctx: ErrorContext): UpstreamError;
  /** A successful status whose body is an error all the same (ERNIE v1, DashScope). */
  bodyError?(body: unknown, status: number, ctx: ErrorContext): UpstreamError | undefined;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;
