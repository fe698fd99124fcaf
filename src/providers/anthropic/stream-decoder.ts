import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema, type ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { MAX_CONTENT_BLOCKS, MAX_REASONING_BLOCKS, MAX_STREAMED_ANSWER_CHARS, MAX_TOOL_CALLS } from "../answer-limits.js";
import { badResponse, eventObject, streamCutShort } from "../codec-errors.js";
import type { ChatStreamEvent } from "../provider.js";
import { StreamIdentity } from "../stream-identity.js";
import { vendorObject, vendorString } from "../vendor-fields.js";
import { anthropicStreamError } from "./errors.js";
import { fromAnthropicStopReason, fromAnthropicStopSequence, fromAnthropicUsage, type AnthropicBlock } from "./wire.js";

/** One typed stream event; only the fields the decoder reads. */
interface AnthropicEvent {
  type?: string;
  index?: number;
  message?: { id?: unknown; model?: unknown; usage?: unknown };
  content_block?: AnthropicBlock;
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; signature?: string; stop_reason?: string | null; stop_sequence?: unknown };
  usage?: unknown;
}

/**
 * What a streamed content block turns into; a thinking block builds the
 * reasoning block it will be returned as. A tool call (and JSON mode's tool)
 * notes whether any of its input has come, so that one with none ends as "{}".
 */
type BlockRole =
  | { kind: "text" }
  | { kind: "tool"; position: number; hasInput: boolean }
  | { kind: "json"; hasInput: boolean }
  | { kind: "thinking"; block: ReasoningBlock }
  | { kind: "ignored" };

/**
 * Reads an Anthropic Messages stream: typed events, each content block
 * opened with its role (text, a tool call, the JSON-mode tool whose input is
 * the answer text, thinking, or something left out such as server tools),
 * then its deltas; usage split between message_start and message_delta;
 * `message_stop` the end marker and `event: error` a failure after the 200.
 * Thinking streams as reasoning deltas; each block (with the signature that
 * comes last) is handed on whole when it closes, and all again at the end,
 * for the next turn. A tool call without input streams none (`input: {}`
 * and at most an empty `partial_json`): it closes with "{}" as its
 * arguments, as the unary answer has them and OpenAI streams them (the
 * OpenAI SDK's stream helper parses the arguments, and throws on "").
 * What the decoder keeps is bounded: at most MAX_REASONING_BLOCKS thinking
 * blocks of MAX_STREAMED_ANSWER_CHARS characters in all (text, signatures and redacted data), MAX_TOOL_CALLS
 * tool calls and MAX_CONTENT_BLOCKS blocks; past any, the vendor's bad_response.
 * Every text the vendor sends must be a string (vendor-fields.ts). The
 * message's id and model (message_start) go on the first delta, and the end;
 * the first delta carries its prompt counts too (ChatStreamDelta.usage), for
 * a stream cut before the end.
 */
export class AnthropicStreamDecoder implements StreamDecoder {
  private readonly blocks = new Map<number, BlockRole>();
  private readonly reasoning: ReasoningBlock[] = [];
  private tools = 0;
  /** Characters of the reasoning blocks kept. */
  private keptChars = 0;
  private readonly identity = new StreamIdentity();
  private stopReason: string | null | undefined;
  /** message_delta's stop_sequence, sent with stop_reason "stop_sequence". */
  private stopSequence: unknown;
  // Input counts come with message_start; message_delta's counts are cumulative and win where present.
  // Kept as sent, and read (and checked) once, at the end.
  private usage: unknown;
  /**
   * message_start's counts, read, until a delta carries them (ChatStreamDelta.usage): Anthropic bills the
   * prompt it counted there even when the stream is cut. They wait for a delta rather than make an event of
   * their own, which would end failover before the answer began (dispatcher.ts). Unusable counts are left
   * to the end, which says so.
   */
  private promptUsage: Usage | undefined;
  private stopped = false;
  /**
   * JSON mode's text blocks, held back: while thinking the JSON tool is only
   * offered (wire.ts), and the model may write a line before calling it. The
   * answer is the tool's input then, as the unary answer has it; the text
   * only when no JSON tool came.
   */
  private heldText = "";
  private jsonCame = false;

