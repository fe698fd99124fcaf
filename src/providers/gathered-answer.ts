// A unary call to a model its vendor answers only as a stream (DashScope's QwQ
// and open-source Qwen3: ModelTraits.streamOnly) is sent as a stream; this
// reads that stream back into the one answer the unary call returns.
import { create } from "@bufbuild/protobuf";
import { LogprobsSchema, MessageSchema, Role, type Logprobs } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { MAX_STREAMED_ANSWER_CHARS } from "./answer-limits.js";
import type { ErrorContext } from "./codec.js";
import { badResponse } from "./codec-errors.js";
import type { ChatResult, ChatStreamEvent } from "./provider.js";
import { StreamedToolCalls } from "./streamed-tool-calls.js";

/**
 * The answer a stream's events make: its text, reasoning, refusal and tool
 * calls joined from the deltas (a call without an id gets a made-up one, as
 * the gateway names a streamed one), the end's id, finish reason, usage and
 * reasoning blocks. What is kept is bounded by MAX_STREAMED_ANSWER_CHARS, as
 * the gateway bounds a streamed answer; a stream with no end is the adapter's
 * to fail (it throws before returning).
 */
export async function gatheredAnswer(events: AsyncIterable<ChatStreamEvent>, ctx: ErrorContext): Promise<ChatResult> {
  let content = "";
  let reasoningContent = "";
  let reasoningSummarized = false;
  let refusal = "";
  let logprobs: Logprobs | undefined;
  let firstId: string | undefined;
  const toolCalls = new StreamedToolCalls();
  let kept = 0;
  for await (const event of events) {
    if (event.type === "end") {
      const message = create(MessageSchema, { role: Role.ASSISTANT, content, reasoningContent, reasoningSummarized, refusal, toolCalls: toolCalls.list(), reasoning: event.reasoning ?? [] });
      return {
        id: event.id || firstId || "",
        message,
        finishReason: event.finishReason,
        stopSequence: event.stopSequence,
        usage: event.usage,
        usageFault: event.usageFault,
        logprobs,
        vendorModel: event.vendorModel,
        systemFingerprint: event.systemFingerprint,
        serviceTier: event.serviceTier,
      };
    }
    firstId ??= event.id;
    content += event.content;
    reasoningContent += event.reasoning ?? "";
    reasoningSummarized ||= event.reasoningSummarized === true;
    refusal += event.refusal ?? "";
    kept += event.content.length + (event.reasoning?.length ?? 0) + (event.refusal?.length ?? 0);
    for (const fragment of event.toolCalls) kept += toolCalls.add(fragment);
    if (event.logprobs) {
      logprobs ??= create(LogprobsSchema);
      logprobs.content.push(...event.logprobs.content);
      logprobs.refusal.push(...event.logprobs.refusal);
      kept += event.logprobs.content.length + event.logprobs.refusal.length;
    }
    if (kept > MAX_STREAMED_ANSWER_CHARS) throw badResponse(ctx, `streamed an answer longer than ${MAX_STREAMED_ANSWER_CHARS} characters, the most the gateway keeps of one answer`);
  }
  // DialectAdapter.chatStream always ends with an end event or throws.
  throw badResponse(ctx, "ended its stream without an end");
}
