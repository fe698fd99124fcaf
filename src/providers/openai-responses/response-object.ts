// The Response object of the Responses API and its output items, for callers
// of `/v1/responses`: written whole for a unary answer, and piece by piece by
// the stream writer (response-events.ts), which ends with the same object.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, type Logprobs, type Message, type ToolCall, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { toOpenAIToken } from "../openai/logprobs.js";
import { encryptedContent } from "./reasoning-items.js";

/** Ids of one response's output items: the response's own, with a kind and a number. */
export class ItemIds {
  /** `next`: the number of the first id drawn, for ids from the middle of a list (a page of input items). */
  constructor(
    private readonly responseId: string,
    private next = 0,
  ) {}

  /** "msg", "fc" or "rs", as OpenAI names its items; "fco" for a function call's output (input items). */
  id(kind: "msg" | "fc" | "fco" | "rs"): string {
    return `${kind}_${this.responseId.slice("resp_".length)}${String(this.next++).padStart(2, "0")}`;
  }
}

/** A reasoning item: its text as the reasoning itself, or (`summarized`) as a summary of it, as OpenAI's models give theirs. */
export function reasoningItem(id: string, text: string, block: ReasoningBlock | undefined, summarized = false): JsonObject {
  return {
    id,
    type: "reasoning",
    summary: text && summarized ? [{ type: "summary_text", text }] : [],
    content: text && !summarized ? [{ type: "reasoning_text", text }] : [],
    encrypted_content: block ? encryptedContent(block) : null,
    status: "completed",
  };
}

/** An output_text part; `logprobs` its tokens' (toResponsesLogprobs), when the caller included them. */
export function outputText(text: string, logprobs: JsonObject[] = []): JsonObject {
  return { type: "output_text", text, annotations: [], logprobs };
}

/** The text's tokens as an output_text part (and its stream's events) carries them: OpenAI's own token shape. */
export function toResponsesLogprobs(logprobs: Logprobs | undefined): JsonObject[] {
  return logprobs ? logprobs.content.map(toOpenAIToken) : [];
}

/** An output item's status: "incomplete" for the one an incomplete Response was cut in. */
export type ItemStatus = "in_progress" | "completed" | "incomplete";

export function messageItem(id: string, content: JsonObject[], status: ItemStatus): JsonObject {
  return { id, type: "message", role: "assistant", status, content };
}

export function functionCallItem(id: string, call: Pick<ToolCall, "id" | "name" | "arguments">, status: ItemStatus): JsonObject {
  // A call with no arguments has "{}", as OpenAI writes it, once it is done: clients JSON.parse them (the Agents SDK, Codex).
  return { id, type: "function_call", status, call_id: call.id, name: call.name, arguments: status === "in_progress" ? call.arguments : call.arguments || "{}" };
}

/**
 * An answer's output items: its reasoning (a signed block each), its
 * message, then its function calls. In an incomplete Response the last
 * message or call is the one the answer was cut in, and says so, as OpenAI's
 * do (and as the stream writer closes the item open at the end).
 */
export function outputItems(message: Message, ids: ItemIds, incomplete = false, logprobs?: Logprobs): JsonObject[] {
  const items: JsonObject[] = [];
  // A summary is OpenAI's, of reasoning it keeps encrypted in its blocks: the summary goes with the first.
  const summary = message.reasoningSummarized ? message.reasoningContent : "";
  if (message.reasoning.length > 0) message.reasoning.forEach((block, i) => items.push(reasoningItem(ids.id("rs"), summary ? (i === 0 ? summary : "") : block.redacted ? "" : block.text, block, summary !== "")));
  else if (message.reasoningContent) items.push(reasoningItem(ids.id("rs"), message.reasoningContent, undefined, message.reasoningSummarized));
  const calls = message.toolCalls;
  const content: JsonObject[] = [];
  if (message.content || !message.refusal) content.push(outputText(message.content, toResponsesLogprobs(logprobs)));
  if (message.refusal) content.push({ type: "refusal", refusal: message.refusal });
  if (hasMessageItem(message.content !== "", message.refusal !== "", calls.length)) items.push(messageItem(ids.id("msg"), content, incomplete && calls.length === 0 ? "incomplete" : "completed"));
  calls.forEach((call, i) => items.push(functionCallItem(ids.id("fc"), call, incomplete && i === calls.length - 1 ? "incomplete" : "completed")));
  return items;
}

