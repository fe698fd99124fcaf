// The OpenAI Chat Completions wire format, shared by OpenAI, DeepSeek, Moonshot,
// Zhipu GLM v4, Qianfan v2, DashScope compatible mode, Ollama and vLLM.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  FinishReason,
  MessageSchema,
  ResponseFormatType,
  Role,
  ToolCallSchema,
  UsageSchema,
  type Message,
  type ToolCall,
  type Usage,
} from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatParams } from "../provider.js";
import { toolCallIdFitting } from "../tool-call-ids.js";
import { toolChoiceIn } from "../tool-choice.js";

export interface OpenAIWireOptions {
  /** OpenAI itself wants `max_completion_tokens` (its o-series reject `max_tokens`); the rest want `max_tokens`. */
  maxTokensField: "max_tokens" | "max_completion_tokens";
}

/** Role names on the wire, which DashScope's native API shares. */
export const OPENAI_ROLE_NAMES: Record<Role, string> = {
  [Role.UNSPECIFIED]: "user",
  [Role.SYSTEM]: "system",
  [Role.USER]: "user",
  [Role.ASSISTANT]: "assistant",
  [Role.TOOL]: "tool",
};

export function toOpenAIMessage(message: Message): JsonObject {
  const out: JsonObject = { role: OPENAI_ROLE_NAMES[message.role] };
  if (message.parts.length > 0) {
    out.content = message.parts.map((part): JsonObject => {
      if (part.part.case === "imageUrl") {
        const image: JsonObject = { url: part.part.value.url };
        if (part.part.value.detail) image.detail = part.part.value.detail;
        return { type: "image_url", image_url: image };
      }
      return { type: "text", text: part.part.value ?? "" };
    });
  } else {
    // An assistant turn that only calls tools has null content on the wire.
    out.content = message.content === "" && message.toolCalls.length > 0 ? null : message.content;
  }
  if (message.name) out.name = message.name;
  if (message.toolCalls.length > 0) out.tool_calls = toOpenAIToolCalls(message.toolCalls);
  if (message.toolCallId) out.tool_call_id = openAIToolCallId(message.toolCallId);
  return out;
}

/** An assistant message's `tool_calls`, which DashScope's native API shares. */
export function toOpenAIToolCalls(calls: ToolCall[]): JsonObject[] {
  return calls.map((call) => ({ id: openAIToolCallId(call.id), type: "function", function: { name: call.name, arguments: call.arguments || "{}" } }));
}

/** OpenAI refuses a tool call id over 40 characters (`string_above_max_length`). */
const openAIToolCallId = toolCallIdFitting({ maxLength: 40 });

/** Builds the request body. `vendor_options` go in first so the gateway's own fields win. */
export function toOpenAIChatBody(params: ChatParams, model: string, stream: boolean, options: OpenAIWireOptions): JsonObject {
  const body: JsonObject = { ...(params.vendorOptions ?? {}) };
  body.model = model;
  body.messages = params.messages.map(toOpenAIMessage);
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.maxTokens !== undefined) body[options.maxTokensField] = params.maxTokens;
  if (params.stop.length > 0) body.stop = params.stop;
  if (params.seed !== undefined) body.seed = Number(params.seed);
  if (params.user) body.user = params.user;
  if (params.presencePenalty !== undefined) body.presence_penalty = params.presencePenalty;
  if (params.frequencyPenalty !== undefined) body.frequency_penalty = params.frequencyPenalty;
  if (params.tools.length > 0) body.tools = toOpenAITools(params);
  const toolChoice = toOpenAIToolChoice(params);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  const format = toOpenAIResponseFormat(params);
  if (format !== undefined) body.response_format = format;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

/** `tools` in OpenAI's shape, which DashScope's native API shares. */
export function toOpenAITools(params: ChatParams): JsonObject[] {
  return params.tools.map((tool) => {
    const fn: JsonObject = { name: tool.name, parameters: tool.parameters ?? { type: "object", properties: {} } };
    if (tool.description) fn.description = tool.description;
    if (tool.strict) fn.strict = true;
    return { type: "function", function: fn };
  });
}

export function toOpenAIToolChoice(params: ChatParams): JsonValue | undefined {
  return toolChoiceIn<JsonValue>(params, { auto: "auto", none: "none", required: "required", functionName: (name) => ({ type: "function", function: { name } }) });
}

export function toOpenAIResponseFormat(params: ChatParams): JsonValue | undefined {
  const format = params.responseFormat;
  switch (format?.type) {
    case ResponseFormatType.TEXT:
      return { type: "text" };
    case ResponseFormatType.JSON_OBJECT:
      return { type: "json_object" };
    case ResponseFormatType.JSON_SCHEMA: {
      const schema: JsonObject = { name: format.schemaName || "response", schema: format.schema ?? {} };
      if (format.strict) schema.strict = true;
      return { type: "json_schema", json_schema: schema };
    }
    default:
      return undefined;
  }
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: FinishReason.STOP,
  eos: FinishReason.STOP,
  length: FinishReason.LENGTH,
  // DeepSeek ends an answer it could not finish for lack of capacity with this.
  insufficient_system_resource: FinishReason.LENGTH,
  tool_calls: FinishReason.TOOL_CALLS,
  function_call: FinishReason.TOOL_CALLS,
  content_filter: FinishReason.CONTENT_FILTER,
  sensitive: FinishReason.CONTENT_FILTER,
};

export function fromOpenAIFinishReason(reason: unknown): FinishReason {
  return typeof reason === "string" ? (FINISH_REASONS[reason] ?? FinishReason.UNSPECIFIED) : FinishReason.UNSPECIFIED;
}

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  cached_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}

export function fromOpenAIUsage(usage: OpenAIUsage | null | undefined): Usage | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const prompt = usage.prompt_tokens ?? 0;
  const completion = usage.completion_tokens ?? 0;
  return create(UsageSchema, {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: usage.total_tokens ?? prompt + completion,
    // Moonshot reports cached tokens at the top level; OpenAI in the details.
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? usage.cached_tokens ?? 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  });
}

interface OpenAIToolCall {
  id?: string;
  function?: { name?: string; arguments?: string };
}

export interface OpenAIChoiceMessage {
  content?: string | null;
  refusal?: string | null;
  tool_calls?: OpenAIToolCall[] | null;
}

export function fromOpenAIMessage(message: OpenAIChoiceMessage | undefined): Message {
  const toolCalls: ToolCall[] = (message?.tool_calls ?? []).map((call, index) =>
    create(ToolCallSchema, {
      id: call.id || `call_${index}`,
      name: call.function?.name ?? "",
      arguments: call.function?.arguments ?? "",
    }),
  );
  return create(MessageSchema, {
    role: Role.ASSISTANT,
    content: message?.content ?? message?.refusal ?? "",
    toolCalls,
  });
}
