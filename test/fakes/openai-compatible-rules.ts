// The documented rules of each vendor that speaks the OpenAI Chat Completions
// dialect, beyond OpenAI's own (openai-fake.ts), each with its source. Where
// a vendor silently ignores what it does not document (DeepSeek, Moonshot,
// Zhipu ignore unknown fields), the fake refuses it instead: a caller of the
// real vendor would never learn the field had no effect, and the gateway's
// tests must see that it is not sent (it is dropped and reported instead).

type Json = Record<string, any>;

export type CompatibleVendor = "openai" | "deepseek" | "moonshot" | "zhipu";

/** A violation: the vendor's message, the field, and the HTTP status and error code it answers with. */
export interface Violation {
  message: string;
  param: string | null;
  status?: number;
  code?: string;
}

/**
 * OpenAI's reasoning models (o-series, GPT-5 family): "reasoning models do not
 * support ... temperature, top_p, presence_penalty, frequency_penalty ...
 * max_tokens", only the default temperature (1) is taken, and `stop` is not
 * supported with o3 and o4-mini (https://platform.openai.com/docs/guides/reasoning;
 * errors as the API words them).
 */
export function isOpenAIReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model) && !model.startsWith("gpt-5-chat");
}

function openAIRules(body: Json): Violation | undefined {
  // Messages take only the documented properties: DeepSeek's reasoning_content is not one of them.
  for (const [i, m] of body.messages.entries()) {
    if (m.reasoning_content !== undefined) return { message: `Additional properties are not allowed ('reasoning_content' was unexpected) - 'messages.${i}'`, param: `messages[${i}]` };
  }
  if (!isOpenAIReasoningModel(body.model)) {
    if (body.reasoning_effort !== undefined) return { message: "Unrecognized request argument supplied: reasoning_effort", param: "reasoning_effort" };
    return undefined;
  }
  if (body.max_tokens !== undefined) {
    return { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", param: "max_tokens", code: "unsupported_parameter" };
  }
  for (const name of ["temperature", "top_p"]) {
    if (body[name] !== undefined && body[name] !== 1) {
      return { message: `Unsupported value: '${name}' does not support ${body[name]} with this model. Only the default (1) value is supported.`, param: name, code: "unsupported_value" };
    }
  }
  // The o-series refuses parallel_tool_calls whatever its value (openai/openai-python and LangChain reports:
  // "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.").
  const refused = /^o\d/.test(body.model) ? ["stop", "presence_penalty", "frequency_penalty", "parallel_tool_calls"] : ["stop", "presence_penalty", "frequency_penalty"];
  for (const name of refused) {
    if (body[name] !== undefined) return { message: `Unsupported parameter: '${name}' is not supported with this model.`, param: name, code: "unsupported_parameter" };
  }
  const efforts = openAIEfforts(body.model);
  if (body.reasoning_effort !== undefined && !efforts.includes(body.reasoning_effort)) {
    const quoted = efforts.map((e) => `'${e}'`);
    const listed = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(", ")}, and ${quoted.at(-1)}`;
    return { message: `Invalid value: '${body.reasoning_effort}'. Supported values are: ${listed}.`, param: "reasoning_effort" };
  }
  return undefined;
}

/**
 * The `reasoning_effort` values each OpenAI reasoning family takes, as the API
 * reference (https://platform.openai.com/docs/api-reference/chat/create) and
 * its 400s name them (quoted in src/catalogue/vendors/openai.ts, EFFORT_MINIMAL
 * and EFFORT_XHIGH): gpt-5, -mini and -nano take 'minimal' to 'high'; gpt-5.1
 * drops minimal for 'none'; "xhigh is supported for all models after
 * gpt-5.1-codex-max" (gpt-5.2's 400: "'none', 'low', 'medium', 'high', and
 * 'xhigh'"); the o-series and the Codex models before codex-max take 'low' to
 * 'high'; the -pro models 'high' only.
 */
function openAIEfforts(model: string): readonly string[] {
  if (/^o\d/.test(model) || /^gpt-5(\.1)?-codex(-mini)?$/.test(model)) return ["low", "medium", "high"];
  if (/-pro$/.test(model)) return ["high"];
  if (/^gpt-5(-mini|-nano)?(-\d{4}-\d\d-\d\d)?$/.test(model)) return ["minimal", "low", "medium", "high"];
  if (/^gpt-5\.1(-|$)/.test(model) && model !== "gpt-5.1-codex-max") return ["none", "low", "medium", "high"];
  // gpt-5.1-codex-max, gpt-5.2 and later (gpt-5.4, gpt-5.5 and their -mini and -nano).
  return ["none", "low", "medium", "high", "xhigh"];
}

/**
 * DeepSeek (https://api-docs.deepseek.com/api/create-chat-completion): the
 * documented request fields; response_format "text" or "json_object" only;
 * thinking mode (the reasoner model or `thinking: {type: "enabled"}`) takes
 * `reasoning_effort` low/high (medium counts as high), and after tool calls
 * the assistant turns' `reasoning_content` must come back, else 400
 * (https://api-docs.deepseek.com/guides/thinking_mode); logprobs and
 * top_logprobs are not supported there and "will trigger an error"
 * (https://api-docs.deepseek.com/guides/reasoning_model).
 */
const DEEPSEEK_FIELDS = new Set([
  "model", "messages", "frequency_penalty", "max_tokens", "presence_penalty", "response_format", "stop", "stream", "stream_options",
  "temperature", "top_p", "tools", "tool_choice", "logprobs", "top_logprobs", "thinking", "reasoning_effort",
]);

export function deepSeekThinks(body: Json): boolean {
  return body.model === "deepseek-reasoner" || body.thinking?.type === "enabled";
}

function deepSeekRules(body: Json): Violation | undefined {
  const unknown = Object.keys(body).find((key) => !DEEPSEEK_FIELDS.has(key));
  if (unknown) return { message: `Unknown field: ${unknown} (not in DeepSeek's API; the real API ignores it)`, param: unknown, status: 422 };
  if (body.response_format && !["text", "json_object"].includes(body.response_format.type)) {
    return { message: "This response_format type is unavailable now", param: "response_format" };
  }
  if (body.reasoning_effort !== undefined && !["minimal", "low", "medium", "high", "xhigh", "max"].includes(body.reasoning_effort)) {
    return { message: `Invalid reasoning_effort: ${body.reasoning_effort}`, param: "reasoning_effort", status: 422 };
  }
  if (deepSeekThinks(body)) {
    for (const field of ["logprobs", "top_logprobs"]) {
      if (body[field] !== undefined && body[field] !== null && body[field] !== false) return { message: `${field} is not supported in the thinking mode`, param: field };
    }
    for (const [i, m] of body.messages.entries()) {
      if (m.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length > 0 && typeof m.reasoning_content !== "string") {
        return { message: "The reasoning_content in the thinking mode must be passed back to the API.", param: `messages[${i}]` };
      }
    }
  }
  return undefined;
}

/**
 * Moonshot (https://platform.moonshot.cn/docs/api/chat): the documented
 * request fields (stream_options included: its usage rides in the finishing
 * choice either way); temperature in [0, 1]; response_format
 * {"type": "json_object"} only.
 */
const MOONSHOT_FIELDS = new Set([
  "model", "messages", "max_tokens", "temperature", "top_p", "n", "presence_penalty", "frequency_penalty", "response_format", "stop", "stream",
  "stream_options", "tools", "tool_choice",
]);

function moonshotRules(body: Json): Violation | undefined {
  const unknown = Object.keys(body).find((key) => !MOONSHOT_FIELDS.has(key));
  if (unknown) return { message: `unknown field: ${unknown}`, param: unknown };
  if (body.temperature !== undefined && !(body.temperature >= 0 && body.temperature <= 1)) return { message: "Invalid request: temperature must be between 0 and 1", param: "temperature" };
  if (body.response_format && body.response_format.type !== "json_object" && body.response_format.type !== "text") {
    return { message: "Invalid request: response_format.type must be json_object", param: "response_format" };
  }
  return undefined;
}

/**
 * Zhipu GLM (https://docs.bigmodel.cn/api-reference, chat completions): the
 * documented request fields (the end user is `user_id`; no seed, no
 * penalties); temperature [0.0, 1.0], top_p [0.01, 1.0]; response_format
 * "text" or "json_object"; errors as `{error: {code, message}}`, 1214 for an
 * invalid parameter (https://docs.bigmodel.cn/cn/faq/api-code).
 */
const ZHIPU_FIELDS = new Set([
  "model", "messages", "request_id", "do_sample", "stream", "stream_options", "thinking", "temperature", "top_p", "max_tokens", "tool_stream", "tools",
  "tool_choice", "stop", "response_format", "user_id",
]);

function zhipuRules(body: Json): Violation | undefined {
  const invalid = (message: string, param: string): Violation => ({ message, param, code: "1214" });
  const unknown = Object.keys(body).find((key) => !ZHIPU_FIELDS.has(key));
  if (unknown) return invalid(`输入参数非法: ${unknown} is not a parameter of this API`, unknown);
  if (body.temperature !== undefined && !(body.temperature >= 0 && body.temperature <= 1)) return invalid("temperature 取值范围为 [0.0, 1.0]", "temperature");
  if (body.top_p !== undefined && !(body.top_p >= 0.01 && body.top_p <= 1)) return invalid("top_p 取值范围为 [0.01, 1.0]", "top_p");
  if (body.response_format && !["text", "json_object"].includes(body.response_format.type)) return invalid("response_format.type 只支持 text 和 json_object", "response_format");
  if (body.thinking !== undefined && !["enabled", "disabled"].includes(body.thinking?.type)) return invalid("thinking.type 只支持 enabled 和 disabled", "thinking");
  return undefined;
}

export function vendorViolation(vendor: CompatibleVendor, body: Json): Violation | undefined {
  switch (vendor) {
    case "openai":
      return openAIRules(body);
    case "deepseek":
      return deepSeekRules(body);
    case "moonshot":
      return moonshotRules(body);
    case "zhipu":
      return zhipuRules(body);
  }
}

/** Whether the vendor reasons on this request, and returns the reasoning as `reasoning_content`. */
export function reasonsAloud(vendor: CompatibleVendor, body: Json): boolean {
  if (vendor === "deepseek") return deepSeekThinks(body);
  if (vendor === "zhipu") return body.thinking?.type === "enabled";
  return false;
}

/** The error body each vendor answers with: OpenAI's shape; Zhipu's carries a numeric code as a string. */
export function errorBody(vendor: CompatibleVendor, violation: Violation): Json {
  if (vendor === "zhipu") return { error: { code: violation.code ?? "1214", message: violation.message } };
  return { error: { message: violation.message, type: "invalid_request_error", param: violation.param, code: violation.code ?? null } };
}

/**
 * Usage as each vendor reports it: cache hits in `prompt_tokens_details`
 * (OpenAI), at the top level (Moonshot), or as prompt_cache_hit_tokens and
 * prompt_cache_miss_tokens (DeepSeek, https://api-docs.deepseek.com/guides/kv_cache);
 * reasoning in completion_tokens_details.
 */
export function usageOf(vendor: CompatibleVendor, prompt: number, completion: number, cached: number, reasoning: number): Json {
  const usage: Json = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (vendor === "deepseek") {
    usage.prompt_cache_hit_tokens = cached;
    usage.prompt_cache_miss_tokens = prompt - cached;
  } else if (vendor === "moonshot") {
    if (cached > 0) usage.cached_tokens = cached;
  } else {
    usage.prompt_tokens_details = { cached_tokens: cached };
  }
  if (reasoning > 0) usage.completion_tokens_details = { reasoning_tokens: reasoning };
  return usage;
}

/**
 * Where a stream's usage goes: OpenAI sends a last chunk with `choices: []`
 * and the usage, when asked with stream_options.include_usage; Moonshot puts
 * it inside `choices[0].usage` of the chunk with the finish reason, asked or
 * not ("usage 在最后一个 chunk 的 choices[0] 中", https://platform.moonshot.cn/docs/api/chat).
 */
export function usageInFinishingChoice(vendor: CompatibleVendor): boolean {
  return vendor === "moonshot";
}
