// The wenxinworkshop (Qianfan v1) chat format: the system prompt out of band,
// strictly alternating user/assistant turns, one function call per turn.
import { randomBytes } from "node:crypto";
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import {
  FinishReason,
  MessageSchema,
  ResponseFormatType,
  Role,
  ToolCallSchema,
  ToolChoiceMode,
  type Message,
} from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { messageText } from "../message-text.js";
import type { ChatParams } from "../provider.js";
import { UpstreamError } from "../upstream-error.js";

interface WireMessage {
  role: "user" | "assistant" | "function";
  content: string;
  name?: string;
  function_call?: { name: string; arguments: string };
}

/** A wire message and the index of the first request message it came from, for error messages. */
interface Placed {
  message: WireMessage;
  from: number;
}

export interface QianfanFunctionCall {
  name?: string;
  arguments?: string;
  thoughts?: string;
}

/** One answer, or one stream chunk (same fields; `result` is then the increment). */
export interface QianfanChatAnswer {
  id?: string;
  result?: string;
  is_end?: boolean;
  finish_reason?: string;
  function_call?: QianfanFunctionCall;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
}

function invalid(provider: string, message: string): UpstreamError {
  return new UpstreamError({ kind: "bad_request", provider, message: `provider "${provider}" (ERNIE v1): ${message}` });
}

