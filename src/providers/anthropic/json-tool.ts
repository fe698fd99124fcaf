// JSON mode on Claude, emulated: Messages has no response_format, so a tool
// whose input is the answer stands in (../shared/reference §4 "JSON mode":
// "force JSON with a single tool"), and its input comes back as the answer's
// text. Two things keep it from changing what the caller's tools do:
// - its name is one no caller tool has (Anthropic refuses a request whose
//   tools share a name, "tools: Tool names must be unique.", and a call of
//   the caller's own tool must stay a call);
// - it is not offered while the caller requires a tool call (tool_choice
//   "required" or a named function): that turn's answer is a call of the
//   caller's tools, which the JSON tool would otherwise stand in for
//   (OpenAI's tool_choice: "required" means the model must call one or more
//   tools; response_format shapes the text answer of a later turn).
import type { JsonObject } from "@bufbuild/protobuf";
import { ResponseFormatType, ToolChoiceMode } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ChatParams } from "../provider.js";
import { asksClaudeForJsonOutputs } from "./output-format.js";

/** The JSON tool's name, unless a caller tool has it (jsonToolName). */
export const JSON_TOOL_NAME = "json_response";

/**
 * Whether the answer must be JSON; not when the caller of `/v1/messages`
 * asked with Claude's own output_config.format, which goes on as written
 * (output-format.ts), with no JSON tool.
 */
function wantsJson(params: ChatParams): boolean {
  if (asksClaudeForJsonOutputs(params.original)) return false;
  const type = params.responseFormat?.type;
  return type === ResponseFormatType.JSON_OBJECT || type === ResponseFormatType.JSON_SCHEMA;
}

/**
 * The name of the tool that carries this request's JSON answer, or undefined
 * when none is sent: JSON_TOOL_NAME, or with a number after it when a caller
 * tool is named so. Request and answer read it from the same params.
 */
export function jsonToolName(params: ChatParams): string | undefined {
  if (!wantsJson(params) || callerToolRequired(params)) return undefined;
  const taken = new Set(params.tools.map((tool) => tool.name));
  let name = JSON_TOOL_NAME;
  for (let n = 2; taken.has(name); n++) name = `${JSON_TOOL_NAME}_${n}`;
  return name;
}

/** The JSON tool as Anthropic takes it: the schema asked for, else any object. */
export function jsonTool(params: ChatParams, name: string): JsonObject {
  const format = params.responseFormat;
  const schema = format?.type === ResponseFormatType.JSON_SCHEMA && format.schema ? format.schema : { type: "object" };
  return { name, description: "Give the answer as JSON.", input_schema: schema };
}

/**
 * The JSON tool forced, unless the caller's tools may be called (tool_choice
 * auto or unset): then "any" tool, the JSON one included, so that the model
 * either calls a caller tool or answers in JSON.
 */
export function jsonToolChoice(params: ChatParams, name: string): JsonObject {
  const choice = params.toolChoice?.choice;
  const none = choice?.case === "mode" && choice.value === ToolChoiceMode.NONE;
  return params.tools.length > 0 && !none ? { type: "any" } : { type: "tool", name };
}

/** Whether the caller requires a call of one of its tools on this turn: tool_choice "required" or a named function. */
function callerToolRequired(params: ChatParams): boolean {
  const choice = params.toolChoice?.choice;
  const required = choice?.case === "functionName" || (choice?.case === "mode" && choice.value === ToolChoiceMode.REQUIRED);
  return required && params.tools.length > 0;
}
