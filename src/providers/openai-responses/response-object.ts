// The Response object of the Responses API and its output items, for callers
// of `/v1/responses`: written whole for a unary answer, and piece by piece by
// the stream writer (response-events.ts), which ends with the same object.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, type Message, type ToolCall, type Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { encryptedContent } from "./reasoning-items.js";

/** Ids of one response's output items: the response's own, with a kind and a number. */
export class ItemIds {
  private next = 0;
  constructor(private readonly responseId: string) {}

  /** "msg", "fc" or "rs", as OpenAI names its items. */
  id(kind: "msg" | "fc" | "rs"): string {
    return `${kind}_${this.responseId.slice("resp_".length)}${String(this.next++).padStart(2, "0")}`;
  }
}

export function reasoningItem(id: string, text: string, block: ReasoningBlock | undefined): JsonObject {
  return {
    id,
    type: "reasoning",
    summary: [],
    content: text ? [{ type: "reasoning_text", text }] : [],
    encrypted_content: block ? encryptedContent(block) : null,
    status: "completed",
  };
}

export function outputText(text: string): JsonObject {
  return { type: "output_text", text, annotations: [], logprobs: [] };
}

export function messageItem(id: string, content: JsonObject[], status: "in_progress" | "completed"): JsonObject {
  return { id, type: "message", role: "assistant", status, content };
}

export function functionCallItem(id: string, call: Pick<ToolCall, "id" | "name" | "arguments">, status: "in_progress" | "completed"): JsonObject {
  return { id, type: "function_call", status, call_id: call.id, name: call.name, arguments: call.arguments };
}

/** An answer's output items: its reasoning (a signed block each), its message, then its function calls. */
export function outputItems(message: Message, ids: ItemIds): JsonObject[] {
  const items: JsonObject[] = [];
  if (message.reasoning.length > 0) for (const block of message.reasoning) items.push(reasoningItem(ids.id("rs"), block.redacted ? "" : block.text, block));
  else if (message.reasoningContent) items.push(reasoningItem(ids.id("rs"), message.reasoningContent, undefined));
  const content: JsonObject[] = [];
  if (message.content || !message.refusal) content.push(outputText(message.content));
  if (message.refusal) content.push({ type: "refusal", refusal: message.refusal });
  if (message.content || message.refusal || message.toolCalls.length === 0) items.push(messageItem(ids.id("msg"), content, "completed"));
  for (const call of message.toolCalls) items.push(functionCallItem(ids.id("fc"), call, "completed"));
  return items;
}

export function toResponsesUsage(usage: Usage | undefined): JsonObject | null {
  if (!usage) return null;
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: usage.totalTokens,
  };
}

/** How an answer ended, as the Response says it: an answer cut at max_output_tokens or by a filter is "incomplete". */
export function endOf(reason: FinishReason): { status: "completed" | "incomplete"; incomplete_details: JsonObject | null } {
  if (reason === FinishReason.LENGTH) return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (reason === FinishReason.CONTENT_FILTER) return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
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
  const output = res.message ? outputItems(res.message, new ItemIds(head.id)) : [];
  return responseObject(head, { ...endOf(res.finishReason), output, usage: toResponsesUsage(res.usage) });
}
