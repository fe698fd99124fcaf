import { create, type JsonObject } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, UsageSchema, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Credential } from "../../secrets/credential.js";
import type { UpstreamResponse } from "../http-client.js";
import { fromOpenAIUsage } from "../openai/wire.js";
import type {
  ChatParams,
  ChatResult,
  ChatStreamEvent,
  DiscoveredModel,
  EmbedParams,
  EmbedResult,
  ProviderAdapter,
  UpstreamCall,
} from "../provider.js";
import { badResponse, isJsonResponse, parseJson, streamCutShort } from "../response-body.js";
import { parseSse } from "../transport/sse.js";
import { UpstreamError } from "../upstream-error.js";
import { VendorHttp, type CallContext } from "../vendor-client.js";
import { AccessTokenCache, type IssuedToken } from "./access-token.js";
import { chatPath, embeddingPath, knownModels } from "./endpoints.js";
import { hasErrorCode, qianfanError, qianfanStatusError, TOKEN_REJECTED, tokenExchangeError } from "./errors.js";
import { fromQianfanAnswer, fromQianfanFinishReason, madeUpToolCallId, toQianfanChatBody, type QianfanChatAnswer, type QianfanFunctionCall } from "./wire.js";

export interface QianfanV1Options {
  name: string;
  /** The API origin, "https://aip.baidubce.com"; the token endpoint lives there too. */
  baseUrl: string;
  headers?: Record<string, string>;
  connections?: number;
  /** Bound on one token exchange, which concurrent calls share. */
  tokenTimeoutMs?: number;
  /** For tests of token expiry. */
  now?: () => number;
}

/** What a POST produced: a parsed answer, or an open event stream and the token it used. */
type Sent = { kind: "json"; json: object } | { kind: "stream"; res: UpstreamResponse; token: string };

/**
 * Baidu Qianfan v1 (wenxinworkshop): an API Key + Secret Key pair exchanged
 * for an access token that rides in the query string, and errors that arrive
 * inside HTTP 200 bodies. Nothing derived from the URL reaches an error.
 */
export class QianfanV1Adapter implements ProviderAdapter {
  readonly name: string;
  readonly dialect = "qianfan-v1";
  // No credential header: the access token rides in the query string, which no error message includes.
  private readonly client: VendorHttp;
  private readonly tokens: AccessTokenCache;
  private readonly tokenTimeoutMs: number;

