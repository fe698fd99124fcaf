// Calls on the coding agents' REST surfaces: Anthropic Messages as the
// Anthropic SDKs and Claude Code send them, OpenAI Responses as the OpenAI
// SDKs and Codex send them, the same with values at or past the edges, JSON
// of any shape, and text that is not JSON.
import { create, type JsonValue } from "@bufbuild/protobuf";
import fc from "fast-check";
import { ReasoningBlockSchema } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { MAX_JSON_DEPTH } from "../../src/api/json-depth.js";
import { encryptedContent } from "../../src/providers/openai-responses/reasoning-items.js";
import { PNG } from "../agents/support/three-vendors.js";
import { nested, text } from "./api-requests.js";
import { anyValue, asJson, deepValue, maybe, number, schema } from "./rest-bodies.js";

/** One HTTP call; `auth` says how the client authenticates (the test holds the key). */
export interface AgentCall {
  method: "POST" | "GET" | "DELETE";
  path: string;
  headers: Record<string, string>;
  body?: string;
  auth: "x-api-key" | "bearer";
}

/** In a body or path, where the test puts the id of a response this run stored (so continuing, reading and deleting one is exercised). */
export const STORED_RESPONSE = "{stored-response}";

/** The model names the agents send: served by Anthropic, routed to OpenAI (see the suite's routes), OpenAI's, unknown, empty. */
const ANTHROPIC_MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o-mini", "no-such-model", ""] as const;
const RESPONSES_MODELS = ["gpt-5-codex", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "no-such-model", ""] as const;

/** Names an object's prototype has: a lookup table indexed with one finds a function, not undefined. */
const PROTOTYPE_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];

/** One of a field's documented names mostly; otherwise a near miss, a prototype's name, or any text. */
function nameOf(...names: [string, ...string[]]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES, "", names[0].toUpperCase(), ` ${names[0]}`) },
    { weight: 1, arbitrary: text },
  );
}

/** Object keys: any text, now and then a prototype's name ("__proto__" is an own key once JSON.parse has read it). */
const key = fc.oneof({ weight: 6, arbitrary: text }, { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) });

/** Numbers JSON.stringify cannot write: past a double's range (JSON.parse reads ±Infinity) and integers past 2^64; markers until bodyText. */
const huge = fc.constantFrom("1e400", "-1e400", "123456789012345678901234567890").map((literal) => `<huge:${literal}>`);

/** A body as JSON text, each huge number's marker written as the number itself. */
function bodyText(value: JsonValue | object): string {
  return asJson(value).replace(/"<huge:([^>"]+)>"/g, "$1");
}

/** A count of tokens: ordinary, or at and past the edges (0, fractions, int32's end, 2^53, huge). */
const tokens = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 64_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 1023, 1024, 2 ** 31 - 1, 2 ** 31, 2 ** 53 + 2, 1e308) },
  { weight: 1, arbitrary: huge },
);
const amount = fc.oneof({ weight: 4, arbitrary: number }, { weight: 1, arbitrary: huge });

/** JSON nested from a few levels below the limit up to it: with the levels the field sits under, some bodies just fit and some are just past it. */
const nearLimit = fc.integer({ min: MAX_JSON_DEPTH - 9, max: MAX_JSON_DEPTH }).map((levels) => nested(levels));
/** A JSON value the gateway carries without reading it: ordinary mostly, nested around the limit or holding a huge number otherwise. */
const carried = <T>(ordinary: fc.Arbitrary<T>): fc.Arbitrary<T | JsonValue> =>
  fc.oneof(
    { weight: 8, arbitrary: ordinary as fc.Arbitrary<T | JsonValue> },
    { weight: 1, arbitrary: fc.oneof(deepValue, nearLimit) },
    { weight: 1, arbitrary: fc.dictionary(key, huge, { minKeys: 1, maxKeys: 2 }) },
  );
const jsonArgument = carried(fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }));
const toolSchema = fc.oneof({ weight: 3, arbitrary: schema }, { weight: 1, arbitrary: jsonArgument });

