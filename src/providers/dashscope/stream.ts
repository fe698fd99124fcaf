import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema, type FinishReason, type ToolCallDelta, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { eventObject, streamCutShort } from "../codec-errors.js";
import { fromOpenAIFinishReason } from "../openai/usage.js";
import type { ChatStreamEvent } from "../provider.js";
import { dashScopeError, generationError, parseDashScopeError } from "./errors.js";
import { IncrementTracker } from "./increments.js";
import { fromDashScopeUsage, isTerminal, type DashScopeGeneration, type DashScopeToolCall } from "./wire.js";

/** Per tool call position in a stream: what was already sent, so cumulative chunks become increments. */
interface StreamedToolCall {
  announced: boolean;
  arguments: IncrementTracker;
}

/**
 * Reads a DashScope generation stream: `event:result` chunks whose text and
 * tool call arguments may be increments or the whole answer so far, usage
 * cumulative in every chunk, the string "null" as the finish reason until the
 * last chunk (there is no end marker), and `event:error` for a failure.
 */
export class DashScopeStreamDecoder implements StreamDecoder {
  private readonly text = new IncrementTracker();
  private readonly toolCalls = new Map<number, StreamedToolCall>();
  private id = "";
  private usage: Usage | undefined;
  private finishReason: FinishReason | undefined;

  constructor(private readonly ctx: ErrorContext) {}

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
    if (chunk.request_id) this.id = chunk.request_id;
    // Usage is cumulative in every chunk: the last one counts.
    if (chunk.usage) this.usage = fromDashScopeUsage(chunk.usage);
    const choice = chunk.output?.choices?.[0];
    if (!choice) return [];
    const content = this.text.next(typeof choice.message?.content === "string" ? choice.message.content : "");
    const deltas = toolCallDeltas(choice.message?.tool_calls ?? [], this.toolCalls);
    if (isTerminal(choice.finish_reason)) this.finishReason = fromOpenAIFinishReason(choice.finish_reason);
    return content !== "" || deltas.length > 0 ? [{ type: "delta", content, toolCalls: deltas }] : [];
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    if (this.finishReason === undefined) throw streamCutShort(this.ctx);
    return { type: "end", id: this.id, finishReason: this.finishReason, usage: this.usage };
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
