// The assistant message a streamed `/v1/messages` answer adds up to, read
// from the events as written, as the SDKs' stream helpers assemble it: what
// a message thread keeps of a streamed turn (message-thread-turn.ts).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { toolInput } from "../../providers/anthropic/messages-answer.js";
import type { AnthropicEvent } from "../../providers/anthropic/messages-events.js";

export class StreamedReply {
  private readonly blocks: JsonObject[] = [];
  /** Each tool_use block's input as streamed so far, by block index. */
  private readonly inputs = new Map<number, string>();

  add(events: readonly AnthropicEvent[]): void {
    for (const { event, data } of events) {
      const index = data.index as number;
      if (event === "content_block_start") this.blocks[index] = { ...(data.content_block as JsonObject) };
      else if (event === "content_block_delta") this.apply(index, data.delta as JsonObject);
    }
  }

  /**
   * The message, its tool calls' inputs parsed as a whole answer's are: Claude's input streams as it comes, and
   * one cut at max_tokens is no JSON (the SDKs' stream helpers parse what they got; the thread keeps `{}`).
   */
  message(): { role: "assistant"; content: JsonValue } {
    const content = this.blocks.map((block, index) => {
      const input = this.inputs.get(index);
      return input === undefined ? block : { ...block, input: toolInput(input) };
    });
    return { role: "assistant", content };
  }

  private apply(index: number, delta: JsonObject): void {
    const block = this.blocks[index];
    if (!block) return;
    if (delta.type === "text_delta") block.text = `${block.text as string}${delta.text as string}`;
    else if (delta.type === "thinking_delta") block.thinking = `${block.thinking as string}${delta.thinking as string}`;
    else if (delta.type === "signature_delta") block.signature = `${(block.signature as string | undefined) ?? ""}${delta.signature as string}`;
    else if (delta.type === "input_json_delta") this.inputs.set(index, (this.inputs.get(index) ?? "") + (delta.partial_json as string));
  }
}
