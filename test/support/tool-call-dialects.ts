// Streamed tool call fragments as the OpenAI-compatible dialects write them,
// for the codec tests that read the same fragments through each dialect's
// stream decoder.
import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { Role } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder } from "../../src/providers/codec.js";
import { createDashScopeCodec } from "../../src/providers/dashscope/codec.js";
import { openAIChunkDecoder } from "../../src/providers/openai/chat-chunks.js";
import type { RecordedEvent } from "./codec-fixtures.js";

/** A tool call fragment as the vendor writes it: `index` only where given. */
export type Fragment = { index?: number; id?: string; name?: string; arguments?: string };

/** A fragment's JSON in a chunk's `tool_calls`. */
export const fragmentJson = ({ index, id, name, arguments: args }: Fragment) => ({ ...(index === undefined ? {} : { index }), ...(id ? { id, type: "function" } : {}), function: { ...(name ? { name } : {}), arguments: args ?? "" } });

/** A dialect's name, its stream decoder, a chunk carrying a list of fragments, and the events that end the stream with finish_reason tool_calls. */
export type ToolCallDialect = [string, () => StreamDecoder, (fragments: Fragment[]) => RecordedEvent, RecordedEvent[]];

/** OpenAI's chunks and DashScope's native stream, decoded with `ctx`: one chunk a list of fragments. */
export function toolCallDialects(ctx: ErrorContext): ToolCallDialect[] {
  return [
    [
      "OpenAI's chunks",
      () => openAIChunkDecoder(ctx),
      (fragments) => ({ data: { id: "d1", choices: [{ index: 0, delta: { tool_calls: fragments.map(fragmentJson) } }] } }),
      [{ data: { id: "d1", choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] } }, { data: "[DONE]" }],
    ],
    [
      "DashScope's native stream",
      () => createDashScopeCodec({ provider: "dashscope" }).chatStream(create(ChatRequestSchema, { model: "qwen-plus", messages: [{ role: Role.USER, content: "x" }] }), ctx),
      (fragments) => ({ event: "result", data: { output: { choices: [{ message: { role: "assistant", content: "", tool_calls: fragments.map(fragmentJson) }, finish_reason: "null" }] }, request_id: "r1" } }),
      [{ event: "result", data: { output: { choices: [{ message: { role: "assistant", content: "" }, finish_reason: "tool_calls" }] }, request_id: "r1" } }],
    ],
  ];
}