/** Ids the fakes' tool calls and the calls' results can match. */
const callId = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("toolu_01", "call_1", "fc_1") }, { weight: 1, arbitrary: text });
const toolName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("Read", "Bash", "shell", "apply_patch") }, { weight: 1, arbitrary: text });

// Anthropic Messages.

const cacheControl = maybe(fc.record({ type: nameOf("ephemeral"), ttl: nameOf("5m", "1h") }, { requiredKeys: ["type"] }));

const imageSource = fc.oneof(
  fc.record({ type: fc.constant("base64"), media_type: nameOf("image/png", "image/jpeg"), data: fc.oneof(fc.constant(PNG), text) }),
  fc.record({ type: fc.constant("url"), url: maybe(text) }),
  fc.record({ type: nameOf("file", "text"), file_id: maybe(text) }),
);
const textBlock = fc.record({ type: fc.constant("text"), text: maybe(text), cache_control: cacheControl, citations: maybe(fc.constant([])) }, { requiredKeys: ["type", "text"] });
const imageBlock = fc.record({ type: fc.constant("image"), source: maybe(imageSource), cache_control: cacheControl }, { requiredKeys: ["type", "source"] });
/** What a tool result says: text, or text and image blocks. */
const resultContent = fc.oneof(text, fc.array(fc.oneof(textBlock, imageBlock, fc.record({ type: nameOf("document", "search_result") })), { maxLength: 3 }), anyValue);

/** Claude's thinking signatures are opaque: one the fake never issued, garbage, empty, long. */
const signature = fc.oneof(fc.constantFrom("", "EqQBCkYIBxgCKkD", "sig".repeat(2000)), text);

const anthropicBlock = fc.oneof(
  { weight: 4, arbitrary: textBlock },
  { weight: 1, arbitrary: imageBlock },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("tool_use"), id: maybe(callId), name: maybe(toolName), input: maybe(jsonArgument), cache_control: cacheControl }, { requiredKeys: ["type", "id", "name", "input"] }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("tool_result"), tool_use_id: maybe(callId), content: resultContent, is_error: maybe(fc.boolean()), cache_control: cacheControl }, { requiredKeys: ["type", "tool_use_id"] }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("thinking"), thinking: maybe(text), signature: maybe(signature) }, { requiredKeys: ["type", "thinking"] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("redacted_thinking"), data: maybe(text) }) },
  { weight: 1, arbitrary: fc.record({ type: nameOf("document", "search_result", "server_tool_use", "web_search_tool_result", "container_upload") }) },
);

const anthropicMessage = fc.record(
  { role: nameOf("user", "assistant"), content: fc.oneof({ weight: 2, arbitrary: text }, { weight: 4, arbitrary: fc.array(anthropicBlock, { maxLength: 4 }) }, { weight: 1, arbitrary: anyValue }) },
  { requiredKeys: ["role"] },
);

const anthropicTool = fc.oneof(
  { weight: 4, arbitrary: fc.record({ name: maybe(toolName), description: maybe(text), input_schema: maybe(toolSchema), cache_control: cacheControl, defer_loading: maybe(fc.boolean()) }, { requiredKeys: ["name", "input_schema"] }) },
  { weight: 1, arbitrary: fc.record({ type: nameOf("custom", "web_search_20250305", "bash_20250124", "text_editor_20250429"), name: maybe(toolName), input_schema: maybe(toolSchema) }) },
);

const thinking = fc.oneof(
  fc.record({ type: fc.constant("enabled"), budget_tokens: maybe(tokens) }, { requiredKeys: ["type"] }),
  fc.record({ type: nameOf("adaptive", "between_tools", "disabled"), display: maybe(nameOf("summarized", "omitted")) }, { requiredKeys: ["type"] }),
);

