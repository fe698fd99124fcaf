// System messages inside `messages` ("mid-conversation system messages",
// https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages):
// from Claude Opus 4.8 on, `{role: "system", content: string | text blocks}`
// may come right after a user turn, as the last message or right before an
// assistant turn, never first; no beta header. Earlier models refuse the role
// ("role 'system' is not supported on this model"). Whether one stays in the
// conversation or moves to the start is the model catalogue's to decide, and
// to report (catalogue/system-placement.ts, by the rule here); the codec then
// sends the leading ones as the top-level system prompt and any other where it is.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { Role, type Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";

export const MID_CONVERSATION_SYSTEM_DOCS = "https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages";

/**
 * Why the system message at `i` of a caller's messages (by role) is placed
 * where Anthropic refuses it, or undefined. The other place the docs allow,
 * after an assistant turn ending in `server_tool_use`, cannot arise: the
 * Messages surface takes no server tool blocks.
 */
export function systemPlacementProblem(roles: readonly unknown[], i: number): string | undefined {
  if (roles[i - 1] !== "user") return `a "system" message must come right after a user turn (${MID_CONVERSATION_SYSTEM_DOCS})`;
  const next = roles[i + 1];
  if (next !== undefined && next !== "assistant") return `a "system" message must be the last message or come right before an assistant turn (${MID_CONVERSATION_SYSTEM_DOCS})`;
  return undefined;
}

/**
 * The unified messages as Anthropic takes them: the top-level system prompt
 * (the leading system messages) and the conversation, any system message in
 * it where it is (a run of them becomes one system message). The catalogue
 * moved to the start those the model takes nowhere else; moving one there
 * says the same as joining it to the prompt, which is the leading ones in order.
 */
export function splitSystem(messages: readonly Message[]): { system: Message[]; conversation: Message[] } {
  const first = messages.findIndex((m) => m.role !== Role.SYSTEM);
  const leading = first === -1 ? messages.length : first;
  return { system: messages.slice(0, leading), conversation: messages.slice(leading) };
}

/**
 * Whether Anthropic takes the system message at `i` of unified messages where
 * it is: between a user turn (a user message or tool results) and an assistant
 * turn or the end, other system messages around it aside. After an assistant
 * turn (as an OpenAI-surface caller may put one) it does not.
 */
export function takesSystemMessageAt(messages: readonly Message[], i: number): boolean {
  const before = messages.slice(0, i).findLast((m) => m.role !== Role.SYSTEM);
  const after = messages.slice(i + 1).find((m) => m.role !== Role.SYSTEM);
  return before !== undefined && before.role !== Role.ASSISTANT && (after === undefined || after.role === Role.ASSISTANT);
}

/**
 * Whether a conversation the codec built keeps a system message in it: when
 * it does not, neither do the caller's (the catalogue moved them to the
 * start, or they said nothing).
 */
export function keepsSystemMessages(messages: JsonValue): boolean {
  return Array.isArray(messages) && messages.some(isSystemMessage);
}

/**
 * A caller's system prompt and messages (as written to `/v1/messages`) when
 * no system message stays inside `messages`: each joins the
 * top-level prompt, its blocks as written (cache_control kept), in order.
 * Placement was checked when the request was read, so taking one out leaves
 * user and assistant turns alternating. Undefined when there is none.
 */
export function hoistSystemMessages(system: JsonValue | undefined, messages: JsonValue): { system: JsonValue[] | undefined; messages: JsonValue[] } | undefined {
  if (!Array.isArray(messages) || !messages.some(isSystemMessage)) return undefined;
  const blocks = [...textBlocks(system), ...messages.filter(isSystemMessage).flatMap((m) => textBlocks(m.content))];
  return { system: blocks.length > 0 ? blocks : undefined, messages: messages.filter((m) => !isSystemMessage(m)) };
}

function isSystemMessage(message: JsonValue): message is JsonObject {
  return typeof message === "object" && message !== null && !Array.isArray(message) && message.role === "system";
}

/** A system prompt or system message's content (a string or text blocks) as blocks; an empty string is none. */
function textBlocks(content: JsonValue | undefined): JsonValue[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  return Array.isArray(content) ? content : [];
}
