// What a `/v1/messages` conversation may hold beside what the reader reads.
// The caller's messages go to Anthropic's own models as written, and into the
// cache key (canonicalised, keys sorted): anything in them that nothing reads
// is still walked, and a block with an added 400,000-key field took seconds
// of the event loop. So each block holds only the fields Anthropic's API
// gives it (Anthropic itself refuses any other: "Extra inputs are not
// permitted"), and the free-form JSON among them (a tool call's input above
// all) is counted, in one bounded pass before anything walks it.
import type { JsonObject } from "@bufbuild/protobuf";
import { excerpt } from "../../common/excerpt.js";
import { MAX_JSON_DEPTH } from "../../common/json-nesting.js";
import type { JsonValueLimits } from "../../common/json-value-bounds.js";
import { ownEntry } from "../../common/own-entry.js";

/**
 * The fields of each content block the Messages surface reads, as
 * Anthropic's API types them (its `…BlockParam`s, Anthropic SDK 0.81):
 * every other field is refused by name, as Anthropic refuses it.
 */
const BLOCK_FIELDS: Readonly<Record<string, readonly string[]>> = {
  text: ["type", "text", "cache_control", "citations"],
  image: ["type", "source", "cache_control"],
  tool_use: ["type", "id", "name", "input", "cache_control", "caller"],
  tool_result: ["type", "tool_use_id", "content", "is_error", "cache_control"],
  thinking: ["type", "thinking", "signature"],
  redacted_thinking: ["type", "data"],
};

/** The fields of an image's `source`, by its type (Base64ImageSource, URLImageSource). */
const SOURCE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  base64: ["type", "media_type", "data"],
  url: ["type", "url"],
};

/** The block fields whose values are free-form JSON, carried as written and counted (CONVERSATION_LIMITS), never read; by block type. */
const FREE_FORM = new Set(["input", "caller", "citations", "cache_control"]);
const FREE_FORM_FIELDS = Object.fromEntries(Object.entries(BLOCK_FIELDS).map(([type, fields]) => [type, fields.filter((field) => FREE_FORM.has(field))]));

/** The fields of a message the reader reads; any other (Claude Code's `output_config` on a system message) is carried as written, and counted. */
const MESSAGE_FIELDS = new Set(["role", "content"]);

/**
 * Keys and array elements the free-form JSON of one conversation may hold
 * together: every tool call's input (one node for each, and one for each key
 * or element in it), citations, cache breakpoints, and the fields a message
 * has beside its role and content. Claude Code (2.1.332, recorded through
 * the gateway) sends 2 to 30 for a tool call (a Read's `{file_path}` is 2, an
 * Edit 4, a TodoWrite of five items 22; its largest tool takes 7 keys), 2 for
 * a cache breakpoint and for its system message's `output_config`: about 5 a
 * call in a session's mix. One that fills a 1,000,000-token context at 500
 * tokens a tool round holds 2,000 calls, 10,000 nodes: this is ten times
 * that. Walked as raw JSON (read, canonicalised for the cache key, written
 * to the vendor) it is under 0.1 s of CPU in small values and about 0.3 s in
 * one wide object, where an 8 MiB body could hold 500,000 keys (over 1 s).
 */
export const MAX_CONVERSATION_JSON_NODES = 100_000;

/** The message for a conversation past the bound. */
export const TOO_MANY_CONVERSATION_NODES = `takes the conversation's JSON values (tool call inputs, citations, cache breakpoints, fields beside a message's role and content) past the ${MAX_CONVERSATION_JSON_NODES} keys and array elements they may hold together`;

/** jsonValueViolations' limits for conversationJson. */
export const CONVERSATION_LIMITS: JsonValueLimits = { depth: MAX_JSON_DEPTH, nodes: MAX_CONVERSATION_JSON_NODES, tooMany: TOO_MANY_CONVERSATION_NODES };

/**
 * The conversation's free-form JSON values as `[field, value]`, lazily, for
 * jsonValueViolations: each message's fields beside its role and content,
 * and the free-form fields of each block (and of each block of a tool
 * result) that its type has. A field its type does not have is not walked
 * here: the reader refuses it (checkBlockFields). Messages and blocks of the
 * wrong shape hold none; the reader says what is wrong with them.
 */
export function* conversationJson(messages: readonly unknown[]): Generator<readonly [string, unknown]> {
  for (const [i, message] of messages.entries()) {
    if (!isObject(message)) continue;
    for (const key in message) if (!MESSAGE_FIELDS.has(key)) yield [`messages.${i}.${excerpt(key)}`, message[key]];
    if (!Array.isArray(message.content)) continue;
    for (const [j, block] of message.content.entries()) {
      yield* freeFormFieldsOf(block, `messages.${i}.content.${j}`);
      if (isObject(block) && block.type === "tool_result" && Array.isArray(block.content)) {
        for (const [k, inner] of block.content.entries()) yield* freeFormFieldsOf(inner, `messages.${i}.content.${j}.content.${k}`);
      }
    }
  }
}

function* freeFormFieldsOf(block: unknown, at: string): Generator<readonly [string, unknown]> {
  if (!isObject(block)) return;
  for (const field of ownEntry(FREE_FORM_FIELDS, String(block.type)) ?? []) if (block[field] !== undefined) yield [`${at}.${field}`, block[field]];
}

/**
 * Refuses a field `block` (at `at`) has that Anthropic's API does not give a
 * block of its type, naming it. A block of a type the surface does not take
 * is left to the reader, which refuses the type.
 */
export function checkBlockFields(block: JsonObject, at: string, reject: (field: string, problem: string) => never): void {
  checkFields(block, ownEntry(BLOCK_FIELDS, String(block.type)), at, `${String(block.type)} blocks`, reject);
}

/** checkBlockFields for an image's `source` (at `at`), by the source's type. */
export function checkSourceFields(source: JsonObject, at: string, reject: (field: string, problem: string) => never): void {
  checkFields(source, ownEntry(SOURCE_FIELDS, String(source.type)), at, `${String(source.type)} image sources`, reject);
}

function checkFields(object: JsonObject, fields: readonly string[] | undefined, at: string, what: string, reject: (field: string, problem: string) => never): void {
  if (!fields) return;
  for (const key in object) if (!fields.includes(key)) reject(`${at}.${excerpt(key)}`, `is not a field of ${what} (${fields.join(", ")})`);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
