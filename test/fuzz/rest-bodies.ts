// Bodies for the OpenAI-compatible REST surface: what the OpenAI SDKs send,
// the same with values at or past the edges, JSON of any shape, and text that
// is not JSON.
import type { JsonValue } from "@bufbuild/protobuf";
import fc from "fast-check";
import { MAX_JSON_DEPTH } from "../../src/api/json-depth.js";
import { dimensions, MODELS, nested, text } from "./api-requests.js";

/** Any JSON value in place of a field's proper one. */
export const anyValue = fc.jsonValue({ maxDepth: 2 });
/** The field's proper value mostly, any JSON value otherwise. */
export const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary }, { weight: 1, arbitrary: anyValue });
export const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, 1, 2, -2, 2 ** 53 + 2, 1e308, -1e308, 0.5));
const role = fc.oneof({ weight: 6, arbitrary: fc.constantFrom("system", "developer", "user", "assistant", "tool") }, { weight: 1, arbitrary: fc.constantFrom("function", "", "USER", "ROLE_USER") });

const content = fc.oneof(
  text,
  fc.array(
    fc.oneof(
      fc.record({ type: fc.constant("text"), text: maybe(text) }),
      fc.record({ type: fc.constant("image_url"), image_url: maybe(fc.record({ url: text, detail: fc.constantFrom("low", "high", "auto") })) }),
      fc.record({ type: maybe(fc.constantFrom("input_audio", "file")) }),
    ),
    { maxLength: 3 },
  ),
  anyValue,
);

const message = fc.record(
  {
    role: maybe(role),
    content,
    name: maybe(text),
    tool_call_id: maybe(text),
    tool_calls: maybe(fc.array(fc.record({ id: maybe(text), type: fc.constant("function"), function: maybe(fc.record({ name: maybe(text), arguments: maybe(text) })) }), { maxLength: 2 })),
  },
  { requiredKeys: ["role"] },
);

/** JSON nesting right around the limit (counting the body and the field holding it), or far past it. */
export const deepValue = fc.constantFrom(MAX_JSON_DEPTH - 6, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, 500).map((levels) => nested(levels));
export const schema = fc.oneof({ weight: 4, arbitrary: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }) }, { weight: 1, arbitrary: deepValue }, { weight: 1, arbitrary: anyValue });

const chatBody = fc.record(
  {
    model: maybe(fc.constantFrom(...MODELS)),
    messages: maybe(fc.array(message, { maxLength: 4 })),
    temperature: maybe(number),
    top_p: maybe(number),
    max_tokens: maybe(fc.oneof(fc.integer(), number)),
    max_completion_tokens: maybe(fc.integer()),
    n: maybe(fc.integer({ min: -1, max: 3 })),
    stop: maybe(fc.oneof(text, fc.array(text, { maxLength: 6 }))),
    seed: maybe(number),
    user: maybe(text),
    presence_penalty: maybe(number),
    frequency_penalty: maybe(number),
    tools: maybe(fc.array(fc.record({ type: maybe(fc.constant("function")), function: maybe(fc.record({ name: maybe(text), description: maybe(text), parameters: schema, strict: maybe(fc.boolean()) })) }), { maxLength: 3 })),
    tool_choice: maybe(fc.oneof(fc.constantFrom("auto", "none", "required"), fc.record({ type: fc.constant("function"), function: fc.record({ name: text }) }))),
    response_format: maybe(
      fc.oneof(
        fc.record({ type: fc.constantFrom("text", "json_object") }),
        fc.record({ type: fc.constant("json_schema"), json_schema: maybe(fc.record({ name: maybe(text), schema, strict: maybe(fc.boolean()) })) }),
      ),
    ),
    stream: maybe(fc.boolean()),
    stream_options: maybe(fc.record({ include_usage: maybe(fc.boolean()) })),
    // Fields the gateway does not know go to the vendor as they are (vendor options).
    logprobs: maybe(fc.boolean()),
    metadata: maybe(fc.oneof(fc.dictionary(text, text, { maxKeys: 3 }), deepValue)),
  },
  { requiredKeys: [] },
);

/** A chat the fake vendor answers, most of the time. */
const plausibleChat = fc.record({ content: text, stream: fc.boolean() }).map(({ content, stream }) => ({ model: "gpt-4o-mini", messages: [{ role: "user", content }], stream }));

const embedBody = fc.record(
  {
    model: maybe(fc.constantFrom(...MODELS)),
    input: fc.oneof(text, fc.array(text, { maxLength: 4 }), fc.array(fc.integer(), { maxLength: 4 }), anyValue, deepValue),
    // Not any JSON value: see `dimensions`.
    dimensions: fc.oneof(dimensions, fc.constantFrom("8", null, 1.5, true, [8])),
    encoding_format: maybe(fc.constantFrom("float", "base64", "int8")),
    user: maybe(text),
  },
  { requiredKeys: ["input"] },
);

export const asJson = (value: JsonValue | object) => JSON.stringify(value);

/** A REST call: the path, the content type and the body text. */
export const restCall = fc.oneof(
  { weight: 3, arbitrary: plausibleChat.map((body) => ({ path: "/v1/chat/completions", type: "application/json", body: asJson(body) })) },
  { weight: 6, arbitrary: chatBody.map((body) => ({ path: "/v1/chat/completions", type: "application/json", body: asJson(body) })) },
  { weight: 3, arbitrary: embedBody.map((body) => ({ path: "/v1/embeddings", type: "application/json", body: asJson(body) })) },
  { weight: 1, arbitrary: fc.record({ path: fc.constantFrom("/v1/chat/completions", "/v1/embeddings"), type: fc.constant("application/json"), body: fc.json({ maxDepth: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      path: fc.constantFrom("/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/nope"),
      type: fc.constantFrom("application/json", "text/plain", "application/json; charset=latin1", ""),
      body: fc.oneof(fc.string({ unit: "binary", maxLength: 64 }), fc.constant("[".repeat(100_000))),
    }),
  },
);
