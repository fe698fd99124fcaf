import { randomBytes } from "node:crypto";
// OpenAI's legacy function calling, deprecated for tools but still sent by
// older SDK code and still answered by vendors given `functions`: an
// assistant's `function_call` (in answers, chunks and the conversation), the
// `function` role carrying a function's result, and the finish reason
// "function_call". Read into the unified tool call and tool result, so every
// dialect's codec encodes a legacy conversation as its own tool turns; written
// back in the legacy shape to callers whose request asked in it. A request's
// `functions` and `function_call` are read as the `tools` and `tool_choice`
// that replaced them, so every vendor is asked with tools.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { ToolCallSchema, ToolChoiceMode, type Tool, type ToolCall, type ToolCallDelta, type ToolChoice } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ownEntry } from "../../common/own-entry.js";
import type { JsonReader } from "./json-reader.js";

/** Errors name a legacy caller's own fields: its tools are `functions[i]`, a tool's name `name` there, the forced function `function_call.name`. */
export const LEGACY_FIELD_NAMES = { tools: "functions", toolName: "name", toolChoiceName: "function_call.name" } as const;

/** What a request's legacy fields ask for, said as tools. */
export interface LegacyTools {
  tools: Tool[];
  toolChoice: ToolChoice | undefined;
}

const LEGACY_MODES: Record<string, ToolChoiceMode> = { none: ToolChoiceMode.NONE, auto: ToolChoiceMode.AUTO };

/**
 * A caller's `functions` and `function_call` as the `tools` and
 * `tool_choice` that replaced them (openai-node: `functions` "Deprecated in
 * favor of `tools`", `function_call` "in favor of `tool_choice`"):
 * `function_call` "none" and "auto" are those modes, `{name}` forces that
 * function. Undefined when the request sends neither. Sent beside their
 * replacements, refused as OpenAI refuses `functions` with `tools`; a
 * `function_call` without functions chooses among nothing.
 */
export function readLegacyTools(body: JsonObject, reader: JsonReader): LegacyTools | undefined {
  const given = (field: string) => body[field] !== undefined && body[field] !== null;
  if (!given("functions") && !given("function_call")) return undefined;
  if (given("functions") && given("tools")) reader.reject("functions", '"functions" and "tools" cannot both be sent: functions are deprecated, send them all as tools');
  if (given("function_call") && given("tool_choice")) reader.reject("function_call", '"function_call" and "tool_choice" cannot both be sent: function_call is deprecated, send tool_choice');
  const tools = reader.array(body.functions, "functions").map((raw, i): Tool => {
    const fn = reader.object(raw, `functions[${i}]`, true);
    return {
      $typeName: "switchboard.v1.Tool",
      name: reader.string(fn.name, `functions[${i}].name`),
      description: reader.string(fn.description, `functions[${i}].description`),
      parameters: fn.parameters === undefined || fn.parameters === null ? undefined : reader.object(fn.parameters, `functions[${i}].parameters`),
      strict: false,
    };
  });
  if (given("function_call") && tools.length === 0) reader.reject("function_call", "chooses among functions, and the request sends none");
  return { tools, toolChoice: readLegacyChoice(body.function_call, reader) };
}

function readLegacyChoice(raw: unknown, reader: JsonReader): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") {
    const mode = ownEntry(LEGACY_MODES, raw);
    if (mode === undefined) return reader.reject("function_call", 'must be "none", "auto" or {"name": …} (a function to call)');
    return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "mode", value: mode } };
  }
  const name = reader.string(reader.object(raw, "function_call", true).name, "function_call.name");
  return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "functionName", value: name } };
}

/**
 * The id of an answer's legacy call (the wire gives none), made from the
 * answer's id: the same whether the answer came whole, streamed or from the
 * cache, unique in a conversation as answers' ids are, and of letters and
 * digits that fit every vendor's id rules.
 */
export function answeredLegacyCallId(answerId: string): string {
  // An answer without an id (some compatible vendors send none) gets random letters: "call_fn_0" would repeat in the conversation.
  return `call_fn_${answerId.replace(/[^A-Za-z0-9]/g, "").slice(-24) || randomBytes(8).toString("hex")}`;
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

/** Whether a caller's request asks in the legacy shape: with `functions` (which come without `tools`, readLegacyTools). */
export function asksInLegacyShape(body: JsonObject): boolean {
  return Array.isArray(body.functions) && body.functions.length > 0;
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
