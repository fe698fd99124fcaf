import { create, type JsonObject } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, type FinishReason, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { UsageSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Credential } from "../../secrets/credential.js";
import { readBodyText, UpstreamHttpClient, type UpstreamResponse } from "../http-client.js";
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
import { parseSse } from "../sse.js";
import { UpstreamError } from "../upstream-error.js";
import { openAIUpstreamError, parseOpenAIError, kindForStatus } from "./errors.js";
import { describe } from "../error-messages.js";
import {
  fromOpenAIFinishReason,
  fromOpenAIMessage,
  fromOpenAIUsage,
  toOpenAIChatBody,
  type OpenAIChoiceMessage,
  type OpenAIWireOptions,
} from "./wire.js";
import { redactSecrets } from "../redact.js";
import { FinishReason as FR } from "../../../gen/ts/switchboard/v1/chat_pb.js";

export interface OpenAICompatibleOptions extends Partial<OpenAIWireOptions> {
  name: string;
  baseUrl: string;
  /** Extra headers on every request (Qianfan v2's `appid`, OpenAI's organisation). */
  headers?: Record<string, string>;
  connections?: number;
}

interface ChatCompletion {
  id?: string;
  choices?: { message?: OpenAIChoiceMessage; finish_reason?: string | null }[];
  usage?: Parameters<typeof fromOpenAIUsage>[0];
}

interface ChatCompletionChunk {
  id?: string;
  choices?: {
    delta?: {
      content?: string | null;
      tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[] | null;
    };
    finish_reason?: string | null;
  }[];
  usage?: Parameters<typeof fromOpenAIUsage>[0];
  error?: { message?: string; code?: string | number; type?: string };
}