/** What an assistant message holds, as far as `outputItems` makes items of it. */
export interface OutputItemShape {
  reasoningBlocks: number;
  reasoningContent: boolean;
  content: boolean;
  refusal: boolean;
  toolCalls: number;
}

/** How many items `outputItems` makes of an assistant message, from its shape alone: a stored message is counted without being decoded. */
export function outputItemCount(shape: OutputItemShape): number {
  const reasoning = shape.reasoningBlocks > 0 ? shape.reasoningBlocks : shape.reasoningContent ? 1 : 0;
  return reasoning + (hasMessageItem(shape.content, shape.refusal, shape.toolCalls) ? 1 : 0) + shape.toolCalls;
}

/** An assistant turn has a message item when it says something, refuses, or calls nothing (an empty answer is still one). */
function hasMessageItem(content: boolean, refusal: boolean, toolCalls: number): boolean {
  return content || refusal || toolCalls === 0;
}

/**
 * Usage for callers of the Responses surface. input_tokens is the whole
 * prompt, cache reads and writes included; OpenAI's input_tokens_details has
 * cached_tokens only, so writes to a vendor's prompt cache (Anthropic's,
 * billed above the input price) are added there as `cache_write_tokens`, the
 * Chat Completions surface's name, only when there were any.
 */
export function toResponsesUsage(usage: Usage | undefined): JsonObject | null {
  if (!usage) return null;
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens, ...(usage.cacheWriteTokens > 0 ? { cache_write_tokens: usage.cacheWriteTokens } : {}) },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.totalTokens,
  };
}

/**
 * How an answer ended, as the Response says it: an answer cut at
 * max_output_tokens or by a filter is "incomplete". So is a refusal without
 * words (Anthropic's `refusal` stop: its classifiers cut the answer, maybe
 * after some text); one in words (`worded`: a `refusal` part, as OpenAI's
 * models refuse) is a completed Response, as OpenAI's own are. An answer cut
 * by a full context window is "max_output_tokens", as OpenAI's own are: the
 * only other reason documented (and typed by the SDKs) is content_filter.
 */
export function endOf(reason: FinishReason, worded = false): { status: "completed" | "incomplete"; incomplete_details: JsonObject | null } {
  if (reason === FinishReason.LENGTH || reason === FinishReason.CONTEXT_WINDOW_EXCEEDED) return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (reason === FinishReason.CONTENT_FILTER || (reason === FinishReason.REFUSAL && !worded)) return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

export interface ResponseHead {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  model: string;
  /** What the Response repeats of its request (responses-request.ts). */
  echo: JsonObject;
}

/** The Response object. */
export function responseObject(head: ResponseHead, state: { status: string; output: JsonObject[]; usage: JsonObject | null; incomplete_details?: JsonObject | null }): JsonObject {
  return {
    id: head.id,
    object: "response",
    created_at: head.createdAt,
    status: state.status,
    error: null,
    incomplete_details: state.incomplete_details ?? null,
    model: head.model,
    output: state.output,
    usage: state.usage,
    ...head.echo,
  };
}

/** A unary answer as a Response. */
export function toResponse(res: ChatResponse, head: ResponseHead): JsonObject {
  const end = endOf(res.finishReason, Boolean(res.message?.refusal));
  const output = res.message ? outputItems(res.message, new ItemIds(head.id), end.status === "incomplete", res.logprobs) : [];
  return responseObject(head, { ...end, output, usage: toResponsesUsage(res.usage) });
}