/** Builds the request body; throws bad_request when the conversation cannot be made valid for ERNIE. */
export function toQianfanChatBody(params: ChatParams, provider: string, stream: boolean): JsonObject {
  const body: JsonObject = { ...(params.vendorOptions ?? {}) };
  const { system, messages } = toConversation(params.messages, provider);
  body.messages = messages as unknown as JsonValue;
  if (system) body.system = system;
  // ERNIE takes (0, 1]; Baidu's own OpenAI adapter halves OpenAI's 0-2 scale.
  if (params.temperature !== undefined) body.temperature = clamp(params.temperature / 2, 0.01, 1);
  if (params.topP !== undefined) body.top_p = params.topP;
  // penalty_score is [1, 2]; Baidu's OpenAI adapter maps presence_penalty as p/4 + 1.5.
  if (params.presencePenalty !== undefined) body.penalty_score = clamp(params.presencePenalty / 4 + 1.5, 1, 2);
  // The documented minimum is 2.
  if (params.maxTokens !== undefined) body.max_output_tokens = Math.max(2, params.maxTokens);
  if (params.stop.length > 0) body.stop = params.stop;
  if (params.user) body.user_id = params.user;
  const choice = params.toolChoice?.choice;
  const toolsOff = choice?.case === "mode" && choice.value === ToolChoiceMode.NONE;
  if (params.tools.length > 0 && !toolsOff) {
    body.functions = params.tools.map((tool) => {
      const fn: JsonObject = { name: tool.name, parameters: tool.parameters ?? { type: "object", properties: {} } };
      if (tool.description) fn.description = tool.description;
      return fn;
    });
    // v1 can force one named function, nothing else; "required" with a single tool means that tool.
    const forced =
      choice?.case === "functionName" ? choice.value : choice?.case === "mode" && choice.value === ToolChoiceMode.REQUIRED && params.tools.length === 1 ? params.tools[0]!.name : undefined;
    if (forced) body.tool_choice = { type: "function", function: { name: forced } };
  }
  const format = params.responseFormat?.type;
  // v1 knows no schemas: a JSON_SCHEMA request still gets a JSON object.
  if (format === ResponseFormatType.JSON_OBJECT || format === ResponseFormatType.JSON_SCHEMA) body.response_format = "json_object";
  else if (format === ResponseFormatType.TEXT) body.response_format = "text";
  if (stream) body.stream = true;
  return body;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * Moves system messages to `system`, maps roles, merges consecutive turns of
 * the same role, and checks what ERNIE demands: user first, alternating,
 * an odd count (so the last turn is the user's or a function result).
 */
function toConversation(messages: Message[], provider: string): { system: string; messages: WireMessage[] } {
  const system: string[] = [];
  const placed: Placed[] = [];
  const append = (message: WireMessage, from: number): void => {
    const last = placed.at(-1)?.message;
    if (!last || last.role !== message.role) {
      placed.push({ message, from });
      return;
    }
    if (message.role === "function") {
      throw invalid(provider, `messages[${from}] is a second tool result in a row; ERNIE takes one function call, and so one result, per turn`);
    }
    if (last.function_call && message.function_call) {
      throw invalid(provider, `messages[${from}] is a second tool call in a row; ERNIE takes one function call per assistant turn`);
    }
    last.content = [last.content, message.content].filter((text) => text !== "").join("\n\n");
    if (message.function_call) last.function_call = message.function_call;
  };

  messages.forEach((message, i) => {
    const text = messageText(message, provider);
    switch (message.role) {
      case Role.SYSTEM:
        system.push(text);
        return;
      case Role.ASSISTANT: {
        if (message.toolCalls.length > 1) {
          throw invalid(provider, `messages[${i}] makes ${message.toolCalls.length} tool calls; ERNIE takes one function call per assistant turn`);
        }
        const call = message.toolCalls[0];
        append({ role: "assistant", content: text, ...(call ? { function_call: { name: call.name, arguments: call.arguments || "{}" } } : {}) }, i);
        return;
      }
      case Role.TOOL:
        append({ role: "function", name: toolName(messages, i, provider), content: JSON.stringify({ result: text }) }, i);
        return;
      default:
        append({ role: "user", content: text }, i);
    }
  });

  if (placed.length === 0) throw invalid(provider, "the conversation needs a user message (system messages go to the separate system prompt)");
  const first = placed[0]!;
  if (first.message.role !== "user") {
    throw invalid(provider, `the conversation must start with a user message, but messages[${first.from}] is ${describeRole(first.message.role)}`);
  }
  // Merging leaves one way to break the alternation: a user message and a tool result side by side.
  placed.forEach(({ message, from }, position) => {
    if (position % 2 === 1 && message.role !== "assistant") {
      const previous = placed[position - 1]!.message;
      throw invalid(provider, `messages[${from}] is ${describeRole(message.role)} right after ${describeRole(previous.role)}; ERNIE needs an assistant turn in between`);
    }
  });
  const last = placed.at(-1)!;
  if (last.message.role === "assistant") {
    throw invalid(provider, `the conversation must end with a user or tool message for the model to answer, but messages[${last.from}] is an assistant message`);
  }
  return { system: system.join("\n\n"), messages: placed.map(({ message }) => message) };
}

function describeRole(role: WireMessage["role"]): string {
  return role === "function" ? "a tool result" : role === "user" ? "a user message" : "an assistant message";
}

/** v1 names a function result by the function, not by a call id: find the call it answers. */
function toolName(messages: Message[], index: number, provider: string): string {
  const message = messages[index]!;
  for (let i = index - 1; i >= 0; i--) {
    const call = messages[i]!.toolCalls.find((candidate) => candidate.id === message.toolCallId);
    if (call) return call.name;
  }
  if (message.name) return message.name;
  throw invalid(provider, `messages[${index}].tool_call_id "${message.toolCallId}" answers no earlier tool call, and the message has no name`);
}

const FINISH_REASONS: Record<string, FinishReason> = {
  normal: FinishReason.STOP,
  stop: FinishReason.STOP,
  length: FinishReason.LENGTH,
  content_filter: FinishReason.CONTENT_FILTER,
  function_call: FinishReason.TOOL_CALLS,
};

/** Older models send no finish_reason on a complete answer: that is a stop (or a function call). */
export function fromQianfanFinishReason(reason: string | undefined, calledFunction: boolean): FinishReason {
  const known = reason ? FINISH_REASONS[reason] : undefined;
  return known ?? (calledFunction ? FinishReason.TOOL_CALLS : FinishReason.STOP);
}

/** v1 gives function calls no id; callers need one to answer the call, so one is made up. */
export function madeUpToolCallId(): string {
  return `call_${randomBytes(12).toString("hex")}`;
}

export function fromQianfanAnswer(answer: QianfanChatAnswer): Message {
  const call = answer.function_call;
  return create(MessageSchema, {
    role: Role.ASSISTANT,
    content: answer.result ?? "",
    toolCalls: call?.name ? [create(ToolCallSchema, { id: madeUpToolCallId(), name: call.name, arguments: call.arguments ?? "" })] : [],
  });
}
