// A streamed answer as the Responses API's events, for callers of
// `/v1/responses`: the sequence the OpenAI SDKs' `responses.stream()` helper,
// Codex and the Agents SDK assemble, every event numbered.
import { create, type JsonObject } from "@bufbuild/protobuf";
import type { ChatDelta, ChatSummary } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { MessageSchema, Role, type Logprobs, type Message, type ToolCallDelta } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { endOf, functionCallItem, ItemIds, messageItem, outputText, reasoningItem, responseObject, toResponsesLogprobs, toResponsesUsage, type ResponseHead } from "./response-object.js";

export interface ResponseEvent {
  event: string;
  data: JsonObject;
}

/** The item being written: its place in `output`, its id, and what it said so far. */
type OpenItem =
  | { kind: "reasoning"; index: number; id: string; text: string; summarized: boolean }
  | { kind: "message"; index: number; id: string; text: string; refusal: string; parts: ("text" | "refusal")[]; logprobs: JsonObject[] };

/** A function call being written. */
type CallItem = { index: number; id: string; callId: string; name: string; arguments: string };

/**
 * Writes `response.created` and `response.in_progress`, then each output item
 * in turn (`response.output_item.added`, its content parts and deltas, their
 * `.done` events, `response.output_item.done`), then `response.completed`
 * (or `response.incomplete`) with the whole Response. Reasoning and message
 * items never interleave: a new kind of delta closes the open one. Function
 * calls stay open until the answer ends: a vendor may interleave several
 * calls' argument fragments (OpenAI-compatible servers do), and each call's
 * `response.output_item.done` must carry its whole arguments (Codex and the
 * Agents SDK run the call it gives), with no delta of it after. A signed
 * reasoning block closes the reasoning item it signs, its `encrypted_content`
 * carrying the signature to the next turn.
 */
export class ResponseEventWriter {
  private sequence = 0;
  private readonly output: JsonObject[] = [];
  private open: OpenItem | undefined;
  private readonly ids: ItemIds;
  /** The answer's function calls by their index in the stream, each open until the answer ends. */
  private readonly calls = new Map<number, CallItem>();
  private readonly said = { text: "", refusal: "", reasoning: "", summarized: false };

  constructor(private readonly head: ResponseHead) {
    this.ids = new ItemIds(head.id);
  }

  start(): ResponseEvent[] {
    const response = responseObject(this.head, { status: "in_progress", output: [], usage: null });
    return [this.event("response.created", { response }), this.event("response.in_progress", { response })];
  }

  delta(delta: ChatDelta): ResponseEvent[] {
    // Text alone (almost every delta of a stream): its events as they are, not copied into another list.
    if (delta.content && !delta.reasoningContent && delta.reasoning.length === 0 && !delta.refusal && delta.toolCalls.length === 0) return this.messageText("text", delta.content, delta.logprobs);
    const out: ResponseEvent[] = [];
    // Blocks given with their text in one delta (an answer replayed whole) are written from the blocks; a summary is not theirs (OpenAI's are encrypted).
    const blocksBringText = delta.reasoning.length > 0 && this.open?.kind !== "reasoning" && !delta.reasoningSummarized;
    if (delta.reasoningContent && !blocksBringText) out.push(...this.reasoningText(delta.reasoningContent, delta.reasoningSummarized));
    for (const block of delta.reasoning) out.push(...this.reasoningBlock(block));
    // Tokens scored without text (a vendor's empty token) still belong to the text.
    if (delta.content || (delta.logprobs?.content.length ?? 0) > 0) out.push(...this.messageText("text", delta.content, delta.logprobs));
    if (delta.refusal) out.push(...this.messageText("refusal", delta.refusal));
    for (const fragment of delta.toolCalls) out.push(...this.callFragment(fragment));
    return out;
  }

  /** The closing events, the Response they end with, and the answer as a message (for the stored conversation). */
  finish(summary: ChatSummary): { events: ResponseEvent[]; response: JsonObject; message: Message } {
    const end = endOf(summary.finishReason, this.said.refusal !== "");
    // The item begun last is the one an incomplete answer was cut in.
    const last = Math.max(this.open?.index ?? -1, ...[...this.calls.values()].map((call) => call.index));
    const statusOf = (index: number) => (end.status === "incomplete" && index === last ? "incomplete" : "completed");
    const events = this.close(undefined, statusOf(this.open?.index ?? -1));
    for (const call of this.calls.values()) events.push(...this.closeCall(call, statusOf(call.index)));
    const response = responseObject(this.head, { ...end, output: this.output, usage: toResponsesUsage(summary.usage) });
    events.push(this.event(end.status === "completed" ? "response.completed" : "response.incomplete", { response }));
    const message = create(MessageSchema, {
      role: Role.ASSISTANT,
      content: this.said.text,
      refusal: this.said.refusal,
      reasoningContent: this.said.reasoning,
      reasoningSummarized: this.said.summarized,
      reasoning: summary.reasoning,
      toolCalls: summary.toolCalls,
    });
    return { events, response, message };
  }

