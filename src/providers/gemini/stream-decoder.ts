import { create } from "@bufbuild/protobuf";
import { ToolCallDeltaSchema } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder, StreamEvent } from "../codec.js";
import { eventObject, streamCutShort } from "../codec-errors.js";
import type { ChatStreamEvent } from "../provider.js";
import { RunningUsage } from "../running-usage.js";
import { StreamIdentity } from "../stream-identity.js";
import { fromGoogleError, noCandidate } from "./errors.js";
import { fromGeminiFinishReason, fromGeminiParts, fromGeminiUsage, type GeminiResponse } from "./wire.js";

/**
 * Reads a streamGenerateContent?alt=sse stream: each event a whole
 * GenerateContentResponse with the next parts, usage a running total, and no
 * end marker: the chunk with a finishReason is the last, and a stream that
 * closes before one was cut short (after one, closed or lost, it is whole).
 * Every chunk names the answer (responseId, modelVersion): the first delta
 * and the end say it.
 */
export class GeminiStreamDecoder implements StreamDecoder {
  /** Gemini closes the stream after its last chunk: the decoder reads until then. */
  readonly done = false;
  private readonly identity = new StreamIdentity();
  private readonly running = new RunningUsage(fromGeminiUsage);
  private tools = 0;
  private reason: string | undefined;
  // Usage comes on many chunks, each a running total: the last one counts, read (and checked) once, at the end.
  private usage: unknown;

  constructor(private readonly ctx: ErrorContext) {}

  /** A finishReason is the answer's end: only usage may still come (in a later chunk), and the body's end is the end marker, so no endMarkerMissed. */
  get answered(): boolean {
    return this.reason !== undefined;
  }

  next(event: StreamEvent): ChatStreamEvent[] {
    if (event.data === "") return [];
    const chunk = eventObject(event.data, this.ctx) as GeminiResponse;
    if (chunk.error) {
      const code = chunk.error.code;
      throw fromGoogleError(this.ctx, typeof code === "number" && code >= 400 && code <= 599 ? code : 500, chunk.error);
    }
    this.identity.heard(chunk.responseId, { model: chunk.modelVersion });
    if (chunk.usageMetadata !== undefined && chunk.usageMetadata !== null) this.usage = chunk.usageMetadata;
    const candidate = chunk.candidates?.[0];
    if (!candidate) {
      // A blocked prompt comes as a chunk with feedback and no candidate.
      if (chunk.promptFeedback?.blockReason) throw noCandidate(chunk.promptFeedback, this.ctx);
      return [];
    }
    const first = this.tools;
    const { text, reasoning, reasoningSummarized, toolCalls } = fromGeminiParts(candidate.content?.parts, first, this.identity.id, this.ctx);
    this.tools += toolCalls.length;
    if (candidate.finishReason) this.reason = candidate.finishReason;
    if (text === "" && toolCalls.length === 0 && reasoning === "") return [];
    const fragments = toolCalls.map((call, position) => create(ToolCallDeltaSchema, { index: first + position, id: call.id, name: call.name, argumentsFragment: call.arguments }));
    return this.running.tell(this.identity.announce([{ type: "delta", content: text, toolCalls: fragments, reasoning: reasoning || undefined, reasoningSummarized: reasoningSummarized || undefined }]), chunk.usageMetadata);
  }

  finish(): Extract<ChatStreamEvent, { type: "end" }> {
    if (this.reason === undefined) throw streamCutShort(this.ctx);
    const { usage, fault } = fromGeminiUsage(this.usage);
    return { type: "end", ...this.identity.said(), finishReason: fromGeminiFinishReason(this.reason, this.tools > 0), usage, usageFault: fault };
  }
}
