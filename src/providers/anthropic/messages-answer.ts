// A whole answer in the Messages shape, for callers of `/v1/messages`.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../../common/json-nesting.js";
import { thinkingBlock, toAnthropicStop, toAnthropicUsage } from "./wire.js";

/** The unified answer as a Messages answer (`type: "message"`), under the id the caller sees. */
export function toAnthropicMessage(res: ChatResponse, id: string): JsonObject {
  const message = res.message;
  return {
    id,
    type: "message",
    role: "assistant",
    model: res.model,
    content: message ? contentBlocks(message) : [],
    ...toAnthropicStop(res.finishReason, (message?.toolCalls.length ?? 0) > 0, res.stopSequence),
    usage: toAnthropicUsage(res.usage),
  };
}

/** The answer's blocks in Anthropic's order: thinking, then text (a refusal's words included), then tool calls. */
function contentBlocks(message: Message): JsonObject[] {
  const blocks: JsonObject[] = thinkingOf(message);
  const text = message.content + message.refusal;
  if (text !== "") blocks.push({ type: "text", text });
  for (const call of message.toolCalls) blocks.push({ type: "tool_use", id: call.id, name: call.name, input: toolInput(call.arguments) });
  return blocks;
}

/** Signed blocks as the vendor returned them; reasoning text a vendor does not sign (DeepSeek's, Qwen's) as one unsigned block. */
function thinkingOf(message: Message): JsonObject[] {
  if (message.reasoning.length > 0) return message.reasoning.map(thinkingBlock);
  return message.reasoningContent ? [{ type: "thinking", thinking: message.reasoningContent, signature: "" }] : [];
}

/**
 * A tool call's arguments as the `input` object Anthropic's SDKs expect;
 * arguments a model wrote that are no JSON object come as `{}`, as do those
 * nested past MAX_JSON_DEPTH (JSON.stringify could not write them again).
 */
export function toolInput(args: string): JsonObject {
  if (jsonNestsDeeperThan(args, MAX_JSON_DEPTH)) return {};
  try {
    const parsed = JSON.parse(args) as unknown;
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as JsonObject) : {};
  } catch {
    return {};
  }
}
