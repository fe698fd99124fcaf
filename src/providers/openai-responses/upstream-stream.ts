// A streamed Response from OpenAI's Responses API read into unified deltas
// (https://platform.openai.com/docs/api-reference/responses-streaming): the
// text, refusal and reasoning-summary deltas as they come, each function call
// opened by its `response.output_item.added` and its arguments streamed by
// `response.function_call_arguments.delta`, OpenAI's encrypted reasoning
// handed on whole when its item is done, and `response.completed` (or
// `.incomplete`) as the end, with the whole Response's status and usage,
// read as upstream-answer.ts reads a whole one (a "failed" status is an error).
// `error` and `response.failed` are the vendor's failure after the 200.
import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { badResponse, eventObject, streamCutShort } from "../codec-errors.js";
import { MAX_REASONING_BLOCKS, MAX_STREAMED_ANSWER_CHARS, MAX_TOOL_CALLS } from "../answer-limits.js";
import { openAIStreamError, type OpenAIStreamErrorBody } from "../openai/errors.js";
import type { ChatStreamEvent } from "../provider.js";
import { StreamIdentity } from "../stream-identity.js";
import { vendorObject, vendorString } from "../vendor-fields.js";
import { openAIReasoningBlock } from "./reasoning-items.js";
import { finishReasonOf, fromResponsesUsage, rejectFailed, type VendorResponse } from "./upstream-answer.js";

/** A function call being streamed: its place among the answer's calls, and whether any of its arguments came. */
interface StreamedCall {
  position: number;
  argued: boolean;
}

export class ResponsesStreamDecoder implements StreamDecoder {
  private readonly identity = new StreamIdentity();
  /** Function calls by their output_index. */
  private readonly calls = new Map<number, StreamedCall>();
  private readonly reasoning: ReasoningBlock[] = [];
  private reasoningChars = 0;
  private refused = false;
  /** The summary part the last summary piece belonged to (its item and index). */
  private summaryPart: string | undefined;
  /** The Response of `response.completed` or `response.incomplete`. */
  private ended: VendorResponse | undefined;

  constructor(private readonly ctx: ErrorContext) {}

  get done(): boolean {
    return this.ended !== undefined;
  }

  /** The last event is the one with the answer's end and usage: nothing comes after it. */
  get answered(): boolean {
    return this.ended !== undefined;
  }

  next(sse: StreamEvent): ChatStreamEvent[] {
    return this.identity.announce(this.read(sse));
  }

  private read(sse: StreamEvent): ChatStreamEvent[] {
    if (sse.data === "") return [];
    const event = eventObject(sse.data, this.ctx);
    const type = event.type ?? sse.event;
    switch (type) {
      case "response.created":
      case "response.in_progress": {
        const response = vendorObject(event.response, "response", this.ctx);
        this.identity.heard(response.id, { model: response.model });
        return [];
      }
      case "response.output_text.delta":
        return this.delta({ content: this.piece(event) });
      case "response.refusal.delta": {
        const refusal = this.piece(event);
        if (refusal) this.refused = true;
        return this.delta({ refusal });
      }
      // The readable reasoning: its summary (asked for in `reasoning.summary`), or its text where a model gives it.
      case "response.reasoning_summary_text.delta":
        return this.summaryPiece(event);
      case "response.reasoning_text.delta":
        return this.delta({ reasoning: this.piece(event) });
      case "response.output_item.added":
        return this.itemAdded(event);
      case "response.function_call_arguments.delta":
        return this.callArguments(event);
      case "response.output_item.done":
        return this.itemDone(event);
      case "response.completed":
      case "response.incomplete": {
        const response = vendorObject(event.response, "response", this.ctx) as VendorResponse;
        rejectFailed(response, this.ctx);
        this.ended = response;
        return [];
      }
      case "response.failed":
        throw openAIStreamError(this.ctx, (vendorObject(event.response, "response", this.ctx).error ?? {}) as OpenAIStreamErrorBody);
      case "error":
        throw openAIStreamError(this.ctx, event as OpenAIStreamErrorBody);
      default:
        // Content parts opened and closed, the `.done` of what the deltas said, and events added later.
        return [];
    }
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    const response = this.ended;
    if (!response) throw streamCutShort(this.ctx);
    const { usage, fault } = fromResponsesUsage(response.usage);
    return {
      type: "end",
      ...this.identity.said(),
      finishReason: finishReasonOf(response, this.calls.size > 0, this.refused),
      usage,
      usageFault: fault,
      reasoning: this.reasoning,
    };
  }

