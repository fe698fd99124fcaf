// Reads OpenAI-style REST requests (what OpenAI SDKs send) into the unified request.
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { INT32_MAX } from "../validate.js";
import { ChatRequestSchema, EmbedRequestSchema, type ChatRequest, type EmbedRequest } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import {
  ContentPartSchema,
  MessageSchema,
  ResponseFormatType,
  Role,
  ToolChoiceMode,
  type Message,
  type ResponseFormat,
  type Tool,
  type ToolChoice,
} from "../../../gen/ts/switchboard/v1/chat_pb.js";

const ROLES: Record<string, Role> = { system: Role.SYSTEM, developer: Role.SYSTEM, user: Role.USER, assistant: Role.ASSISTANT, tool: Role.TOOL };

/** Fields the gateway understands; anything else is passed to the vendor as it is (like the SDKs' `extra_body`). */
const KNOWN = new Set([
  "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "user",
  "presence_penalty", "frequency_penalty", "tools", "tool_choice", "response_format", "stream", "stream_options",
]);

const ONE_ANSWER = "must be 1: a call returns one answer (send n calls for n answers)";

function bad(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

function asObject(value: unknown, field: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(field, "must be an object");
  return value as JsonObject;
}

function optionalNumber(body: JsonObject, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw bad(field, "must be a number");
  return value;
}

/** A whole number within [min, max] (the contract's int32 fields): 1e30 and 3.5 are refused here, as Connect refuses them. */
function optionalInteger(body: JsonObject, field: string, min: number, max: number): number | undefined {
  const value = optionalNumber(body, field);
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) throw bad(field, `must be a whole number from ${min} to ${max}`);
  return value;
}

function optionalString(value: unknown, field: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw bad(field, "must be a string");
  return value;
}

function readMessage(raw: unknown, i: number): Message {
  const m = asObject(raw, `messages[${i}]`);
  const role = ROLES[String(m.role)];
  if (role === undefined) throw bad(`messages[${i}].role`, `must be one of ${Object.keys(ROLES).join(", ")}`);
  const message = create(MessageSchema, { role, name: optionalString(m.name, `messages[${i}].name`), toolCallId: optionalString(m.tool_call_id, `messages[${i}].tool_call_id`) });
  if (Array.isArray(m.content)) {
    message.parts = m.content.map((rawPart, j) => {
      const part = asObject(rawPart, `messages[${i}].content[${j}]`);
      if (part.type === "text") return create(ContentPartSchema, { part: { case: "text", value: optionalString(part.text, `messages[${i}].content[${j}].text`) } });
      if (part.type === "image_url") {
        const image = asObject(part.image_url, `messages[${i}].content[${j}].image_url`);
        return create(ContentPartSchema, { part: { case: "imageUrl", value: { url: optionalString(image.url, "url"), detail: optionalString(image.detail, "detail") } } });
      }
      throw bad(`messages[${i}].content[${j}].type`, `"${String(part.type)}" is not supported (text, image_url)`);
    });
  } else {
    message.content = optionalString(m.content, `messages[${i}].content`);
  }
  if (m.tool_calls !== undefined && m.tool_calls !== null) {
    if (!Array.isArray(m.tool_calls)) throw bad(`messages[${i}].tool_calls`, "must be an array");
    message.toolCalls = m.tool_calls.map((rawCall, j) => {
      const call = asObject(rawCall, `messages[${i}].tool_calls[${j}]`);
      const fn = asObject(call.function, `messages[${i}].tool_calls[${j}].function`);
      return { $typeName: "switchboard.v1.ToolCall", id: optionalString(call.id, "id"), name: optionalString(fn.name, "name"), arguments: optionalString(fn.arguments, "arguments") };
    });
  }
  return message;
}

function readTools(raw: JsonValue | undefined): Tool[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw bad("tools", "must be an array");
  return raw.map((rawTool, i) => {
    const tool = asObject(rawTool, `tools[${i}]`);
    if (tool.type !== "function") throw bad(`tools[${i}].type`, 'only "function" tools are supported');
    const fn = asObject(tool.function, `tools[${i}].function`);
    return {
      $typeName: "switchboard.v1.Tool",
      name: optionalString(fn.name, `tools[${i}].function.name`),
      description: optionalString(fn.description, `tools[${i}].function.description`),
      parameters: fn.parameters === undefined ? undefined : asObject(fn.parameters, `tools[${i}].function.parameters`),
      strict: fn.strict === true,
    };
  });
}

