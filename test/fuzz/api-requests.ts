// Well-typed requests of the AIService, valid and at the edges of valid: what a
// real client could encode (any enum number, NaN, the int32 and int64 extremes,
// empty and long strings, JSON values near the nesting limit).
import { create, type DescMessage, type JsonObject, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import fc from "fast-check";
import { ChatRequestSchema, ChatStreamRequestSchema, EmbedRequestSchema, ListModelsRequestSchema } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { MAX_JSON_DEPTH } from "../../src/api/json-depth.js";

/** A call's method path and request, both as the gateway's generated types know them. */
export interface ApiRequest<Desc extends DescMessage = DescMessage> {
  path: string;
  schema: Desc;
  message: MessageShape<Desc>;
}

export const MODELS = ["gpt-4o-mini", "openai/gpt-4o", "text-embedding-3-small", "no-such-model", ""] as const;

export const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "hi", "json", "x".repeat(4096), "\u0000", "data:image/png;base64,AAAA", "https://example.com/a.png") },
);

const model = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...MODELS) }, { weight: 1, arbitrary: text });
const double = fc.oneof(fc.double(), fc.constantFrom(0, 1, 2, -2, 2.0000001, Number.NaN, Number.POSITIVE_INFINITY, -0));
const int32 = fc.oneof(fc.integer(), fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31)));
const int64 = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(0n, 2n ** 53n + 1n, 2n ** 63n - 1n));
/**
 * Output dimensions: any below 1, and up to a few thousand above. The fake
 * vendor builds a vector of whatever size it is asked for, in this process;
 * a real one refuses sizes past its model's.
 */
export const dimensions = fc.oneof(fc.integer({ min: -(2 ** 31), max: 0 }), fc.integer({ min: 1, max: 4096 }));
/** Any enum number, the unset and unknown ones too (999 is what a newer client might send). */
const enumNumber = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(-1, 999, 2 ** 31 - 1));

/** `levels` nested arrays and objects around a scalar. */
export function nested(levels: number): JsonValue {
  let value: JsonValue = "leaf";
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

/** A Struct's contents: ordinary JSON, or nesting right around the limit. */
export const jsonObject: fc.Arbitrary<JsonObject> = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }) as fc.Arbitrary<JsonObject> },
  { weight: 1, arbitrary: fc.integer({ min: MAX_JSON_DEPTH - 3, max: MAX_JSON_DEPTH + 2 }).map((depth) => ({ deep: nested(depth - 1) })) },
);

const message = fc.record(
  {
    role: enumNumber,
    content: text,
    parts: fc.array(
      fc.oneof(
        text.map((value) => ({ part: { case: "text" as const, value } })),
        fc.record({ url: text, detail: fc.constantFrom("", "low", "high", "auto") }).map((value) => ({ part: { case: "imageUrl" as const, value } })),
        fc.constant({ part: { case: undefined } }),
      ),
      { maxLength: 2 },
    ),
    name: text,
    toolCalls: fc.array(fc.record({ id: text, name: text, arguments: fc.oneof(text, fc.json()) }), { maxLength: 2 }),
    toolCallId: text,
  },
  { requiredKeys: ["role"] },
);

const tool = fc.record({ name: fc.oneof(fc.constantFrom("lookup", "get_weather"), text), description: text, parameters: fc.option(jsonObject, { nil: undefined }), strict: fc.boolean() }, { requiredKeys: ["name"] });

const chatFields = fc.record(
  {
    model,
    messages: fc.array(message, { maxLength: 4 }),
    temperature: double,
    topP: double,
    maxTokens: int32,
    stop: fc.array(text, { maxLength: 6 }),
    seed: int64,
    user: text,
    tools: fc.array(tool, { maxLength: 3 }),
    toolChoice: fc.oneof(
      enumNumber.map((value) => ({ choice: { case: "mode" as const, value } })),
      text.map((value) => ({ choice: { case: "functionName" as const, value } })),
    ),
    responseFormat: fc.record({ type: enumNumber, schemaName: text, schema: fc.option(jsonObject, { nil: undefined }), strict: fc.boolean() }, { requiredKeys: ["type"] }),
    presencePenalty: double,
    frequencyPenalty: double,
    vendorOptions: jsonObject,
  },
  { requiredKeys: ["model", "messages"] },
);

/** A reasonable chat most of the time (so the vendor answers), anything well-typed otherwise. */
const plausibleChat = fc.record({ content: text, temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }) }).map(({ content, temperature }) => ({
  model: "gpt-4o-mini",
  messages: [{ role: 2, content }],
  temperature,
}));

const chat = fc.oneof(plausibleChat, chatFields);

// The generated types' oneof and enum fields take numbers and cases as generated here.
const build = <Desc extends DescMessage>(path: string, schema: Desc) => (init: object): ApiRequest => ({ path, schema, message: create(schema, init as never) });

export const apiRequest: fc.Arbitrary<ApiRequest> = fc.oneof(
  chat.map(build("/switchboard.v1.AIService/Chat", ChatRequestSchema)),
  chat.map(build("/switchboard.v1.AIService/ChatStream", ChatStreamRequestSchema)),
  fc
    .record({ model, inputs: fc.array(text, { maxLength: 4 }), dimensions, user: text }, { requiredKeys: ["model", "inputs"] })
    .map(build("/switchboard.v1.AIService/Embed", EmbedRequestSchema)),
  fc.record({ provider: fc.oneof(fc.constantFrom("", "openai", "nope"), text) }).map(build("/switchboard.v1.AIService/ListModels", ListModelsRequestSchema)),
);

export const STREAMING_METHODS = new Set(["/switchboard.v1.AIService/ChatStream"]);
