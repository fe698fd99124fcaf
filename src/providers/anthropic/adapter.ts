import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, type ToolCallDelta } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Credential } from "../../secrets/credential.js";
import { badResponse, streamCutShort } from "../response-body.js";
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
import { parseSse } from "../transport/sse.js";
import { unsupported } from "../upstream-error.js";
import { apiKeyHeader, VendorClient } from "../vendor-client.js";
import { anthropicStreamError, anthropicUpstreamError } from "./errors.js";
import {
  ANTHROPIC_VERSION,
  JSON_TOOL_NAME,
  fromAnthropicContent,
  fromAnthropicStopReason,
  fromAnthropicUsage,
  toAnthropicBody,
  wantsJson,
  type AnthropicBlock,
  type AnthropicUsage,
  type AnthropicWireOptions,
} from "./wire.js";

export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

export interface AnthropicOptions extends Partial<AnthropicWireOptions> {
  name: string;
  /** Origin without the version, as Anthropic's SDKs take it: "https://api.anthropic.com". */
  baseUrl: string;
  /** Extra headers on every request, e.g. `anthropic-beta`, or a newer `anthropic-version`. */
  headers?: Record<string, string>;
  connections?: number;
}

interface AnthropicMessageBody {
  id?: string;
  content?: AnthropicBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

/** One typed stream event; only the fields the adapter reads. */
interface StreamEvent {
  type?: string;
  index?: number;
  message?: { id?: string; usage?: AnthropicUsage };
  content_block?: AnthropicBlock;
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
}

/** What a streamed content block turns into. */
type BlockRole = { kind: "text" } | { kind: "tool"; position: number } | { kind: "json" } | { kind: "ignored" };

/** The Anthropic Messages dialect. */
export class AnthropicAdapter implements ProviderAdapter {
  readonly name: string;
  readonly dialect = "anthropic";
  private readonly client: VendorClient;
  private readonly wire: AnthropicWireOptions;

  constructor(options: AnthropicOptions) {
    this.name = options.name;
    this.client = new VendorClient(options, {
      defaultHeaders: { "anthropic-version": ANTHROPIC_VERSION },
      // A keyless Anthropic-compatible proxy may hold the key itself.
      credentialHeaders: apiKeyHeader("x-api-key"),
      httpError: anthropicUpstreamError,
    });
    this.wire = { defaultMaxTokens: options.defaultMaxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS };
  }

  async chat(call: UpstreamCall<ChatParams>): Promise<ChatResult> {
    const body = toAnthropicBody(this.name, call.params, call.upstreamModel, false, this.wire);
    const answer = await this.client.json<AnthropicMessageBody>({ method: "POST", path: "/v1/messages", body }, call);
    if (!Array.isArray(answer.content)) throw badResponse(this.name, call.credential, "answered with no content");
    const message = fromAnthropicContent(answer.content, wantsJson(call.params));
    return {
      id: answer.id ?? "",
      message,
      finishReason: fromAnthropicStopReason(answer.stop_reason, message.toolCalls.length > 0),
      usage: fromAnthropicUsage(answer.usage),
    };
  }

