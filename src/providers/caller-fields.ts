// Where a unified message came from in the caller's own request, for errors
// that name its content or a part of it. On the typed API and on
// `/v1/chat/completions` the unified messages are the caller's, one for one;
// `/v1/messages` splits a turn's tool results into messages of their own and
// reads `system` as one, and `/v1/responses` builds an assistant turn from
// several input items and puts instructions and a stored conversation ahead
// of the input: those surfaces say where each message came from
// (ChatParams.fieldNames.messages).
import type { ChatParams } from "./provider.js";

/** One unified message's fields as the caller wrote them: its content, and each of its parts (`${content}[j]` unless listed). */
export interface MessageFields {
  content: string;
  parts?: readonly string[];
  /**
   * Each of its tool calls, where the caller wrote the call's `name` and
   * `arguments` (`/v1/responses`' function_call items, `input[k]`); a call
   * not listed is named by the message's content (a stored conversation's).
   */
  toolCalls?: readonly string[];
}

type Named = Pick<ChatParams, "fieldNames" | "insertedMessages">;

/** The caller's field of unified `messages[i]`'s content; messages the gateway put in front (insertedMessages) are not the caller's. */
export function contentField(params: Named, i: number): string {
  const index = i - (params.insertedMessages ?? 0);
  return params.fieldNames?.messages?.[index]?.content ?? `messages[${index}].content`;
}

/** The caller's field of unified `messages[i].parts[j]`. */
export function partField(params: Named, i: number, j: number): string {
  const index = i - (params.insertedMessages ?? 0);
  const fields = params.fieldNames?.messages?.[index];
  if (fields) return fields.parts?.[j] ?? `${fields.content}[${j}]`;
  return `messages[${index}].${params.fieldNames?.parts ?? "parts"}[${j}]`;
}

/** The caller's field of unified `messages[i].tool_calls[j]`'s name or arguments, spelled as the surface spells it (`function.name` on Chat Completions). */
export function toolCallField(params: Named, i: number, j: number, member: "name" | "arguments"): string {
  const index = i - (params.insertedMessages ?? 0);
  const fields = params.fieldNames?.messages?.[index];
  if (fields) {
    const call = fields.toolCalls?.[j];
    return call === undefined ? fields.content : `${call}.${member}`;
  }
  const spelled = member === "name" ? params.fieldNames?.callName : params.fieldNames?.arguments;
  return `messages[${index}].tool_calls[${j}].${spelled ?? member}`;
}
