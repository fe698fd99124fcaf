import type { JsonObject } from "@bufbuild/protobuf";
import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import { ResponseFormatType, Role, ToolChoiceMode } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningEffort } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import { badRequest } from "../common/bad-request.js";
import { INT32_MAX } from "../common/contract.js";
import { hasControlCharacter } from "../common/control-characters.js";
import { excerpt } from "../common/excerpt.js";
import { lookalikeSpaceProblem } from "../common/lookalike-spaces.js";
import { jsonNestsDeeperThan, MAX_JSON_DEPTH, TOO_DEEP } from "../common/json-nesting.js";
import { checkCallSize, UNIFIED_BLOCKS } from "../providers/call-size.js";
import { toolCallField } from "../providers/caller-fields.js";
import { MAX_TOP_LOGPROBS } from "../providers/openai/logprobs.js";
import { embedInputCount } from "../providers/embed-inputs.js";
import type { ChatParams, EmbedParams } from "../providers/provider.js";
import { holdsKnownSecret } from "../providers/redact.js";
import { GATEWAY_KEY_PREFIX } from "../auth/gateway-key.js";
import { FieldViolations } from "./aip/field-violations.js";
import { secretInField } from "./secret-in-field.js";
import { TEMPLATE_THINKING_SWITCHES } from "../providers/openai/thinking-switch-fields.js";
import { UNPRICED_GENERATION_OPTIONS, UNPRICED_OPTIONS } from "./unpriced-options.js";
import { asObject } from "../providers/message-content.js";
import { VENDOR_STATE_FIELDS } from "../providers/openai-responses/state-fields.js";

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The longest model name a request may carry ("provider/model" included).
 * Real names are a few dozen characters; the name goes into key scopes,
 * routes, errors and log lines, so the caller must not size them.
 */
export const MAX_MODEL_NAME_CHARS = 256;

/**
 * Texts one Embed call may carry: OpenAI's own bound. Every vector comes back
 * in one answer, and each batch is a vendor request: a call of 200,000 short
 * inputs would be 20,000 vendor requests and an answer of gigabytes.
 */
export const MAX_EMBED_INPUTS = 2048;

/**
 * Tokens one Embed call of token arrays may carry in all: OpenAI's own bound
 * (300,000 summed across a request's inputs), the only API that takes them.
 * The count is exact, and is what the call's budget reserves.
 */
export const MAX_EMBED_TOKENS = 300_000;

/**
 * Tools one call may offer. Each is sent to the vendor, counted and echoed
 * (the Responses API repeats them): the caller must not size that. Vendors'
 * own bounds differ (OpenAI takes 128 functions; Anthropic names none, and
 * Claude Code with a few MCP servers offers well over 100), so the bound is
 * well above what agents send, and a vendor's smaller one is its own 400.
 */
export const MAX_TOOLS = 512;

/**
 * Stop sequences one call may carry, whatever serves it. A model's own
 * limit (OpenAI's 4, Gemini's 5) is the model catalogue's, checked against
 * the model that serves (request-fitting.ts); this bound is the gateway's,
 * for vendors that name none (Anthropic): every sequence is sent on and
 * matched, so the caller must not size the list.
 */
export const MAX_STOP_SEQUENCES = 64;

/**
 * Vendor fields that set how long an answer may be. They must come through
 * `max_tokens`, which the budget reserves by: set as vendor options they
 * would let a call spend more than it reserved.
 */
const OUTPUT_LENGTH_OPTIONS = ["max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens", "max_new_tokens"];

/** Vendor fields that set a reasoning budget some vendors spend beyond max_tokens (Qwen's): `reasoning.budget_tokens` is budgeted for. */
const REASONING_BUDGET_OPTIONS = ["thinking_budget", "thinkingBudget"];

/**
 * Vendor fields that ask for several answers (OpenAI's and DashScope's `n`, vLLM's `best_of`, Hugging Face's
 * `num_return_sequences`, Gemini's candidate count in either spelling): all would be billed, while a call
 * returns, and reserves for, one.
 */