function readToolChoice(raw: JsonValue | undefined): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  const modes: Record<string, ToolChoiceMode> = { auto: ToolChoiceMode.AUTO, none: ToolChoiceMode.NONE, required: ToolChoiceMode.REQUIRED };
  if (typeof raw === "string") {
    const mode = modes[raw];
    if (mode === undefined) throw bad("tool_choice", 'must be "auto", "none", "required" or a function');
    return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "mode", value: mode } };
  }
  const fn = asObject(asObject(raw, "tool_choice").function, "tool_choice.function");
  return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "functionName", value: optionalString(fn.name, "tool_choice.function.name") } };
}

function readResponseFormat(raw: JsonValue | undefined): ResponseFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  const format = asObject(raw, "response_format");
  const base = { $typeName: "switchboard.v1.ResponseFormat" as const, schemaName: "", strict: false, schema: undefined };
  switch (format.type) {
    case "text":
      return { ...base, type: ResponseFormatType.TEXT };
    case "json_object":
      return { ...base, type: ResponseFormatType.JSON_OBJECT };
    case "json_schema": {
      const schema = asObject(format.json_schema, "response_format.json_schema");
      return {
        ...base,
        type: ResponseFormatType.JSON_SCHEMA,
        schemaName: optionalString(schema.name, "response_format.json_schema.name"),
        schema: schema.schema === undefined ? undefined : asObject(schema.schema, "response_format.json_schema.schema"),
        strict: schema.strict === true,
      };
    }
    default:
      throw bad("response_format.type", 'must be "text", "json_object" or "json_schema"');
  }
}

export interface RestChatRequest {
  request: ChatRequest;
  stream: boolean;
  includeUsage: boolean;
}

export function chatRequestFromOpenAI(raw: unknown): RestChatRequest {
  const body = asObject(raw, "body");
  if (!Array.isArray(body.messages)) throw bad("messages", "must be an array");
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw bad("n", ONE_ANSWER);
  const maxTokens = optionalInteger(body, "max_completion_tokens", 1, INT32_MAX) ?? optionalInteger(body, "max_tokens", 1, INT32_MAX);
  const stop = body.stop;
  const vendorOptions: JsonObject = {};
  for (const [key, value] of Object.entries(body)) if (!KNOWN.has(key)) vendorOptions[key] = value;
  const seed = optionalNumber(body, "seed");
  // JSON numbers are exact only up to 2^53: a larger seed would not be the one the caller wrote.
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw bad("seed", "must be an integer of at most 2^53 in size");
  const request = create(ChatRequestSchema, {
    model: optionalString(body.model, "model"),
    messages: body.messages.map(readMessage),
    temperature: optionalNumber(body, "temperature"),
    topP: optionalNumber(body, "top_p"),
    maxTokens,
    stop: typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop.map((s, i) => optionalString(s, `stop[${i}]`)) : [],
    seed: seed === undefined ? undefined : BigInt(seed),
    user: optionalString(body.user, "user"),
    presencePenalty: optionalNumber(body, "presence_penalty"),
    frequencyPenalty: optionalNumber(body, "frequency_penalty"),
    tools: readTools(body.tools),
    toolChoice: readToolChoice(body.tool_choice),
    responseFormat: readResponseFormat(body.response_format),
    vendorOptions: Object.keys(vendorOptions).length > 0 ? vendorOptions : undefined,
  });
  const streamOptions = body.stream_options;
  const includeUsage = typeof streamOptions === "object" && streamOptions !== null && !Array.isArray(streamOptions) && streamOptions.include_usage === true;
  return { request, stream: body.stream === true, includeUsage };
}

export function embedRequestFromOpenAI(raw: unknown): EmbedRequest {
  const body = asObject(raw, "body");
  const input = body.input;
  const inputs = typeof input === "string" ? [input] : Array.isArray(input) && input.every((x) => typeof x === "string") ? (input as string[]) : undefined;
  if (!inputs) throw bad("input", "must be a string or an array of strings (token arrays are not supported)");
  return create(EmbedRequestSchema, {
    model: optionalString(body.model, "model"),
    inputs,
    dimensions: optionalInteger(body, "dimensions", 1, INT32_MAX),
    user: optionalString(body.user, "user"),
  });
}
