// Usage and finish reasons in the OpenAI shape, both ways.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { FinishReason, UsageSchema, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";

/** The wire's name for each finish reason, in answers to callers. */
const FINISH_NAMES: Record<FinishReason, string | null> = {
  [FinishReason.UNSPECIFIED]: null,
  [FinishReason.STOP]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.TOOL_CALLS]: "tool_calls",
  [FinishReason.CONTENT_FILTER]: "content_filter",
};

/** Finish reasons as OpenAI-compatible vendors send them, aliases included. */
const FINISH_REASONS: Record<string, FinishReason> = {
  stop: FinishReason.STOP,
  eos: FinishReason.STOP,
  length: FinishReason.LENGTH,
  // DeepSeek ends an answer it could not finish for lack of capacity with this.
  insufficient_system_resource: FinishReason.LENGTH,
  tool_calls: FinishReason.TOOL_CALLS,
  function_call: FinishReason.TOOL_CALLS,
  content_filter: FinishReason.CONTENT_FILTER,
  sensitive: FinishReason.CONTENT_FILTER,
};

export function fromOpenAIFinishReason(reason: unknown): FinishReason {
  return typeof reason === "string" ? (FINISH_REASONS[reason] ?? FinishReason.UNSPECIFIED) : FinishReason.UNSPECIFIED;
}

export function toOpenAIFinishReason(reason: FinishReason): string | null {
  return FINISH_NAMES[reason];
}

export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  cached_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

export function fromOpenAIUsage(usage: OpenAIUsage | null | undefined): Usage | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const prompt = usage.prompt_tokens ?? 0;
  const completion = usage.completion_tokens ?? 0;
  return create(UsageSchema, {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: usage.total_tokens ?? prompt + completion,
    // Moonshot reports cached tokens at the top level; OpenAI in the details.
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? usage.cached_tokens ?? 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  });
}

export function toOpenAIUsage(usage: Usage | undefined): JsonObject | null {
  if (!usage) return null;
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}
