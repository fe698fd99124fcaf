import { create, type JsonObject } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, type FinishReason, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { UsageSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Credential } from "../../secrets/credential.js";
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
import { badResponse, streamCutShort } from "../response-body.js";
import { parseSse } from "../transport/sse.js";
import { bearerToken, VendorClient } from "../vendor-client.js";
import { openAIStreamError, openAIUpstreamError, type OpenAIStreamErrorBody } from "./errors.js";
import {
  fromOpenAIFinishReason,
  fromOpenAIMessage,
  fromOpenAIUsage,
  toOpenAIChatBody,
  type OpenAIChoiceMessage,
  type OpenAIWireOptions,
} from "./wire.js";
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
  error?: OpenAIStreamErrorBody;
}

/** The OpenAI Chat Completions dialect, for every vendor that speaks it. */
export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly name: string;
  readonly dialect = "openai";
  private readonly client: VendorClient;
  private readonly wire: OpenAIWireOptions;

  constructor(options: OpenAICompatibleOptions) {
    this.name = options.name;
    this.client = new VendorClient(options, {
      // Ollama and local vLLM need no key; the pool then holds an empty one.
      credentialHeaders: bearerToken,
      httpError: openAIUpstreamError,
    });
    this.wire = { maxTokensField: options.maxTokensField ?? "max_tokens" };
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const body = toOpenAIChatBody(call.params, call.upstreamModel, false, this.wire);
    const completion = await this.client.json<ChatCompletion>({ method: "POST", path: "/chat/completions", body }, call);
    const choice = completion.choices?.[0];
    if (!choice) throw badResponse(this.name, call.credential, "answered with no choices");
    return {
      id: completion.id ?? "",
      message: fromOpenAIMessage(choice.message),
      finishReason: fromOpenAIFinishReason(choice.finish_reason),
      usage: fromOpenAIUsage(completion.usage),
    };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncGenerator<ChatStreamEvent> {
    const body = toOpenAIChatBody(call.params, call.upstreamModel, true, this.wire);
    const res = await this.client.send({ method: "POST", path: "/chat/completions", body, stream: true }, call);
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
          throw badResponse(this.name, call.credential, "sent a stream event that is not JSON");
        }
        if (chunk.error) throw openAIStreamError(this.name, call.credential, chunk.error);
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
      throw this.client.classify(err, call);
    } finally {
      // Stop reading (and release the socket) when the consumer goes away early.
      if (!res.body.destroyed) res.body.destroy();
    }
    if (!done && finishReason === FR.UNSPECIFIED) throw streamCutShort(this.name, call.credential);
    yield { type: "end", id, finishReason, usage };
  }

  async embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult> {
    const body: JsonObject = { model: call.upstreamModel, input: call.params.inputs, encoding_format: "float" };
    if (call.params.dimensions !== undefined) body.dimensions = call.params.dimensions;
    if (call.params.user) body.user = call.params.user;
    const answer = await this.client.json<{ data?: { index?: number; embedding?: number[] }[]; usage?: { prompt_tokens?: number; total_tokens?: number } }>(
      { method: "POST", path: "/embeddings", body },
      call,
    );
    const vectors: number[][] = [];
    for (const [position, item] of (answer.data ?? []).entries()) vectors[item.index ?? position] = item.embedding ?? [];
    if (vectors.length !== call.params.inputs.length) throw badResponse(this.name, call.credential, "answered with the wrong number of embeddings");
    const prompt = answer.usage?.prompt_tokens ?? 0;
    return { vectors, usage: create(UsageSchema, { promptTokens: prompt, totalTokens: answer.usage?.total_tokens ?? prompt }) };
  }

  async listModels(credential: Credential, signal: AbortSignal): Promise<DiscoveredModel[]> {
    const list = await this.client.json<{ data?: { id?: string }[] }>({ method: "GET", path: "/models" }, { credential, signal });
    return (list.data ?? [])
      .filter((model): model is { id: string } => typeof model.id === "string")
      .map((model) => ({ id: model.id, embeddings: /embed/i.test(model.id) }));
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