  async *chatStream(call: UpstreamCall<ChatParams>): AsyncGenerator<ChatStreamEvent> {
    const jsonMode = wantsJson(call.params);
    const body = toAnthropicBody(this.name, call.params, call.upstreamModel, true, this.wire);
    const res = await this.client.send({ method: "POST", path: "/v1/messages", body, stream: true }, call);
    const blocks = new Map<number, BlockRole>();
    let tools = 0;
    let id = "";
    let stopReason: string | null | undefined;
    // Input counts come with message_start; message_delta's counts are cumulative and win where present.
    let usage: AnthropicUsage | undefined;
    let done = false;
    try {
      for await (const sse of parseSse(res.body)) {
        if (sse.event === "error") throw anthropicStreamError(this.name, call.credential, sse.data);
        if (sse.data === "") continue;
        let event: StreamEvent;
        try {
          event = JSON.parse(sse.data) as StreamEvent;
        } catch {
          throw badResponse(this.name, call.credential, "sent a stream event that is not JSON");
        }
        switch (event.type ?? sse.event) {
          case "message_start":
            id = event.message?.id ?? id;
            usage = definedOnly(event.message?.usage);
            break;
          case "content_block_start": {
            const block = event.content_block ?? {};
            const index = event.index ?? blocks.size;
            if (block.type === "text") {
              blocks.set(index, { kind: "text" });
              if (block.text) yield { type: "delta", content: block.text, toolCalls: [] };
            } else if (block.type === "tool_use" && jsonMode && block.name === JSON_TOOL_NAME) {
              blocks.set(index, { kind: "json" });
            } else if (block.type === "tool_use") {
              const position = tools++;
              blocks.set(index, { kind: "tool", position });
              yield { type: "delta", content: "", toolCalls: [fragment(position, block.id ?? "", block.name ?? "", startingInput(block.input))] };
            } else {
              blocks.set(index, { kind: "ignored" });
            }
            break;
          }
          case "content_block_delta": {
            const role = blocks.get(event.index ?? -1);
            const delta = event.delta ?? {};
            if (delta.type === "text_delta" && role?.kind === "text" && delta.text) {
              yield { type: "delta", content: delta.text, toolCalls: [] };
            } else if (delta.type === "input_json_delta" && delta.partial_json) {
              // JSON mode streams the forced tool's input as the answer text.
              if (role?.kind === "json") yield { type: "delta", content: delta.partial_json, toolCalls: [] };
              if (role?.kind === "tool") yield { type: "delta", content: "", toolCalls: [fragment(role.position, "", "", delta.partial_json)] };
            }
            break;
          }
          case "message_delta":
            if (event.delta?.stop_reason !== undefined) stopReason = event.delta.stop_reason;
            usage = { ...usage, ...definedOnly(event.usage) };
            break;
          case "message_stop":
            done = true;
            break;
          default:
            // ping, content_block_stop, and event types added later.
            break;
        }
        if (done) break;
      }
    } catch (err) {
      throw this.client.classify(err, call);
    } finally {
      // Stop reading (and release the socket) when the consumer goes away early.
      if (!res.body.destroyed) res.body.destroy();
    }
    if (!done) throw streamCutShort(this.name, call.credential);
    yield { type: "end", id, finishReason: fromAnthropicStopReason(stopReason, tools > 0), usage: fromAnthropicUsage(usage) };
  }

  embed(_call: UpstreamCall<EmbedParams>): Promise<EmbedResult> {
    return Promise.reject(unsupported(this.name, "embeddings (Anthropic has no embeddings API)"));
  }

  async listModels(credential: Credential, signal: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    let after: string | undefined;
    // The list is paged; a handful of pages covers every model Anthropic offers.
    for (let page = 0; page < 10; page++) {
      const query = `?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ""}`;
      const list = await this.client.json<{ data?: { id?: string }[]; has_more?: boolean; last_id?: string }>({ method: "GET", path: `/v1/models${query}` }, { credential, signal });
      for (const model of list.data ?? []) if (typeof model.id === "string") models.push({ id: model.id, embeddings: false });
      if (!list.has_more || !list.last_id) break;
      after = list.last_id;
    }
    return models;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

function fragment(index: number, id: string, name: string, argumentsFragment: string): ToolCallDelta {
  return create(ToolCallDeltaSchema, { index, id, name, argumentsFragment });
}

/** tool_use blocks start with `input: {}` and stream the real input as deltas; anything else is the whole input. */
function startingInput(input: unknown): string {
  return input && typeof input === "object" && Object.keys(input).length > 0 ? JSON.stringify(input) : "";
}

function definedOnly(usage: AnthropicUsage | undefined): AnthropicUsage {
  return Object.fromEntries(Object.entries(usage ?? {}).filter(([, value]) => typeof value === "number")) as AnthropicUsage;
}
