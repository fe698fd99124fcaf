import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { jsonBytes } from "../common/json-bytes.js";
import type { Logger } from "../observability/logger.js";
import type { Credential } from "../secrets/credential.js";
import type { Codec, ErrorContext, StreamDecoder, VendorRequest } from "./codec.js";
import { badResponse, parseJson } from "./codec-errors.js";
import { checkedEvents, checkedResult, checkedVectors, guarded } from "./codec-guard.js";
import { embedInputCount } from "./embed-inputs.js";
import { endpointNotFound } from "./endpoint-not-found.js";
import { gatheredAnswer } from "./gathered-answer.js";
import type { ChatParams, ChatResult, ChatStreamEvent, DiscoveredModel, EmbedParams, EmbedResult, ProviderAdapter, UpstreamCall } from "./provider.js";
import { parseShouldRetry } from "./retry-after.js";
import { frames } from "./transport/frames.js";
import { embeddingAnswerLimit, isJsonResponse, VendorTransport, WHOLE_ANSWER_LIMIT, type AnswerLimit, type TransportResponse } from "./transport/vendor-transport.js";
import { UpstreamError, unsupported } from "./upstream-error.js";
import type { Authorization, VendorAuth } from "./vendor-auth.js";

/** A provider as its configuration gives it to every dialect. */
export interface VendorEndpoint {
  /** The provider's configured name, for error messages. */
  name: string;
  baseUrl: string;
  /** Configured headers on every request. They override the dialect's; content-type, accept and the credential override them. */
  headers?: Record<string, string>;
  connections?: number;
  /** Where a vendor's quirk the adapter gets past is said (a connection lost after the answer's end). */
  logger?: Pick<Logger, "debug">;
}

/** What one exchange produced: a parsed JSON answer, or an open event stream. */
type Exchanged = { kind: "json"; body: unknown; ctx: ErrorContext } | { kind: "stream"; res: TransportResponse; ctx: ErrorContext };

/** Pages of a vendor's model list read at most: a handful covers every model a vendor offers. */
const MAX_MODEL_PAGES = 10;

/**
 * A provider: one dialect's codec over the one vendor transport. Everything
 * that is the same for every vendor lives here, once: the credential put
 * where the dialect wants it (and renewed once when the vendor rejects a
 * derived token), error answers read and classified by the codec, JSON
 * answers parsed, streams framed and fed to the codec's decoder (the answer's
 * end, and what follows it, told to the call's AfterAnswer; a connection lost
 * after it finishes the answer as read), the socket
 * released when the consumer stops early, and a stream the vendor answered
 * in one piece passed on as one delta.
 */
export class DialectAdapter implements ProviderAdapter {
  readonly name: string;
  readonly dialect: string;
  readonly defaultMaxTokens?: number;
  private readonly transport: VendorTransport;
  private readonly headers: Record<string, string>;
  private readonly logger: Pick<Logger, "debug"> | undefined;

