// A chat request in the OpenAI Chat Completions shape, both ways: built for
// vendors that speak the dialect, and read from callers of the REST surface.
import { create, type JsonObject } from "@bufbuild/protobuf";
import type { ModelTraits } from "../model-traits.js";
import { ChatRequestSchema, type ChatRequest } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { INT32_MAX } from "../../common/contract.js";
import { fieldsOf, rejectOutsized, memberOf } from "../../common/json-value-bounds.js";
import type { Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { MessageFields } from "../caller-fields.js";
import type { ChatParams } from "../provider.js";
import { checkCallSize } from "../call-size.js";
import { readChatOnlyFields } from "./chat-only-fields.js";
import { strictReader as read } from "./json-reader.js";
import { asksInLegacyShape, LEGACY_FIELD_NAMES, readLegacyTools } from "./legacy-functions.js";
import { readOpenAIMessages, toOpenAIMessages } from "./messages.js";
import { readOpenAIReasoning, toOpenAIReasoning } from "./reasoning.js";
import { takeThinkingSwitches } from "./thinking-switch-fields.js";
import { readOpenAIResponseFormat, readOpenAITools, readOpenAIToolChoice, toOpenAIResponseFormat, toOpenAITools, toOpenAIToolChoice } from "./tools.js";

export interface OpenAIRequestOptions {
  /**
   * The provider's configured `max_tokens_field`, over the model's own
   * (OpenAI wants `max_completion_tokens`, which its reasoning models
   * require; most compatible vendors `max_tokens`, the default).
   */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
}

/** Builds the request body. `vendor_options` go in first so the gateway's own fields win; `traits` name the vendor's fields. */
export function toOpenAIChatBody(params: ChatParams, model: string, stream: boolean, options: OpenAIRequestOptions, traits: ModelTraits = {}): JsonObject {
  const body: JsonObject = { ...(params.vendorOptions ?? {}) };
  body.model = model;
  body.messages = toOpenAIMessages(params.messages, { fitIds: true, replayReasoning: traits.replayReasoningText });
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.maxTokens !== undefined) body[options.maxTokensField ?? traits.maxTokensField ?? "max_tokens"] = params.maxTokens;
  if (params.stop.length > 0) body.stop = params.stop;
  if (params.seed !== undefined) body.seed = Number(params.seed);
  if (params.user) body[traits.userField ?? "user"] = params.user;
  Object.assign(body, toOpenAIReasoning(params, traits));
  if (params.presencePenalty !== undefined) body.presence_penalty = params.presencePenalty;
  if (params.frequencyPenalty !== undefined) body.frequency_penalty = params.frequencyPenalty;
  if (params.logprobs !== undefined) body.logprobs = params.logprobs;
  if (params.topLogprobs !== undefined) body.top_logprobs = params.topLogprobs;
  if (params.tools.length > 0) body.tools = toOpenAITools(params);
  const toolChoice = toOpenAIToolChoice(params);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  // One call at a time (Anthropic's disable_parallel_tool_use), to a vendor whose API has the switch; OpenAI refuses it without tools.
  if (params.parallelToolCalls === false && params.tools.length > 0 && traits.parallelToolCallsField) body[traits.parallelToolCallsField] = false;
  const format = toOpenAIResponseFormat(params);
  if (format !== undefined) body.response_format = format;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

/** A caller's request as the REST surface reads it. */
export interface OpenAIChatRequest {
  request: ChatParams & ChatRequest;
  stream: boolean;
  /** `stream_options.include_usage`: the stream ends with a chunk holding the usage. */
  includeUsage: boolean;
  /** The caller asked with legacy `functions`: its answer's call is written as `function_call` (legacy-functions.ts). */
  legacyFunctions: boolean;
}

/**
 * Fields the unified request reads. Anything else goes into vendor_options,
 * which vendors of the OpenAI dialect get as it is (like the SDKs'
 * `extra_body`); the Chat Completions fields among them are type-checked
 * here and said, dropped or refused for other vendors (chat-only-fields.ts).
 */
const KNOWN = new Set([
  "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "user",
  "presence_penalty", "frequency_penalty", "tools", "tool_choice", "response_format", "stream", "stream_options",
  "reasoning_effort", "reasoning", "logprobs", "top_logprobs", "functions", "function_call",
]);

/**
 * Where each message's tool calls are, said only when a message carries a
 * legacy `function_call`: its call, the last of the message's (messages.ts),
 * is named at `function_call`, not at `tool_calls[j].function`.
 */
function legacyCallFields(raw: readonly unknown[], messages: readonly Message[]): MessageFields[] | undefined {
  const hasLegacyCall = (i: number) => {
    const call = memberOf(raw[i], "function_call");
    return call !== undefined && call !== null;
  };
  if (!raw.some((_, i) => hasLegacyCall(i))) return undefined;
  return messages.map((message, i) => {
    const at = `messages[${i}]`;
    const calls = message.toolCalls.map((_, j) => `${at}.tool_calls[${j}].function`);
    if (hasLegacyCall(i)) calls[calls.length - 1] = `${at}.function_call`;
    return { content: `${at}.content`, toolCalls: calls };
  });
}

/** Reads a caller's request body; a field of the wrong shape is InvalidArgument naming it. */
export function chatRequestFromOpenAI(raw: unknown): OpenAIChatRequest {
  const body = read.object(raw, "body", true);
  if (!Array.isArray(body.messages)) read.reject("messages", "must be an array");
  checkCallSize(body.messages, { field: "messages", items: "messages", blocks: ["content", "tool_calls", "reasoning_details"] }, read.reject);
  if (body.n !== undefined && body.n !== null && body.n !== 1) read.reject("n", ONE_ANSWER);
  rejectOutsized(freeFormJson(body), read.reject);
  const vendorOptions: JsonObject = {};
  for (const [key, value] of Object.entries(body)) if (!KNOWN.has(key)) vendorOptions[key] = value;
  readChatOnlyFields(vendorOptions, read);
  const reasoning = takeThinkingSwitches(vendorOptions, readOpenAIReasoning(body, read), read);
  const seed = read.number(body.seed, "seed");
  // JSON numbers are exact only up to 2^53: a larger seed would not be the one the caller wrote.
  if (seed !== undefined && !Number.isSafeInteger(seed)) read.reject("seed", "must be an integer of at most 2^53 in size");
  const stop = body.stop;
  const streamOptions = read.object(body.stream_options, "stream_options");
  // The legacy functions are asked of every vendor as tools (legacy-functions.ts).
  const legacy = readLegacyTools(body, read);
  const rawMessages = body.messages as unknown[];
  const request = create(ChatRequestSchema, {
    model: read.string(body.model, "model"),
    messages: readOpenAIMessages(rawMessages, read),
    temperature: read.number(body.temperature, "temperature"),
    topP: read.number(body.top_p, "top_p"),
    maxTokens: wholeNumber(body, "max_completion_tokens") ?? wholeNumber(body, "max_tokens"),
    stop: typeof stop === "string" ? [stop] : read.array(stop, "stop").map((s, i) => read.string(s, `stop[${i}]`)),
    seed: seed === undefined ? undefined : BigInt(seed),
    user: read.string(body.user, "user"),
    presencePenalty: read.number(body.presence_penalty, "presence_penalty"),
    frequencyPenalty: read.number(body.frequency_penalty, "frequency_penalty"),
    tools: legacy?.tools ?? readOpenAITools(body.tools, read),
    toolChoice: legacy ? legacy.toolChoice : readOpenAIToolChoice(body.tool_choice, read),
    responseFormat: readOpenAIResponseFormat(body.response_format, read),
    reasoning,
    logprobs: read.boolean(body.logprobs, "logprobs"),
    topLogprobs: read.number(body.top_logprobs, "top_logprobs"),
    vendorOptions: Object.keys(vendorOptions).length > 0 ? vendorOptions : undefined,
  });
  // The options are the caller's Chat Completions fields: another dialect's vendor gets them fitted (chat-only-fields.ts).
  // Errors name a tool call's name and arguments, a tool's name (a legacy function's), and a message's parts, as the caller wrote them.
  const toolFields = legacy ? LEGACY_FIELD_NAMES : { toolChoiceName: "tool_choice.function.name", toolName: "function.name" };
  const messages = legacyCallFields(rawMessages, request.messages);
  Object.assign(request, { vendorOptionsDialect: "openai", fieldNames: { arguments: "function.arguments", callName: "function.name", parts: "content", ...toolFields, ...(messages && { messages }) } });
  return {
    request,
    stream: read.boolean(body.stream, "stream") === true,
    includeUsage: read.boolean(streamOptions.include_usage, "stream_options.include_usage") === true,
    legacyFunctions: asksInLegacyShape(body),
  };
}

/** The body's free-form JSON values: the caller's own fields (the vendor options), each tool's parameters, the response schema. */
function* freeFormJson(body: JsonObject): Generator<readonly [string, unknown]> {
  yield* fieldsOf(body, (key) => KNOWN.has(key));
  if (Array.isArray(body.tools)) for (const [i, tool] of body.tools.entries()) yield [`tools[${i}].function.parameters`, memberOf(memberOf(tool, "function"), "parameters")];
  if (Array.isArray(body.functions)) for (const [i, fn] of body.functions.entries()) yield [`functions[${i}].parameters`, memberOf(fn, "parameters")];
  yield ["response_format.json_schema.schema", memberOf(memberOf(body.response_format, "json_schema"), "schema")];
}

const ONE_ANSWER = "must be 1: a call returns one answer (send n calls for n answers)";

/** A whole number in the contract's int32 range: 1e30 and 3.5 are refused here, as Connect refuses them. */
export function wholeNumber(body: JsonObject, field: string): number | undefined {
  const value = read.number(body[field], field);
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= INT32_MAX)) read.reject(field, `must be a whole number from 1 to ${INT32_MAX}`);
  return value;
}
