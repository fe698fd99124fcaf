// A request to the OpenAI Responses API (`POST /v1/responses`), as the OpenAI
// SDKs, Codex and the Agents SDK write it, read strictly into the unified
// request: a field of the wrong shape is InvalidArgument naming it.
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import {
  ContentPartSchema,
  MessageSchema,
  Role,
  ToolCallSchema,
  ToolChoiceMode,
  type ContentPart,
  type Message,
  type ResponseFormat,
  type Tool,
  type ToolChoice,
} from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { MessageFields } from "../caller-fields.js";
import { checkCallSize } from "../call-size.js";
import type { ChatParams, ResponsesSettings } from "../provider.js";
import { checkToolCallPairing, type ToolIdFields } from "../tool-call-pairing.js";
import { readChatOnlyFields } from "../openai/chat-only-fields.js";
import { wholeNumber } from "../openai/chat-request.js";
import { strictReader as read } from "../openai/json-reader.js";
import { readOpenAIReasoning } from "../openai/reasoning.js";
import { takeThinkingSwitches } from "../openai/thinking-switch-fields.js";
import { readResponseFormatOf } from "../openai/tools.js";
import { callArgumentsProblem, continuableConversation } from "./call-arguments.js";
import { blockOfEncrypted } from "./reasoning-items.js";
import { VENDOR_STATE_FIELDS } from "./state-fields.js";
import { strictModeTakesAsIs } from "./strict-schema.js";
import { TOO_DEEP } from "../../common/json-nesting.js";
import { fieldsOf, rejectOutsized, memberOf } from "../../common/json-value-bounds.js";
import { excerpt } from "../../common/excerpt.js";
import { ownEntry } from "../../common/own-entry.js";

/** What `include` names to have each output_text part carry its tokens' log probabilities. */
const OUTPUT_TEXT_LOGPROBS = "message.output_text.logprobs";

export interface ResponsesRequest {
  /** The unified request, without its messages: the surface puts them together (instructions, a stored conversation, the input). */
  request: ChatRequest;
  /** `instructions`, as a system message: never carried over to a response that continues this one. */
  instructions: Message | undefined;
  /** The `input` items as messages. */
  input: Message[];
  /** Where each of `input`'s messages came from among the items, for errors that name its content or a part (caller-fields.ts). */
  inputFields: MessageFields[];
  previousResponseId: string | undefined;
  /** Keep the response for `previous_response_id` and GET (true unless the caller says false, as OpenAI does). */
  store: boolean;
  stream: boolean;
  /** Where each function_call item and each function_call_output item of `input` names its call (`input[i].call_id`), in order. */
  callIdFields: ToolIdFields;
  /** The request's fields that the answer repeats (tools, tool_choice, text, reasoning, metadata, …). */
  echo: JsonObject;
}

/** Fields the gateway cannot honour: refused rather than ignored, since ignoring them would change what the caller gets. */
const REFUSED: Record<string, string> = {
  // OpenAI counts built-in tools' calls with it; every vendor is asked through a chat API, which takes no cap on calls.
  max_tool_calls: "the gateway cannot cap a response's tool calls (no vendor's chat API takes such a cap): leave it out, or set parallel_tool_calls: false for one call at a time",
};

/**
 * The fields of OpenAI's Responses API (openai-node ResponseCreateParamsBase;
 * `max_tool_calls` and `top_logprobs` from its API reference), each read,
 * refused or left out below; `reasoning_effort` is Chat Completions' name,
 * taken as it is there; `client_metadata` is Codex's tags for OpenAI's own
 * records (its session and turn), asking nothing of the answer. Any other
 * field is the caller's own, as on the Chat Completions surface
 * (chat-request.ts), `prompt_cache_key` and `prompt_cache_retention` among
 * them (Chat Completions takes them alike, and OpenAI routes and keeps its
 * prompt cache by them; Claude is told its own way, chat-only-fields.ts): sent on to vendors of the OpenAI dialect (the SDKs'
 * `extra_body`), and fitted to others (chat-only-fields.ts).
 */