  constructor(
    endpoint: VendorEndpoint,
    private readonly codec: Codec,
    private readonly auth: VendorAuth,
  ) {
    this.name = endpoint.name;
    this.dialect = codec.dialect;
    this.defaultMaxTokens = codec.defaultMaxTokens;
    this.transport = new VendorTransport(endpoint.name, endpoint.baseUrl, { connections: endpoint.connections });
    this.headers = { ...codec.defaultHeaders, ...endpoint.headers };
    this.logger = endpoint.logger;
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    // The vendor refuses a non-stream call to the model: the answer is streamed, and gathered into one.
    if (call.traits?.streamOnly) return gatheredAnswer(this.chatStream(call), { provider: this.name, credential: call.credential });
    const answer = await this.exchange(this.codec.chatRequest(call.params, call.upstreamModel, false, call.traits), call);
    if (answer.kind !== "json") throw badResponse(answer.ctx, "answered with an event stream");
    return this.chatResult(answer.body, call, answer.ctx);
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncGenerator<ChatStreamEvent> {
    const request = this.codec.chatRequest(call.params, call.upstreamModel, true, call.traits);
    const answer = await this.exchange(request, call);
    if (answer.kind === "json") {
      // The vendor answered the stream in one piece: the same answer, as one delta and its end.
      yield* whole(this.chatResult(answer.body, call, answer.ctx));
      return;
    }
    const { ctx } = answer;
    const decoder = this.codec.chatStream(call.params, ctx, call.traits);
    const body = answer.res.body;
    const { afterAnswer } = call;
    /** The vendor said the answer's end: what it sends after that is told to afterAnswer. */
    let answered = false;
    try {
      // Loops rather than yield* over the codec's arrays: yield* of a sync iterable in an async generator wraps
      // it and awaits every element, a cost paid per streamed event.
      read: for await (const batch of frames(body, request.stream ?? "sse")) {
        for (const event of batch) {
          if (answered) afterAnswer?.read(event.data.length);
          // The codec reads the vendor's data: whatever it throws is the vendor's bad_response, and what it returns is checked.
          const decoded = checkedEvents(guarded(ctx, () => decoder.next(event)), ctx);
          if (!answered && decoder.answered) {
            answered = true;
            afterAnswer?.ended();
          }
          for (const unified of decoded) yield unified;
          if (decoder.done) break read;
        }
      }
    } catch (err) {
      const failure = this.transport.classify(err, { signal: call.signal, credentialId: call.credential.id });
      if (!lostAfterAnswer(err, failure, decoder)) throw failure;
      this.logger?.debug(
        { provider: this.name, model: call.upstreamModel, credentialId: call.credential.id, cause: failure.vendorCode ?? failure.message },
        "the vendor's connection was lost after the answer's end, before its end marker: the answer is finished as read",
      );
    } finally {
      // Stop reading (and release the socket) when the vendor is done or the consumer went away early.
      if (!body.destroyed) body.destroy();
    }
    // The body ended after the answer's end but before the end marker (closed, or lost): the answer is whole, its usage as read.
    if (!decoder.done && decoder.answered && decoder.endMarkerMissed) yield* checkedEvents(guarded(ctx, () => decoder.endMarkerMissed!()), ctx);
    yield* checkedEvents([guarded(ctx, () => decoder.finish())], ctx);
  }

  async embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult> {
    const codec = this.codec;
    if (!codec.embedRequest || !codec.embedResponse) throw unsupported(this.name, "embeddings with its API");
    const answer = await this.exchange(codec.embedRequest(call.params, call.upstreamModel), call, embeddingAnswerLimit(embedInputCount(call.params)));
    if (answer.kind !== "json") throw badResponse(answer.ctx, "answered with an event stream");
    const { ctx } = answer;
    return checkedVectors(guarded(ctx, () => codec.embedResponse!(answer.body, call.params, ctx)), call.params, ctx);
  }

  async listModels(credential: Credential, signal: AbortSignal): Promise<DiscoveredModel[]> {
    const codec = this.codec;
    if (!codec.modelsRequest || !codec.modelsResponse) return codec.knownModels?.() ?? [];
    const models: DiscoveredModel[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const answer = await this.exchange(codec.modelsRequest(pageToken), { credential, signal });
      if (answer.kind !== "json") throw badResponse(answer.ctx, "answered with an event stream");
      const list = guarded(answer.ctx, () => codec.modelsResponse!(answer.body));
      models.push(...list.models);
      if (!list.nextPageToken) break;
      pageToken = list.nextPageToken;
    }
    return models;
  }

  async close(): Promise<void> {
    await Promise.all([this.transport.close(), this.auth.close?.()]);
  }

  /**
   * Sends a request with the credential and reads the answer: an error
   * (an HTTP error, or an error in a successful body) is thrown as the
   * codec classifies it, after one more try with a fresh authorization when
   * the auth says a renewed one may succeed; a stream request's event stream
   * is returned open. A JSON answer past `limit` (its bytes, or what parsing it would build) is bad_response.
   */
  private async exchange(
    request: VendorRequest,
    call: { credential: Credential; signal: AbortSignal; headers?: Readonly<Record<string, string>>; requestSent?: () => void },
    limit: AnswerLimit = WHOLE_ANSWER_LIMIT,
  ): Promise<Exchanged> {
    const { credential, signal, requestSent } = call;
    const meta = { signal, credentialId: credential.id };
    for (let attempt = 1; ; attempt++) {
      const authorization = await this.auth.authorize(credential, signal);
      const ctx: ErrorContext = { provider: this.name, credential, alsoSecret: authorization.secrets };
      const res = await this.transport.send({
        ...meta,
        requestSent,
        method: request.method,
        path: withQuery(request.path, authorization),
        headers: this.requestHeaders(request, authorization, call.headers),
        body: request.body === undefined ? undefined : jsonBytes(request.body),
      });
      let failure: UpstreamError | undefined;
      if (res.status >= 300 && res.status < 400) {
        // Redirects are not followed (a vendor's API answers where it is asked; following one could send the key elsewhere).
        await this.transport.errorText(res);
        throw redirected(ctx, res.status);
      } else if (res.status < 200 || res.status >= 300) {
        const text = await this.transport.errorText(res);
        // The vendor's x-should-retry is read here, once for every dialect: the codecs classify the answer.
        failure = this.namingPath(guarded(ctx, () => this.codec.httpError(res.status, res.headers, text, ctx)), request, ctx).withVendorSaysRetry(parseShouldRetry(res.headers));
      } else if (request.stream && !isJsonResponse(res)) {
        return { kind: "stream", res, ctx };
      } else {
        const body = parseJson(await this.transport.text(res, meta, limit));
        if (body === undefined) throw badResponse(ctx, "answered with a body that is not JSON");
        failure = guarded(ctx, () => this.codec.bodyError?.(body, res.status, ctx));
        if (!failure) return { kind: "json", body, ctx };
      }
      if (attempt === 1 && this.auth.renewAfter?.(failure, credential, authorization)) continue;
      throw failure;
    }
  }

  /**
   * A path the server does not serve, told with the path called (which only the adapter knows): the base URL is the
   * trouble. Callers are told the dialect's path; the base URL's own path goes to the operator's log line only.
   */
  private namingPath(failure: UpstreamError, request: VendorRequest, ctx: ErrorContext): UpstreamError {
    if (failure.kind !== "endpoint_not_found") return failure;
    return endpointNotFound({ method: request.method, apiPath: request.path, basePath: this.transport.basePath, dialect: this.dialect, ctx, status: failure.status ?? 404 });
  }

  /** A whole chat answer as the codec reads it, checked. */
  private chatResult(body: unknown, call: UpstreamCall<ChatParams>, ctx: ErrorContext): ChatResult {
    return checkedResult(guarded(ctx, () => this.codec.chatResponse(body, call.params, ctx, call.traits)), ctx);
  }

  private requestHeaders(request: VendorRequest, authorization: Authorization, extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...extra, ...this.headers, accept: request.stream ? "text/event-stream" : "application/json" };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    return { ...headers, ...authorization.headers, ...request.headers };
  }
}

