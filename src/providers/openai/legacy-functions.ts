// OpenAI's legacy function calling, deprecated for tools but still sent by
// older SDK code and still answered by vendors given `functions`: an
// assistant's `function_call` (in answers, chunks and the conversation), the
// `function` role carrying a function's result, and the finish reason
// "function_call". Read into the unified tool call and tool result, so every
// dialect's codec encodes a legacy conversation as its own tool turns; written
// back in the legacy shape to callers whose request asked in it.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { ToolCallSchema, type ToolCall, type ToolCallDelta } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { JsonReader } from "./json-reader.js";

/**
 * The id of an answer's legacy call (the wire gives none), made from the
 * answer's id: the same whether the answer came whole, streamed or from the
 * cache, unique in a conversation as answers' ids are, and of letters and
 * digits that fit every vendor's id rules.
 */
export function answeredLegacyCallId(answerId: string): string {
  return `call_fn_${answerId.replace(/[^A-Za-z0-9]/g, "").slice(-24) || "0"}`;
}

/** The id of the legacy call in a caller's `messages[index]`: from its place, so the `function` message after it can be paired with it. */
export function conversationLegacyCallId(index: number): string {
  return `call_fn_m${index}`;
}

/** A message's `function_call` as a tool call with the given id; undefined when it has none. */
export function readLegacyCall(raw: unknown, at: string, reader: JsonReader, id: string): ToolCall | undefined {
  if (raw === undefined || raw === null) return undefined;
  const call = reader.object(raw, at, true);
  return create(ToolCallSchema, { id, name: reader.string(call.name, `${at}.name`), arguments: reader.string(call.arguments, `${at}.arguments`) });
}

/**
 * The id of the call a `function` message answers: the call of the function
 * it names among `earlierCalls`, the last assistant message's. A result with
 * no call before it is refused here, as every vendor's tool rules would.
 */
export function legacyResultCallId(name: string, earlierCalls: readonly ToolCall[], at: string, reader: JsonReader): string {
  if (name === "") return reader.reject(`${at}.name`, 'is required on a "function" message: the function whose result it carries');
  const call = earlierCalls.find((earlier) => earlier.name === name);
  return call ? call.id : reader.reject(at, `a "function" message answers the assistant message before it, which calls no function "${name}"`);
}

/**
 * Whether a caller's request asks in the legacy shape: `functions` and no
 * `tools`. With both, answers keep the tools' shape, which such a caller reads.
 */
export function asksInLegacyShape(body: JsonObject): boolean {
  const tools = body.tools;
  return Array.isArray(body.functions) && body.functions.length > 0 && !(Array.isArray(tools) && tools.length > 0);
}

/**
 * An answer message written for a caller (`tool_calls` as toOpenAIMessage
 * writes them) in the legacy shape: its first call as `function_call`. Any
 * further one (a vendor that called several at once) stays in `tool_calls`,
 * since the legacy shape holds one call and none may be lost.
 */
export function toLegacyMessage(message: JsonObject): void {
  const calls = message.tool_calls;
  if (!Array.isArray(calls) || calls.length === 0) return;
  const [first, ...rest] = calls as JsonObject[];
  message.function_call = first!.function!;
  if (rest.length > 0) message.tool_calls = rest;
  else delete message.tool_calls;
}

/**
 * A chunk's delta in the legacy shape: the fragments of the first call
 * (index 0) as `function_call` (the name with the first, as OpenAI streams
 * it); the fragments of any other call are returned for `tool_calls`.
 */
export function toLegacyDelta(delta: JsonObject, fragments: readonly ToolCallDelta[]): ToolCallDelta[] {
  const first = fragments.filter((fragment) => fragment.index === 0);
  if (first.length > 0) {
    const call: JsonObject = { arguments: first.map((fragment) => fragment.argumentsFragment).join("") };
    const name = first.find((fragment) => fragment.name !== "")?.name;
    if (name) call.name = name;
    delta.function_call = call;
  }
  return fragments.filter((fragment) => fragment.index !== 0);
}

/** A finish reason as a legacy caller reads it: "function_call" for "tool_calls". */
export function toLegacyFinishReason(reason: string): string {
  return reason === "tool_calls" ? "function_call" : reason;
}