const RESPONSES_FIELDS = new Set([
  "background", "conversation", "include", "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model",
  "parallel_tool_calls", "previous_response_id", "prompt", "reasoning", "reasoning_effort",
  "safety_identifier", "service_tier", "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs",
  "top_p", "truncation", "user", "client_metadata",
]);

/**
 * Chat Completions' names of what this API says otherwise: refused naming
 * this API's (OpenAI answers them "Unknown parameter"). Sent on as the
 * caller's own, they would be overridden (messages), refused under the
 * wrong name (max_tokens), or honoured by OpenAI's dialect alone.
 */
const SAID_OTHERWISE: Record<string, string> = {
  messages: "input",
  max_tokens: "max_output_tokens",
  max_completion_tokens: "max_output_tokens",
  response_format: "text.format",
  logprobs: `include: ["${OUTPUT_TEXT_LOGPROBS}"]`,
  verbosity: "text.verbosity",
};

/**
 * OpenAI's bounds on what a Response repeats and the gateway stores
 * (https://platform.openai.com/docs/api-reference/responses/create):
 * `metadata` is at most 16 pairs of strings, keys up to 64 characters and
 * values up to 512; `safety_identifier` (and `user`, which it replaces) up
 * to 64 characters. Unbounded, a caller could make every answer, and every
 * stored response, megabytes.
 */
export const METADATA_PAIRS = 16;
export const METADATA_KEY_CHARS = 64;
export const METADATA_VALUE_CHARS = 512;
export const END_USER_CHARS = 64;