const messagesBody = fc.record(
  {
    model: maybe(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ANTHROPIC_MODELS) }, { weight: 1, arbitrary: text })),
    max_tokens: maybe(tokens),
    messages: maybe(fc.array(anthropicMessage, { maxLength: 4 })),
    system: maybe(fc.oneof(text, fc.array(fc.oneof(textBlock, fc.record({ type: nameOf("text", "image"), text: maybe(text) })), { maxLength: 3 }))),
    temperature: maybe(amount),
    top_p: maybe(amount),
    top_k: maybe(amount),
    stop_sequences: maybe(fc.array(text, { maxLength: 5 })),
    stream: maybe(fc.boolean()),
    metadata: maybe(carried(fc.oneof(fc.record({ user_id: maybe(text) }), fc.dictionary(key, text, { maxKeys: 3 })))),
    tools: maybe(fc.array(anthropicTool, { maxLength: 3 })),
    tool_choice: maybe(fc.record({ type: nameOf("auto", "any", "tool", "none"), name: maybe(toolName), disable_parallel_tool_use: maybe(fc.boolean()) }, { requiredKeys: ["type"] })),
    thinking: maybe(thinking),
    // Fields the gateway does not read: they travel to Anthropic's own models only.
    cache_control: cacheControl,
    service_tier: maybe(nameOf("auto", "standard_only")),
    context_management: maybe(carried(anyValue)),
    container: maybe(text),
  },
  // What every call has (absent, most bodies would go no further than the first check).
  { requiredKeys: ["model", "max_tokens", "messages"] },
);

/** What Claude Code sends on most calls: its system prompt with a cache breakpoint, a turn or a tool loop, maybe its tools and thinking. */
const plausibleMessages = fc
  .record({
    model: fc.constantFrom("claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o-mini"),
    system: fc.boolean(),
    content: text,
    loop: fc.boolean(),
    tools: fc.boolean(),
    thinking: fc.boolean(),
    stream: fc.boolean(),
    temperature: fc.option(fc.constantFrom(0, 1), { nil: undefined }),
  })
  .map(({ model, system, content, loop, tools, thinking, stream, temperature }) => ({
    model,
    max_tokens: thinking ? 4096 : 1024,
    ...(system ? { system: [{ type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: "ephemeral" } }] } : {}),
    messages: loop
      ? [
          { role: "user", content: [{ type: "text", text: content }] },
          { role: "assistant", content: [{ type: "text", text: "Let me check." }, { type: "tool_use", id: "toolu_01", name: "Read", input: { file_path: "/tmp/a" } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "file contents" }] },
        ]
      : [{ role: "user", content: [{ type: "text", text: content, cache_control: { type: "ephemeral" } }] }],
    ...(tools ? { tools: [{ name: "Read", description: "Reads a file", input_schema: { type: "object", properties: { file_path: { type: "string" } }, required: ["file_path"] } }] } : {}),
    // Anthropic's rule: temperature only 1 with thinking.
    ...(thinking ? { thinking: { type: "enabled", budget_tokens: 1024 } } : temperature === undefined ? {} : { temperature }),
    metadata: { user_id: "user_abc_account__session_1" },
    stream,
  }));

/** What `/v1/messages/count_tokens` gets: the request without max_tokens. */
const plausibleCount = plausibleMessages.map(({ max_tokens: _, stream: __, ...body }) => body);

/** Header values a client can send: printable ASCII (fetch refuses the rest). */
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);

/** The agents' optional headers: Anthropic's beta list, the SDKs' timeout in seconds, a cache directive. */
function optionalHeaders(extra: Record<string, fc.Arbitrary<string>> = {}): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    {
      "x-stainless-timeout": fc.oneof(fc.constantFrom("600", "0", "0.001", "-1", "abc", "1e400"), headerValue),
      "cache-control": fc.oneof(fc.constantFrom("no-store", "no-cache", "no-cache, no-store", "max-age=0"), headerValue),
      ...extra,
    },
    { requiredKeys: [] },
  );
}

const anthropicHeaders = optionalHeaders({
  "anthropic-beta": fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("interleaved-thinking-2025-05-14", "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14", "prompt-caching-2024-07-31") },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom("", " , ", "a;b", "ok-2025, not a;list", "x".repeat(300)), headerValue) },
  ),
});

