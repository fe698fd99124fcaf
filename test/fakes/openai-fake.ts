import type { ServerResponse } from "node:http";
import { pieces, sendJson, sleep, startFakeServer, type FakeServer, type RecordedRequest, type Scripted } from "./fake-server.js";
import { answerResponses, ONLY_ON_RESPONSES, RESPONSES_ONLY_MODELS, type ResponsesFakeState } from "./openai-responses-fake.js";
import { errorBody, isOpenAIReasoningModel, reasonsAloud, usageInFinishingChoice, usageOf, vendorViolation, type CompatibleVendor } from "./openai-compatible-rules.js";
import { droppedConnection } from "./stream-writing.js";

/**
 * A fake OpenAI Chat Completions vendor (the dialect DeepSeek, Moonshot, GLM,
 * Qianfan v2 and DashScope compatible mode share). It enforces the documented
 * request rules and answers in the documented shapes:
 * - the answer echoes the last user message ("Echo: …");
 * - with tools (and tool_choice not "none") it calls the first or the forced tool with {"query": …};
 * - with the legacy `functions` (and function_call not "none") it calls the first or the forced one the
 *   same way, in the legacy shape: `function_call` (streamed as `delta.function_call`, the name with
 *   the first fragment) and finish_reason "function_call"
 *   (https://platform.openai.com/docs/api-reference/chat/object, deprecated fields);
 * - after a tool (or legacy function) message it answers "Tool result: …";
 * - JSON mode answers a JSON object (and, as OpenAI does, demands the word "json" in the messages);
 * - max tokens (in words here) cut the answer with finish_reason "length";
 * - a user message with "[refuse]" gets a refusal (OpenAI's `refusal`, content null);
 * - reasoning models reason: OpenAI's in hidden reasoning tokens, DeepSeek's and
 *   Zhipu's (thinking mode) aloud, as `reasoning_content` before the answer.
 * - as OpenAI's answers do, each names the dated snapshot that served it
 *   (gpt-4o → gpt-4o-2024-08-06), its `system_fingerprint` and `service_tier`,
 *   and with `logprobs: true` gives each token's log probability and its
 *   `top_logprobs` likeliest alternatives, in `choices[0].logprobs.content`
 *   (or `.refusal`), a chunk's tokens with each chunk
 *   (https://platform.openai.com/docs/api-reference/chat/object and
 *   https://platform.openai.com/docs/api-reference/chat-streaming/streaming).
 * - embeddings take OpenAI's documented `input` (embeddingInputs: token arrays too, from OpenAI alone) within its
 *   bounds, and count a text's tokens in words, a token array's by its length;
 * - the models OpenAI serves only on its Responses API are refused here and answered on
 *   `POST /v1/responses` (openai-responses-fake.ts, which says the rules it enforces there).
 * With `vendor` set it enforces that vendor's rules and answers in its shapes
 * (openai-compatible-rules.ts): DeepSeek, Moonshot, Zhipu.
 */
export interface OpenAIFakeOptions {
  apiKey: string;
  /** More keys the fake accepts (a pool of several keys on one account). */
  extraKeys?: string[];
  /** Streams: drop the connection after this many content chunks (a mid-stream failure). */
  breakStreamAfter?: number;
  models?: string[];
  /** Delay between stream chunks. */
  chunkDelayMs?: number;
  /** Words of filler appended to each answer (for long streams). */
  extraWords?: number;
  /** Send usage in streams only when asked with stream_options (true, as OpenAI does). */
  omitStreamUsage?: boolean;
  /**
   * Streams: awaited between the chunk with the finish reason and the usage chunk, which OpenAI sends on its own
   * after it (https://platform.openai.com/docs/api-reference/chat-streaming): a gate the test opens.
   */
  beforeStreamUsage?: () => Promise<void>;
  /**
   * Streams: the connection is dropped after the chunk with the finish reason, before the usage chunk or after it
   * (where `[DONE]` goes): a vendor's connection lost once it had said the answer's end.
   */
  dropAfterFinish?: "before-usage" | "before-done";
  /** Whose rules and shapes: OpenAI's (the default), DeepSeek's, Moonshot's or Zhipu's. */
  vendor?: CompatibleVendor;
  /** Prompt tokens to report as read from the vendor's cache, in the vendor's shape. */
  cachedTokens?: number;
  /**
   * The organization's tokens-per-minute limit (in words here): a request that alone asks for more gets
   * OpenAI's 429 "Request too large for … on tokens per min (TPM): Limit N, Requested M. …" (type
   * "tokens"), with an hour's retry-after, whichever key sent it (the limit is the organization's).
   */
  tpmLimit?: number;
  /**
   * What the model does when given tools and the last message is the user's:
   * call this tool with these arguments (instead of the forced or first tool
   * with {"query": …}), or, for undefined, answer in text. For agents whose
   * tools need real arguments (Claude Code's Read wants a file_path).
   */
  toolCall?: (body: Json) => { name: string; arguments: string } | undefined;
}

