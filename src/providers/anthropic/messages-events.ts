// A streamed answer as Anthropic's typed events, for callers of `/v1/messages`:
// the sequence the Anthropic SDKs' stream helpers and Claude Code assemble.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatDelta, ChatSummary } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { ToolCallDelta, Usage } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { toolInput } from "./messages-answer.js";
import { toAnthropicStop, toAnthropicUsage } from "./wire.js";

/** One server-sent event: its name, and its data (which names it again as `type`). */
export interface AnthropicEvent {
  event: string;
  data: JsonObject;
}

type OpenBlock = { kind: "text" | "thinking" | "tool"; index: number };

/** A tool call held until its arguments are whole. */
type HeldTool = { id: string; name: string; args: string };

export interface AnthropicEventWriterOptions {
  /**
   * The serving vendor's tool input adds up to one JSON object (Anthropic's
   * own API), so its fragments stream on as they come. Otherwise each tool
   * call is held and written whole, its input cleaned as a whole answer's is
   * (toolInput): other models may write arguments that are no JSON object,
   * which the SDKs' stream helpers throw on, or an array the gateway refuses
   * when it comes back on the next turn.
   */
  toolInputStreams?: boolean;
}

/**
 * Writes one answer as `message_start`, `ping`, then content blocks one at a
 * time (`content_block_start`, deltas, `content_block_stop`), then
 * `message_delta` (stop reason and usage) and `message_stop`. Blocks never
 * interleave: a new kind of delta closes the open block, and held tool calls
 * are written whole at the end. Reasoning streams as
 * a thinking block whose signature (`signature_delta`) comes when the vendor
 * closes it, before the text it led to: Anthropic checks the signature when
 * the block comes back on the next turn. Tool calls stream their input only
 * when the vendor's is sure to be a JSON object (AnthropicEventWriterOptions).
 */
export class AnthropicEventWriter {
  private open: OpenBlock | undefined;
  private blocks = 0;
  private readonly toolBlocks = new Map<number, number>();
  private readonly heldTools = new Map<number, HeldTool>();
  private readonly toolInputStreams: boolean;

  constructor(
    private readonly id: string,
    private readonly model: string,
    { toolInputStreams = false }: AnthropicEventWriterOptions = {},
  ) {
    this.toolInputStreams = toolInputStreams;
  }

  /**
   * Before any delta, with the prompt's usage when the vendor told it by then (Anthropic's own message_start).
   * message_delta carries the counts again at the end, and the SDKs take them from there, but for the
   * split of cache writes by lifetime (`cache_creation`): @anthropic-ai/sdk's MessageStream keeps
   * message_start's. Not known yet, it is null (as Anthropic sends it where it does not say), not a 0/0
   * the end's writes would contradict.
   */
  start(promptUsage?: Usage): AnthropicEvent[] {
    const usage = promptUsage ? toAnthropicUsage(promptUsage) : { ...toAnthropicUsage(undefined), cache_creation: null };
    const message = { id: this.id, type: "message", role: "assistant", model: this.model, content: [], stop_reason: null, stop_sequence: null, usage };
    return [event("message_start", { message }), event("ping", {})];
  }

  delta(delta: ChatDelta): AnthropicEvent[] {
    const text = delta.content + delta.refusal;
    // Held tool calls stay held whatever comes between their fragments (a vendor may stream text or reasoning in
    // the middle of a call's arguments): released at the end, after the text, as a whole answer lists them.
    const out: AnthropicEvent[] = [];
    // Blocks given with their text in one delta (an answer replayed whole) are written from the blocks.
    const blocksBringText = delta.reasoning.length > 0 && this.open?.kind !== "thinking";
    if (delta.reasoningContent && !blocksBringText) out.push(...this.into("thinking", { type: "thinking", thinking: "", signature: "" }), this.blockDelta({ type: "thinking_delta", thinking: delta.reasoningContent }));
    for (const block of delta.reasoning) out.push(...this.reasoningBlock(block));
    if (text !== "") out.push(...this.into("text", { type: "text", text: "" }), this.blockDelta({ type: "text_delta", text }));
    for (const fragment of delta.toolCalls) out.push(...this.toolFragment(fragment));
    return out;
  }

