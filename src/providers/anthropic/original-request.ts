// What a caller of `/v1/messages` wrote that the unified request cannot
// carry, sent on when Anthropic itself serves: the caller's body is the base
// of the vendor request, the gateway's fields win, and the conversation goes
// as the caller wrote it.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { DialectOriginal } from "../provider.js";
import { replayableMessages } from "./replayable-thinking.js";
import { hoistSystemMessages, keepsSystemMessages } from "./system-messages.js";

/** The fields the unified request is read from (messages-request.ts); every other field goes to Anthropic's own models only. */
export const MESSAGES_FIELDS = new Set([
  "model", "messages", "system", "max_tokens", "temperature", "top_p", "stop_sequences", "stream", "metadata", "tools", "tool_choice", "thinking",
]);

/** Anthropic's beta features, asked for in this header: sent on to Anthropic, meaningless to other vendors. */
export const BETA_HEADER = "anthropic-beta";

/** Said again block by block, as the caller wrote them: with cache_control, is_error, citations, defer_loading. */
const CONVERSATION = ["system", "messages", "tools"] as const;

/** The gateway sets these, from the fitted request; the caller's other sub-fields (thinking.display, tool_choice.disable_parallel_tool_use) are kept. */
const MERGED = ["thinking", "tool_choice", "metadata"] as const;

/** The caller's request, when it was written in this dialect. */
export function anthropicOriginal(original: DialectOriginal | undefined): DialectOriginal | undefined {
  return original?.dialect === "anthropic" ? original : undefined;
}

/**
 * The vendor body for a request that came in as an Anthropic Messages
 * request. `built` is the body the codec made from the fitted unified
 * request: its fields win (the model, max_tokens, sampling, thinking as the
 * catalogue fitted them); the caller's fields the unified request does not
 * read (top_k, context_management, service_tier, output_config's effort, and fields
 * Anthropic adds later) come along; and the system prompt, messages and tools
 * are the caller's own, which say the same as the unified ones and what they
 * cannot (cache breakpoints above all, which decide what Claude costs),
 * less the thinking Anthropic did not sign (replayable-thinking.ts). When the
 * fitted request kept no system message inside `messages` (the catalogue
 * moved them to the start for a model that takes none there), the caller's
 * join its system prompt (system-messages.ts).
 */
export function withOriginal(built: JsonObject, original: DialectOriginal): JsonObject {
  const caller = original.body;
  const body: JsonObject = {};
  for (const [field, value] of Object.entries(caller)) if (!MESSAGES_FIELDS.has(field)) body[field] = value;
  Object.assign(body, built);
  for (const field of CONVERSATION) if (built[field] !== undefined && caller[field] !== undefined) body[field] = caller[field]!;
  const hoisted = built.messages === undefined || keepsSystemMessages(built.messages) ? undefined : hoistSystemMessages(caller.system, body.messages!);
  if (hoisted) {
    if (hoisted.system) body.system = hoisted.system;
    else delete body.system;
    body.messages = hoisted.messages;
  }
  // Thinking another vendor gave unsigned would make Anthropic refuse the whole request (replayable-thinking.ts).
  if (body.messages !== undefined) body.messages = replayableMessages(body.messages);
  for (const field of MERGED) {
    const mine = built[field];
    const theirs = caller[field];
    if (isObject(mine) && isObject(theirs)) body[field] = { ...theirs, ...mine };
  }
  return body;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