/** Reads a caller's request body. */
export function responsesRequestFromOpenAI(raw: unknown): ResponsesRequest {
  const body = read.object(raw, "body", true);
  for (const [field, why] of Object.entries(REFUSED)) if (body[field] !== undefined && body[field] !== null) read.reject(field, why);
  read.boolean(body.background, "background");
  // What OpenAI would keep or run apart, refused as the other surfaces refuse it; previous_response_id is this surface's own.
  for (const [field, refusal] of Object.entries(VENDOR_STATE_FIELDS)) {
    const why = field === "previous_response_id" ? undefined : refusal(body[field]);
    if (why) read.reject(field, why);
  }
  rejectOutsized(freeFormJson(body), read.reject);
  const instructions = read.string(body.instructions, "instructions");
  const text = read.object(body.text, "text");
  const format = readFormat(text.format);
  // Each is bounded on its own: both are repeated in the Response, though only one is sent on.
  const safetyIdentifier = endUser(body.safety_identifier, "safety_identifier");
  const user = endUser(body.user, "user");
  const tools = read.array(body.tools, "tools").map(readTool);
  const toolChoice = readToolChoice(body.tool_choice, tools.map((tool) => tool.unified.name));
  // The model is offered only the allowed tools; the Response still repeats every tool sent.
  const offered = toolChoice?.allowed ? tools.filter((tool) => toolChoice.allowed!.has(tool.unified.name)) : tools;
  const parallelToolCalls = read.boolean(body.parallel_tool_calls, "parallel_tool_calls");
  read.object(body.client_metadata, "client_metadata");
  read.object(body.stream_options, "stream_options");
  const logprobs = readInclude(body.include);
  const topLogprobs = read.number(body.top_logprobs, "top_logprobs");
  // OpenAI answers no alternatives without the tokens themselves: asked alone, they would be silently missing.
  if (!logprobs && topLogprobs !== undefined && topLogprobs !== 0) read.reject("top_logprobs", `gives alternatives to each token's log probability, which come only with include: ["${OUTPUT_TEXT_LOGPROBS}"]`);
  const callersOwn = callersOwnFields(body);
  const reasoning = takeThinkingSwitches(callersOwn, readOpenAIReasoning(body, read), read);
  // Chat Completions' field of the same name, fitted to each vendor as that surface's is (chat-only-fields.ts).
  // Only with tools: Chat Completions refuses it without, where the Responses API takes it.
  if (parallelToolCalls !== undefined && tools.length > 0) callersOwn.parallel_tool_calls = parallelToolCalls;
  // Chat Completions' `verbosity`, carried as that surface's is: OpenAI's Responses dialect says it as text.verbosity again, other vendors drop it and say so.
  const verbosity = oneOf(VERBOSITIES, text.verbosity, "text.verbosity");
  if (verbosity) callersOwn.verbosity = verbosity;
  const request = create(ChatRequestSchema, {
    model: read.string(body.model, "model"),
    temperature: read.number(body.temperature, "temperature"),
    topP: read.number(body.top_p, "top_p"),
    maxTokens: wholeNumber(body, "max_output_tokens"),
    user: safetyIdentifier || user,
    tools: offered.map((tool) => tool.unified),
    toolChoice: toolChoice?.unified,
    responseFormat: format?.unified,
    reasoning,
    logprobs: logprobs || undefined,
    topLogprobs: logprobs ? topLogprobs : undefined,
    vendorOptions: Object.keys(callersOwn).length > 0 ? callersOwn : undefined,
  });
  // A model that gives no log probabilities is refused naming the field that asked for them (request-fitting.ts); the answer's length is this API's max_output_tokens.
  Object.assign(request, { fieldNames: { logprobs: "include", maxTokens: "max_output_tokens" } });
  if (request.vendorOptions) Object.assign(request, { vendorOptionsDialect: "openai" });
  const settings = responsesSettingsOf(body);
  if (settings.reasoningSummary || settings.truncation) Object.assign(request, { responsesSettings: settings });
  const previous = read.string(body.previous_response_id, "previous_response_id");
  const callIdFields: ToolIdFields = { calls: [], results: [] };
  const inputFields: MessageFields[] = [];
  const input = readInput(body.input, callIdFields, inputFields);
  // Nothing to answer: named as this API names it (the unified check would say `messages`).
  if (input.length === 0 && !previous && !instructions) read.reject("input", "at least one input item is required (or previous_response_id)");
  return {
    request,
    instructions: instructions ? create(MessageSchema, { role: Role.SYSTEM, content: instructions }) : undefined,
    input,
    inputFields,
    previousResponseId: previous || undefined,
    store: read.boolean(body.store, "store") !== false,
    stream: read.boolean(body.stream, "stream") === true,
    callIdFields,
    echo: {
      ...echoOf(body, settings),
      // Read above, and repeated as read: nothing the caller added to them rides along.
      text: { format: format?.echo ?? { type: "text" }, ...(verbosity ? { verbosity } : {}) },
      tools: tools.map((tool) => tool.echo),
      tool_choice: toolChoice?.echo ?? "auto",
      parallel_tool_calls: parallelToolCalls ?? true,
      safety_identifier: safetyIdentifier || null,
      user: user || null,
    },
  };
}

/**
 * Puts the call's conversation together: the instructions, the stored
 * conversation it continues (`before`, a call cut short in it with `{}`:
 * call-arguments.ts), then its input; errors name each message where it came
 * from (a stored one by `previous_response_id`).
 */
export function putConversation(parsed: Pick<ResponsesRequest, "request" | "instructions" | "input" | "inputFields">, before: readonly Message[]): void {
  const request: ChatParams = parsed.request;
  request.messages = [...(parsed.instructions ? [parsed.instructions] : []), ...continuableConversation(before), ...parsed.input];
  const fields: MessageFields[] = [...(parsed.instructions ? [{ content: "instructions" }] : []), ...before.map(() => ({ content: "previous_response_id" })), ...parsed.inputFields];
  request.fieldNames = { ...request.fieldNames, messages: fields };
}

/** The body's free-form JSON values: the caller's own fields (the vendor options), each tool's parameters, the response schema. */
function* freeFormJson(body: JsonObject): Generator<readonly [string, unknown]> {
  yield* fieldsOf(body, (key) => RESPONSES_FIELDS.has(key));
  if (Array.isArray(body.tools)) for (const [i, tool] of body.tools.entries()) yield [`tools[${i}].parameters`, memberOf(tool, "parameters")];
  yield ["text.format.schema", memberOf(memberOf(body.text, "format"), "schema")];
}

