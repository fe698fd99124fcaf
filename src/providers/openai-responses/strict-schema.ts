// Whether a function's parameters are a schema OpenAI's strict mode takes as
// it is (https://platform.openai.com/docs/guides/structured-outputs, "Supported
// schemas"): an object at the root, every object closed
// (`additionalProperties: false`) with all of its properties required, and
// only the keywords strict mode lists. Chat Completions (and the vendors that
// copy it) refuse `strict: true` on any other schema, so a schema with a
// keyword not listed here is taken as one strict mode would refuse.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { MAX_JSON_DEPTH } from "../../common/json-nesting.js";

/** Keywords under which strict mode takes subschemas, each checked in turn. */
const NESTED_MAPS = ["properties", "$defs", "definitions"] as const;
const NESTED_LISTS = ["anyOf"] as const;

/** The keywords strict mode takes: the types, anyOf, definitions, and the constraints it lists for strings, numbers and arrays. */
const TAKEN = new Set([
  "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const", "description", "title", "$defs", "definitions", "$ref",
  "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
]);

/** True for parameters strict mode would hold the model to as they are; false for none, or for any it would refuse or rewrite. */
export function strictModeTakesAsIs(parameters: JsonObject | undefined): boolean {
  return parameters !== undefined && parameters.type === "object" && takes(parameters, 0);
}

function takes(schema: JsonValue, depth: number): boolean {
  // The body's nesting was bounded before it was parsed; this bound keeps the walk safe for any caller.
  if (depth > MAX_JSON_DEPTH || typeof schema !== "object" || schema === null || Array.isArray(schema)) return false;
  if (!Object.keys(schema).every((keyword) => TAKEN.has(keyword))) return false;
  if (isObjectSchema(schema)) {
    const properties = asObject(schema.properties);
    // A set: a caller's schema may list thousands of properties.
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    if (schema.additionalProperties !== false || !Object.keys(properties).every((name) => required.has(name))) return false;
  }
  for (const keyword of NESTED_MAPS) if (!Object.values(asObject(schema[keyword])).every((child) => takes(child, depth + 1))) return false;
  for (const keyword of NESTED_LISTS) if (Array.isArray(schema[keyword]) && !(schema[keyword] as JsonValue[]).every((child) => takes(child, depth + 1))) return false;
  return schema.items === undefined || takes(schema.items, depth + 1);
}

function isObjectSchema(schema: JsonObject): boolean {
  const type = schema.type;
  return type === "object" || (Array.isArray(type) && type.includes("object")) || schema.properties !== undefined;
}

function asObject(value: JsonValue | undefined): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
}