export interface OpenAIFake extends FakeServer {
  /** The base URL to configure, ".../v1". */
  readonly baseUrl: string;
  readonly options: OpenAIFakeOptions;
  chatRequests(): Record<string, any>[];
  /** The bodies of `POST /v1/responses`, for the models OpenAI serves there only (openai-responses-fake.ts). */
  responsesRequests(): Record<string, any>[];
  /** The tool calls the fake made, in order, as it made them (to compare what a client received with them). */
  readonly toolCallsMade: { id: string; name: string; arguments: string }[];
  /**
   * Every request made with `key` gets `answer` (undefined: answered again).
   * OpenAI's capacity and rate limits are per organization and project, so
   * one key can get 503s while a key of another project is served
   * (https://platform.openai.com/docs/guides/error-codes: "503 - Slow Down").
   */
  failKey(key: string, answer: Extract<Scripted, { kind: "error" }> | undefined): void;
}

type Json = Record<string, any>;

/** "function" is the deprecated role of a legacy function's result, which names the function. */
const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

function invalid(res: ServerResponse, message: string, param: string | null = null): void {
  sendJson(res, 400, { error: { message, type: "invalid_request_error", param, code: null } });
}

/** Moonshot's answer when the vendor, not the key, is busy: a 429 all the same (https://platform.moonshot.cn/docs/api/chat, errors). */
export function moonshotOverloaded(): Scripted {
  return { kind: "error", status: 429, body: { error: { message: "The engine is currently overloaded, please try again later", type: "engine_overloaded_error" } } };
}

/** OpenAI's answer to a request larger than the organization's TPM limit on its own (as quoted in many SDK issues). */
export function tooLargeForTpm(model: string, limit: number, requested: number): Json {
  const message = `Request too large for ${model} in organization org-fake on tokens per min (TPM): Limit ${limit}, Requested ${requested}. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.`;
  return { error: { message, type: "tokens", param: null, code: "rate_limit_exceeded" } };
}

function mask(key: string): string {
  return key.length > 6 ? `${key.slice(0, 3)}***${key.slice(-2)}` : "***";
}