/**
 * What only OpenAI's Responses API takes, sent on when it serves: the
 * reasoning summary (`generate_summary` is the name it had before,
 * deprecated, the same values) and how a prompt past the context window is
 * handled.
 */
function responsesSettingsOf(body: JsonObject): ResponsesSettings {
  const reasoning = read.object(body.reasoning, "reasoning");
  return {
    reasoningSummary: oneOf(SUMMARIES, reasoning.summary, "reasoning.summary") ?? oneOf(SUMMARIES, reasoning.generate_summary, "reasoning.generate_summary"),
    truncation: oneOf(TRUNCATIONS, body.truncation, "truncation"),
  };
}

/** What a Response object repeats of its request, with OpenAI's defaults for what was not sent; each field checked as OpenAI types it. */
function echoOf(body: JsonObject, settings: ResponsesSettings): JsonObject {
  const reasoning = read.object(body.reasoning, "reasoning");
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: readMetadata(body.metadata),
    previous_response_id: body.previous_response_id ?? null,
    reasoning: {
      effort: reasoning.effort ?? null,
      summary: settings.reasoningSummary ?? null,
    },
    store: body.store !== false,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    truncation: settings.truncation ?? "disabled",
  };
}

/**
 * What `include` may name (openai-node ResponseIncludable) besides the
 * text's log probabilities: what every Response carries anyway (a reasoning
 * item's encrypted_content, an input image's URL) and the outputs of
 * built-in tools, which never run here (refused with the tools).
 */
const INCLUDED_ANYWAY = new Set([
  "reasoning.encrypted_content", "message.input_image.image_url", "computer_call_output.output.image_url",
  "file_search_call.results", "web_search_call.results", "web_search_call.action.sources", "code_interpreter_call.outputs",
]);

/** `include`: whether it asks for the text's log probabilities; a name OpenAI does not have is refused, as OpenAI refuses it. */
function readInclude(raw: unknown): boolean {
  let logprobs = false;
  read.array(raw, "include").forEach((value, i) => {
    const name = read.string(value, `include[${i}]`);
    if (name === OUTPUT_TEXT_LOGPROBS) logprobs = true;
    else if (!INCLUDED_ANYWAY.has(name)) read.reject(`include[${i}]`, `"${excerpt(name)}" is not something a Response can include (${[OUTPUT_TEXT_LOGPROBS, ...INCLUDED_ANYWAY].join(", ")})`);
  });
  return logprobs;
}

/** The fields this API does not have, each type-checked as the Chat Completions surface checks it; Chat Completions' names of this API's fields are refused. */
function callersOwnFields(body: JsonObject): JsonObject {
  const own: JsonObject = {};
  for (const [field, value] of Object.entries(body)) {
    if (RESPONSES_FIELDS.has(field)) continue;
    const named = ownEntry(SAID_OTHERWISE, field);
    if (named !== undefined && value !== null) read.reject(field, `is Chat Completions' name, not the Responses API's: send ${named}`);
    own[field] = value;
  }
  readChatOnlyFields(own, read);
  return own;
}

const TRUNCATIONS = ["auto", "disabled"] as const;
const VERBOSITIES = ["low", "medium", "high"] as const;
const SUMMARIES = ["auto", "concise", "detailed"] as const;

/** One of `names`, or undefined when absent: anything else is InvalidArgument naming the field. */
function oneOf<Name extends string>(names: readonly Name[], raw: unknown, field: string): Name | undefined {
  if (raw === undefined || raw === null) return undefined;
  const value = read.string(raw, field);
  if (!(names as readonly string[]).includes(value)) read.reject(field, `must be ${names.map((name) => `"${name}"`).join(" or ")}`);
  return value as Name;
}