/** The OpenAI Chat Completions dialect, for every vendor that speaks it. */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly name: string;
  readonly dialect = "openai";
  private readonly http: UpstreamHttpClient;
  private readonly wire: OpenAIWireOptions;
  private readonly extraHeaders: Record<string, string>;

  constructor(options: OpenAICompatibleOptions) {
    this.name = options.name;
    this.http = new UpstreamHttpClient(options.name, options.baseUrl, { connections: options.connections });
    this.wire = { maxTokensField: options.maxTokensField ?? "max_tokens" };
    this.extraHeaders = options.headers ?? {};
  }

  private headers(credential: Credential, stream: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      ...this.extraHeaders,
      "content-type": "application/json",
      accept: stream ? "text/event-stream" : "application/json",
    };
    // Ollama and local vLLM need no key; the pool then holds an empty one.
    if (credential.secret) headers.authorization = `Bearer ${credential.secret}`;
    return headers;
  }

  private async post(path: string, body: JsonObject, call: UpstreamCall<unknown>, stream: boolean): Promise<UpstreamResponse> {
    const res = await this.http.request({
      method: "POST",
      path,
      headers: this.headers(call.credential, stream),
      body: JSON.stringify(body),
      signal: call.signal,
      credentialId: call.credential.id,
    });
    if (res.status >= 400) {
      const text = await readBodyText(res.body).catch(() => "");
      throw openAIUpstreamError(this.name, call.credential, res, text);
    }
    return res;
  }

  private async readJson<T>(res: UpstreamResponse, call: UpstreamCall<unknown>): Promise<T> {
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw this.http.classify(err, { signal: call.signal, credentialId: call.credential.id });
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.badResponse(call.credential, "answered with a body that is not JSON");
    }
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const body = toOpenAIChatBody(call.params, call.upstreamModel, false, this.wire);
    const res = await this.post("/chat/completions", body, call, false);
    const completion = await this.readJson<ChatCompletion>(res, call);
    const choice = completion.choices?.[0];
    if (!choice) throw this.badResponse(call.credential, "answered with no choices");
    return {
      id: completion.id ?? "",
      message: fromOpenAIMessage(choice.message),
      finishReason: fromOpenAIFinishReason(choice.finish_reason),
      usage: fromOpenAIUsage(completion.usage),
    };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncGenerator<ChatStreamEvent> {
    const body = toOpenAIChatBody(call.params, call.upstreamModel, true, this.wire);
    const res = await this.post("/chat/completions", body, call, true);
    let id = "";
    let finishReason: FinishReason = FR.UNSPECIFIED;
    let usage: Usage | undefined;
    let done = false;
    try {
      for await (const event of parseSse(res.body)) {
        if (event.data === "[DONE]") {
          done = true;
          break;
        }
        if (event.data === "") continue;
        let chunk: ChatCompletionChunk;
        try {
          chunk = JSON.parse(event.data) as ChatCompletionChunk;
        } catch {
          throw this.badResponse(call.credential, "sent a stream event that is not JSON");
        }
        if (chunk.error) throw this.streamError(call.credential, chunk.error);
        if (chunk.id) id = chunk.id;
        if (chunk.usage) usage = fromOpenAIUsage(chunk.usage);
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        if (choice.finish_reason) finishReason = fromOpenAIFinishReason(choice.finish_reason);
        const delta = choice.delta;
        const content = delta?.content ?? "";
        const toolCalls = (delta?.tool_calls ?? []).map((fragment, position) =>
          create(ToolCallDeltaSchema, {
            index: fragment.index ?? position,
            id: fragment.id ?? "",
            name: fragment.function?.name ?? "",
            argumentsFragment: fragment.function?.arguments ?? "",
          }),
        );
        if (content !== "" || toolCalls.length > 0) yield { type: "delta", content, toolCalls };
      }
    } catch (err) {
      throw this.http.classify(err, { signal: call.signal, credentialId: call.credential.id });
    } finally {
      // Stop reading (and release the socket) when the consumer goes away early.
      if (!res.body.destroyed) res.body.destroy();
    }
    if (!done && finishReason === FR.UNSPECIFIED) {
      throw new UpstreamError({
        kind: "unreachable",
        provider: this.name,
        credentialId: call.credential.id,
        message: `provider "${this.name}" ended the stream before the answer was complete`,
      });
    }
    yield { type: "end", id, finishReason, usage };
  }

  async embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult> {
    const body: JsonObject = { model: call.upstreamModel, input: call.params.inputs, encoding_format: "float" };
    if (call.params.dimensions !== undefined) body.dimensions = call.params.dimensions;
    if (call.params.user) body.user = call.params.user;
    const res = await this.post("/embeddings", body, call, false);
    const answer = await this.readJson<{ data?: { index?: number; embedding?: number[] }[]; usage?: { prompt_tokens?: number; total_tokens?: number } }>(res, call);
    const vectors: number[][] = [];
    for (const [position, item] of (answer.data ?? []).entries()) vectors[item.index ?? position] = item.embedding ?? [];
    if (vectors.length !== call.params.inputs.length) throw this.badResponse(call.credential, "answered with the wrong number of embeddings");
    const prompt = answer.usage?.prompt_tokens ?? 0;
    return { vectors, usage: create(UsageSchema, { promptTokens: prompt, totalTokens: answer.usage?.total_tokens ?? prompt }) };
  }

  async listModels(credential: Credential, signal: AbortSignal): Promise<DiscoveredModel[]> {
    const call = { credential, signal };
    const res = await this.http.request({ method: "GET", path: "/models", headers: this.headers(credential, false), signal, credentialId: credential.id });
    if (res.status >= 400) {
      const text = await readBodyText(res.body).catch(() => "");
      throw openAIUpstreamError(this.name, credential, res, text);
    }
    const list = await this.readJson<{ data?: { id?: string }[] }>(res, call as UpstreamCall<unknown>);
    return (list.data ?? [])
      .filter((model): model is { id: string } => typeof model.id === "string")
      .map((model) => ({ id: model.id, embeddings: /embed/i.test(model.id) }));
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private badResponse(credential: Credential, what: string): UpstreamError {
    return new UpstreamError({ kind: "bad_response", provider: this.name, credentialId: credential.id, message: `provider "${this.name}" ${what}` });
  }

  /** A vendor error sent as a data event after the stream began (HTTP status already 200). */
  private streamError(credential: Credential, error: NonNullable<ChatCompletionChunk["error"]>): UpstreamError {
    const { message, code } = parseOpenAIError(JSON.stringify({ error }));
    const kind = kindForStatus(/rate|429/.test(code) ? 429 : 503, code, message);
    return new UpstreamError({
      kind,
      provider: this.name,
      credentialId: credential.id,
      vendorCode: code || undefined,
      message: describe(kind, this.name, credential, undefined, redactSecrets(message, credential)),
    });
  }
}