const SEVERAL_ANSWER_OPTIONS = ["n", "best_of", "num_return_sequences", "candidateCount", "candidate_count"];

/**
 * Where vendors read the options above: `vendor_options` itself, DashScope's `parameters`, and Gemini's
 * generation config and its thinking config (where `thinkingBudget` lives). Gemini's REST API reads a
 * field by its JSON name or its proto name (`generationConfig` or `generation_config`): both are checked.
 */
const GENERATION_CONFIGS = ["generationConfig", "generation_config"];
const THINKING_CONFIGS = ["thinkingConfig", "thinking_config"];

/** Each object of `vendor` a vendor reads options from, with its path. */
function optionLevels(vendor: JsonObject, at: string): [string, JsonObject][] {
  const levels: [string, JsonObject][] = [[at, vendor], [`${at}${at ? "." : ""}parameters`, asObject(vendor.parameters)]];
  for (const config of GENERATION_CONFIGS) {
    const generation = asObject(vendor[config]);
    levels.push([`${at}${at ? "." : ""}${config}`, generation]);
    for (const thinking of THINKING_CONFIGS) levels.push([`${at}${at ? "." : ""}${config}.${thinking}`, asObject(generation[thinking])]);
  }
  return levels;
}

/**
 * Vendor fields that change the shape of the vendor's answer (a stream where the gateway reads one
 * body, deltas where it reads whole texts): the gateway sets them by the method called. Passed on,
 * they would make a healthy vendor look broken, and open its circuit breaker for every caller.
 */
const ANSWER_SHAPE_OPTIONS = ["stream", "stream_options", "incremental_output"];

/** A number in [min, max], when given. */
function checkRange(v: FieldViolations, field: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && !(value >= min && value <= max)) v.add(field, `must be between ${min} and ${max}, got ${value}`);
}

/** A whole number in [min, max], when given; every surface checks its counts this way, so 1e30 or 3.5 never reaches a counter. */
function checkInteger(v: FieldViolations, field: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) v.add(field, `must be a whole number from ${min} to ${max}, got ${value}`);
}

/**
 * A model name, checked before any scope, route or catalogue sees it: it is matched against routes and scopes, and
 * written to the ledger, logs and labels. At most MAX_MODEL_NAME_CHARS, no control characters (Postgres text cannot
 * hold NUL), and no look-alike space ("gpt-4o\u00a0" would miss "gpt-4o"'s route).
 */
function checkModelName(v: FieldViolations, model: string): void {
  if (model.length > MAX_MODEL_NAME_CHARS) v.add("model", `must be at most ${MAX_MODEL_NAME_CHARS} characters, got ${model.length}`);
  else if (hasControlCharacter(model)) v.add("model", "must not contain control characters");
  else {
    const lookalike = lookalikeSpaceProblem(model);
    if (lookalike) v.add("model", lookalike);
  }
}

/**
 * A gateway key ("sk-sb-" and 43 characters; 20 or more, so one cut short
 * counts too) anywhere in a text: no model is named so, and a caller's key
 * pasted as a model would reach the vendor whole on a glob route, however
 * the gateway's own records mask it.
 */
const GATEWAY_KEY_SHAPED = new RegExp(String.raw`(?<![A-Za-z0-9])${GATEWAY_KEY_PREFIX}[A-Za-z0-9_-]{20,}`);

/**
 * Refuses a model name holding one of the gateway's known secrets whole (its
 * master key, a vendor key of its pools, whatever their shape: pasted there
 * by mistake), or a gateway key, before anything routes, records or sends it:
 * it would go to a vendor as the model, and into log lines, traces, labels
 * and the ledger. Only a whole secret, exactly as written: a piece of one is
 * a name like any other, answered as any other (not available, not
 * allowed), or every caller could grow a guessed piece into the secret a
 * character at a time. Any other name merely shaped like a key is served,
 * and recorded by its hint (maskKeys).
 */