/** `metadata`: string pairs within OpenAI's bounds. */
function readMetadata(raw: unknown): JsonObject {
  const metadata = read.object(raw, "metadata");
  const pairs = Object.entries(metadata);
  if (pairs.length > METADATA_PAIRS) read.reject("metadata", `at most ${METADATA_PAIRS} key-value pairs, got ${pairs.length}`);
  for (const [key, value] of pairs) {
    if (key.length > METADATA_KEY_CHARS) read.reject("metadata", `keys must be at most ${METADATA_KEY_CHARS} characters, one has ${key.length}`);
    const field = `metadata.${key}`;
    if (read.string(value, field).length > METADATA_VALUE_CHARS) read.reject(field, `must be at most ${METADATA_VALUE_CHARS} characters`);
  }
  return metadata;
}

/** `safety_identifier` or `user`: an id of the end user, at most END_USER_CHARS characters. */
function endUser(raw: unknown, field: string): string {
  const id = read.string(raw, field);
  if (id.length > END_USER_CHARS) read.reject(field, `must be at most ${END_USER_CHARS} characters, got ${id.length}`);
  return id;
}

/**
 * A function tool, with what the Response repeats of it: its fields as read
 * (`description` null when not sent), no others. OpenAI's built-in tools run
 * on OpenAI's servers, which the gateway cannot do for other vendors'
 * models. The name is checked with the call (validate.ts).
 *
 * `strict` not sent (or null) is strict mode, as OpenAI's Responses API
 * defaults it (openai-node `resources/responses/responses.ts`, FunctionTool:
 * "Whether to enforce strict parameter validation. Default `true`."), which
 * rewrites a schema strict mode would not take as it is: "Responses requests
 * will normalize your schema into strict mode ... which can make previously
 * optional fields mandatory" (https://platform.openai.com/docs/guides/function-calling).
 * The gateway does not rewrite a caller's schema (every vendor's model would
 * be made to fill what the caller left optional): a schema strict mode takes
 * as it is is strict, any other is called best-effort. The unified request
 * and the Response carry the same value; one the caller sent is kept as sent.
 */
function readTool(raw: JsonValue, i: number): { unified: Tool; echo: JsonObject } {
  const at = `tools[${i}]`;
  const tool = read.object(raw, at, true);
  if (tool.type !== "function") {
    return read.reject(`${at}.type`, `the built-in tool "${excerpt(String(tool.type))}" cannot run through the gateway: only function tools are supported (turn it off in the client)`);
  }
  const name = read.string(tool.name, `${at}.name`);
  const description = read.string(tool.description, `${at}.description`);
  const parameters = tool.parameters === undefined || tool.parameters === null ? undefined : read.object(tool.parameters, `${at}.parameters`);
  const strict = read.boolean(tool.strict, `${at}.strict`) ?? strictModeTakesAsIs(parameters);
  return {
    unified: { $typeName: "switchboard.v1.Tool", name, description, parameters, strict },
    echo: { type: "function", name, description: description || null, parameters: parameters ?? null, strict },
  };
}

const MODES: Record<string, ToolChoiceMode> = { auto: ToolChoiceMode.AUTO, none: ToolChoiceMode.NONE, required: ToolChoiceMode.REQUIRED };

/**
 * `tool_choice`: a mode, or one function among `toolNames` by name, flat
 * (openai-node `resources/responses/responses.ts`, ToolChoiceFunction:
 * `{type: "function", name}`), with what the Response repeats of it: as
 * read, nothing the caller added. Chat Completions' form, the name under
 * `function`, is refused as OpenAI refuses it, the missing `name` named.
 * `allowed_tools` (ToolChoiceAllowed) narrows the tools to a named few, which
 * `allowed` then holds.
 */
