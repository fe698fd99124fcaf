import { vendorObject, vendorString } from "../vendor-fields.js";
import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { eventObject, streamCutShort } from "../codec-errors.js";
import { fromOpenAIUsage } from "../openai/usage.js";
import type { ChatStreamEvent } from "../provider.js";
import { madeUpCallId } from "../made-up-call-id.js";
import { RunningUsage } from "../running-usage.js";
import { StreamIdentity } from "../stream-identity.js";
import { hasErrorCode, qianfanError } from "./errors.js";
import { fromQianfanFinishReason, type QianfanChatAnswer, type QianfanEnding, type QianfanFunctionCall } from "./wire.js";

/**
 * Reads a wenxinworkshop stream: plain `data:` events of the answer's fields
 * with `result` as the increment, usage on every chunk (the last that counts
 * tokens is the answer's), an `error_code` event for a failure, and `is_end`
 * on the last chunk (there is no other end marker). A function call's
 * `thoughts` are its reasoning. Every chunk has the answer's `id`: the
 * first delta and the end say it (v1 names no model).
 */
export class QianfanStreamDecoder implements StreamDecoder {
  private readonly identity = new StreamIdentity();
  private readonly running = new RunningUsage(fromOpenAIUsage);
  /** The last reason sent, and whether any chunk said the answer was cut or the input unsafe. */
  private readonly ending: Required<QianfanEnding> = { finish_reason: "", is_truncated: false, need_clear_history: false };
  /** The last usage sent that counts tokens (or the first, while none has), read (and checked) once, at the end. */
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
    this.identity.heard(answer.id);
    // A chunk may say 0/0 after chunks that counted, the final one too: the last non-zero usage is the answer's (vendor-wire-formats.md §2a Streaming, as one-api reads it).
    if (answer.usage !== undefined && answer.usage !== null && (this.usage === undefined || !countsNothing(answer.usage))) this.usage = answer.usage;
    if (answer.finish_reason) this.ending.finish_reason = answer.finish_reason;
    if (answer.is_truncated === true) this.ending.is_truncated = true;
    if (answer.need_clear_history === true) this.ending.need_clear_history = true;
    // Kept until the end: a function call is only usable whole.
    const call = vendorObject(answer.function_call, "function_call", this.ctx);
    const name = vendorString(call.name, "function_call.name", this.ctx);
    if (name) {
      this.functionCall = { name, arguments: vendorString(call.arguments, "function_call.arguments", this.ctx), thoughts: vendorString(call.thoughts, "function_call.thoughts", this.ctx) };
    }
    const events: ChatStreamEvent[] = [];
    const result = vendorString(answer.result, "result", this.ctx);
    if (result) events.push({ type: "delta", content: result, toolCalls: [] });
    if (answer.is_end) {
      this.ended = true;
      const whole = this.functionCall;
      if (whole) events.push({ type: "delta", content: "", toolCalls: [this.toolCall(whole)], reasoning: whole.thoughts || undefined });
    }
    return this.running.tell(this.identity.announce(events), answer.usage);
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    if (!this.ended) throw streamCutShort(this.ctx);
    const { usage, fault } = fromOpenAIUsage(this.usage);
    return { type: "end", ...this.identity.said(), finishReason: fromQianfanFinishReason(this.ending, this.functionCall !== undefined), usage, usageFault: fault };
  }

  private toolCall(call: QianfanFunctionCall) {
    return create(ToolCallDeltaSchema, { index: 0, id: madeUpCallId(this.identity.said().id, 0), name: call.name ?? "", argumentsFragment: call.arguments ?? "" });
  }
}

/** A usage object whose counts are all zero (or absent): it counts nothing, and does not replace one that did. */
function countsNothing(raw: unknown): boolean {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  const { prompt_tokens, completion_tokens, total_tokens } = raw as NonNullable<QianfanChatAnswer["usage"]>;
  return [prompt_tokens, completion_tokens, total_tokens].every((count) => count === 0 || count === undefined || count === null);
}
