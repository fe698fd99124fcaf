// The wenxinworkshop (Qianfan v1) chat format: settings at the top level next
// to the conversation (see conversation.ts), answers in `result`.
import { ownEntry } from "../../common/own-entry.js";
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
import type { ChatParams } from "../provider.js";
import { madeUpCallId } from "../made-up-call-id.js";
import { toErnieConversation } from "./conversation.js";

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
  /** The answer was cut (Baidu: "当前生成的结果是否被截断"); its `length` reason follows this flag. */
  is_truncated?: boolean;
  /** The input was judged unsafe: close the conversation, clear its history (`ban_round` names the turn at fault). */
  need_clear_history?: boolean;
  function_call?: QianfanFunctionCall;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
}

/** Builds the request body; throws bad_request when the conversation cannot be made valid for ERNIE. */
export function toQianfanChatBody(params: ChatParams, provider: string, stream: boolean): JsonObject {
  const body: JsonObject = { ...(params.vendorOptions ?? {}) };
  const { system, messages } = toErnieConversation(params.messages, provider, params.insertedMessages);
  body.messages = messages as unknown as JsonValue;
  if (system) body.system = system;
  // Ranges and limits (temperature (0, 1], max_output_tokens from 2 to the model's most) are the model catalogue's to fit, and to report.
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  // penalty_score is [1, 2]; Baidu's OpenAI adapter maps presence_penalty as p/4 + 1.5.
  if (params.presencePenalty !== undefined) body.penalty_score = clamp(params.presencePenalty / 4 + 1.5, 1, 2);
  if (params.maxTokens !== undefined) body.max_output_tokens = params.maxTokens;
  if (params.stop.length > 0) body.stop = params.stop;
  if (params.user) body.user_id = params.user;
  const choice = params.toolChoice?.choice;
  const toolsOff = choice?.case === "mode" && choice.value === ToolChoiceMode.NONE;
  if (params.tools.length > 0 && !toolsOff) {
    body.functions = params.tools.map((tool) => {
      // functions[].description is required: the name stands in for a missing one.
      return { name: tool.name, description: tool.description || tool.name, parameters: tool.parameters ?? { type: "object", properties: {} } };
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

const FINISH_REASONS: Record<string, FinishReason> = {
  normal: FinishReason.STOP,
  stop: FinishReason.STOP,
  length: FinishReason.LENGTH,
  content_filter: FinishReason.CONTENT_FILTER,
  function_call: FinishReason.TOOL_CALLS,
};

/** What says how an answer ended: the last chunk's reason, and the flags any chunk raised. */
export type QianfanEnding = Pick<QianfanChatAnswer, "finish_reason" | "is_truncated" | "need_clear_history">;

/**
 * How an answer ended. An input judged unsafe (need_clear_history) gets a
 * stock answer, not the model's: a content filter. A cut one (is_truncated)
 * is LENGTH, unless a filter cut it. A reason the gateway does not know
 * stays UNSPECIFIED (the cache keeps no such answer); older models send no
 * reason on a complete answer: that is a stop (or a function call).
 */
export function fromQianfanFinishReason(ending: QianfanEnding, calledFunction: boolean): FinishReason {
  if (ending.need_clear_history === true) return FinishReason.CONTENT_FILTER;
  const reason = typeof ending.finish_reason === "string" && ending.finish_reason ? ending.finish_reason : undefined;
  const known = reason === undefined ? undefined : ownEntry(FINISH_REASONS, reason);
  if (known === FinishReason.CONTENT_FILTER) return known;
  if (ending.is_truncated === true) return FinishReason.LENGTH;
  if (reason !== undefined) return known ?? FinishReason.UNSPECIFIED;
  return calledFunction ? FinishReason.TOOL_CALLS : FinishReason.STOP;
}

/** An answer as the unified message; a function call's `thoughts` (the model's reasons for the call) are its reasoning. */
export function fromQianfanAnswer(answer: QianfanChatAnswer): Message {
  const call = answer.function_call?.name ? answer.function_call : undefined;
  return create(MessageSchema, {
    role: Role.ASSISTANT,
    content: answer.result ?? "",
    // v1 gives function calls no id; callers need one to answer the call.
    toolCalls: call ? [create(ToolCallSchema, { id: madeUpCallId(typeof answer.id === "string" ? answer.id : "", 0), name: call.name, arguments: call.arguments ?? "" })] : [],
    reasoningContent: call?.thoughts ?? "",
  });
}