function readToolChoice(raw: unknown, toolNames: readonly string[]): { unified: ToolChoice; echo: JsonValue; allowed?: Set<string> } | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") {
    const mode = ownEntry(MODES, raw);
    if (mode === undefined) return read.reject("tool_choice", 'must be "auto", "none", "required" or a function');
    return { unified: { $typeName: "switchboard.v1.ToolChoice", choice: { case: "mode", value: mode } }, echo: raw };
  }
  const choice = read.object(raw, "tool_choice", true);
  if (choice.type === "allowed_tools") return readAllowedTools(choice, toolNames);
  if (choice.type !== "function") return read.reject("tool_choice.type", 'must be "function" or "allowed_tools" (built-in tools cannot run through the gateway)');
  const name = read.string(choice.name, "tool_choice.name");
  if (name === "" && choice.function !== undefined) {
    const named = read.object(choice.function, "tool_choice.function").name;
    const example = JSON.stringify(typeof named === "string" ? excerpt(named) : "the_function");
    return read.reject("tool_choice.name", `is required: the Responses API names the function flat, {"type": "function", "name": ${example}} (tool_choice.function is Chat Completions' form)`);
  }
  if (name === "") return read.reject("tool_choice.name", "is required: the name of one of the tools");
  // Named as this API names it (the unified check would say tool_choice.function_name).
  if (!toolNames.includes(name)) return read.reject("tool_choice.name", `"${excerpt(name)}" is not among the tools`);
  return { unified: { $typeName: "switchboard.v1.ToolChoice", choice: { case: "functionName", value: name } }, echo: { type: "function", name } };
}

const ALLOWED_MODES = ["auto", "required"] as const;

/**
 * `{type: "allowed_tools", mode, tools: [{type: "function", name}, …]}`: the
 * model may call only the named functions, each among `toolNames`; `mode` is
 * `auto` or `required` (ToolChoiceAllowed in openai-node).
 */
function readAllowedTools(choice: JsonObject, toolNames: readonly string[]): { unified: ToolChoice; echo: JsonValue; allowed: Set<string> } {
  const mode = oneOf(ALLOWED_MODES, choice.mode, "tool_choice.mode");
  if (mode === undefined) return read.reject("tool_choice.mode", 'is required: "auto" or "required"');
  const listed = read.array(choice.tools, "tool_choice.tools");
  if (listed.length === 0) return read.reject("tool_choice.tools", "must name at least one of the tools");
  const allowed = new Set<string>();
  listed.forEach((raw, i) => {
    const tool = read.object(raw, `tool_choice.tools[${i}]`, true);
    if (tool.type !== "function") read.reject(`tool_choice.tools[${i}].type`, 'must be "function" (built-in tools cannot run through the gateway)');
    const name = read.string(tool.name, `tool_choice.tools[${i}].name`);
    if (!toolNames.includes(name)) read.reject(`tool_choice.tools[${i}].name`, `"${excerpt(name)}" is not among the tools`);
    allowed.add(name);
  });
  const echo = { type: "allowed_tools", mode, tools: [...allowed].map((name) => ({ type: "function", name })) };
  return { unified: { $typeName: "switchboard.v1.ToolChoice", choice: { case: "mode", value: MODES[mode]! } }, echo, allowed };
}

/**
 * `text.format`: text, a JSON object, or JSON following a schema (flat,
 * unlike Chat Completions' `json_schema` object). With what the Response
 * repeats of it: its fields as read, no others.
 */
function readFormat(raw: unknown): { unified: ResponseFormat; echo: JsonObject } | undefined {
  const unified = readResponseFormatOf(raw, "text.format", read, (format) => ({
    schemaName: read.string(format.name, "text.format.name"),
    schema: read.object(format.schema, "text.format.schema", true),
    strict: read.boolean(format.strict, "text.format.strict") === true,
  }));
  if (!unified) return undefined;
  const format = raw as JsonObject;
  if (format.type !== "json_schema") return { unified, echo: { type: format.type as string } };
  const description = read.string(format.description, "text.format.description");
  return {
    unified,
    echo: { type: "json_schema", name: unified.schemaName, schema: format.schema as JsonObject, strict: unified.strict, ...(description ? { description } : {}) },
  };
}

const ROLES: Record<string, Role> = { user: Role.USER, system: Role.SYSTEM, developer: Role.SYSTEM, assistant: Role.ASSISTANT };

