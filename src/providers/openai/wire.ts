// The OpenAI pieces other dialects reuse (DashScope's native API shares its
// message, tool and usage shapes; ERNIE v1 its usage).
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { lenientReader } from "./json-reader.js";
import { readOpenAIMessage } from "./messages.js";

export { OPENAI_ROLE_NAMES, toOpenAIToolCalls } from "./messages.js";
export { toOpenAIResponseFormat, toOpenAITools, toOpenAIToolChoice } from "./tools.js";
export { fromOpenAIFinishReason, fromOpenAIUsage, type OpenAIUsage } from "./usage.js";

/** An assistant message as a vendor answered it (fields of the wrong type read as absent). */
export function fromOpenAIMessage(message: unknown): Message {
  const reader = lenientReader((field, problem) => {
    throw new Error(`${field} ${problem}`);
  });
  return readOpenAIMessage(message ?? {}, "message", reader, Role.ASSISTANT);
}

export interface OpenAIChoiceMessage {
  content?: string | null;
  refusal?: string | null;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[] | null;
}