/**
 * A 3xx answer. Not followed, and not an answer: bad_response, since the
 * vendor was reached and answered, only not with anything the gateway can
 * use; the dispatcher moves on to the next candidate (unreachable would have
 * it back off and retry the same base URL, which redirects again). The
 * Location is not quoted: a hostile vendor could put the key in it.
 */
function redirected(ctx: ErrorContext, status: number): UpstreamError {
  return new UpstreamError({
    kind: "bad_response",
    provider: ctx.provider,
    credentialId: ctx.credential.id,
    status,
    message: `provider "${ctx.provider}": the vendor redirected the request (HTTP ${status}); the gateway does not follow redirects, so check the provider's base URL`,
  });
}

/**
 * Whether a failure reading the body is the connection lost (reset, or
 * closed mid-chunk) after the vendor said the answer's end: only its usage
 * and end marker were still to come, so the answer is finished from what was
 * read, billed at the usage that came, and not held against the vendor. The
 * vendor's own errors, an over-long event and the call's cancellation or
 * deadline stay failures.
 */
function lostAfterAnswer(err: unknown, failure: UpstreamError, decoder: StreamDecoder): boolean {
  return !(err instanceof UpstreamError) && failure.kind === "unreachable" && decoder.answered === true && !decoder.done;
}

function withQuery(path: string, authorization: Authorization): string {
  if (!authorization.query) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${authorization.query}`;
}

/** A whole answer as a stream: its text, reasoning, refusal and tool calls as one delta, then its end. */
function* whole(result: ChatResult): Generator<ChatStreamEvent> {
  const { message } = result;
  const toolCalls = message.toolCalls.map((call, index) => create(ToolCallDeltaSchema, { index, id: call.id, name: call.name, argumentsFragment: call.arguments }));
  if (message.content !== "" || toolCalls.length > 0 || message.reasoningContent !== "" || message.refusal !== "") {
    const reasoningBlocks = message.reasoning.length > 0 ? message.reasoning : undefined;
    yield { type: "delta", content: message.content, toolCalls, reasoning: message.reasoningContent || undefined, reasoningSummarized: message.reasoningSummarized || undefined, refusal: message.refusal || undefined, reasoningBlocks };
  }
  yield { type: "end", id: result.id, finishReason: result.finishReason, stopSequence: result.stopSequence, usage: result.usage, usageFault: result.usageFault, reasoning: message.reasoning };
}