/**
 * `input`: a string (one user message), or items. An assistant turn is put
 * back together from its items: the reasoning before it, its message, and
 * the function calls after it, as one assistant message (what chat vendors
 * take); each function_call_output is a tool message. `fields` gets where
 * each message came from (its content's path, or the item that opened it),
 * and an assistant turn's calls their items.
 */
export function readInput(raw: unknown, callIdFields: ToolIdFields, fields: MessageFields[]): Message[] {
  if (typeof raw === "string") {
    fields.push({ content: "input" });
    return [create(MessageSchema, { role: Role.USER, content: raw })];
  }
  const messages: Message[] = [];
  let reasoning: ReasoningBlock[] = [];
  let reasoningText = "";
  // Whether the readable reasoning given back is all summaries (OpenAI's), so that it is listed back as one.
  let summarized = true;
  // The assistant message function calls still join: the one the last item made, and the items of its calls.
  let turn: Message | undefined;
  let turnCalls: string[] = [];
  const assistant = (content: string): Message => {
    const message = create(MessageSchema, { role: Role.ASSISTANT, reasoning, reasoningContent: reasoningText, reasoningSummarized: reasoningText !== "" && summarized });
    reasoning = [];
    reasoningText = "";
    summarized = true;
    turnCalls = [];
    messages.push(message);
    fields.push({ content, toolCalls: turnCalls });
    return message;
  };
  const items = read.array(raw, "input");
  checkCallSize(items, { field: "input", items: "input items", blocks: ["content", "summary", "output"] }, read.reject);
  for (const [i, rawItem] of items.entries()) {
    const at = `input[${i}]`;
    const item = read.object(rawItem, at, true);
    const type = item.type ?? "message";
    switch (type) {
      case "message": {
        const role = ownEntry(ROLES, String(item.role));
        if (role === undefined) return read.reject(`${at}.role`, 'must be "user", "assistant", "system" or "developer"');
        if (role === Role.ASSISTANT) {
          turn = assistant(`${at}.content`);
          readAssistantContent(item.content, at, turn);
        } else {
          turn = undefined;
          messages.push(readMessage(role, item.content, `${at}.content`));
          fields.push({ content: `${at}.content` });
        }
        break;
      }
      case "function_call":
        turn ??= assistant(at);
        turn.toolCalls.push(create(ToolCallSchema, { id: read.string(item.call_id, `${at}.call_id`), name: read.string(item.name, `${at}.name`), arguments: callArguments(item.arguments, `${at}.arguments`) }));
        callIdFields.calls.push(`${at}.call_id`);
        turnCalls.push(at);
        break;
      case "function_call_output":
        turn = undefined;
        messages.push(readToolOutput(item, at));
        fields.push({ content: `${at}.output` });
        callIdFields.results.push(`${at}.call_id`);
        break;
      case "reasoning": {
        // Reasoning opens the next assistant turn.
        turn = undefined;
        const block = blockOfEncrypted(read.string(item.encrypted_content, `${at}.encrypted_content`));
        if (block) reasoning.push(block);
        const said = reasoningTextOf(item, at);
        if (said.text) reasoningText = reasoningText ? `${reasoningText}\n\n${said.text}` : said.text;
        if (said.text && !said.summarized) summarized = false;
        break;
      }
      case "item_reference":
        return read.reject(`${at}.type`, "item references are not supported: send the item itself, or previous_response_id");
      default:
        return read.reject(`${at}.type`, `"${String(type)}" items are not supported (message, function_call, function_call_output, reasoning)`);
    }
  }
  return messages;
}

/**
 * Refuses a function_call_output item whose call comes nowhere before it,
 * neither in the conversation it continues (`before`) nor earlier in the
 * input, one that answers a call already answered, and two function_call
 * items of one turn with one call_id (tool-call-pairing.ts): named by the item.
 */
export function checkOutputsFollowCalls(before: readonly Message[], parsed: Pick<ResponsesRequest, "input" | "callIdFields">): void {
  checkToolCallPairing(before, parsed.input, parsed.callIdFields, { call: "function_call with call_id", where: "in the input, or in the response previous_response_id continues" }, read.reject);
}