  /**
   * A failure after the stream began: the `error` event, then
   * `response.failed` with the Response as far as it got. `error` is the
   * failure as the OpenAI shape words it (`{error: {message, code, param}}`).
   */
  fail(error: JsonObject): ResponseEvent[] {
    const { message, code, param } = error.error as { message: string; code: string; param: string | null };
    const response = { ...responseObject(this.head, { status: "failed", output: this.output.filter((item) => Object.keys(item).length > 0), usage: null }), error: { code, message } };
    return [this.event("error", { code, message, param }), this.event("response.failed", { response })];
  }

  /**
   * A piece of reasoning: of the reasoning itself (a reasoning_text part), or
   * of a summary of it (`summarized`: a summary_text part, as OpenAI streams
   * its models' summaries).
   */
  private reasoningText(text: string, summarized: boolean): ResponseEvent[] {
    this.said.reasoning += text;
    this.said.summarized ||= summarized;
    const out: ResponseEvent[] = [];
    let item = this.open;
    if (item?.kind !== "reasoning" || item.summarized !== summarized) {
      out.push(...this.close());
      item = this.begin({ kind: "reasoning", index: this.place(), id: this.ids.id("rs"), text: "", summarized });
      out.push(this.event("response.output_item.added", { output_index: item.index, item: { id: item.id, type: "reasoning", summary: [], content: [] } }));
      const { type, ...where } = this.reasoningPart(item);
      out.push(this.event(summarized ? "response.reasoning_summary_part.added" : "response.content_part.added", { ...where, part: { type, text: "" } }));
      // What set this summary apart from the one before it (upstream-stream.ts) is not its text.
      if (summarized) text = text.replace(/^\n\n/, "");
      if (!text) return out;
    }
    item.text += text;
    const { type: _part, ...where } = this.reasoningPart(item);
    out.push(this.event(summarized ? "response.reasoning_summary_text.delta" : "response.reasoning_text.delta", { ...where, delta: text }));
    return out;
  }

  /** Where a reasoning item's one part is, and its type: the summary's first, or the content's. */
  private reasoningPart(item: Extract<OpenItem, { kind: "reasoning" }>): { item_id: string; output_index: number; summary_index: number; type: "summary_text" } | { item_id: string; output_index: number; content_index: number; type: "reasoning_text" } {
    const at = { item_id: item.id, output_index: item.index };
    return item.summarized ? { ...at, summary_index: 0, type: "summary_text" } : { ...at, content_index: 0, type: "reasoning_text" };
  }

  /** A finished block: it closes the reasoning item streamed so far, or is written as an item of its own. */
  private reasoningBlock(block: ReasoningBlock): ResponseEvent[] {
    if (this.open?.kind === "reasoning") return this.close(block);
    const text = block.redacted ? "" : block.text;
    this.said.reasoning += text;
    const out = [...this.close()];
    const item = reasoningItem(this.ids.id("rs"), text, block);
    out.push(this.event("response.output_item.added", { output_index: this.output.length, item: { ...item, content: [] } }));
    out.push(this.event("response.output_item.done", { output_index: this.output.length, item }));
    this.output.push(item);
    return out;
  }

  /** `logprobs`: the text's tokens in this piece, when the caller included them. */
  private messageText(kind: "text" | "refusal", piece: string, logprobs?: Logprobs): ResponseEvent[] {
    this.said[kind] += piece;
    const out: ResponseEvent[] = [];
    let item = this.open;
    if (item?.kind !== "message") {
      out.push(...this.close());
      item = this.begin({ kind: "message", index: this.place(), id: this.ids.id("msg"), text: "", refusal: "", parts: [], logprobs: [] });
      out.push(this.event("response.output_item.added", { output_index: item.index, item: messageItem(item.id, [], "in_progress") }));
    }
    let contentIndex = item.parts.indexOf(kind);
    if (contentIndex === -1) {
      contentIndex = item.parts.push(kind) - 1;
      const part = kind === "text" ? outputText("") : { type: "refusal", refusal: "" };
      out.push(this.event("response.content_part.added", { item_id: item.id, output_index: item.index, content_index: contentIndex, part }));
    }
    if (kind === "text") {
      item.text += piece;
      const tokens = toResponsesLogprobs(logprobs);
      item.logprobs.push(...tokens);
      // Built whole rather than through event()'s spreads: one per delta of a stream.
      const type = "response.output_text.delta";
      out.push({ event: type, data: { type, item_id: item.id, output_index: item.index, content_index: contentIndex, delta: piece, logprobs: tokens, sequence_number: this.sequence++ } });
    } else {
      item.refusal += piece;
      out.push(this.event("response.refusal.delta", { item_id: item.id, output_index: item.index, content_index: contentIndex, delta: piece }));
    }
    return out;
  }