function refuseSecretModel(model: string): void {
  // A longer name is refused by its length, unquoted: not read through here at a character's cost.
  if (model.length > MAX_MODEL_NAME_CHARS) return;
  if (GATEWAY_KEY_SHAPED.test(model)) throw secretInField(["model"], "holds a gateway key: it would be sent to a vendor as the model; name a model (see ListModels), never a key, and rotate a key pasted by mistake");
  if (holdsKnownSecret(model)) throw secretInField(["model"], "holds one of the gateway's secrets (a key): it would be sent to a vendor and kept in logs, traces and reports; name a model (see ListModels), never a secret");
}

export function validateChat(params: ChatParams): void {
  refuseSecretModel(params.model);
  const v = new FieldViolations();
  if (!params.model) v.add("model", "is required (see ListModels)");
  checkModelName(v, params.model);
  if (params.messages.length === 0) v.add("messages", "at least one message is required");
  params.messages.forEach((message, i) => {
    const at = `messages[${i}]`;
    // connect-es drops enum names it does not know, so an OpenAI-style "user" arrives as no role at all.
    if (message.role === Role.UNSPECIFIED) v.add(`${at}.role`, `is required: ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT or ROLE_TOOL (a name such as "user" is not one)`);
    else if (!(message.role in Role)) v.add(`${at}.role`, `${message.role} is not a role (ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT or ROLE_TOOL)`);
    if (message.content !== "" && message.parts.length > 0) v.add(`${at}.parts`, "set either content or parts, not both");
    if (message.role === Role.TOOL && !message.toolCallId) v.add(`${at}.tool_call_id`, "is required on a tool message");
    if (message.toolCalls.length > 0 && message.role !== Role.ASSISTANT) v.add(`${at}.tool_calls`, "only assistant messages carry tool calls");
    if ((message.reasoning.length > 0 || message.reasoningContent !== "") && message.role !== Role.ASSISTANT) v.add(`${at}.reasoning`, "only assistant messages carry reasoning");
    message.toolCalls.forEach((call, j) => {
      // A call to no tool: vendors refuse it (Anthropic, OpenAI), but only once the call was admitted and charged.
      if (call.name === "") v.add(toolCallField(params, i, j, "name"), "is required: the name of the tool the assistant called");
      // JSON as text, which the body's own bound never saw: parsed into an object for Anthropic and Gemini, and written to them again.
      if (jsonNestsDeeperThan(call.arguments, MAX_JSON_DEPTH)) v.add(toolCallField(params, i, j, "arguments"), TOO_DEEP);
    });
    message.parts.forEach((part, j) => {
      if (part.part.case === undefined) v.add(`${at}.parts[${j}]`, "is empty");
      if (part.part.case === "imageUrl" && !/^(https?:|data:image\/)/.test(part.part.value.url)) {
        v.add(`${at}.parts[${j}].image_url.url`, "must be an http(s) URL or a data:image/ URL");
      }
    });
  });
  checkRange(v, "temperature", params.temperature, 0, 2);
  checkRange(v, "top_p", params.topP, 0, 1);
  checkRange(v, "presence_penalty", params.presencePenalty, -2, 2);
  checkRange(v, "frequency_penalty", params.frequencyPenalty, -2, 2);
  checkInteger(v, "max_tokens", params.maxTokens, 1, INT32_MAX);
  checkInteger(v, "top_logprobs", params.topLogprobs, 0, MAX_TOP_LOGPROBS);
  if (params.stop.length > MAX_STOP_SEQUENCES) v.add(params.fieldNames?.stop ?? "stop", `at most ${MAX_STOP_SEQUENCES} stop sequences a call, got ${params.stop.length}`);
  if (params.reasoning) {
    if (!(params.reasoning.effort in ReasoningEffort)) v.add("reasoning.effort", `${params.reasoning.effort} is not a reasoning effort`);
    checkInteger(v, "reasoning.budget_tokens", params.reasoning.budgetTokens, 1, INT32_MAX);
  }
  const tools = params.fieldNames?.tools ?? "tools";
  if (params.tools.length > MAX_TOOLS) v.add(tools, `at most ${MAX_TOOLS} tools a call, got ${params.tools.length}`);
  const names = new Set<string>();
  params.tools.slice(0, MAX_TOOLS).forEach((tool, i) => {
    const at = `${tools}[${i}].${params.fieldNames?.toolName ?? "name"}`;
    if (!TOOL_NAME.test(tool.name)) v.add(at, "must be 1-64 letters, digits, '_' or '-'");
    if (names.has(tool.name)) v.add(at, `"${excerpt(tool.name)}" is declared twice`);
    names.add(tool.name);
  });
  const choice = params.toolChoice?.choice;
  if (choice?.case === "mode" && !(choice.value in ToolChoiceMode)) v.add("tool_choice.mode", `${choice.value} is not a tool choice mode`);
  if (params.responseFormat && !(params.responseFormat.type in ResponseFormatType)) v.add("response_format.type", `${params.responseFormat.type} is not a response format`);
  if (!(params.cacheControl in CacheControl)) v.add("cache_control", `${params.cacheControl} is not a cache control (CACHE_CONTROL_NO_CACHE or CACHE_CONTROL_NO_STORE)`);
  if (choice?.case === "functionName" && !names.has(choice.value)) v.add(params.fieldNames?.toolChoiceName ?? "tool_choice.function_name", `"${excerpt(choice.value)}" is not among the tools`);
  if (params.responseFormat?.type === ResponseFormatType.JSON_SCHEMA && !params.responseFormat.schema) {
    v.add("response_format.schema", "is required for JSON_SCHEMA");
  }
  checkVendorOptions(v, params);
  v.throwIfAny();
}

