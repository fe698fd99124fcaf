// Tools, tool choice and response format in the OpenAI shape, both ways.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ResponseFormatType, ToolChoiceMode, type ResponseFormat, type Tool, type ToolChoice } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatParams } from "../provider.js";
import { toolChoiceIn } from "../tool-choice.js";
import type { JsonReader } from "./json-reader.js";
import { ownEntry } from "../../common/own-entry.js";

/** `tools` in OpenAI's shape, which DashScope's native API shares. */
export function toOpenAITools(params: Pick<ChatParams, "tools">): JsonObject[] {
  return params.tools.map((tool) => {
    const fn: JsonObject = { name: tool.name, parameters: tool.parameters ?? { type: "object", properties: {} } };
    if (tool.description) fn.description = tool.description;
    if (tool.strict) fn.strict = true;
    return { type: "function", function: fn };
  });
}

export function readOpenAITools(raw: unknown, reader: JsonReader): Tool[] {
  return reader.array(raw, "tools").map((rawTool, i) => {
    const tool = reader.object(rawTool, `tools[${i}]`, true);
    if (tool.type !== "function") return reader.reject(`tools[${i}].type`, 'only "function" tools are supported');
    const fn = reader.object(tool.function, `tools[${i}].function`, true);
    return {
      $typeName: "switchboard.v1.Tool",
      name: reader.string(fn.name, `tools[${i}].function.name`),
      description: reader.string(fn.description, `tools[${i}].function.description`),
      parameters: fn.parameters === undefined ? undefined : reader.object(fn.parameters, `tools[${i}].function.parameters`),
      strict: fn.strict === true,
    };
  });
}

export function toOpenAIToolChoice(params: Pick<ChatParams, "toolChoice">): JsonValue | undefined {
  return toolChoiceIn<JsonValue>(params, { auto: "auto", none: "none", required: "required", functionName: (name) => ({ type: "function", function: { name } }) });
}

const MODES: Record<string, ToolChoiceMode> = { auto: ToolChoiceMode.AUTO, none: ToolChoiceMode.NONE, required: ToolChoiceMode.REQUIRED };

export function readOpenAIToolChoice(raw: unknown, reader: JsonReader): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") {
    const mode = ownEntry(MODES, raw);
    if (mode === undefined) return reader.reject("tool_choice", 'must be "auto", "none", "required" or a function');
    return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "mode", value: mode } };
  }
  const fn = reader.object(reader.object(raw, "tool_choice", true).function, "tool_choice.function", true);
  return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "functionName", value: reader.string(fn.name, "tool_choice.function.name") } };
}

export function toOpenAIResponseFormat(params: Pick<ChatParams, "responseFormat">): JsonValue | undefined {
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

/** The JSON-schema part of a response format: where it sits differs between Chat Completions and Responses. */
type SchemaFormat = Pick<ResponseFormat, "schemaName" | "schema" | "strict">;

/**
 * A response format as the OpenAI dialects spell it (`type` of text,
 * json_object or json_schema), with `readSchema` reading the json_schema
 * case's fields from wherever the dialect keeps them.
 */
export function readResponseFormatOf(
  raw: unknown,
  field: string,
  reader: JsonReader,
  readSchema: (format: Record<string, unknown>) => SchemaFormat,
): ResponseFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  const format = reader.object(raw, field, true);
  const base = { $typeName: "switchboard.v1.ResponseFormat" as const, schemaName: "", strict: false, schema: undefined };
  switch (format.type) {
    case "text":
      return { ...base, type: ResponseFormatType.TEXT };
    case "json_object":
      return { ...base, type: ResponseFormatType.JSON_OBJECT };
    case "json_schema":
      return { ...base, type: ResponseFormatType.JSON_SCHEMA, ...readSchema(format) };
    default:
      return reader.reject(`${field}.type`, 'must be "text", "json_object" or "json_schema"');
  }
}

/** Chat Completions' `response_format`: the schema nests in a `json_schema` object. */
export function readOpenAIResponseFormat(raw: unknown, reader: JsonReader): ResponseFormat | undefined {
  return readResponseFormatOf(raw, "response_format", reader, (format) => {
    const schema = reader.object(format.json_schema, "response_format.json_schema", true);
    return {
      schemaName: reader.string(schema.name, "response_format.json_schema.name"),
      schema: schema.schema === undefined ? undefined : reader.object(schema.schema, "response_format.json_schema.schema"),
      strict: schema.strict === true,
    };
  });
}