/** Returns an error message when the body breaks one of OpenAI's documented rules. */
export function violation(body: Json): [string, string] | undefined {
  if (typeof body.model !== "string" || body.model === "") return ["you must provide a model parameter", "model"];
  if (!Array.isArray(body.messages) || body.messages.length === 0) return ["'messages' must be a non-empty array", "messages"];
  const calledIds = new Set<string>();
  for (const [i, m] of body.messages.entries()) {
    if (!ROLES.has(m.role)) return [`Invalid value for 'messages[${i}].role'`, `messages[${i}].role`];
    if (m.role === "tool" && typeof m.tool_call_id !== "string") return [`Missing 'tool_call_id' in messages[${i}]`, `messages[${i}].tool_call_id`];
    if (m.role === "function" && typeof m.name !== "string") return [`Missing 'name' in messages[${i}]`, `messages[${i}].name`];
    if (m.role === "tool" && !calledIds.has(m.tool_call_id)) {
      return ["Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", `messages[${i}].role`];
    }
    if (m.content === undefined && !m.tool_calls) return [`Missing 'content' in messages[${i}]`, `messages[${i}].content`];
    for (const [j, call] of (m.tool_calls ?? []).entries()) {
      if (m.role !== "assistant" || call.type !== "function" || typeof call.id !== "string" || typeof call.function?.arguments !== "string") {
        return [`Invalid tool call in messages[${i}]`, `messages[${i}].tool_calls`];
      }
      if (call.id.length > 40) {
        const field = `messages[${i}].tool_calls[${j}].id`;
        return [`Invalid '${field}': string too long. Expected a string with maximum length 40, but got a string with length ${call.id.length} instead.`, field];
      }
      calledIds.add(call.id);
    }
  }
  const inRange = (name: string, min: number, max: number) => body[name] === undefined || (typeof body[name] === "number" && body[name] >= min && body[name] <= max);
  if (!inRange("temperature", 0, 2)) return ["temperature must be between 0 and 2", "temperature"];
  if (!inRange("top_p", 0, 1)) return ["top_p must be between 0 and 1", "top_p"];
  if (!inRange("presence_penalty", -2, 2) || !inRange("frequency_penalty", -2, 2)) return ["penalties must be between -2 and 2", null as never];
  if (Array.isArray(body.stop) && body.stop.length > 4) return ["'stop' takes at most 4 sequences", "stop"];
  if (body.max_tokens !== undefined && body.max_completion_tokens !== undefined) return ["use max_completion_tokens or max_tokens, not both", "max_tokens"];
  if (body.stream_options !== undefined && body.stream !== true) return ["The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"];
  for (const [i, tool] of (body.tools ?? []).entries()) {
    if (tool.type !== "function" || typeof tool.function?.name !== "string") return [`Invalid tools[${i}]`, `tools[${i}]`];
  }
  for (const [i, fn] of (body.functions ?? []).entries()) {
    if (typeof fn?.name !== "string") return [`Invalid functions[${i}]`, `functions[${i}]`];
  }
  const format = body.response_format?.type;
  if (format !== undefined && !["text", "json_object", "json_schema"].includes(format)) return ["Invalid response_format type", "response_format"];
  if (format === "json_schema" && typeof body.response_format.json_schema?.name !== "string") return ["json_schema.name is required", "response_format"];
  if (format === "json_object" && !JSON.stringify(body.messages).toLowerCase().includes("json")) {
    return ["'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", "messages"];
  }
  return undefined;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.filter((p) => p.type === "text").map((p) => p.text).join(" ");
  return "";
}

/**
 * Images bill by size (https://platform.openai.com/docs/guides/images-vision): 85 tokens at detail
 * "low", else 85 plus 170 a 512-px tile. The fake does not decode images: it bills the most, 8 tiles.
 */
function imageTokens(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  return content.filter((p) => p.type === "image_url").reduce((sum, p) => sum + (p.image_url?.detail === "low" ? 85 : 85 + 8 * 170), 0);
}

/** The snapshots OpenAI's aliases served when its answers were recorded (https://platform.openai.com/docs/models/gpt-4o). */
const SNAPSHOTS: Record<string, string> = { "gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18" };

/** What an OpenAI answer (and each of its chunks) says of itself, after `model`; other vendors' fakes name the model as sent. */
function identity(body: Json, vendor: CompatibleVendor): Json {
  if (vendor !== "openai") return { model: body.model };
  return { model: SNAPSHOTS[body.model] ?? body.model, service_tier: "default", system_fingerprint: "fp_07871e2ad8" };
}

/**
 * OpenAI's `logprobs` of a choice for the given tokens, when asked for: each
 * token with a made-up log probability, its UTF-8 bytes, and `top_logprobs`
 * alternatives, the token itself first. Null when not asked for.
 */
export function logprobsOf(body: Json, tokens: string[], kind: "content" | "refusal" = "content"): Json | null {
  if (body.logprobs !== true) return null;
  const top = typeof body.top_logprobs === "number" ? body.top_logprobs : 0;
  const scored = tokens.map((token, i) => {
    const logprob = -0.01 * (i + 1);
    const alternatives = Array.from({ length: top }, (_, j) => (j === 0 ? { token, logprob, bytes: [...Buffer.from(token)] } : { token: `alt${j}`, logprob: logprob - j, bytes: [...Buffer.from(`alt${j}`)] }));
    return { token, logprob, bytes: [...Buffer.from(token)], top_logprobs: alternatives };
  });
  return kind === "content" ? { content: scored, refusal: null } : { content: null, refusal: scored };
}

/**
 * OpenAI's embeddings `input` (https://platform.openai.com/docs/api-reference/embeddings/create): a string, strings,
 * an array of token ids or arrays of them; none empty, at most 2,048 inputs. Ids are OpenAI's alone: the other vendors
 * of the dialect document strings only. Undefined: OpenAI's 400 "'$.input' is invalid".
 */