const JSON_TYPE = { "content-type": "application/json" };
const MESSAGES_PATHS = ["/v1/messages", "/v1/messages?beta=true"];
const ANTHROPIC_PATHS = [...MESSAGES_PATHS, "/v1/messages/count_tokens", "/v1/messages/count_tokens?beta=true"];

/** Bodies that are not JSON, or not the kind a JSON reader takes, sent with any content type. */
function malformed(paths: string[]) {
  return fc.record({
    path: fc.constantFrom(...paths),
    type: fc.constantFrom("application/json", "text/plain", "application/json; charset=latin1", ""),
    body: fc.oneof(fc.string({ unit: "binary", maxLength: 64 }), fc.constant("[".repeat(100_000)), fc.constant(`{"a":${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}}`)),
  });
}

const anthropicBody = fc.oneof(
  { weight: 4, arbitrary: fc.record({ path: fc.constantFrom(...MESSAGES_PATHS), body: plausibleMessages.map(bodyText) }) },
  { weight: 1, arbitrary: fc.record({ path: fc.constant("/v1/messages/count_tokens"), body: plausibleCount.map(bodyText) }) },
  { weight: 6, arbitrary: fc.record({ path: fc.constantFrom(...ANTHROPIC_PATHS), body: messagesBody.map(bodyText) }) },
  { weight: 1, arbitrary: fc.record({ path: fc.constantFrom(...ANTHROPIC_PATHS), body: fc.json({ maxDepth: 4 }) }) },
);

/** A call on `/v1/messages` or `/v1/messages/count_tokens`, authenticated as Claude Code (a bearer token) or the SDKs (x-api-key). */
export const anthropicCall: fc.Arbitrary<AgentCall> = fc
  .tuple(
    fc.oneof(
      { weight: 12, arbitrary: anthropicBody.map(({ path, body }) => ({ path, type: JSON_TYPE, body })) },
      { weight: 1, arbitrary: malformed(ANTHROPIC_PATHS).map(({ path, type, body }) => ({ path, type: { "content-type": type }, body })) },
    ),
    anthropicHeaders,
    fc.constantFrom("x-api-key" as const, "bearer" as const),
  )
  .map(([{ path, type, body }, headers, auth]) => ({ method: "POST", path, headers: { ...headers, ...type }, body, auth }));

// OpenAI Responses.

/** Reasoning an earlier answer carried: the gateway's own encoding of a block (signed or redacted, or garbage past the prefix), or another service's. */
const encrypted = fc.oneof(
  fc.record({ text, signature }).map(({ text, signature }) => encryptedContent(create(ReasoningBlockSchema, { text, signature }))),
  text.map((redacted) => encryptedContent(create(ReasoningBlockSchema, { redacted }))),
  text.map((garbage) => `swb1.${garbage}`),
  fc.constantFrom("swb1.", "swb1.e30", "swb1.bnVsbA", "gAAAAABo-opaque-openai-blob"),
  text,
);

/** Response ids: one stored this run, well-formed ones never issued, garbage. */
const responseId = fc.oneof(
  { weight: 2, arbitrary: fc.constant(STORED_RESPONSE) },
  { weight: 1, arbitrary: fc.constantFrom("resp_00000000000000000000000000000000", "resp_", "x".repeat(4096), "' OR 1=1 --", "\u0000", "%00") },
  { weight: 1, arbitrary: text },
);

const inputPart = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant("input_text"), text: maybe(text) }) },
  {
    weight: 1,
    arbitrary: fc.record(
      { type: fc.constant("input_image"), image_url: maybe(fc.oneof(fc.constant(`data:image/png;base64,${PNG}`), text)), detail: maybe(nameOf("auto", "low", "high")), file_id: maybe(text) },
      { requiredKeys: ["type"] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("output_text"), text: maybe(text), annotations: maybe(fc.constant([])) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("refusal"), refusal: maybe(text) }) },
  { weight: 1, arbitrary: fc.record({ type: nameOf("input_file", "input_audio"), file_id: maybe(text) }) },
);
const partsOrText = fc.oneof({ weight: 2, arbitrary: text }, { weight: 3, arbitrary: fc.array(inputPart, { maxLength: 3 }) }, { weight: 1, arbitrary: anyValue });

