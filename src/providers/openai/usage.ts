// Usage and finish reasons in the OpenAI shape, both ways.
import type { JsonObject } from "@bufbuild/protobuf";
import { FinishReason, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ownEntry } from "../../common/own-entry.js";
import { UsageCounts, type VendorUsage } from "../vendor-usage.js";

/**
 * The wire's name for each finish reason, in answers to callers. OpenAI ends
 * a refusal with "stop" and says so in `refusal`; a refusal without words
 * (Anthropic's) is the nearest OpenAI has, "content_filter". An answer whose
 * vendor gave no reason, or one the gateway does not know, ended as far as
 * the gateway can tell: "stop", since OpenAI's SDKs need a reason (the stream
 * helper's finalChatCompletion() throws on a null one). A full context window
 * is "length", as OpenAI itself says it.
 */
const FINISH_NAMES: Record<FinishReason, string> = {
  [FinishReason.UNSPECIFIED]: "stop",
  [FinishReason.STOP]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.TOOL_CALLS]: "tool_calls",
  [FinishReason.CONTENT_FILTER]: "content_filter",
  [FinishReason.REFUSAL]: "content_filter",
  [FinishReason.CONTEXT_WINDOW_EXCEEDED]: "length",
};

/** Finish reasons as OpenAI-compatible vendors send them, aliases included. */
const FINISH_REASONS: Record<string, FinishReason> = {
  stop: FinishReason.STOP,
  eos: FinishReason.STOP,
  length: FinishReason.LENGTH,
  // DeepSeek ends an answer it could not finish for lack of capacity with this: cut by the vendor, as Zhipu's
  // network_error below, not the caller's max_tokens (an agent would raise the limit, not retry).
  insufficient_system_resource: FinishReason.CONTENT_FILTER,
  tool_calls: FinishReason.TOOL_CALLS,
  function_call: FinishReason.TOOL_CALLS,
  content_filter: FinishReason.CONTENT_FILTER,
  sensitive: FinishReason.CONTENT_FILTER,
  // Zhipu's "model inference failed": the vendor cut the answer short. content_filter is the one reason
  // OpenAI's callers know for an answer the vendor cut; "stop" would pass a partial answer off as whole.
  network_error: FinishReason.CONTENT_FILTER,
  // Zhipu's (GLM-4.5 on): the prompt and answer filled the context window, as Anthropic's of the same name.
  model_context_window_exceeded: FinishReason.CONTEXT_WINDOW_EXCEEDED,
};

/**
 * A vendor's finish reason. One the gateway does not know stays UNSPECIFIED
 * (the typed API says so, and the cache keeps no such answer); every surface
 * writes a real reason for it (FINISH_NAMES, and the Anthropic and Responses
 * surfaces' own).
 */
export function fromOpenAIFinishReason(reason: unknown): FinishReason {
  return typeof reason === "string" ? (ownEntry(FINISH_REASONS, reason) ?? FinishReason.UNSPECIFIED) : FinishReason.UNSPECIFIED;
}

/** A vendor's finish reason, REFUSAL when the answer is a refusal (OpenAI says "stop" and fills `refusal`). */
export function finishReasonOf(reason: unknown, refused: boolean): FinishReason {
  return refused ? FinishReason.REFUSAL : fromOpenAIFinishReason(reason);
}

/** `withRefusal`: the answer says its refusal in words (`refusal`), as OpenAI's do. */
export function toOpenAIFinishReason(reason: FinishReason, withRefusal = false): string {
  return reason === FinishReason.REFUSAL && withRefusal ? "stop" : FINISH_NAMES[reason];
}

/** Usage in the OpenAI shape, as vendors send it (and as the gateway writes it); read through `fromOpenAIUsage`, which trusts none of it. */
export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  cached_tokens?: number;
  /** DeepSeek's cache hits (with prompt_cache_miss_tokens, they make up prompt_tokens). */
  prompt_cache_hit_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

/**
 * A vendor's usage in the OpenAI shape, found at `path` in its answer
 * ("usage", or Moonshot's "choices[0].usage"). Every count is checked
 * (vendor-usage.ts): an unusable prompt or completion count leaves the
 * answer without usage (the gateway estimates it), and says so in the fault.
 */
export function fromOpenAIUsage(raw: unknown, path = "usage"): VendorUsage {
  return UsageCounts.read(raw, path, (usage, counts) => {
    const promptDetails = counts.details(usage.prompt_tokens_details, "prompt_tokens_details");
    const completionDetails = counts.details(usage.completion_tokens_details, "completion_tokens_details");
    return {
      promptTokens: counts.billed(usage.prompt_tokens, "prompt_tokens"),
      completionTokens: counts.billed(usage.completion_tokens, "completion_tokens"),
      totalTokens: counts.extra(usage.total_tokens, "total_tokens"),
      // OpenAI reports cached tokens in the details, Moonshot at the top level, DeepSeek as cache hits.
      cachedTokens:
        counts.extra(promptDetails?.cached_tokens, "prompt_tokens_details.cached_tokens") ??
        counts.extra(usage.cached_tokens, "cached_tokens") ??
        counts.extra(usage.prompt_cache_hit_tokens, "prompt_cache_hit_tokens"),
      reasoningTokens: counts.extra(completionDetails?.reasoning_tokens, "completion_tokens_details.reasoning_tokens"),
    };
  });
}

/**
 * Usage for callers of the OpenAI dialect. prompt_tokens is the whole prompt,
 * cache reads and writes included, as OpenAI counts it; writes to a vendor's
 * prompt cache (Anthropic's, billed above the input price) are told apart in
 * `prompt_tokens_details.cache_write_tokens` (OpenRouter's name), only when
 * there were any: OpenAI's own answers have no such count.
 */
export function toOpenAIUsage(usage: Usage | undefined): JsonObject | null {
  if (!usage) return null;
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens, ...(usage.cacheWriteTokens > 0 ? { cache_write_tokens: usage.cacheWriteTokens } : {}) },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}