function embeddingInputs(input: unknown, vendor: CompatibleVendor): (string | number[])[] | undefined {
  const isTokenId = (x: unknown) => Number.isInteger(x) && (x as number) >= 0;
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every(isTokenId);
  if (typeof input === "string") return input === "" ? undefined : [input];
  if (!Array.isArray(input) || input.length === 0 || input.length > EMBEDDING_INPUTS) return undefined;
  if (input.every((x) => typeof x === "string" && x !== "")) return input;
  if (vendor !== "openai") return undefined;
  if (isIds(input)) return [input];
  return input.every(isIds) ? input : undefined;
}

/** OpenAI's embedding bounds: inputs a request, tokens an input (every embedding model's), tokens a request summed. */
const EMBEDDING_INPUTS = 2048;
const EMBEDDING_INPUT_TOKENS = 8192;
const EMBEDDING_REQUEST_TOKENS = 300_000;

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

interface Answer {
  content: string | null;
  refusal: string | null;
  /** Reasoning returned aloud (`reasoning_content`). */
  reasoning: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  /** The legacy call, made when asked with `functions`. */
  functionCall?: { name: string; arguments: string };
  finishReason: string;
  usage: Json;
}

/** Reasoning tokens the fake spends on each answer of a reasoning model. */
const REASONING_TOKENS = 7;

function answer(body: Json, options: OpenAIFakeOptions): Answer {
  const vendor = options.vendor ?? "openai";
  const messages: Json[] = body.messages;
  const last = messages[messages.length - 1]!;
  const promptTokens = messages.reduce((sum, m) => sum + words(textOf(m.content)) + imageTokens(m.content) + 3, 0);
  const userText = textOf([...messages].reverse().find((m) => m.role === "user")?.content);
  const aloud = reasonsAloud(vendor, body);
  const reasoningTokens = aloud || (vendor === "openai" && isOpenAIReasoningModel(body.model)) ? REASONING_TOKENS : 0;
  const reasoning = aloud ? `The user asks about ${userText}; ${last.role === "tool" ? "the tool answered" : "think it through"}.` : null;
  const usage = (completion: number) => usageOf(vendor, promptTokens, completion + reasoningTokens, Math.min(options.cachedTokens ?? 0, promptTokens), reasoningTokens);
  const forced = body.tool_choice?.function?.name;
  const tools: Json[] = body.tools ?? [];
  const scripted = options.toolCall ? options.toolCall(body) : { name: forced ?? tools[0]?.function.name, arguments: JSON.stringify({ query: userText }) };
  if (tools.length > 0 && body.tool_choice !== "none" && last.role === "user" && scripted) {
    return { content: null, refusal: null, reasoning, toolCalls: [{ id: `call_${Date.now()}`, name: scripted.name, arguments: scripted.arguments }], finishReason: "tool_calls", usage: usage(10) };
  }
  const functions: Json[] = body.functions ?? [];
  if (functions.length > 0 && body.function_call !== "none" && last.role === "user") {
    const functionCall = { name: body.function_call?.name ?? functions[0]!.name, arguments: JSON.stringify({ query: userText }) };
    return { content: null, refusal: null, reasoning, toolCalls: [], functionCall, finishReason: "function_call", usage: usage(10) };
  }
  if (vendor === "openai" && userText.includes("[refuse]")) {
    // Structured outputs: a refusal is its own field, and the answer ends with "stop" (https://platform.openai.com/docs/guides/structured-outputs#refusals).
    const refusal = "I'm sorry, I can't help with that.";
    return { content: null, refusal, reasoning, toolCalls: [], finishReason: "stop", usage: usage(words(refusal)) };
  }
  let text = last.role === "tool" || last.role === "function" ? `Tool result: ${textOf(last.content)}` : `Echo: ${userText}`;
  if (options.extraWords) text += " " + Array.from({ length: options.extraWords }, (_, i) => `word${i}`).join(" ");
  let finishReason = "stop";
  const limit = body.max_completion_tokens ?? body.max_tokens;
  if (typeof limit === "number" && words(text) > limit) {
    text = text.split(/\s+/).slice(0, limit).join(" ");
    finishReason = "length";
  }
  const format = body.response_format?.type;
  if (format === "json_object" || format === "json_schema") text = JSON.stringify({ answer: text });
  return { content: text, refusal: null, reasoning, toolCalls: [], finishReason, usage: usage(words(text)) };
}

