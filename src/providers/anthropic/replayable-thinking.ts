// Thinking blocks Anthropic can take back. Anthropic checks the signature of
// every thinking block an assistant turn brings back, and refuses the whole
// request for one it did not sign. A conversation that another vendor served
// for a turn (a failover, or a client switching models) holds thinking the
// gateway wrote unsigned (Qwen's, DeepSeek's, Gemini's reasoning text): sent
// on as it is, every later turn served by Claude would fail, and a 400 is
// neither retried nor failed over.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { isOpenAIReasoning } from "../openai-responses/reasoning-items.js";

/**
 * An assistant turn's blocks as Anthropic takes them back: thinking blocks
 * without a signature are left out, or, when they are all the turn says,
 * kept as plain text (a turn must not be empty). Signed and redacted blocks
 * go back as they are, and are Anthropic's to check.
 */
export function replayableTurn(blocks: JsonObject[]): JsonObject[] {
  const kept = blocks.filter((block) => !unsigned(block));
  if (kept.length > 0) return kept;
  return blocks.flatMap((block) => (typeof block.thinking === "string" && block.thinking !== "" ? [{ type: "text", text: block.thinking }] : []));
}

/** A caller's `messages` with each assistant turn made replayable (replayableTurn); anything else as the caller wrote it. */
export function replayableMessages(messages: JsonValue): JsonValue {
  if (!Array.isArray(messages)) return messages;
  return messages.map((message) => {
    if (!isObject(message) || message.role !== "assistant" || !Array.isArray(message.content)) return message;
    const blocks = message.content.filter(isObject);
    if (!blocks.some(unsigned)) return message;
    return { ...message, content: replayableTurn(blocks) };
  });
}

/**
 * Whether thinking may stay on for these messages. In a tool loop (the last
 * turn brings tool results) Anthropic wants the assistant turn before it to
 * start with its thinking; when that turn has none it can send back (another
 * vendor served it), thinking is off for this request, as Anthropic itself
 * turns it off when a tool loop began without it.
 */
export function thinkingMayContinue(messages: JsonValue | undefined): boolean {
  if (!Array.isArray(messages)) return true;
  // A system message (system-messages.ts) is no turn: the tool loop is read from the turns around it.
  const turns = messages.filter((message) => !(isObject(message) && message.role === "system"));
  if (turns.length < 2) return true;
  const last = turns[turns.length - 1];
  const turn = turns[turns.length - 2];
  if (!isObject(last) || !isObject(turn) || !Array.isArray(last.content) || !last.content.some((block) => isObject(block) && block.type === "tool_result")) return true;
  const first = Array.isArray(turn.content) ? turn.content[0] : undefined;
  return isObject(first) && (first.type === "thinking" || first.type === "redacted_thinking");
}

/** A thinking block with no signature to check, or OpenAI's encrypted reasoning as a redacted block: one Anthropic would refuse. */
function unsigned(block: JsonValue): boolean {
  if (isObject(block) && block.type === "redacted_thinking") return typeof block.data === "string" && isOpenAIReasoning(block.data);
  return isObject(block) && block.type === "thinking" && (typeof block.signature !== "string" || block.signature === "");
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