  /** A call's first fragment opens its item (call id and name), closing the reasoning or message before it; the rest stream its arguments. */
  private callFragment(fragment: ToolCallDelta): ResponseEvent[] {
    const out: ResponseEvent[] = [];
    let item = this.calls.get(fragment.index);
    if (!item) {
      out.push(...this.close());
      // A call's first fragment always has its id: the gateway makes one up for a vendor that gave none (streamed-tool-calls.ts), as the summary names it.
      item = { index: this.place(), id: this.ids.id("fc"), callId: fragment.id, name: fragment.name, arguments: "" };
      this.calls.set(fragment.index, item);
      out.push(this.event("response.output_item.added", { output_index: item.index, item: functionCallItem(item.id, { id: item.callId, name: item.name, arguments: "" }, "in_progress") }));
    }
    if (fragment.argumentsFragment) {
      item.arguments += fragment.argumentsFragment;
      out.push(this.event("response.function_call_arguments.delta", { item_id: item.id, output_index: item.index, delta: fragment.argumentsFragment }));
    }
    return out;
  }

  private begin<T extends OpenItem>(item: T): T {
    this.open = item;
    return item;
  }

  /** The next place in `output`, held until its item is done. */
  private place(): number {
    return this.output.push({}) - 1;
  }

  /** Ends a call with its `.done` events, its arguments whole. */
  private closeCall(item: CallItem, status: "completed" | "incomplete"): ResponseEvent[] {
    const done = functionCallItem(item.id, { id: item.callId, name: item.name, arguments: item.arguments }, status);
    this.output[item.index] = done;
    return [
      this.event("response.function_call_arguments.done", { item_id: item.id, output_index: item.index, name: item.name, arguments: done.arguments! }),
      this.event("response.output_item.done", { output_index: item.index, item: done }),
    ];
  }

  /** Ends the open item with its `.done` events; a reasoning item signed by `block`; a message with `status`. */
  private close(block?: ReasoningBlock, status: "completed" | "incomplete" = "completed"): ResponseEvent[] {
    const item = this.open;
    if (!item) return [];
    this.open = undefined;
    const out: ResponseEvent[] = [];
    let done: JsonObject;
    switch (item.kind) {
      case "reasoning": {
        const { type, ...where } = this.reasoningPart(item);
        out.push(this.event(item.summarized ? "response.reasoning_summary_text.done" : "response.reasoning_text.done", { ...where, text: item.text }));
        out.push(this.event(item.summarized ? "response.reasoning_summary_part.done" : "response.content_part.done", { ...where, part: { type, text: item.text } }));
        done = reasoningItem(item.id, item.text, block, item.summarized);
        break;
      }
      case "message": {
        const content = item.parts.map((kind, contentIndex) => {
          const where = { item_id: item.id, output_index: item.index, content_index: contentIndex };
          const part = kind === "text" ? outputText(item.text, item.logprobs) : { type: "refusal", refusal: item.refusal };
          out.push(kind === "text" ? this.event("response.output_text.done", { ...where, text: item.text, logprobs: item.logprobs }) : this.event("response.refusal.done", { ...where, refusal: item.refusal }));
          out.push(this.event("response.content_part.done", { ...where, part }));
          return part;
        });
        done = messageItem(item.id, content, status);
        break;
      }
    }
    this.output[item.index] = done;
    out.push(this.event("response.output_item.done", { output_index: item.index, item: done }));
    return out;
  }

  private event(type: string, fields: JsonObject): ResponseEvent {
    return { event: type, data: { type, ...fields, sequence_number: this.sequence++ } };
  }
}

/**
 * `JSON.stringify(event.data)`. A text delta's event (almost every event of a
 * stream) is written from its fields in their order (the item's id and the
 * piece as JSON, the integers as they are): stringify's walk over the object
 * costs more than the rest of the event's way out.
 */
export function responseEventJson(event: ResponseEvent): string {
  if (event.event !== "response.output_text.delta") return JSON.stringify(event.data);
  const data = event.data as { item_id: string; output_index: number; content_index: number; delta: string; logprobs: JsonObject[]; sequence_number: number };
  const logprobs = data.logprobs.length === 0 ? "[]" : JSON.stringify(data.logprobs);
  return `{"type":"response.output_text.delta","item_id":${JSON.stringify(data.item_id)},"output_index":${data.output_index},"content_index":${data.content_index},"delta":${JSON.stringify(data.delta)},"logprobs":${logprobs},"sequence_number":${data.sequence_number}}`;
}