const inputItem = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant("message"), id: maybe(text), role: nameOf("user", "assistant", "system", "developer"), content: partsOrText }, { requiredKeys: ["role", "content"] }) },
  {
    weight: 2,
    arbitrary: fc.record(
      { type: fc.constant("function_call"), id: maybe(text), call_id: maybe(callId), name: maybe(toolName), arguments: maybe(fc.oneof(jsonArgument.map(bodyText), text)) },
      { requiredKeys: ["type", "call_id", "name", "arguments"] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("function_call_output"), call_id: maybe(callId), output: partsOrText }, { requiredKeys: ["type", "call_id", "output"] }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        type: fc.constant("reasoning"),
        id: maybe(text),
        summary: maybe(fc.array(fc.record({ type: fc.constant("summary_text"), text: maybe(text) }), { maxLength: 2 })),
        content: maybe(fc.array(fc.record({ type: fc.constant("reasoning_text"), text: maybe(text) }), { maxLength: 2 })),
        encrypted_content: maybe(encrypted),
      },
      { requiredKeys: ["type", "summary"] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ type: nameOf("item_reference", "web_search_call", "local_shell_call", "custom_tool_call_output"), id: maybe(text) }) },
);

const responsesTool = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant("function"), name: maybe(toolName), description: maybe(text), parameters: maybe(toolSchema), strict: maybe(fc.boolean()) }, { requiredKeys: ["type", "name"] }) },
  { weight: 1, arbitrary: fc.record({ type: nameOf("web_search", "file_search", "code_interpreter", "computer_use_preview", "mcp", "local_shell", "custom") }) },
);

const textFormat = fc.oneof(
  fc.record({ type: nameOf("text", "json_object") }),
  fc.record({ type: fc.constant("json_schema"), name: maybe(text), schema: maybe(toolSchema), strict: maybe(fc.boolean()) }, { requiredKeys: ["type"] }),
);

const responsesBody = fc.record(
  {
    model: maybe(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...RESPONSES_MODELS) }, { weight: 1, arbitrary: text })),
    input: maybe(fc.oneof(text, fc.array(inputItem, { maxLength: 5 }))),
    instructions: maybe(text),
    tools: maybe(fc.array(responsesTool, { maxLength: 3 })),
    tool_choice: maybe(fc.oneof(nameOf("auto", "none", "required"), fc.record({ type: nameOf("function", "web_search"), name: maybe(toolName) }, { requiredKeys: ["type"] }))),
    text: maybe(fc.record({ format: maybe(textFormat), verbosity: maybe(nameOf("low", "medium", "high")) }, { requiredKeys: [] })),
    reasoning: maybe(fc.record({ effort: maybe(nameOf("minimal", "low", "medium", "high", "none")), summary: maybe(nameOf("auto", "concise", "detailed")), max_tokens: maybe(tokens) }, { requiredKeys: [] })),
    reasoning_effort: maybe(nameOf("low", "high")),
    max_output_tokens: maybe(tokens),
    temperature: maybe(amount),
    top_p: maybe(amount),
    store: maybe(fc.boolean()),
    stream: maybe(fc.boolean()),
    previous_response_id: maybe(responseId),
    metadata: maybe(carried(fc.dictionary(key, text, { maxKeys: 3 }))),
    safety_identifier: maybe(text),
    user: maybe(text),
    // Accepted and left out: they change nothing a vendor does.
    include: maybe(fc.array(nameOf("reasoning.encrypted_content", "message.output_text.logprobs"), { maxLength: 2 })),
    prompt_cache_key: maybe(text),
    parallel_tool_calls: maybe(fc.boolean()),
    service_tier: maybe(nameOf("auto", "default", "flex")),
    truncation: maybe(nameOf("auto", "disabled")),
  },
  { requiredKeys: ["model", "input"] },
);

