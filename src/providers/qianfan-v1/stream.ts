import { vendorObject, vendorString } from "../vendor-fields.js";
import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { eventObject, streamCutShort } from "../codec-errors.js";
import { fromOpenAIUsage } from "../openai/usage.js";
import type { ChatStreamEvent } from "../provider.js";
import { hasErrorCode, qianfanError } from "./errors.js";
import { fromQianfanFinishReason, madeUpToolCallId, type QianfanChatAnswer, type QianfanFunctionCall } from "./wire.js";

/**
 * Reads a wenxinworkshop stream: plain `data:` events of the answer's fields
 * with `result` as the increment, usage on every chunk (the last counts), an
 * `error_code` event for a failure, and `is_end` on the last chunk (there is
 * no other end marker).
 */
export class QianfanStreamDecoder implements StreamDecoder {
  private id = "";
  private reason: string | undefined;
  /** The last chunk's usage as sent, read (and checked) once, at the end. */
  private usage: unknown;
  private functionCall: QianfanFunctionCall | undefined;
  private ended = false;

  constructor(private readonly ctx: ErrorContext) {}

  get done(): boolean {
    return this.ended;
  }

  next(event: StreamEvent): ChatStreamEvent[] {
    if (event.data === "") return [];
    const chunk = eventObject(event.data, this.ctx);
    if (hasErrorCode(chunk)) throw qianfanError(this.ctx, chunk, 200);
    const answer = chunk as QianfanChatAnswer;
    if (typeof answer.id === "string" && answer.id) this.id = answer.id;
    if (answer.usage !== undefined && answer.usage !== null) this.usage = answer.usage;
    if (answer.finish_reason) this.reason = answer.finish_reason;
    // Kept until the end: a function call is only usable whole.
    const call = vendorObject(answer.function_call, "function_call", this.ctx);
    const name = vendorString(call.name, "function_call.name", this.ctx);
    if (name) this.functionCall = { name, arguments: vendorString(call.arguments, "function_call.arguments", this.ctx) };
    const events: ChatStreamEvent[] = [];
    const result = vendorString(answer.result, "result", this.ctx);
    if (result) events.push({ type: "delta", content: result, toolCalls: [] });
    if (answer.is_end) {
      this.ended = true;
      if (this.functionCall) events.push({ type: "delta", content: "", toolCalls: [this.toolCall(this.functionCall)] });
    }
    return events;
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    if (!this.ended) throw streamCutShort(this.ctx);
    const { usage, fault } = fromOpenAIUsage(this.usage);
    return { type: "end", id: this.id, finishReason: fromQianfanFinishReason(this.reason, this.functionCall !== undefined), usage, usageFault: fault };
  }

  private toolCall(call: QianfanFunctionCall) {
    return create(ToolCallDeltaSchema, { index: 0, id: madeUpToolCallId(), name: call.name ?? "", argumentsFragment: call.arguments ?? "" });
  }
}