/**
 * A function call's arguments given back, held to what the gateway takes
 * back (call-arguments.ts): anything else is refused here, the same for every
 * vendor, as the caller's mistake.
 */
function callArguments(raw: unknown, field: string): string {
  const text = read.string(raw, field);
  const problem = callArgumentsProblem(text);
  if (problem === "too_deep") read.reject(field, TOO_DEEP);
  if (problem === "not_object") read.reject(field, "must be a JSON object, as text (the arguments of the call as the model wrote them)");
  return text;
}

/** A message's content (`field` is its path): a string, or input parts. */
function readMessage(role: Role, raw: JsonValue | undefined, field: string): Message {
  if (typeof raw === "string") return create(MessageSchema, { role, content: raw });
  const parts = read.array(raw, field).map((part, j) => readPart(part, `${field}[${j}]`));
  // Plain text as `content`, the shape every dialect takes; parts only when there is an image.
  if (parts.every((part) => part.part.case === "text")) return create(MessageSchema, { role, content: parts.map((part) => part.part.value as string).join("\n") });
  return create(MessageSchema, { role, parts });
}

function readPart(raw: JsonValue, at: string): ContentPart {
  const part = read.object(raw, at, true);
  if (part.type === "input_text") return create(ContentPartSchema, { part: { case: "text", value: read.string(part.text, `${at}.text`) } });
  if (part.type === "input_image") {
    if (part.file_id) read.reject(`${at}.file_id`, "files are not supported: give the image as image_url (a URL or a data URL)");
    const url = read.string(part.image_url, `${at}.image_url`);
    // Checked here, where the caller's path is known, as validateChat checks every image URL.
    if (!/^(https?:|data:image\/)/.test(url)) read.reject(`${at}.image_url`, "must be an http(s) URL or a data:image/ URL");
    return create(ContentPartSchema, { part: { case: "imageUrl", value: { url, detail: read.string(part.detail, `${at}.detail`) } } });
  }
  return read.reject(`${at}.type`, `"${String(part.type)}" is not supported (input_text, input_image)`);
}

/** An assistant message given back: its output_text (and refusal) parts. */
function readAssistantContent(raw: JsonValue | undefined, at: string, message: Message): void {
  if (typeof raw === "string") {
    message.content = raw;
    return;
  }
  for (const [j, rawPart] of read.array(raw, `${at}.content`).entries()) {
    const part = read.object(rawPart, `${at}.content[${j}]`, true);
    if (part.type === "output_text" || part.type === "input_text") message.content += read.string(part.text, `${at}.content[${j}].text`);
    else if (part.type === "refusal") message.refusal += read.string(part.refusal, `${at}.content[${j}].refusal`);
    else read.reject(`${at}.content[${j}].type`, `"${String(part.type)}" is not supported in an assistant message (output_text, refusal)`);
  }
}

function readToolOutput(item: JsonObject, at: string): Message {
  const toolCallId = read.string(item.call_id, `${at}.call_id`);
  if (toolCallId === "") read.reject(`${at}.call_id`, "is required");
  const message = readMessage(Role.TOOL, item.output ?? "", `${at}.output`);
  message.toolCallId = toolCallId;
  return message;
}

/** The readable reasoning of a reasoning item: its reasoning_text, else its summary (`summarized`). */
function reasoningTextOf(item: JsonObject, at: string): { text: string; summarized: boolean } {
  const content = read.array(item.content, `${at}.content`).map((part, j) => read.string(read.object(part, `${at}.content[${j}]`).text, `${at}.content[${j}].text`));
  if (content.length > 0) return { text: content.join("\n\n"), summarized: false };
  const summary = read.array(item.summary, `${at}.summary`).map((part, j) => read.string(read.object(part, `${at}.summary[${j}]`).text, `${at}.summary[${j}].text`));
  return { text: summary.join("\n\n"), summarized: true };
}
