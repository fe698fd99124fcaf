import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema, type ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { eventObject, streamCutShort } from "../codec-errors.js";
import type { ChatStreamEvent } from "../provider.js";
import { anthropicStreamError } from "./errors.js";
import { JSON_TOOL_NAME, fromAnthropicStopReason, fromAnthropicUsage, type AnthropicBlock } from "./wire.js";

/** One typed stream event; only the fields the decoder reads. */
interface AnthropicEvent {
  type?: string;
  index?: number;
  message?: { id?: string; usage?: unknown };
  content_block?: AnthropicBlock;
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; signature?: string; stop_reason?: string | null };
  usage?: unknown;
}

/** What a streamed content block turns into; a thinking block builds the reasoning block it will be returned as. */
type BlockRole = { kind: "text" } | { kind: "tool"; position: number } | { kind: "json" } | { kind: "thinking"; block: ReasoningBlock } | { kind: "ignored" };

/**
 * Reads an Anthropic Messages stream: typed events, each content block
 * opened with its role (text, a tool call, the JSON-mode tool whose input is
 * the answer text, thinking, or something left out such as server tools),
 * then its deltas; usage split between message_start and message_delta;
 * `message_stop` the end marker and `event: error` a failure after the 200.
 * Thinking streams as reasoning deltas; each block (with the signature that
 * comes last) is handed on whole when it closes, and all again at the end,
 * for the next turn.
 */
export class AnthropicStreamDecoder implements StreamDecoder {
  private readonly blocks = new Map<number, BlockRole>();
  private readonly reasoning: ReasoningBlock[] = [];
  private tools = 0;
  private id = "";
  private stopReason: string | null | undefined;
  // Input counts come with message_start; message_delta's counts are cumulative and win where present.
  // Kept as sent, and read (and checked) once, at the end.
  private usage: unknown;
  private stopped = false;

  constructor(
    private readonly jsonMode: boolean,
    private readonly ctx: ErrorContext,
  ) {}

  get done(): boolean {
    return this.stopped;
  }

  next(sse: StreamEvent): ChatStreamEvent[] {
    if (sse.event === "error") throw anthropicStreamError(sse.data, this.ctx);
    if (sse.data === "") return [];
    const event = eventObject(sse.data, this.ctx) as AnthropicEvent;
    switch (event.type ?? sse.event) {
      case "message_start":
        this.id = event.message?.id ?? this.id;
        this.usage = mergedUsage({}, event.message?.usage);
        return [];
      case "content_block_start":
        return this.blockStart(event.index ?? this.blocks.size, event.content_block ?? {});
      case "content_block_delta":
        return this.blockDelta(this.blocks.get(event.index ?? -1), event.delta ?? {});
      case "message_delta":
        if (event.delta?.stop_reason !== undefined) this.stopReason = event.delta.stop_reason;
        this.usage = mergedUsage(this.usage ?? {}, event.usage);
        return [];
      case "message_stop":
        this.stopped = true;
        return [];
      case "content_block_stop":
        return this.blockStop(this.blocks.get(event.index ?? -1));
      default:
        // ping, and event types added later.
        return [];
    }
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    if (!this.stopped) throw streamCutShort(this.ctx);
    const { usage, fault } = fromAnthropicUsage(this.usage);
    return { type: "end", id: this.id, finishReason: fromAnthropicStopReason(this.stopReason, this.tools > 0), usage, usageFault: fault, reasoning: this.reasoning };
  }

  private blockStart(index: number, block: AnthropicBlock): ChatStreamEvent[] {
    if (block.type === "thinking" || block.type === "redacted_thinking") {
      const reasoning = create(ReasoningBlockSchema, { text: block.thinking ?? "", signature: block.signature ?? "", redacted: block.data ?? "" });
      this.reasoning.push(reasoning);
      // A redacted block is whole at its start; a thinking block is, at its stop (the signature comes last).
      if (block.type === "redacted_thinking") {
        this.blocks.set(index, { kind: "ignored" });
        return [{ type: "delta", content: "", toolCalls: [], reasoningBlocks: [reasoning] }];
      }
      this.blocks.set(index, { kind: "thinking", block: reasoning });
      return reasoning.text ? [{ type: "delta", content: "", toolCalls: [], reasoning: reasoning.text }] : [];
    }
    if (block.type === "text") {
      this.blocks.set(index, { kind: "text" });
      return block.text ? [text(block.text)] : [];
    }
    if (block.type === "tool_use" && this.jsonMode && block.name === JSON_TOOL_NAME) {
      this.blocks.set(index, { kind: "json" });
      return [];
    }
    if (block.type === "tool_use") {
      const position = this.tools++;
      this.blocks.set(index, { kind: "tool", position });
      return [toolFragment(position, block.id ?? "", block.name ?? "", startingInput(block.input))];
    }
    this.blocks.set(index, { kind: "ignored" });
    return [];
  }

  /** A thinking block closed: it goes on whole, signed, before whatever the model says next. */
  private blockStop(role: BlockRole | undefined): ChatStreamEvent[] {
    return role?.kind === "thinking" ? [{ type: "delta", content: "", toolCalls: [], reasoningBlocks: [role.block] }] : [];
  }

  private blockDelta(role: BlockRole | undefined, delta: NonNullable<AnthropicEvent["delta"]>): ChatStreamEvent[] {
    if (delta.type === "text_delta" && role?.kind === "text" && delta.text) return [text(delta.text)];
    if (role?.kind === "thinking") {
      if (delta.type === "signature_delta") role.block.signature += delta.signature ?? "";
      if (delta.type !== "thinking_delta" || !delta.thinking) return [];
      role.block.text += delta.thinking;
      return [{ type: "delta", content: "", toolCalls: [], reasoning: delta.thinking }];
    }
    if (delta.type !== "input_json_delta" || !delta.partial_json) return [];
    // JSON mode streams the forced tool's input as the answer text.
    if (role?.kind === "json") return [text(delta.partial_json)];
    if (role?.kind === "tool") return [toolFragment(role.position, "", "", delta.partial_json)];
    return [];
  }
}

function text(content: string): ChatStreamEvent {
  return { type: "delta", content, toolCalls: [] };
}

function toolFragment(index: number, id: string, name: string, argumentsFragment: string): ChatStreamEvent {
  return { type: "delta", content: "", toolCalls: [create(ToolCallDeltaSchema, { index, id, name, argumentsFragment })] };
}

/** tool_use blocks start with `input: {}` and stream the real input as deltas; anything else is the whole input. */
function startingInput(input: unknown): string {
  return input && typeof input === "object" && Object.keys(input).length > 0 ? JSON.stringify(input) : "";
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The usage so far with a later event's counts over it: a count the later
 * event leaves out or sends as null keeps the earlier one. Whatever else is
 * sent is kept as it is (a string, a fraction, a usage that is no object),
 * for the reader to refuse at the end.
 */
function mergedUsage(earlier: unknown, later: unknown): unknown {
  if (later === undefined || later === null || !isObject(earlier)) return earlier;
  if (!isObject(later)) return later;
  return { ...earlier, ...Object.fromEntries(Object.entries(later).filter(([, value]) => value !== undefined && value !== null)) };
}