  constructor(
    /** The tool whose input is the answer in JSON mode (json-tool.ts); undefined outside JSON mode. */
    private readonly jsonTool: string | undefined,
    private readonly ctx: ErrorContext,
    /** The request's stop sequences: the only ones the answer may say it stopped at. */
    private readonly stops: readonly string[] = [],
  ) {}

  get done(): boolean {
    return this.stopped;
  }

  /** message_delta said why the message stopped, with its final usage: only message_stop is still to come. */
  get answered(): boolean {
    return typeof this.stopReason === "string";
  }

  next(sse: StreamEvent): ChatStreamEvent[] {
    return this.announced(this.read(sse));
  }

  /** message_delta said the stop reason and the final usage, and the body ended before message_stop: it stops as message_stop would. */
  endMarkerMissed(): ChatStreamEvent[] {
    return this.announced(this.stop());
  }

  /** `events` with the message's id and identity, and its prompt counts, on the first delta. */
  private announced(read: ChatStreamEvent[]): ChatStreamEvent[] {
    const events = this.identity.announce(read);
    const first = this.promptUsage && events.find((event) => event.type === "delta");
    if (first) {
      first.usage = this.promptUsage;
      this.promptUsage = undefined;
    }
    return events;
  }

  private read(sse: StreamEvent): ChatStreamEvent[] {
    if (sse.event === "error") throw anthropicStreamError(sse.data, this.ctx);
    if (sse.data === "") return [];
    const event = eventObject(sse.data, this.ctx) as AnthropicEvent;
    switch (event.type ?? sse.event) {
      case "message_start":
        this.identity.heard(event.message?.id, { model: event.message?.model });
        this.usage = mergedUsage({}, event.message?.usage);
        this.promptUsage = fromAnthropicUsage(event.message?.usage).usage;
        return [];
      case "content_block_start":
        if (this.blocks.size >= MAX_CONTENT_BLOCKS) throw badResponse(this.ctx, `streamed more than ${MAX_CONTENT_BLOCKS} content blocks`);
        return this.blockStart(event.index ?? this.blocks.size, vendorObject(event.content_block, "content_block", this.ctx) as AnthropicBlock);
      case "content_block_delta":
        return this.blockDelta(this.blocks.get(event.index ?? -1), vendorObject(event.delta, "delta", this.ctx) as NonNullable<AnthropicEvent["delta"]>);
      case "message_delta":
        if (event.delta?.stop_reason !== undefined) {
          this.stopReason = event.delta.stop_reason;
          this.stopSequence = event.delta.stop_sequence;
        }
        this.usage = mergedUsage(this.usage ?? {}, event.usage);
        return [];
      case "message_stop":
        return this.stop();
      case "content_block_stop":
        return this.blockStop(this.blocks.get(event.index ?? -1));
      default:
        // ping, and event types added later.
        return [];
    }
  }

  /** The message stopped: blocks are closed before the message is; any left open end here. */
  private stop(): ChatStreamEvent[] {
    this.stopped = true;
    return [...this.blocks.values()].flatMap((role) => this.emptyInputClosed(role)).concat(this.textWithoutJson());
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    if (!this.stopped) throw streamCutShort(this.ctx);
    const { usage, fault } = fromAnthropicUsage(this.usage);
    return {
      type: "end",
      ...this.identity.said(),
      finishReason: fromAnthropicStopReason(this.stopReason, this.tools > 0),
      stopSequence: fromAnthropicStopSequence(this.stopReason, this.stopSequence, this.stops),
      usage,
      usageFault: fault,
      reasoning: this.reasoning,
    };
  }