/** Fields the gateway refuses by name: now and then, so that the rest of a body is read most of the time. */
const refused = fc.record({ background: maybe(fc.boolean()), conversation: maybe(text), prompt: maybe(fc.record({ id: text })) }, { requiredKeys: [] });
const responsesFields = fc.tuple(responsesBody, fc.oneof({ weight: 8, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: refused })).map(([body, rare]) => ({ ...body, ...rare }));

const codexTools = [{ type: "function", name: "shell", description: "Runs a shell command", parameters: { type: "object", properties: { command: { type: "array", items: { type: "string" } } }, required: ["command"] }, strict: false }];

/** What Codex sends on most calls (store: false, the conversation held by itself, reasoning given back), and the SDKs' simpler ones. */
const plausibleResponses = fc
  .record({
    model: fc.constantFrom("gpt-5-codex", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5"),
    instructions: fc.option(text, { nil: undefined }),
    content: text,
    shape: fc.constantFrom("string", "message", "loop", "continue"),
    reasoning: fc.option(fc.constantFrom("low", "medium", "high"), { nil: undefined }),
    encrypted,
    tools: fc.boolean(),
    store: fc.option(fc.boolean(), { nil: undefined }),
    stream: fc.boolean(),
  })
  .map(({ model, instructions, content, shape, reasoning, encrypted, tools, store, stream }) => ({
    model,
    ...(instructions === undefined ? {} : { instructions }),
    input:
      shape === "string" || shape === "continue"
        ? content
        : [
            { type: "message", role: "user", content: [{ type: "input_text", text: content }] },
            ...(shape === "loop"
              ? [
                  { type: "reasoning", id: "rs_1", summary: [], encrypted_content: encrypted },
                  { type: "function_call", call_id: "call_1", name: "shell", arguments: '{"command":["ls"]}' },
                  { type: "function_call_output", call_id: "call_1", output: "README.md" },
                ]
              : []),
          ],
    ...(shape === "continue" ? { previous_response_id: STORED_RESPONSE } : {}),
    ...(reasoning ? { reasoning: { effort: reasoning, summary: "auto" }, max_output_tokens: 4096 } : {}),
    ...(tools ? { tools: codexTools, tool_choice: "auto", parallel_tool_calls: false } : {}),
    include: ["reasoning.encrypted_content"],
    ...(store === undefined ? {} : { store }),
    stream,
  }));

const RESPONSES_PATHS = ["/v1/responses"];

/** `GET` and `DELETE /v1/responses/{id}`, with ids as a path carries them: escaped, raw, empty, nested. */
const responseByIdCall = fc
  .record({
    method: fc.constantFrom("GET" as const, "DELETE" as const),
    id: fc.oneof(
      { weight: 3, arbitrary: responseId.map((id) => (id === STORED_RESPONSE ? id : encodeURIComponent(id.replace(/[\uD800-\uDFFF]/g, "?")))) },
      { weight: 1, arbitrary: fc.constantFrom("", "%ZZ", "..%2F..%2Fetc%2Fpasswd", "a/b", `${STORED_RESPONSE}/input_items`, "%F0%9F%98%80") },
    ),
  })
  .map(({ method, id }): AgentCall => ({ method, path: `/v1/responses/${id}`, headers: {}, auth: "bearer" }));

const responsesPost = fc.oneof(
  { weight: 4, arbitrary: plausibleResponses.map(bodyText) },
  { weight: 6, arbitrary: responsesFields.map(bodyText) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
);

/** A call on the Responses API, authenticated as the OpenAI SDKs and Codex do (a bearer token). */
export const responsesCall: fc.Arbitrary<AgentCall> = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(responsesPost, optionalHeaders()).map(([body, headers]): AgentCall => ({ method: "POST", path: "/v1/responses", headers: { ...headers, ...JSON_TYPE }, body, auth: "bearer" })) },
  { weight: 2, arbitrary: responseByIdCall },
  { weight: 1, arbitrary: malformed(RESPONSES_PATHS).map(({ path, type, body }): AgentCall => ({ method: "POST", path, headers: { "content-type": type }, body, auth: "bearer" })) },
);
