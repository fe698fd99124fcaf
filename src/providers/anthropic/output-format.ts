// Anthropic's JSON outputs (https://platform.claude.com/docs/en/build-with-claude/structured-outputs):
// `output_config.format: {type: "json_schema", schema}` holds Claude's answer
// text to a JSON schema by constrained decoding. `output_format` (beta
// structured-outputs-2025-11-13) is its deprecated name, still taken; the
// Anthropic SDKs refuse the two together. Read into the unified response
// format, so that every vendor is asked for JSON its own way (or the
// adjustments say what it could not do), as /v1/chat/completions'
// response_format is; Claude itself gets the caller's field as written
// (original-request.ts), and so no JSON tool (wire.ts).
import type { JsonObject } from "@bufbuild/protobuf";
import { ResponseFormatType, type ResponseFormat } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { strictReader as read } from "../openai/json-reader.js";
import { strictModeTakesAsIs } from "../openai-responses/strict-schema.js";
import type { DialectOriginal } from "../provider.js";

/** The fields a format has: Anthropic's JSONOutputFormat. */
const FORMAT_FIELDS = new Set(["type", "schema"]);

/**
 * The caller's structured output, as the unified response format. Anthropic
 * always holds the answer to the schema; other vendors are held to it
 * (`strict`) where their strict mode takes the schema as it is, and asked
 * best-effort otherwise, since OpenAI-style strict mode refuses schemas
 * Claude takes (an optional property).
 */
export function readOutputFormat(body: JsonObject): ResponseFormat | undefined {
  const current = read.object(body.output_config, "output_config").format;
  const deprecated = body.output_format;
  if (given(current) && given(deprecated)) read.reject("output_format", "cannot be sent beside output_config.format, which replaces it: send output_config.format alone");
  if (given(current)) return readFormat(current, "output_config.format");
  if (given(deprecated)) return readFormat(deprecated, "output_format");
  return undefined;
}

/** Whether the caller of `/v1/messages` asked for JSON outputs: Claude is then sent the caller's field, not the JSON tool that stands in for other surfaces' JSON mode. */
export function asksClaudeForJsonOutputs(original: DialectOriginal | undefined): boolean {
  if (original?.dialect !== "anthropic") return false;
  // The body was read (readOutputFormat) before any codec sees it: output_config is an object if given.
  const config = original.body.output_config as JsonObject | null | undefined;
  return given(config?.format) || given(original.body.output_format);
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function readFormat(raw: unknown, at: string): ResponseFormat {
  const format = read.object(raw, at, true);
  for (const key of Object.keys(format)) if (!FORMAT_FIELDS.has(key)) read.reject(`${at}.${key.slice(0, 64)}`, "is not a field of an output format (type, schema)");
  if (format.type !== "json_schema") read.reject(`${at}.type`, 'must be "json_schema"');
  if (format.schema === undefined || format.schema === null) read.reject(`${at}.schema`, "is required");
  const schema = read.object(format.schema, `${at}.schema`, true);
  return { $typeName: "switchboard.v1.ResponseFormat", type: ResponseFormatType.JSON_SCHEMA, schemaName: "", schema, strict: strictModeTakesAsIs(schema) };
}