  constructor(options: QianfanV1Options) {
    this.name = options.name;
    this.client = new VendorHttp(options);
    this.tokenTimeoutMs = options.tokenTimeoutMs ?? 30_000;
    this.tokens = new AccessTokenCache((credential) => this.exchangeToken(credential), options.now);
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const body = toQianfanChatBody(call.params, this.name, false);
    const answer = (await this.postJson(chatPath(call.upstreamModel), body, call)) as QianfanChatAnswer;
    const message = fromQianfanAnswer(answer);
    return {
      id: answer.id ?? "",
      message,
      finishReason: fromQianfanFinishReason(answer.finish_reason, message.toolCalls.length > 0),
      usage: fromOpenAIUsage(answer.usage),
    };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncGenerator<ChatStreamEvent> {
    const body = toQianfanChatBody(call.params, this.name, true);
    const { res, token } = await this.openStream(chatPath(call.upstreamModel), body, call);
    let id = "";
    let reason: string | undefined;
    let usage: Usage | undefined;
    let functionCall: QianfanFunctionCall | undefined;
    let ended = false;
    try {
      for await (const event of parseSse(res.body)) {
        if (event.data === "") continue;
        const chunk = parseJson(event.data);
        if (typeof chunk !== "object" || chunk === null) throw badResponse(this.name, call.credential, "sent a stream event that is not JSON");
        if (hasErrorCode(chunk)) throw qianfanError(this.name, call.credential, chunk, 200, token);
        const answer = chunk as QianfanChatAnswer;
        if (answer.id) id = answer.id;
        if (answer.usage) usage = fromOpenAIUsage(answer.usage);
        if (answer.finish_reason) reason = answer.finish_reason;
        // Kept until the end: a function call is only usable whole.
        if (answer.function_call?.name) functionCall = answer.function_call;
        if (answer.result) yield { type: "delta", content: answer.result, toolCalls: [] };
        if (answer.is_end) {
          ended = true;
          break;
        }
      }
    } catch (err) {
      throw this.client.classify(err, call);
    } finally {
      // Stop reading (and release the socket) when the consumer goes away early.
      if (!res.body.destroyed) res.body.destroy();
    }
    if (!ended) throw streamCutShort(this.name, call.credential);
    if (functionCall) {
      const toolCall = create(ToolCallDeltaSchema, { index: 0, id: madeUpToolCallId(), name: functionCall.name ?? "", argumentsFragment: functionCall.arguments ?? "" });
      yield { type: "delta", content: "", toolCalls: [toolCall] };
    }
    yield { type: "end", id, finishReason: fromQianfanFinishReason(reason, functionCall !== undefined), usage };
  }

  async embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult> {
    if (call.params.dimensions !== undefined) {
      throw new UpstreamError({ kind: "bad_request", provider: this.name, message: `provider "${this.name}": model "${call.upstreamModel}" cannot shorten its vectors; leave dimensions unset` });
    }
    const body: JsonObject = { input: call.params.inputs };
    if (call.params.user) body.user_id = call.params.user;
    const answer = (await this.postJson(embeddingPath(call.upstreamModel), body, call)) as {
      data?: { index?: number; embedding?: number[] }[];
      usage?: { prompt_tokens?: number; total_tokens?: number };
    };
    const vectors: number[][] = [];
    for (const [position, item] of (answer.data ?? []).entries()) vectors[item.index ?? position] = item.embedding ?? [];
    if (vectors.length !== call.params.inputs.length) throw badResponse(this.name, call.credential, "answered with the wrong number of embeddings");
    const prompt = answer.usage?.prompt_tokens ?? 0;
    return { vectors, usage: create(UsageSchema, { promptTokens: prompt, totalTokens: answer.usage?.total_tokens ?? prompt }) };
  }

  /** v1 has no model list: the endpoint table is what this dialect knows how to reach. */
  async listModels(_credential: Credential, _signal: AbortSignal): Promise<DiscoveredModel[]> {
    return knownModels();
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /**
   * POSTs with the credential's access token. Errors come in the body (even
   * with HTTP 200), so every JSON answer is inspected; a rejected token (110,
   * 111) is replaced and the call tried once more. Returns the parsed JSON,
   * or for a stream the open event stream.
   */
  private async send(path: string, body: JsonObject, call: CallContext, stream: boolean): Promise<Sent> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get(call.credential, call.signal, this.name);
      const res = await this.client.request({ method: "POST", path: `${path}?access_token=${encodeURIComponent(token)}`, body, stream }, call);
      // A stream that fails before it starts answers with a plain JSON error instead of events.
      if (stream && res.status < 400 && !isJsonResponse(res)) return { kind: "stream", res, token };
      const text = await this.client.readText(res, call);
      const json = parseJson(text);
      if (hasErrorCode(json)) {
        if (TOKEN_REJECTED.has(json.error_code) && attempt === 1) {
          this.tokens.invalidate(call.credential, token);
          continue;
        }
        throw qianfanError(this.name, call.credential, json, res.status, token);
      }
      if (res.status >= 400) throw qianfanStatusError(this.name, call.credential, res.status, text, token);
      if (typeof json !== "object" || json === null) throw badResponse(this.name, call.credential, "answered with a body that is not JSON");
      return { kind: "json", json };
    }
  }

  private async postJson(path: string, body: JsonObject, call: CallContext): Promise<object> {
    const sent = await this.send(path, body, call, false);
    if (sent.kind !== "json") throw badResponse(this.name, call.credential, "answered with an event stream");
    return sent.json;
  }

  private async openStream(path: string, body: JsonObject, call: CallContext): Promise<{ res: UpstreamResponse; token: string }> {
    const sent = await this.send(path, body, call, true);
    if (sent.kind !== "stream") throw badResponse(this.name, call.credential, "answered a stream request with a single JSON body");
    return sent;
  }

  /** POST /oauth/2.0/token with the key pair in the query, as Baidu documents. */
  private async exchangeToken(credential: Credential): Promise<IssuedToken> {
    if (!credential.secondary) {
      throw new UpstreamError({
        kind: "credential_rejected",
        provider: this.name,
        credentialId: credential.id,
        message: `provider "${this.name}" credential "${credential.id}" has no Secret Key: Qianfan v1 needs the API Key as the secret and the Secret Key as "secondary"`,
      });
    }
    const query = new URLSearchParams({ grant_type: "client_credentials", client_id: credential.secret, client_secret: credential.secondary });
    const signal = AbortSignal.timeout(this.tokenTimeoutMs);
    // No body, so no content-type: the configured headers and accept only.
    const res = await this.client.http.request({
      method: "POST",
      path: `/oauth/2.0/token?${query.toString()}`,
      headers: { ...this.client.configuredHeaders, accept: "application/json" },
      signal,
      credentialId: credential.id,
    });
    const text = await this.client.readText(res, { signal, credential });
    const json = parseJson(text) as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    if (typeof json?.access_token === "string" && json.access_token !== "" && res.status < 400) {
      return { token: json.access_token, expiresInS: typeof json.expires_in === "number" ? json.expires_in : 2_592_000 };
    }
    throw tokenExchangeError(this.name, credential, res.status, typeof json?.error === "string" ? json.error : undefined);
  }
}