async function stream(res: ServerResponse, body: Json, result: Answer, options: OpenAIFakeOptions): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const id = `chatcmpl-${Date.now()}`;
  const base = { id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), ...identity(body, options.vendor ?? "openai") };
  const send = async (chunk: Json) => {
    if (res.destroyed) throw new Error("client went away");
    res.write(`data: ${JSON.stringify({ ...base, ...chunk })}\n\n`);
    if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
  };
  await send({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
  for (const piece of result.reasoning === null ? [] : pieces(result.reasoning, 8)) {
    await send({ choices: [{ index: 0, delta: { reasoning_content: piece }, finish_reason: null }] });
  }
  for (const piece of result.refusal === null ? [] : pieces(result.refusal, 8)) {
    await send({ choices: [{ index: 0, delta: { refusal: piece }, logprobs: logprobsOf(body, [piece], "refusal"), finish_reason: null }] });
  }
  if (result.content !== null) {
    for (const [i, piece] of pieces(result.content).entries()) {
      if (i === options.breakStreamAfter) return void res.destroy();
      await send({ choices: [{ index: 0, delta: { content: piece }, logprobs: logprobsOf(body, [piece]), finish_reason: null }] });
    }
  }
  for (const [index, call] of result.toolCalls.entries()) {
    await send({ choices: [{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }, finish_reason: null }] });
    for (const piece of pieces(call.arguments, 5)) {
      await send({ choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] }, finish_reason: null }] });
    }
  }
  if (result.functionCall) {
    await send({ choices: [{ index: 0, delta: { function_call: { name: result.functionCall.name, arguments: "" } }, finish_reason: null }] });
    for (const piece of pieces(result.functionCall.arguments, 5)) {
      await send({ choices: [{ index: 0, delta: { function_call: { arguments: piece } }, finish_reason: null }] });
    }
  }
  if (usageInFinishingChoice(options.vendor ?? "openai")) {
    await send({ choices: [{ index: 0, delta: {}, finish_reason: result.finishReason, usage: result.usage }] });
  } else {
    await send({ choices: [{ index: 0, delta: {}, finish_reason: result.finishReason }] });
    await options.beforeStreamUsage?.();
    if (options.dropAfterFinish === "before-usage") return droppedConnection(res);
    if (body.stream_options?.include_usage && !options.omitStreamUsage) await send({ choices: [], usage: result.usage });
  }
  if (options.dropAfterFinish) return droppedConnection(res);
  res.end("data: [DONE]\n\n");
}

/** The models each vendor's fake serves unless told otherwise. */
const DEFAULT_MODELS: Record<CompatibleVendor, string[]> = {
  openai: ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"],
  deepseek: ["deepseek-chat", "deepseek-reasoner"],
  moonshot: ["moonshot-v1-8k", "kimi-k2"],
  zhipu: ["glm-4.5", "glm-4-plus", "embedding-3"],
};

