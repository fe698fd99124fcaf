import { vendorArray, vendorString } from "../vendor-fields.js";
import type { FinishReason } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { eventObject, streamCutShort } from "../codec-errors.js";
import { fromOpenAIFinishReason } from "../openai/usage.js";
import type { ChatStreamEvent } from "../provider.js";
import { RunningUsage } from "../running-usage.js";
import { StreamIdentity } from "../stream-identity.js";
import { ToolCallFragments } from "../tool-call-fragments.js";
import { dashScopeError, generationError, parseDashScopeError } from "./errors.js";
import { fromDashScopeUsage, isTerminal, type DashScopeGeneration } from "./wire.js";

/**
 * Reads a DashScope generation stream: `event:result` chunks of new text,
 * reasoning and tool call fragments, usage cumulative in every chunk, the
 * string "null" as the finish reason until the last chunk (there is no end
 * marker), and `event:error` for a failure. Every chunk has the answer's
 * `request_id`: the first delta and the end say it (DashScope names no model).
 *
 * The request asks for `incremental_output` (wire.ts), and with it each chunk
 * holds only what is new: it is taken as it comes. Guessing instead from the
 * text (a chunk that starts with everything so far must repeat it) cuts
 * answers that happen to repeat themselves: "ha", "ha", "ha!" is "hahaha!".
 */
export class DashScopeStreamDecoder implements StreamDecoder {
  private readonly identity = new StreamIdentity();
  private readonly running = new RunningUsage(fromDashScopeUsage);
  /** The last chunk's usage as sent, read (and checked) once, at the end. */
  private usage: unknown;
  private finishReason: FinishReason | undefined;

  private readonly toolCalls: ToolCallFragments;

  constructor(private readonly ctx: ErrorContext) {
    this.toolCalls = new ToolCallFragments(ctx);
  }

  get done(): boolean {
    return this.finishReason !== undefined;
  }

  next(event: StreamEvent): ChatStreamEvent[] {
    if (event.event === "error") throw dashScopeError(this.ctx, parseDashScopeError(event.data));
    if (event.data === "") return [];
    const body = eventObject(event.data, this.ctx);
    const failure = generationError(body, this.ctx);
    if (failure) throw failure;
    const chunk = body as DashScopeGeneration;
    this.identity.heard(chunk.request_id);
    // Usage is cumulative in every chunk: the last one counts.
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage;
    const choice = chunk.output?.choices?.[0];
    if (!choice) return [];
    const message = choice.message;
    const content = vendorString(message?.content, "output.choices[0].message.content", this.ctx);
    const reasoning = vendorString(message?.reasoning_content, "output.choices[0].message.reasoning_content", this.ctx);
    const deltas = this.toolCalls.read(vendorArray(message?.tool_calls, "output.choices[0].message.tool_calls", this.ctx), "output.choices[0].message.tool_calls");
    if (isTerminal(choice.finish_reason)) this.finishReason = fromOpenAIFinishReason(choice.finish_reason);
    if (content === "" && reasoning === "" && deltas.length === 0) return [];
    return this.running.tell(this.identity.announce([{ type: "delta", content, toolCalls: deltas, reasoning: reasoning || undefined }]), chunk.usage);
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    if (this.finishReason === undefined) throw streamCutShort(this.ctx);
    const { usage, fault } = fromDashScopeUsage(this.usage);
    return { type: "end", ...this.identity.said(), finishReason: this.finishReason, usage, usageFault: fault };
  }
}
