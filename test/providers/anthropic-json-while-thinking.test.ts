import { describe, expect, it } from "vitest";
import type { ErrorContext } from "../../src/providers/codec.js";
import { AnthropicStreamDecoder } from "../../src/providers/anthropic/stream-decoder.js";
import type { ChatStreamEvent } from "../../src/providers/provider.js";
import { createCredential } from "../../src/secrets/credential.js";

const ctx: ErrorContext = { provider: "anthropic", credential: createCredential("anthropic/k1", "sk-ant-unit-test-key-0123456789") };

// While thinking, Anthropic refuses a forced tool, so JSON mode's json_response tool is only offered
// (wire.ts) and Claude may write a line of text before it calls it. Event shapes: Anthropic's streaming docs.
const thinking = [
  { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "The user wants JSON." } },
  { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig-1" } },
  { type: "content_block_stop", index: 0 },
];
const preamble = [
  { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Here is the JSON you asked for:" } },
  { type: "content_block_stop", index: 1 },
];
const jsonTool = [
  { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "toolu_1", name: "json_response", input: {} } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"city":' } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '"Paris"}' } },
  { type: "content_block_stop", index: 2 },
];
const end = (stopReason: string) => [
  { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 30 } },
  { type: "message_stop" },
];

function streamedText(events: object[]): string {
  const decoder = new AnthropicStreamDecoder("json_response", ctx);
  const out: ChatStreamEvent[] = [];
  decoder.next({ event: "message_start", data: JSON.stringify({ type: "message_start", message: { id: "msg_1", usage: { input_tokens: 10, output_tokens: 1 } } }) });
  for (const event of events) out.push(...decoder.next({ event: (event as { type: string }).type, data: JSON.stringify(event) }));
  decoder.finish();
  return out.map((event) => (event.type === "delta" ? event.content : "")).join("");
}

describe("Claude's JSON mode while thinking, streamed", () => {
  it("streams only the JSON tool's input, not the text Claude wrote before calling it (as the unary answer has it)", () => {
    const text = streamedText([...thinking, ...preamble, ...jsonTool, ...end("tool_use")]);
    expect(text).toBe('{"city":"Paris"}');
    expect(JSON.parse(text)).toEqual({ city: "Paris" });
  });

  it("gives the text at the end when Claude answered without the JSON tool", () => {
    expect(streamedText([...thinking, ...preamble, ...end("end_turn")])).toBe("Here is the JSON you asked for:");
  });
});
