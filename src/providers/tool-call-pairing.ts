// A conversation's tool calls and their results, paired by id, checked as the
// agent surfaces read them (`/v1/responses`, `/v1/messages`): a result whose
// call comes nowhere before it, two calls of one turn with one id, or one call
// answered twice. Every vendor refuses such a conversation in its own words
// (or, some, serve it, pairing results to calls as they guess), after the
// gateway admitted and charged the call: refused here instead, naming the item.
import { Role, type Message } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { excerpt } from "../common/excerpt.js";

/** Where the caller wrote each tool call's id and each tool result's, in the order the messages hold them. */
export interface ToolIdFields {
  calls: string[];
  results: string[];
}

/** How a surface names a call and where its calls may be ("in the input, or in the response previous_response_id continues"). */
export interface ToolCallWords {
  /** "function_call with call_id", "tool_use with id". */
  call: string;
  where: string;
}

/**
 * Refuses the first tool call or result of `messages` that does not pair:
 * `before` is the conversation they continue (checked already, so only noted).
 * A call id may come back in a later turn (a client that numbers its calls
 * per turn, `call_0` each time): a result answers the latest call of its id.
 */
export function checkToolCallPairing(
  before: readonly Message[],
  messages: readonly Message[],
  fields: ToolIdFields,
  words: ToolCallWords,
  reject: (field: string, description: string) => never,
): void {
  const called = new Set<string>();
  const answered = new Set<string>();
  let calls = 0;
  let results = 0;
  const read = (message: Message, checked: boolean): void => {
    const turn = new Set<string>();
    for (const call of message.toolCalls) {
      const field = checked ? fields.calls[calls++]! : "";
      if (checked && turn.has(call.id)) reject(field, `"${excerpt(call.id)}" is the id of another call of the same turn: each call needs an id of its own, which its result names`);
      turn.add(call.id);
      called.add(call.id);
      answered.delete(call.id);
    }
    if (message.role !== Role.TOOL) return;
    const field = checked ? fields.results[results++]! : "";
    if (checked && !called.has(message.toolCallId)) reject(field, `no ${words.call} "${excerpt(message.toolCallId)}" comes before it (${words.where})`);
    if (checked && answered.has(message.toolCallId)) reject(field, `the ${words.call} "${excerpt(message.toolCallId)}" is answered twice: give each call one result`);
    answered.add(message.toolCallId);
  };
  for (const message of before) read(message, false);
  for (const message of messages) read(message, true);
}
