// System messages inside `messages` ("mid-conversation system messages",
// https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages):
// from Claude Opus 4.8 on, `{role: "system", content: string | text blocks}`
// may come right after a user turn, as the last message or right before an
// assistant turn, never first; no beta header. Earlier models refuse the role
// ("role 'system' is not supported on this model"), so for them, as for a
// system message placed where Anthropic takes none, it joins the top-level
// system prompt.
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
 * (the leading system messages, and any later one that cannot stay where it
 * is), and the conversation, with the system messages that stay in place.
 * One stays only for a model that takes them (`inPlace`), between a user
 * turn (a user message or tool results) and an assistant turn or the end;
 * a run of them there becomes one system message. After an assistant turn
 * (as an OpenAI-surface caller may put one) it joins the prompt, as before.
 */
export function splitSystem(messages: readonly Message[], inPlace: boolean): { system: Message[]; conversation: Message[] } {
  const system: Message[] = [];
  const conversation: Message[] = [];
  const first = messages.findIndex((m) => m.role !== Role.SYSTEM);
  messages.forEach((message, i) => {
    if (message.role !== Role.SYSTEM) conversation.push(message);
    else if (first !== -1 && i > first && inPlace && staysInPlace(messages, i)) conversation.push(message);
    else system.push(message);
  });
  return { system, conversation };
}

function staysInPlace(messages: readonly Message[], i: number): boolean {
  const before = messages.slice(0, i).findLast((m) => m.role !== Role.SYSTEM);
  const after = messages.slice(i + 1).find((m) => m.role !== Role.SYSTEM);
  return before !== undefined && before.role !== Role.ASSISTANT && (after === undefined || after.role === Role.ASSISTANT);
}

/**
 * A caller's system prompt and messages (as written to `/v1/messages`) for
 * a model that takes no system messages inside `messages`: each joins the
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
