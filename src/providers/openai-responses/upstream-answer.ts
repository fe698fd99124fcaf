// A Response from OpenAI's Responses API read into the unified answer, for the
// models served there (upstream-request.ts): its output items (message text
// and refusals, function calls, reasoning with its summary and
// encrypted_content), how it ended, and its usage
// (https://platform.openai.com/docs/api-reference/responses/object). The
// stream decoder (upstream-stream.ts) reads the same items and ending.
import { create } from "@bufbuild/protobuf";
import { FinishReason, MessageSchema, Role, ToolCallSchema, type Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext } from "../codec.js";
import { badResponse, isJsonObject } from "../codec-errors.js";
import { MAX_REASONING_BLOCKS, MAX_TOOL_CALLS } from "../answer-limits.js";
import { madeUpCallId } from "../made-up-call-id.js";
import type { ChatResult } from "../provider.js";
import { vendorIdentityOf } from "../openai/answer-identity.js";
import { openAIStreamError, type OpenAIStreamErrorBody } from "../openai/errors.js";
import { UsageCounts, type VendorUsage } from "../vendor-usage.js";
import { vendorArray, vendorObject, vendorString } from "../vendor-fields.js";
import { openAIReasoningBlock } from "./reasoning-items.js";

/** A Response's fields the reader uses. */
export interface VendorResponse {
  id?: unknown;
  model?: unknown;
  service_tier?: unknown;
  status?: unknown;
  incomplete_details?: { reason?: unknown } | null;
  error?: OpenAIStreamErrorBody | null;
  output?: unknown;
  usage?: unknown;
}

/** A whole Response; a failed one is the vendor's error (rejectFailed). */
export function fromResponsesAnswer(raw: unknown, ctx: ErrorContext): ChatResult {
  if (!isJsonObject(raw) || !Array.isArray(raw.output)) throw badResponse(ctx, "answered with no output");
  const response = raw as VendorResponse;
  rejectFailed(response, ctx);
  const message = create(MessageSchema, { role: Role.ASSISTANT });
  const id = typeof response.id === "string" ? response.id : "";
  vendorArray(response.output, "output", ctx).forEach((item, i) => readOutputItem(vendorObject(item, `output[${i}]`, ctx), `output[${i}]`, message, id, ctx));
  const { usage, fault } = fromResponsesUsage(response.usage);
  return {
    id,
    message,
    finishReason: finishReasonOf(response, message.toolCalls.length > 0, message.refusal !== ""),
    usage,
    usageFault: fault,
    ...vendorIdentityOf(response),
  };
}

/**
 * One output item into the answer's message; items of built-in tools (which the gateway never offers) are left out.
 * A function call without a call_id gets one unique across answers (made-up-call-id.ts), as a streamed one does:
 * its result, on the next turn, names it.
 */
function readOutputItem(item: Record<string, unknown>, at: string, message: Message, answerId: string, ctx: ErrorContext): void {
  switch (item.type) {
    case "message":
      vendorArray(item.content, `${at}.content`, ctx).forEach((raw, j) => {
        const part = vendorObject(raw, `${at}.content[${j}]`, ctx);
        if (part.type === "output_text") message.content += vendorString(part.text, `${at}.content[${j}].text`, ctx);
        if (part.type === "refusal") message.refusal += vendorString(part.refusal, `${at}.content[${j}].refusal`, ctx);
      });
      break;
    case "function_call":
      if (message.toolCalls.length >= MAX_TOOL_CALLS) throw badResponse(ctx, `answered with more than ${MAX_TOOL_CALLS} function calls`);
      message.toolCalls.push(
        create(ToolCallSchema, {
          id: vendorString(item.call_id, `${at}.call_id`, ctx) || madeUpCallId(answerId, message.toolCalls.length),
          name: vendorString(item.name, `${at}.name`, ctx),
          arguments: vendorString(item.arguments, `${at}.arguments`, ctx) || "{}",
        }),
      );
      break;
    case "reasoning": {
      // OpenAI gives its models' reasoning as a summary only: callers of /v1/responses get it back as one.
      const summary = summaryText(item, at, ctx);
      if (summary) {
        message.reasoningContent = message.reasoningContent ? `${message.reasoningContent}\n\n${summary}` : summary;
        message.reasoningSummarized = true;
      }
      const encrypted = vendorString(item.encrypted_content, `${at}.encrypted_content`, ctx);
      if (encrypted) {
        if (message.reasoning.length >= MAX_REASONING_BLOCKS) throw badResponse(ctx, `answered with more than ${MAX_REASONING_BLOCKS} reasoning items`);
        message.reasoning.push(openAIReasoningBlock(encrypted));
      }
      break;
    }
  }
}

/** A reasoning item's readable summary, its parts joined. */
export function summaryText(item: Record<string, unknown>, at: string, ctx: ErrorContext): string {
  return vendorArray(item.summary, `${at}.summary`, ctx)
    .map((raw, j) => vendorString(vendorObject(raw, `${at}.summary[${j}]`, ctx).text, `${at}.summary[${j}].text`, ctx))
    .filter(Boolean)
    .join("\n\n");
}

/** A failed Response is the vendor's error, as its `error` says, whichever way it came. */
export function rejectFailed(response: VendorResponse, ctx: ErrorContext): void {
  if (response.status === "failed") throw openAIStreamError(ctx, response.error ?? {});
}

/**
 * How a Response ended: when "completed", a refusal, its function calls, or
 * a stop; when "incomplete", cut at max_output_tokens (LENGTH) or by a filter
 * (CONTENT_FILTER). Any other status ("queued", "in_progress", "cancelled",
 * one added later, or none) and an incomplete one for a reason not known are
 * UNSPECIFIED: not an answer that finished, so never kept by the cache.
 */
export function finishReasonOf(response: Pick<VendorResponse, "status" | "incomplete_details">, calledTools: boolean, refused: boolean): FinishReason {
  if (response.status === "incomplete") {
    const reason = response.incomplete_details?.reason;
    if (reason === "max_output_tokens") return FinishReason.LENGTH;
    if (reason === "content_filter") return FinishReason.CONTENT_FILTER;
    return FinishReason.UNSPECIFIED;
  }
  if (response.status !== "completed") return FinishReason.UNSPECIFIED;
  if (refused) return FinishReason.REFUSAL;
  return calledTools ? FinishReason.TOOL_CALLS : FinishReason.STOP;
}

/**
 * A Response's usage: input_tokens is the whole prompt, its cache reads in
 * input_tokens_details.cached_tokens; output_tokens counts the reasoning,
 * told apart in output_tokens_details.reasoning_tokens. Every count checked
 * (vendor-usage.ts).
 */
export function fromResponsesUsage(raw: unknown): VendorUsage {
  return UsageCounts.read(raw, "usage", (usage, counts) => {
    const input = counts.details(usage.input_tokens_details, "input_tokens_details");
    const output = counts.details(usage.output_tokens_details, "output_tokens_details");
    return {
      promptTokens: counts.billed(usage.input_tokens, "input_tokens"),
      completionTokens: counts.billed(usage.output_tokens, "output_tokens"),
      totalTokens: counts.extra(usage.total_tokens, "total_tokens"),
      cachedTokens: counts.extra(input?.cached_tokens, "input_tokens_details.cached_tokens"),
      reasoningTokens: counts.extra(output?.reasoning_tokens, "output_tokens_details.reasoning_tokens"),
    };
  });
}
