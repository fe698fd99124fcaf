import { create, type JsonObject } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, UsageSchema, type FinishReason, type ToolCallDelta, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Credential } from "../../secrets/credential.js";
import { fromOpenAIFinishReason, fromOpenAIMessage } from "../openai/wire.js";
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
import { badResponse, parseJson, streamCutShort } from "../response-body.js";
import { parseSse } from "../transport/sse.js";
import { VendorClient } from "../vendor-client.js";
import { dashScopeError, dashScopeUpstreamError, parseDashScopeError } from "./errors.js";
import { IncrementTracker } from "./increments.js";
import { fromDashScopeUsage, isTerminal, toDashScopeChatBody, type DashScopeGeneration, type DashScopeToolCall } from "./wire.js";

export interface DashScopeOptions {
  name: string;
  /** "https://dashscope.aliyuncs.com/api/v1" (or the -intl host). */
  baseUrl: string;
  /** Extra headers, e.g. `X-DashScope-WorkSpace`. */
  headers?: Record<string, string>;
  connections?: number;
}

const GENERATION = "/services/aigc/text-generation/generation";
const TEXT_EMBEDDING = "/services/embeddings/text-embedding/text-embedding";

/** Per tool call position in a stream: what was already sent, so cumulative chunks become increments. */
interface StreamedToolCall {
  announced: boolean;
  arguments: IncrementTracker;
}

/** Alibaba DashScope's native API (not its OpenAI-compatible mode). */
export class DashScopeAdapter implements ProviderAdapter {
  readonly name: string;
  readonly dialect = "dashscope";
  private readonly client: VendorClient;

  constructor(options: DashScopeOptions) {
    this.name = options.name;
    this.client = new VendorClient(options, {
      // Sent even when the key is empty: DashScope has no keyless mode.
      credentialHeaders: (credential) => ({ authorization: `Bearer ${credential.secret}` }),
      streamHeaders: { "x-dashscope-sse": "enable" },
      httpError: dashScopeUpstreamError,
    });
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const body = toDashScopeChatBody(call.params, call.upstreamModel, this.name, false);
    const answer = await this.client.json<DashScopeGeneration>({ method: "POST", path: GENERATION, body }, call);
    if (answer.code && !answer.output) throw dashScopeError(this.name, call.credential, { code: answer.code, message: answer.message ?? "" });
    const choice = answer.output?.choices?.[0];
    if (!choice) throw badResponse(this.name, call.credential, "answered with no choices");
    return {
      id: answer.request_id ?? "",
      message: fromOpenAIMessage(choice.message),
      finishReason: fromOpenAIFinishReason(choice.finish_reason),
      usage: fromDashScopeUsage(answer.usage),
    };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncGenerator<ChatStreamEvent> {
    const body = toDashScopeChatBody(call.params, call.upstreamModel, this.name, true);
    const res = await this.client.send({ method: "POST", path: GENERATION, body, stream: true }, call);
    const text = new IncrementTracker();
    const toolCalls = new Map<number, StreamedToolCall>();
    let id = "";
    let finishReason: FinishReason | undefined;
    let usage: Usage | undefined;
    try {
      for await (const event of parseSse(res.body)) {
        if (event.event === "error") throw dashScopeError(this.name, call.credential, parseDashScopeError(event.data));
        if (event.data === "") continue;
        const chunk = parseJson(event.data) as DashScopeGeneration | undefined;
        if (typeof chunk !== "object" || chunk === null) throw badResponse(this.name, call.credential, "sent a stream event that is not JSON");
        if (chunk.code && !chunk.output) throw dashScopeError(this.name, call.credential, { code: chunk.code, message: chunk.message ?? "" });
        if (chunk.request_id) id = chunk.request_id;
        // Usage is cumulative in every chunk: the last one counts.
        if (chunk.usage) usage = fromDashScopeUsage(chunk.usage);
        const choice = chunk.output?.choices?.[0];
        if (!choice) continue;
        const content = text.next(typeof choice.message?.content === "string" ? choice.message.content : "");
        const deltas = toolCallDeltas(choice.message?.tool_calls ?? [], toolCalls);
        if (content !== "" || deltas.length > 0) yield { type: "delta", content, toolCalls: deltas };
        if (isTerminal(choice.finish_reason)) {
          finishReason = fromOpenAIFinishReason(choice.finish_reason);
          break;
        }
      }
    } catch (err) {
      throw this.client.classify(err, call);
    } finally {
      // Stop reading (and release the socket) when the consumer goes away early.
      if (!res.body.destroyed) res.body.destroy();
    }
    if (finishReason === undefined) throw streamCutShort(this.name, call.credential);
    yield { type: "end", id, finishReason, usage };
  }

  async embed(call: UpstreamCall<EmbedParams>): Promise<EmbedResult> {
    const body: JsonObject = { model: call.upstreamModel, input: { texts: call.params.inputs } };
    if (call.params.dimensions !== undefined) body.parameters = { dimension: call.params.dimensions };
    const answer = await this.client.json<{
      output?: { embeddings?: { text_index?: number; embedding?: number[] }[] };
      usage?: { total_tokens?: number };
    }>({ method: "POST", path: TEXT_EMBEDDING, body }, call);
    const vectors: number[][] = [];
    for (const [position, item] of (answer.output?.embeddings ?? []).entries()) vectors[item.text_index ?? position] = item.embedding ?? [];
    if (vectors.length !== call.params.inputs.length) throw badResponse(this.name, call.credential, "answered with the wrong number of embeddings");
    const tokens = answer.usage?.total_tokens ?? 0;
    return { vectors, usage: create(UsageSchema, { promptTokens: tokens, totalTokens: tokens }) };
  }

  /** The native API has no model list. */
  async listModels(_credential: Credential, _signal: AbortSignal): Promise<DiscoveredModel[]> {
    return [];
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Tool call fragments, each call announced (id, name) once, arguments as increments. */
function toolCallDeltas(calls: DashScopeToolCall[], state: Map<number, StreamedToolCall>): ToolCallDelta[] {
  const deltas: ToolCallDelta[] = [];
  calls.forEach((call, position) => {
    const index = call.index ?? position;
    let seen = state.get(index);
    if (!seen) {
      seen = { announced: false, arguments: new IncrementTracker() };
      state.set(index, seen);
    }
    const fragment = seen.arguments.next(call.function?.arguments ?? "");
    const announce = !seen.announced && Boolean(call.id || call.function?.name);
    if (!announce && fragment === "") return;
    if (announce) seen.announced = true;
    deltas.push(
      create(ToolCallDeltaSchema, {
        index,
        id: announce ? (call.id ?? "") : "",
        name: announce ? (call.function?.name ?? "") : "",
        argumentsFragment: fragment,
      }),
    );
  });
  return deltas;
}
