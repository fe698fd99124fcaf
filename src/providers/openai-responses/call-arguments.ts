// A function call's arguments as the gateway takes them back on
// `/v1/responses`: a JSON object as text (or nothing), nested no deeper than
// any JSON a request carries. Vendors with structured inputs (Anthropic,
// Gemini) need the object, and the others would be sent what no model wrote.
// The caller's input is held to it (responses-request.ts); a stored answer
// cut at max_output_tokens inside a call is not what the caller wrote: its
// Response keeps the arguments as the model wrote them, as OpenAI's does, and
// a continuation sends that call as one every vendor takes.
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../../common/json-nesting.js";

/** What keeps arguments from being taken back: nesting past MAX_JSON_DEPTH, or text that is no JSON object. */
export type CallArgumentsProblem = "too_deep" | "not_object";

/** Why `text` is not arguments the gateway takes back; undefined when it is (empty text, a call without arguments, is). */
export function callArgumentsProblem(text: string): CallArgumentsProblem | undefined {
  if (text.trim() === "") return undefined;
  // Counted before it is parsed: JSON.parse builds a value of any depth.
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) return "too_deep";
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "not_object";
  }
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? undefined : "not_object";
}

/**
 * A stored conversation as a continuation sends it: each call whose
 * arguments are not taken back (one cut at max_output_tokens, `{"query":"x`)
 * goes with `{}`, as the gateway's `/v1/messages` gives a cut tool input
 * back in a whole answer and in its message threads
 * (anthropic/messages-answer.ts, toolInput). Claude and Gemini take the
 * arguments as an object, so the cut text could not be sent them, and the
 * caller could not go on from the response at all. The stored conversation
 * itself is not changed: what it lists (`input_items`) is what its Responses
 * showed.
 */
export function continuableConversation(stored: readonly Message[]): Message[] {
  return stored.map((message) => {
    const toolCalls = message.toolCalls.map((call) => (callArgumentsProblem(call.arguments) ? { ...call, arguments: "{}" } : call));
    return toolCalls.every((call, i) => call === message.toolCalls[i]) ? message : { ...message, toolCalls };
  });
}