export async function startOpenAIFake(options: OpenAIFakeOptions): Promise<OpenAIFake> {
  const vendor = options.vendor ?? "openai";
  const models = options.models ?? DEFAULT_MODELS[vendor];
  const failingKeys = new Map<string, Extract<Scripted, { kind: "error" }>>();
  const toolCallsMade: OpenAIFake["toolCallsMade"] = [];
  const responses: ResponsesFakeState = { issued: new Set(), cachedTokens: options.cachedTokens, chunkDelayMs: options.chunkDelayMs, extraWords: options.extraWords, toolCallsMade };
  const server = await startFakeServer(async (req: RecordedRequest, res) => {
    const given = (req.headers.authorization ?? "").replace(/^Bearer\s+/, "");
    if (![options.apiKey, ...(options.extraKeys ?? [])].some((key) => req.headers.authorization === `Bearer ${key}`)) {
      return sendJson(res, 401, {
        error: { message: `Incorrect API key provided: ${mask(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: "invalid_request_error", param: null, code: "invalid_api_key" },
      });
    }
    const failing = failingKeys.get(given);
    if (failing) return sendJson(res, failing.status, failing.body, failing.headers);
    if (req.method === "GET" && req.path === "/v1/models") {
      return sendJson(res, 200, { object: "list", data: models.map((id) => ({ id, object: "model", created: 1700000000, owned_by: "fake" })) });
    }
    if (req.method === "POST" && req.path === "/v1/embeddings") {
      const body = req.body as Json;
      const inputs = embeddingInputs(body.input, vendor);
      if (!inputs) return invalid(res, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.");
      if (!models.includes(body.model)) return sendJson(res, 404, { error: { message: `The model \`${body.model}\` does not exist`, type: "invalid_request_error", code: "model_not_found" } });
      const tokens = inputs.map((input) => (typeof input === "string" ? words(input) : input.length));
      const tooLong = tokens.findIndex((count) => count > EMBEDDING_INPUT_TOKENS);
      if (tooLong >= 0) return invalid(res, `This model's maximum context length is ${EMBEDDING_INPUT_TOKENS} tokens, however you requested ${tokens[tooLong]} tokens in input ${tooLong}. Please reduce your prompt.`, "input");
      const prompt = tokens.reduce((s, t) => s + t, 0);
      if (prompt > EMBEDDING_REQUEST_TOKENS) return invalid(res, `Requested ${prompt} tokens, max ${EMBEDDING_REQUEST_TOKENS} tokens per request`, "input");
      const dims = body.dimensions ?? 8;
      return sendJson(res, 200, {
        object: "list",
        // A token array's vector follows its ids, a text's its length: different inputs, different vectors.
        data: inputs.map((input, index) => ({ object: "embedding", index, embedding: Array.from({ length: dims }, (_, d) => ((typeof input === "string" ? input.length : input.reduce((s, id) => s + id, 0)) + d) % 7 / 7) })),
        model: body.model,
        usage: { prompt_tokens: prompt, total_tokens: prompt },
      });
    }
    if (req.method === "POST" && req.path === "/v1/responses") {
      const body = req.body as Json;
      if (!models.includes(body?.model)) return sendJson(res, 404, { error: { message: `The model \`${body?.model}\` does not exist or you do not have access to it.`, type: "invalid_request_error", param: null, code: "model_not_found" } });
      return answerResponses(res, body, responses);
    }
    if (req.method !== "POST" || req.path !== "/v1/chat/completions") return sendJson(res, 404, { error: { message: `Unknown request URL: ${req.method} ${req.path}`, type: "invalid_request_error" } });
    if (!(req.headers["content-type"] ?? "").includes("application/json") || typeof req.body !== "object") return invalid(res, "We could not parse the JSON body of your request.");
    const body = req.body as Json;
    const problem = violation(body);
    if (problem) return invalid(res, problem[0], problem[1]);
    if (RESPONSES_ONLY_MODELS.includes(body.model)) return invalid(res, ONLY_ON_RESPONSES, "model");
    const broken = vendorViolation(vendor, body);
    if (broken) return sendJson(res, broken.status ?? 400, errorBody(vendor, broken));
    if (!models.includes(body.model)) return sendJson(res, 404, { error: { message: `The model \`${body.model}\` does not exist or you do not have access to it.`, type: "invalid_request_error", param: null, code: "model_not_found" } });
    const requested = (body.messages as Json[]).reduce((sum, m) => sum + (typeof m.content === "string" ? words(m.content) : 0), 0);
    if (options.tpmLimit !== undefined && requested > options.tpmLimit) return sendJson(res, 429, tooLargeForTpm(body.model, options.tpmLimit, requested), { "retry-after": "3600" });
    const result = answer(body, options);
    toolCallsMade.push(...result.toolCalls);
    if (body.stream === true) return stream(res, body, result, options);
    sendJson(res, 200, {
      id: `chatcmpl-${Date.now()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      ...identity(body, vendor),
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: result.content,
            refusal: result.refusal,
            ...(result.reasoning !== null ? { reasoning_content: result.reasoning } : {}),
            ...(result.toolCalls.length > 0 ? { tool_calls: result.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) } : {}),
            ...(result.functionCall ? { function_call: result.functionCall } : {}),
          },
          finish_reason: result.finishReason,
          logprobs: result.refusal !== null ? logprobsOf(body, pieces(result.refusal, 8), "refusal") : logprobsOf(body, result.content === null ? [] : pieces(result.content)),
        },
      ],
      usage: result.usage,
    });
  });
  return Object.assign(server, {
    baseUrl: `${server.origin}/v1`,
    options,
    chatRequests: () => server.requests.filter((r) => r.path === "/v1/chat/completions").map((r) => r.body as Json),
    responsesRequests: () => server.requests.filter((r) => r.path === "/v1/responses").map((r) => r.body as Json),
    toolCallsMade,
    failKey: (key: string, answer: Extract<Scripted, { kind: "error" }> | undefined) => void (answer ? failingKeys.set(key, answer) : failingKeys.delete(key)),
  });
}