  private blockStart(index: number, block: AnthropicBlock): ChatStreamEvent[] {
    if (block.type === "thinking" || block.type === "redacted_thinking") {
      if (this.reasoning.length >= MAX_REASONING_BLOCKS) throw badResponse(this.ctx, `streamed more than ${MAX_REASONING_BLOCKS} thinking blocks`);
      const reasoning = create(ReasoningBlockSchema, {
        text: this.kept(vendorString(block.thinking, "content_block.thinking", this.ctx)),
        signature: this.kept(vendorString(block.signature, "content_block.signature", this.ctx)),
        redacted: this.kept(vendorString(block.data, "content_block.data", this.ctx)),
      });
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
      return this.answerText(vendorString(block.text, "content_block.text", this.ctx));
    }
    if (block.type === "tool_use" && this.jsonTool !== undefined && block.name === this.jsonTool) {
      const input = startingInput(block.input);
      this.jsonCame = true;
      this.heldText = "";
      this.blocks.set(index, { kind: "json", hasInput: input !== "" });
      return input ? [text(input)] : [];
    }
    if (block.type === "tool_use") {
      if (this.tools >= MAX_TOOL_CALLS) throw badResponse(this.ctx, `streamed more than ${MAX_TOOL_CALLS} tool calls`);
      const id = vendorString(block.id, "content_block.id", this.ctx);
      const name = vendorString(block.name, "content_block.name", this.ctx);
      const position = this.tools++;
      const input = startingInput(block.input);
      this.blocks.set(index, { kind: "tool", position, hasInput: input !== "" });
      return [toolFragment(position, id, name, input)];
    }
    this.blocks.set(index, { kind: "ignored" });
    return [];
  }

  /** A thinking block closed: it goes on whole, signed, before whatever the model says next. A tool call closed with no input has "{}". */
  private blockStop(role: BlockRole | undefined): ChatStreamEvent[] {
    if (role?.kind === "thinking") return [{ type: "delta", content: "", toolCalls: [], reasoningBlocks: [role.block] }];
    return this.emptyInputClosed(role);
  }

  /** "{}" for a tool call (or JSON mode's answer) whose input never came, once: an empty object, as the unary answer has it. */
  private emptyInputClosed(role: BlockRole | undefined): ChatStreamEvent[] {
    if ((role?.kind !== "tool" && role?.kind !== "json") || role.hasInput) return [];
    role.hasInput = true;
    return [role.kind === "json" ? text("{}") : toolFragment(role.position, "", "", "{}")];
  }

  private blockDelta(role: BlockRole | undefined, delta: NonNullable<AnthropicEvent["delta"]>): ChatStreamEvent[] {
    if (delta.type === "text_delta") {
      const piece = vendorString(delta.text, "delta.text", this.ctx);
      return role?.kind === "text" ? this.answerText(piece) : [];
    }
    if (delta.type === "signature_delta") {
      const signature = vendorString(delta.signature, "delta.signature", this.ctx);
      if (role?.kind === "thinking") role.block.signature += this.kept(signature);
      return [];
    }
    if (delta.type === "thinking_delta") {
      const thinking = vendorString(delta.thinking, "delta.thinking", this.ctx);
      if (role?.kind !== "thinking" || !thinking) return [];
      role.block.text += this.kept(thinking);
      return [{ type: "delta", content: "", toolCalls: [], reasoning: thinking }];
    }
    if (delta.type !== "input_json_delta") return [];
    const partial = vendorString(delta.partial_json, "delta.partial_json", this.ctx);
    if (!partial) return [];
    if (role?.kind !== "json" && role?.kind !== "tool") return [];
    role.hasInput = true;
    // JSON mode streams the forced tool's input as the answer text.
    return [role.kind === "json" ? text(partial) : toolFragment(role.position, "", "", partial)];
  }

  /** A text block's piece: streamed on, or in JSON mode held until the end tells whether the JSON tool answered. */
  private answerText(piece: string): ChatStreamEvent[] {
    if (!piece) return [];
    if (this.jsonTool === undefined) return [text(piece)];
    if (this.jsonCame) return [];
    if (this.heldText.length + piece.length > MAX_STREAMED_ANSWER_CHARS) {
      throw badResponse(this.ctx, `streamed text longer than ${MAX_STREAMED_ANSWER_CHARS} characters, the most the gateway keeps of one answer`);
    }
    this.heldText += piece;
    return [];
  }

  /** JSON mode's held text, when the model answered without the JSON tool. */
  private textWithoutJson(): ChatStreamEvent[] {
    if (this.jsonCame || !this.heldText) return [];
    const held = this.heldText;
    this.heldText = "";
    return [text(held)];
  }

  /** Counts what the decoder keeps of the reasoning: past MAX_STREAMED_ANSWER_CHARS, the vendor's bad_response. */
  private kept(piece: string): string {
    this.keptChars += piece.length;
    if (this.keptChars > MAX_STREAMED_ANSWER_CHARS) {
      throw badResponse(this.ctx, `streamed thinking longer than ${MAX_STREAMED_ANSWER_CHARS} characters, the most the gateway keeps of one answer`);
    }
    return piece;
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
