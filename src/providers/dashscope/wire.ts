// DashScope's native text-generation format: messages inside `input`, every
// setting inside `parameters`, OpenAI-shaped messages and tools.
import type { JsonObject } from "@bufbuild/protobuf";
import { Role, type Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { messageText } from "../message-text.js";
import type { ModelTraits } from "../model-traits.js";
import { OPENAI_ROLE_NAMES, toOpenAIToolCalls, type OpenAIChoiceMessage } from "../openai/messages.js";
import { toOpenAIResponseFormat, toOpenAITools, toOpenAIToolChoice } from "../openai/tools.js";
import type { ChatParams } from "../provider.js";
import { UsageCounts, type VendorUsage } from "../vendor-usage.js";

function toDashScopeMessage(message: Message, provider: string): JsonObject {
  const out: JsonObject = { role: OPENAI_ROLE_NAMES[message.role], content: messageText(message, provider) };
  if (message.toolCalls.length > 0) out.tool_calls = toOpenAIToolCalls(message.toolCalls);
  if (message.toolCallId) out.tool_call_id = message.toolCallId;
  if (message.name && message.role === Role.TOOL) out.name = message.name;
  return out;
}

/**
 * Builds the generation request. `vendor_options` land in `parameters`, where
 * DashScope's own switches (enable_search, top_k, …) live; the gateway's
 * fields win over them. Ranges (temperature [0, 2), top_p (0, 1)) are the
 * model catalogue's to fit, and to report.
 */
export function toDashScopeChatBody(params: ChatParams, model: string, provider: string, stream: boolean, traits: ModelTraits = {}): JsonObject {
  const parameters: JsonObject = { ...(params.vendorOptions ?? {}), result_format: "message" };
  if (params.temperature !== undefined) parameters.temperature = params.temperature;
  if (params.topP !== undefined) parameters.top_p = params.topP;
  if (params.maxTokens !== undefined) parameters.max_tokens = params.maxTokens;
  if (params.stop.length > 0) parameters.stop = params.stop;
  if (params.seed !== undefined) parameters.seed = Number(params.seed);
  if (params.presencePenalty !== undefined) parameters.presence_penalty = params.presencePenalty;
  if (params.tools.length > 0) parameters.tools = toOpenAITools(params);
  const toolChoice = toOpenAIToolChoice(params);
  if (toolChoice !== undefined) parameters.tool_choice = toolChoice;
  // DashScope's parameters.parallel_tool_calls (false is its default, said anyway: the caller asked for it).
  if (params.parallelToolCalls === false && params.tools.length > 0) parameters.parallel_tool_calls = false;
  const format = toOpenAIResponseFormat(params);
  if (format !== undefined) parameters.response_format = format;
  // Hybrid Qwen3 models think when asked, within a budget; their reasoning comes back as reasoning_content.
  // Open-source ones think unless told not to: told, when the call does not reason.
  if (params.reasoning) {
    parameters.enable_thinking = true;
    if (params.reasoning.budgetTokens !== undefined) parameters.thinking_budget = params.reasoning.budgetTokens;
  } else if (traits.reasoningOff) {
    parameters.enable_thinking = false;
  }
  // Without it every chunk repeats the whole answer so far; with it, every chunk is new text (stream.ts trusts that).
  if (stream) parameters.incremental_output = true;
  return { model, input: { messages: params.messages.map((message) => toDashScopeMessage(message, provider)) }, parameters };
}

export interface DashScopeToolCall {
  id?: string;
  /** Position among the answer's calls, on stream fragments. */
  index?: number;
  function?: { name?: string; arguments?: string };
}

export interface DashScopeChoice {
  message?: OpenAIChoiceMessage & { tool_calls?: DashScopeToolCall[] | null };
  /** The string "null" while a stream is still generating. */
  finish_reason?: string | null;
}

export interface DashScopeUsage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
  output_tokens_details?: { reasoning_tokens?: number };
}

/** A generation answer, and each chunk of a stream. */
export interface DashScopeGeneration {
  request_id?: string;
  output?: { choices?: DashScopeChoice[] };
  usage?: DashScopeUsage;
  code?: string;
  message?: string;
}

/**
 * OpenAI's usage under other names: input and output for prompt and
 * completion. Every count is checked (vendor-usage.ts), under DashScope's
 * names: an unusable one leaves the answer without usage (the gateway estimates it).
 */
export function fromDashScopeUsage(raw: unknown): VendorUsage {
  return UsageCounts.read(raw, "usage", (usage, counts) => ({
    promptTokens: counts.billed(usage.input_tokens, "input_tokens"),
    completionTokens: counts.billed(usage.output_tokens, "output_tokens"),
    totalTokens: counts.extra(usage.total_tokens, "total_tokens"),
    cachedTokens: counts.extra(counts.details(usage.prompt_tokens_details, "prompt_tokens_details")?.cached_tokens, "prompt_tokens_details.cached_tokens"),
    reasoningTokens: counts.extra(counts.details(usage.output_tokens_details, "output_tokens_details")?.reasoning_tokens, "output_tokens_details.reasoning_tokens"),
  }));
}

/** Whether a stream chunk's finish_reason ends the answer ("null", as a string, means not yet). */
export function isTerminal(reason: string | null | undefined): reason is string {
  return typeof reason === "string" && reason !== "" && reason !== "null";
}
