// What of a `/v1/messages` body Claude gets as the caller wrote it
// (original-request.ts) but the unified request does not carry: a tool's
// input_examples and cache_control, a block's citations, fields Anthropic adds
// later. The vendor reads them all, and bills them as input; the gateway's
// token estimate counts the unified request alone, so it counts these beside it.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ownEntry } from "../../common/own-entry.js";
import { MESSAGES_FIELDS } from "./original-request.js";

/**
 * Top-level objects the unified request reads in part (those merged with the
 * gateway's own, output_config's format): their other sub-fields reach Claude
 * as the caller wrote them.
 */
const PARTLY_READ: Readonly<Record<string, ReadonlySet<string>>> = {
  thinking: new Set(["type", "budget_tokens"]),
  tool_choice: new Set(["type", "name", "disable_parallel_tool_use"]),
  metadata: new Set(["user_id"]),
  output_config: new Set(["format"]),
};

/** Top-level fields the unified request carries whole: those it is read from, and output_format (its response format, output-format.ts). */
const READ_WHOLE = new Set([...MESSAGES_FIELDS, "output_format"]);

/** The fields of a tool the unified Tool carries (name, description, parameters); its type and strict are counted with the rest. */
const TOOL_READ = new Set(["name", "description", "input_schema"]);

/** The fields of a message the unified messages carry. */
const MESSAGE_READ = new Set(["role", "content"]);

/**
 * The fields of a content block the unified message carries, whatever its
 * type (conversation-fields.ts bounds which a type may have): text, images,
 * tool calls with their ids, tool results, thinking with its signature.
 */
const BLOCK_READ = new Set(["type", "text", "source", "id", "name", "input", "tool_use_id", "content", "is_error", "thinking", "signature", "data"]);

/**
 * Each field of the caller's body that Anthropic gets as written and the
 * unified request does not carry, as its JSON text (`"key":value`): the
 * body's own fields the reader does not read (top_k, context_management,
 * fields Anthropic adds later), and within the system prompt, the messages
 * and the tools every field beside those the unified request holds.
 */
export function* unreadForwardedJson(body: JsonObject): Generator<string> {
  for (const [key, value] of Object.entries(body)) {
    const partly = ownEntry(PARTLY_READ, key);
    if (partly && isObject(value)) yield* unreadOf(value, partly);
    else if (!READ_WHOLE.has(key)) yield fieldJson(key, value);
  }
  if (Array.isArray(body.system)) yield* blocksUnread(body.system);
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isObject(message)) continue;
      yield* unreadOf(message, MESSAGE_READ);
      if (Array.isArray(message.content)) yield* blocksUnread(message.content);
    }
  }
  if (Array.isArray(body.tools)) for (const tool of body.tools) if (isObject(tool)) yield* unreadOf(tool, TOOL_READ);
}

/** The unread fields of content blocks, and of the blocks of a tool result within them. */
function* blocksUnread(blocks: readonly JsonValue[]): Generator<string> {
  for (const block of blocks) {
    if (!isObject(block)) continue;
    yield* unreadOf(block, BLOCK_READ);
    if (block.type === "tool_result" && Array.isArray(block.content)) yield* blocksUnread(block.content);
  }
}

function* unreadOf(object: JsonObject, read: ReadonlySet<string>): Generator<string> {
  for (const [key, value] of Object.entries(object)) if (!read.has(key)) yield fieldJson(key, value);
}

function fieldJson(key: string, value: JsonValue): string {
  return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