  finish(summary: ChatSummary): AnthropicEvent[] {
    const held = this.releaseTools();
    const stop = toAnthropicStop(summary.finishReason, this.toolBlocks.size > 0, summary.stopSequence);
    return [...held, ...this.close(), event("message_delta", { delta: stop, usage: toAnthropicUsage(summary.usage) }), event("message_stop", {})];
  }

  /** A finished reasoning block: it signs the thinking block streamed so far, or is written whole. */
  private reasoningBlock(block: ReasoningBlock): AnthropicEvent[] {
    if (block.redacted) return [...this.close(), ...this.whole({ type: "redacted_thinking", data: block.redacted })];
    const streamed = this.open?.kind === "thinking";
    const out = streamed ? [] : this.into("thinking", { type: "thinking", thinking: "", signature: "" });
    if (!streamed && block.text) out.push(this.blockDelta({ type: "thinking_delta", thinking: block.text }));
    if (block.signature) out.push(this.blockDelta({ type: "signature_delta", signature: block.signature }));
    return [...out, ...this.close()];
  }

  /**
   * A tool call's first fragment opens its block (id and name); the rest stream its input. Held instead when the input
   * may be no JSON object. That first fragment always has the call's id: the vendor's, or one made up for the stream
   * (streamed-tool-calls.ts) or for a whole answer replayed from the cache (each codec's, made-up-call-id.ts).
   */
  private toolFragment(fragment: ToolCallDelta): AnthropicEvent[] {
    if (!this.toolInputStreams) {
      const held = this.heldTools.get(fragment.index) ?? { id: "", name: "", args: "" };
      held.id ||= fragment.id;
      held.name ||= fragment.name;
      held.args += fragment.argumentsFragment;
      this.heldTools.set(fragment.index, held);
      return [];
    }
    const out: AnthropicEvent[] = [];
    let index = this.toolBlocks.get(fragment.index);
    if (index === undefined) {
      out.push(...this.close(), ...this.begin("tool", { type: "tool_use", id: fragment.id, name: fragment.name, input: {} }));
      index = this.open!.index;
      this.toolBlocks.set(fragment.index, index);
    }
    if (fragment.argumentsFragment) out.push(event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: fragment.argumentsFragment } }));
    return out;
  }

  /** The held tool calls, each as a whole block: its input in one delta, the object a whole answer would carry. */
  private releaseTools(): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    for (const [callIndex, held] of [...this.heldTools].sort(([a], [b]) => a - b)) {
      out.push(...this.close(), ...this.begin("tool", { type: "tool_use", id: held.id, name: held.name, input: {} }));
      out.push(this.blockDelta({ type: "input_json_delta", partial_json: JSON.stringify(toolInput(held.args)) }), ...this.close());
      this.toolBlocks.set(callIndex, this.blocks - 1);
    }
    this.heldTools.clear();
    return out;
  }

  /** Makes a block of this kind the open one, closing another. */
  private into(kind: OpenBlock["kind"], contentBlock: JsonObject): AnthropicEvent[] {
    if (this.open?.kind === kind) return [];
    return [...this.close(), ...this.begin(kind, contentBlock)];
  }

  private begin(kind: OpenBlock["kind"], contentBlock: JsonObject): AnthropicEvent[] {
    this.open = { kind, index: this.blocks++ };
    return [event("content_block_start", { index: this.open.index, content_block: contentBlock })];
  }

  private whole(contentBlock: JsonObject): AnthropicEvent[] {
    const index = this.blocks++;
    return [event("content_block_start", { index, content_block: contentBlock }), event("content_block_stop", { index })];
  }

  private blockDelta(delta: JsonObject): AnthropicEvent {
    return event("content_block_delta", { index: this.open!.index, delta });
  }

  private close(): AnthropicEvent[] {
    if (!this.open) return [];
    const index = this.open.index;
    this.open = undefined;
    return [event("content_block_stop", { index })];
  }
}

function event(type: string, fields: JsonObject): AnthropicEvent {
  return { event: type, data: { type, ...fields } };
}