/**
 * The options a caller sets behind the gateway's checks: an answer's length, a reasoning budget, the
 * answer's shape, several answers (all billed while one is returned) and what the ledger does not price.
 * Named as the caller wrote them: under `vendor_options` on the typed API; as the body's own fields
 * where a REST surface put its caller's own fields there (`vendorOptionsDialect`).
 */
function checkVendorOptions(v: FieldViolations, params: ChatParams): void {
  const vendor = params.vendorOptions;
  if (!vendor) return;
  const at = params.vendorOptionsDialect === undefined ? "vendor_options" : "";
  const field = (path: string, name: string) => (path ? `${path}.${name}` : name);
  for (const [path, options] of optionLevels(vendor, at)) {
    for (const name of OUTPUT_LENGTH_OPTIONS) if (name in options) v.add(field(path, name), `set ${params.fieldNames?.maxTokens ?? "max_tokens"} instead: the answer's length is bounded, and budgeted, by it`);
    for (const name of REASONING_BUDGET_OPTIONS) if (name in options) v.add(field(path, name), "set reasoning.budget_tokens instead: the reasoning is bounded, and budgeted, by it");
    // Qwen's switch turns reasoning on within the model's default budget; off, it is the caller's own. The REST surfaces read it as `reasoning`.
    if (options.enable_thinking !== undefined && options.enable_thinking !== false) v.add(field(path, "enable_thinking"), "set reasoning instead: the reasoning is bounded, and budgeted, by it");
    for (const name of ANSWER_SHAPE_OPTIONS) if (name in options) v.add(field(path, name), "is the gateway's to set: call ChatStream (REST: \"stream\": true) for a stream");
    for (const name of SEVERAL_ANSWER_OPTIONS) {
      const count = options[name];
      if (count !== undefined && count !== null && count !== 1) v.add(field(path, name), "must be 1: a call returns one answer (send several calls for several answers)");
    }
  }
  // Zhipu's and DeepSeek's switch (Anthropic's shape too) turns reasoning on outside the budgeted field; off, it is the caller's own.
  // The REST surfaces read it as `reasoning` (thinking-switch-fields.ts).
  if (thinkingSwitchedOn(vendor.thinking)) v.add(field(at, "thinking"), "set reasoning instead: the reasoning is bounded, and budgeted, by it");
  // A chat template's switch stays as sent (only the server's template reads it): the call must ask for the reasoning it turns on, which is budgeted.
  const templateKwargs = asObject(vendor.chat_template_kwargs);
  for (const name of TEMPLATE_THINKING_SWITCHES) {
    const on = templateKwargs[name];
    if (on !== undefined && on !== null && on !== false && !params.reasoning) v.add(field(at, `chat_template_kwargs.${name}`), "switches thinking on: set reasoning too, so that the reasoning is budgeted");
  }
  checkUnpriced(v, vendor, at, UNPRICED_OPTIONS);
  checkUnpriced(v, vendor, at, VENDOR_STATE_FIELDS);
  for (const config of GENERATION_CONFIGS) checkUnpriced(v, asObject(vendor[config]), field(at, config), UNPRICED_GENERATION_OPTIONS);
}

