// Anthropic refuses a conversation in which two tool_use blocks share an id
// ("`tool_use` ids must be unique"). Other vendors take one: a vendor that gave
// no ids once made `call_0` every turn, and the gateway admits that history
// (tool-call-pairing.ts: a result answers the latest call of its id). Sent to
// Claude, each repeated id gets a new one, and the results that answer it follow.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/**
 * `messages` (Anthropic's shape) with every tool_use id unique: a call whose
 * id an earlier call took is renamed `<id>_<n>` (a name no block holds), and
 * each tool_result after it names the latest call of its id. Messages and
 * blocks that change are copies; a conversation without repeats is returned
 * as it is.
 */
export function withUniqueToolUseIds(messages: JsonValue[]): JsonValue[] {
  const taken = new Set(blocksOf(messages, "tool_use").map((block) => block.id).filter((id): id is string => typeof id === "string"));
  const seen = new Set<string>();
  /** The id each caller's id stands for now: the latest call's. */
  const current = new Map<string, string>();
  let changed = false;
  const out = messages.map((message) => {
    if (!isObject(message) || !Array.isArray(message.content)) return message;
    let copied = false;
    const content = message.content.map((block) => {
      if (!isObject(block)) return block;
      if (block.type === "tool_use" && typeof block.id === "string") {
        const id = seen.has(block.id) ? freeId(block.id, taken) : block.id;
        seen.add(block.id);
        current.set(block.id, id);
        if (id === block.id) return block;
        copied = true;
        return { ...block, id };
      }
      if (block.type === "tool_result" && typeof block.tool_use_id === "string") {
        const id = current.get(block.tool_use_id);
        if (id === undefined || id === block.tool_use_id) return block;
        copied = true;
        return { ...block, tool_use_id: id };
      }
      return block;
    });
    if (!copied) return message;
    changed = true;
    return { ...message, content };
  });
  return changed ? out : messages;
}

/** `<id>_<n>` for the first n no block holds; taken from then on. */
function freeId(id: string, taken: Set<string>): string {
  let n = 2;
  while (taken.has(`${id}_${n}`)) n++;
  const free = `${id}_${n}`;
  taken.add(free);
  return free;
}

function blocksOf(messages: JsonValue[], type: string): JsonObject[] {
  return messages.flatMap((message) => (isObject(message) && Array.isArray(message.content) ? message.content.filter((block): block is JsonObject => isObject(block) && block.type === type) : []));
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