  private piece(event: Record<string, unknown>): string {
    return vendorString(event.delta, `${String(event.type)}.delta`, this.ctx);
  }

  private delta(said: { content?: string; refusal?: string; reasoning?: string; reasoningSummarized?: boolean }): ChatStreamEvent[] {
    if (!said.content && !said.refusal && !said.reasoning) return [];
    return [{ type: "delta", content: said.content ?? "", toolCalls: [], refusal: said.refusal || undefined, reasoning: said.reasoning || undefined, reasoningSummarized: said.reasoningSummarized }];
  }

  /** A piece of a reasoning summary; a new part of it is set apart from the last as a whole answer's parts are joined (upstream-answer.ts). */
  private summaryPiece(event: Record<string, unknown>): ChatStreamEvent[] {
    const piece = this.piece(event);
    if (!piece) return [];
    const part = `${String(event.item_id)}/${String(event.summary_index)}`;
    const apart = this.summaryPart !== undefined && this.summaryPart !== part;
    this.summaryPart = part;
    return this.delta({ reasoning: apart ? `\n\n${piece}` : piece, reasoningSummarized: true });
  }

  /** A function call's item opens it: its call id and name go with its first fragment. */
  private itemAdded(event: Record<string, unknown>): ChatStreamEvent[] {
    const item = vendorObject(event.item, "item", this.ctx);
    if (item.type !== "function_call") return [];
    if (this.calls.size >= MAX_TOOL_CALLS) throw badResponse(this.ctx, `streamed more than ${MAX_TOOL_CALLS} function calls`);
    const call: StreamedCall = { position: this.calls.size, argued: false };
    this.calls.set(this.outputIndex(event), call);
    const args = vendorString(item.arguments, "item.arguments", this.ctx);
    call.argued = args !== "";
    return [this.fragment(call.position, vendorString(item.call_id, "item.call_id", this.ctx), vendorString(item.name, "item.name", this.ctx), args)];
  }

  private callArguments(event: Record<string, unknown>): ChatStreamEvent[] {
    const call = this.calls.get(this.outputIndex(event));
    const piece = this.piece(event);
    if (!call || !piece) return [];
    call.argued = true;
    return [this.fragment(call.position, "", "", piece)];
  }

  /** A done reasoning item hands on its encrypted reasoning; a done call whose arguments never streamed gets them whole (or "{}"). */
  private itemDone(event: Record<string, unknown>): ChatStreamEvent[] {
    const item = vendorObject(event.item, "item", this.ctx);
    if (item.type === "reasoning") {
      const encrypted = vendorString(item.encrypted_content, "item.encrypted_content", this.ctx);
      if (!encrypted) return [];
      this.reasoningChars += encrypted.length;
      if (this.reasoning.length >= MAX_REASONING_BLOCKS || this.reasoningChars > MAX_STREAMED_ANSWER_CHARS) {
        throw badResponse(this.ctx, `streamed more reasoning than the gateway keeps of one answer (${MAX_REASONING_BLOCKS} items, ${MAX_STREAMED_ANSWER_CHARS} characters)`);
      }
      const block = openAIReasoningBlock(encrypted);
      this.reasoning.push(block);
      return [{ type: "delta", content: "", toolCalls: [], reasoningBlocks: [block] }];
    }
    const call = item.type === "function_call" ? this.calls.get(this.outputIndex(event)) : undefined;
    if (!call || call.argued) return [];
    call.argued = true;
    return [this.fragment(call.position, "", "", vendorString(item.arguments, "item.arguments", this.ctx) || "{}")];
  }

  private outputIndex(event: Record<string, unknown>): number {
    const index = event.output_index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0) throw badResponse(this.ctx, `sent ${String(event.type)} without a whole output_index`);
    return index;
  }

  private fragment(index: number, id: string, name: string, argumentsFragment: string): ChatStreamEvent {
    return { type: "delta", content: "", toolCalls: [create(ToolCallDeltaSchema, { index, id, name, argumentsFragment })] };
  }
}