/** Each of `options`' fields that `unpriced` refuses, named under `path`. */
function checkUnpriced(v: FieldViolations, options: JsonObject, path: string, unpriced: Record<string, (value: unknown) => string | undefined>): void {
  for (const [name, problem] of Object.entries(unpriced)) {
    const why = name in options ? problem(options[name]) : undefined;
    if (why) v.add(path ? `${path}.${name}` : name, why);
  }
}

/** `thinking` set to anything but `{type: "disabled"}`. */
function thinkingSwitchedOn(thinking: unknown): boolean {
  if (thinking === undefined || thinking === null) return false;
  return !(typeof thinking === "object" && !Array.isArray(thinking) && (thinking as { type?: unknown }).type === "disabled");
}

/**
 * The typed API's messages bounded as the REST surfaces' readers bound theirs
 * (call-size.ts), before anything else reads them. Not part of validateChat:
 * the unified request of a REST call may hold more messages than its caller
 * sent (each of an Anthropic turn's tool results is a message of its own).
 */
export function validateCallSize(params: Pick<ChatParams, "messages">): void {
  checkCallSize(params.messages, { field: "messages", items: "messages", blocks: UNIFIED_BLOCKS }, (field, description) => {
    throw badRequest({ field, description });
  });
}

export function validateEmbed(params: EmbedParams): void {
  refuseSecretModel(params.model);
  const v = new FieldViolations();
  if (!params.model) v.add("model", "is required");
  checkModelName(v, params.model);
  const inputs = params.fieldNames?.inputs ?? "inputs";
  const tokenInputs = params.fieldNames?.tokenInputs ?? "token_inputs";
  const count = embedInputCount(params);
  if (params.inputs.length > 0 && params.tokenInputs.length > 0) v.add(tokenInputs, "set either inputs (texts) or token_inputs (token ids), not both");
  else if (count === 0) v.add(inputs, "at least one input is required");
  else if (count > MAX_EMBED_INPUTS) v.add(params.inputs.length > 0 ? inputs : tokenInputs, `at most ${MAX_EMBED_INPUTS} inputs a call (as OpenAI's API takes), got ${count}`);
  params.inputs.forEach((input, i) => {
    if (input === "") v.add(`${inputs}[${i}]`, "must not be empty");
  });
  checkTokenInputs(v, params);
  checkInteger(v, "dimensions", params.dimensions, 1, INT32_MAX);
  v.throwIfAny();
}

/** Token arrays: none empty, their tokens within OpenAI's bound in all. A surface that renames them (REST's `input[i]`) names each array itself. */
function checkTokenInputs(v: FieldViolations, params: EmbedParams): void {
  const renamed = params.fieldNames?.tokenInputs;
  params.tokenInputs.forEach((tokens, i) => {
    // An array of no ids is a text of no tokens, which OpenAI refuses as it refuses "".
    if (tokens.ids.length === 0) v.add(renamed ? `${renamed}[${i}]` : `token_inputs[${i}].ids`, "must hold at least one token id");
  });
  const total = params.tokenInputs.reduce((sum, tokens) => sum + tokens.ids.length, 0);
  if (total > MAX_EMBED_TOKENS) v.add(renamed ?? "token_inputs", `at most ${MAX_EMBED_TOKENS} tokens a call in all (as OpenAI's API takes), got ${total}`);
}
