import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { pieces, sendJson, sleep, startFakeServer, type FakeServer } from "./fake-server.js";
import { droppedConnection } from "./stream-writing.js";

/**
 * A fake Alibaba DashScope native API. It enforces the documented rules and
 * answers in the documented shapes:
 * - `Authorization: Bearer <key>`, else 401 InvalidApiKey;
 * - messages only inside `input` (else 400 InvalidParameter), settings inside `parameters`;
 * - `result_format` defaults to "text" (answer in `output.text`); tools need "message";
 * - temperature in [0, 2), top_p in (0, 1], JSON mode needs the word "json" in the prompt;
 * - `stop` a string or a list of strings (../shared/reference/vendor-wire-formats.md §3a, DashScope
 *   native request parameters: "`stop` (string or list)");
 * - response_format only of type "text" or "json_object": the native API documents JSON mode
 *   as `{type:"json_object"}` and no other type (../shared/reference/vendor-wire-formats.md,
 *   DashScope native request parameters), so `json_schema` is refused, not ignored;
 * - streaming with `X-DashScope-SSE: enable`: `id:`/`event:result`/`:HTTP_STATUS/200`/`data:`
 *   frames with no space after the colon, cumulative usage, finish_reason "null" until
 *   the end, and the whole text so far in each chunk unless `incremental_output` is true
 *   (with it, each chunk is only the new text: help.aliyun.com/zh/model-studio/use-qwen-by-calling-api);
 * - hybrid thinking models (`enable_thinking`, within `thinking_budget`) answer
 *   their reasoning first, as `reasoning_content` (help.aliyun.com/zh/model-studio/deep-thinking);
 *   QwQ always reasons, open-source Qwen3 (qwen3-32b, qwen3-235b-a22b) unless `enable_thinking` is false;
 * - "Qwen3 open-source edition, QwQ commercial and open-source editions, QVQ, and Qwen-Omni support
 *   only streaming output" (https://help.aliyun.com/en/model-studio/stream): a non-stream call to
 *   QwQ, QVQ or Omni is refused ("This model only support stream mode, …", as the vendor spells it), and one that would think (enable_thinking true, or an open-source
 *   Qwen3 left at its default) is refused with "parameter.enable_thinking must be set to false for
 *   non-streaming calls" (the real message, langchain4j/langchain4j#3974, coze-dev/coze-studio#324);
 * - the answer echoes the last user message ("Echo: …"); with tools it calls the forced
 *   or first tool with {"query": …}; after a tool message it answers "Tool result: …".
 */
export interface DashScopeFakeOptions {
  apiKey: string;
  models?: string[];
  chunkDelayMs?: number;
  extraWords?: number;
  /** The answer's text as these pieces, each a chunk of a stream (to test answers that repeat themselves). */
  answerPieces?: string[];
  /**
   * Streams: the connection is dropped after the chunk with the finish reason and the final usage, where the
   * body would have ended (DashScope sends no end marker): a vendor's connection lost once it had said the answer's end.
   */
  dropAfterFinish?: boolean;
}

export interface DashScopeFake extends FakeServer {
  /** The base URL to configure, ".../api/v1". */
  readonly baseUrl: string;
  readonly options: DashScopeFakeOptions;
  generationRequests(): { headers: Record<string, unknown>; body: Json }[];
  /** The tool calls the fake made, in order, as it made them (to compare what a client received with them). */
  readonly toolCallsMade: { id: string; name: string; arguments: string }[];
  /** The next stream sends `event:error` with this code after `afterChunks` chunks. */
  failNextStream(code: string, message: string, afterChunks: number): void;
}

type Json = Record<string, any>;

const ROLES = new Set(["system", "user", "assistant", "tool"]);
const EMBEDDING_MODELS = new Set(["text-embedding-v1", "text-embedding-v2", "text-embedding-v3"]);

function invalid(res: ServerResponse, message: string): void {
  sendJson(res, 400, { code: "InvalidParameter", message, request_id: randomUUID() });
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** Returns the vendor's message when the body breaks a documented rule. */
function violation(body: Json): string | undefined {
  const messages = body.input?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'Either "prompt" or "messages" must exist and cannot both be none';
  for (const [i, m] of messages.entries()) {
    if (!ROLES.has(m.role)) return `Role must be in [system, user, assistant, tool], got messages[${i}].role=${m.role}`;
    if (typeof m.content !== "string") return `messages[${i}].content must be a string for text generation models`;
    if (m.role === "tool" && typeof m.tool_call_id !== "string") return `messages[${i}] of role tool needs tool_call_id`;
    for (const call of m.tool_calls ?? []) {
      if (m.role !== "assistant" || typeof call.function?.name !== "string" || typeof call.function?.arguments !== "string") return `messages[${i}].tool_calls is invalid`;
    }
  }
  const p: Json = body.parameters ?? {};
  if (p.temperature !== undefined && !(typeof p.temperature === "number" && p.temperature >= 0 && p.temperature < 2)) return "Temperature should be in [0.0, 2.0)";
  if (p.top_p !== undefined && !(typeof p.top_p === "number" && p.top_p > 0 && p.top_p <= 1)) return "Range of top_p should be (0.0, 1.0]";
  if (p.max_tokens !== undefined && !(Number.isInteger(p.max_tokens) && p.max_tokens > 0)) return "max_tokens must be a positive integer";
  if (p.presence_penalty !== undefined && !(p.presence_penalty >= -2 && p.presence_penalty <= 2)) return "presence_penalty should be in [-2.0, 2.0]";
  if (p.stop !== undefined && !(typeof p.stop === "string" || (Array.isArray(p.stop) && p.stop.every((s: unknown) => typeof s === "string")))) {
    return `stop must be a string or a list of strings, got ${JSON.stringify(p.stop)}`;
  }
  if (p.result_format !== undefined && !["text", "message"].includes(p.result_format)) return 'result_format must be "text" or "message"';
  if (p.enable_thinking !== undefined && typeof p.enable_thinking !== "boolean") return "enable_thinking must be a boolean";
  if (p.thinking_budget !== undefined && !(Number.isInteger(p.thinking_budget) && p.thinking_budget > 0 && p.thinking_budget <= 38_912)) return "thinking_budget must be an integer from 1 to 38912";
  if (p.tools !== undefined) {
    if (p.result_format !== "message") return 'tools need result_format "message"';
    for (const [i, tool] of p.tools.entries()) if (tool.type !== "function" || typeof tool.function?.name !== "string") return `tools[${i}] is invalid`;
  }
  const choice = p.tool_choice;
  if (choice !== undefined && !(choice === "auto" || choice === "none" || choice === "required" || typeof choice?.function?.name === "string")) return "tool_choice is invalid";
  const format = p.response_format?.type;
  if (format !== undefined && !["text", "json_object"].includes(format)) return `response_format.type must be "text" or "json_object", got ${JSON.stringify(format)}`;
  if (format === "json_object" && !JSON.stringify(messages).toLowerCase().includes("json")) {
    return "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.";
  }
  return undefined;
}

/** QwQ, QVQ and Qwen-Omni answer only as a stream. */
const STREAM_ONLY_MODELS = /^(qwq|qvq)|^qwen.*-omni/;
/** Open-source Qwen3, named by size (qwen3-32b, qwen3-235b-a22b-thinking-2507): they think unless told not to. */
const OPEN_SOURCE_QWEN3 = /^qwen3-[\d.]+b(-|$)/;

/** Whether the model reasons for this request: QwQ always; open-source Qwen3 by default; others when `enable_thinking` is true. */
function thinks(body: Json): boolean {
  const enabled = body.parameters?.enable_thinking;
  return /^qwq/.test(body.model) || enabled === true || (enabled === undefined && OPEN_SOURCE_QWEN3.test(body.model));
}

/** DashScope's refusal of a non-stream call the model answers only as a stream. */
function nonStreamRefusal(body: Json): string | undefined {
  if (STREAM_ONLY_MODELS.test(body.model)) return "This model only support stream mode, please enable the stream parameter to access the model. ";
  if (thinks(body)) return "parameter.enable_thinking must be set to false for non-streaming calls";
  return undefined;
}

interface Answer {
  content: string;
  /** The pieces a stream sends the content in. */
  pieces: string[];
  reasoning: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  inputTokens: number;
}

function answer(body: Json, options: DashScopeFakeOptions): Answer {
  const messages: Json[] = body.input.messages;
  const p: Json = body.parameters ?? {};
  const last = messages[messages.length - 1]!;
  const inputTokens = messages.reduce((sum, m) => sum + words(m.content) + 3, 0);
  const userText = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const tools: Json[] = p.tools ?? [];
  const reasoning = thinks(body) ? `Thinking about ${userText}.` : "";
  if (tools.length > 0 && p.tool_choice !== "none" && last.role === "user") {
    const name = p.tool_choice?.function?.name ?? tools[0]!.function.name;
    return { content: "", pieces: [], reasoning, toolCalls: [{ id: `call_${randomUUID().slice(0, 8)}`, name, arguments: JSON.stringify({ query: userText }) }], finishReason: "tool_calls", inputTokens };
  }
  if (options.answerPieces) return { content: options.answerPieces.join(""), pieces: options.answerPieces, reasoning, toolCalls: [], finishReason: "stop", inputTokens };
  let text = last.role === "tool" ? `Tool result: ${last.content}` : `Echo: ${userText}`;
  if (options.extraWords) text += " " + Array.from({ length: options.extraWords }, (_, i) => `word${i}`).join(" ");
  let finishReason = "stop";
  if (typeof p.max_tokens === "number" && words(text) > p.max_tokens) {
    text = text.split(/\s+/).slice(0, p.max_tokens).join(" ");
    finishReason = "length";
  }
  if (p.response_format?.type === "json_object") text = JSON.stringify({ answer: text });
  return { content: text, pieces: pieces(text), reasoning, toolCalls: [], finishReason, inputTokens };
}

function usage(inputTokens: number, outputTokens: number, reasoningTokens = 0) {
  const out: Json = { input_tokens: inputTokens, output_tokens: outputTokens + reasoningTokens, total_tokens: inputTokens + outputTokens + reasoningTokens };
  if (reasoningTokens > 0) out.output_tokens_details = { reasoning_tokens: reasoningTokens };
  return out;
}

interface StreamFault {
  code: string;
  message: string;
  afterChunks: number;
}

async function stream(res: ServerResponse, body: Json, result: Answer, options: DashScopeFakeOptions, fault: StreamFault | undefined): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream;charset=UTF-8", "cache-control": "no-cache" });
  const requestId = randomUUID();
  const incremental = body.parameters?.incremental_output === true;
  let n = 0;
  const frame = (event: string, status: number, data: Json) => {
    n += 1;
    res.write(`id:${n}\nevent:${event}\n:HTTP_STATUS/${status}\ndata:${JSON.stringify(data)}\n\n`);
  };
  // Reasoning pieces, content pieces, then tool-call argument pieces, each as (text so far, increment).
  const steps: { content: string; reasoning?: string; toolCalls: Json[] }[] = [];
  let thought = "";
  for (const piece of result.reasoning ? pieces(result.reasoning, 6) : []) {
    thought += piece;
    steps.push({ content: "", reasoning: incremental ? piece : thought, toolCalls: [] });
  }
  let text = "";
  for (const piece of result.pieces) {
    text += piece;
    steps.push({ content: incremental ? piece : text, toolCalls: [] });
  }
  for (const [index, call] of result.toolCalls.entries()) {
    let args = "";
    steps.push({ content: incremental ? "" : text, toolCalls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] });
    for (const piece of pieces(call.arguments, 5)) {
      args += piece;
      steps.push({
        content: incremental ? "" : text,
        toolCalls: [incremental ? { index, id: "", type: "function", function: { arguments: piece } } : { index, id: call.id, type: "function", function: { name: call.name, arguments: args } }],
      });
    }
  }
  let output = 0;
  for (const [i, step] of steps.entries()) {
    if (res.destroyed) return;
    if (fault && i === fault.afterChunks) {
      frame("error", 500, { code: fault.code, message: fault.message, request_id: requestId });
      res.end();
      return;
    }
    output += 1;
    const message: Json = { role: "assistant", content: step.content };
    if (step.reasoning !== undefined) message.reasoning_content = step.reasoning;
    if (step.toolCalls.length > 0) message.tool_calls = step.toolCalls;
    frame("result", 200, { output: { choices: [{ message, finish_reason: "null" }] }, usage: usage(result.inputTokens, output), request_id: requestId });
    if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
  }
  const final: Json = { role: "assistant", content: incremental ? "" : text };
  frame("result", 200, {
    output: { choices: [{ message: final, finish_reason: result.finishReason }] },
    usage: usage(result.inputTokens, words(result.content) + (result.toolCalls.length > 0 ? 10 : 0), words(result.reasoning)),
    request_id: requestId,
  });
  if (options.dropAfterFinish) return droppedConnection(res);
  res.end();
}

export async function startDashScopeFake(options: DashScopeFakeOptions): Promise<DashScopeFake> {
  const models = options.models ?? ["qwen-plus", "qwen-turbo", "qwen-max", "qwen2.5-72b-instruct", "qwq-plus", "qwen3-235b-a22b"];
  const faults: StreamFault[] = [];
  const toolCallsMade: DashScopeFake["toolCallsMade"] = [];
  const server = await startFakeServer(async (req, res) => {
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { code: "InvalidApiKey", message: "Invalid API-key provided.", request_id: randomUUID() });
    }
    if (req.method === "POST" && req.path === "/api/v1/services/embeddings/text-embedding/text-embedding") {
      const body = req.body as Json;
      if (!EMBEDDING_MODELS.has(body.model)) return invalid(res, "Model not exist.");
      const texts = body.input?.texts;
      if (!Array.isArray(texts) || texts.length === 0 || texts.length > 10) return invalid(res, "input.texts must hold 1 to 10 texts");
      const dimension = body.parameters?.dimension ?? (body.model === "text-embedding-v3" ? 1024 : 1536);
      if (body.parameters?.dimension !== undefined && (body.model !== "text-embedding-v3" || ![1024, 768, 512, 256, 128, 64].includes(dimension))) {
        return invalid(res, "dimension is not supported for this model");
      }
      // Each text at most 8,192 tokens (text-embedding-v3; help.aliyun.com/zh/model-studio/text-embedding-synchronous-api).
      if (texts.some((text: string) => words(text) > 8_192)) return invalid(res, "Range of input length should be [1, 8192]");
      const tokens = texts.reduce((sum: number, text: string) => sum + words(text), 0);
      return sendJson(res, 200, {
        output: { embeddings: texts.map((text: string, text_index: number) => ({ text_index, embedding: Array.from({ length: dimension }, (_, d) => ((text.length + d) % 3) / 3) })) },
        usage: { total_tokens: tokens },
        request_id: randomUUID(),
      });
    }
    if (req.method !== "POST" || req.path !== "/api/v1/services/aigc/text-generation/generation") {
      return sendJson(res, 404, { code: "NotFound", message: `Not found: ${req.method} ${req.path}`, request_id: randomUUID() });
    }
    if (typeof req.body !== "object" || req.body === null) return invalid(res, "Request body is not valid JSON");
    const body = req.body as Json;
    if (typeof body.model !== "string" || !models.includes(body.model)) return invalid(res, "Model not exist.");
    const problem = violation(body);
    if (problem) return invalid(res, problem);
    const streaming = req.headers["x-dashscope-sse"] === "enable" || String(req.headers.accept ?? "").includes("text/event-stream");
    const streamOnly = streaming ? undefined : nonStreamRefusal(body);
    if (streamOnly) return invalid(res, streamOnly);
    const result = answer(body, options);
    toolCallsMade.push(...result.toolCalls);
    if (streaming) return stream(res, body, result, options, faults.shift());
    const requestId = randomUUID();
    const outputTokens = words(result.content) + (result.toolCalls.length > 0 ? 10 : 0);
    if ((body.parameters?.result_format ?? "text") === "text") {
      return sendJson(res, 200, { output: { text: result.content, finish_reason: result.finishReason }, usage: usage(result.inputTokens, outputTokens), request_id: requestId });
    }
    const message: Json = { role: "assistant", content: result.content };
    if (result.reasoning) message.reasoning_content = result.reasoning;
    if (result.toolCalls.length > 0) message.tool_calls = result.toolCalls.map((c, index) => ({ index, id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    sendJson(res, 200, { output: { choices: [{ finish_reason: result.finishReason, message }] }, usage: usage(result.inputTokens, outputTokens, words(result.reasoning)), request_id: requestId });
  });
  return Object.assign(server, {
    baseUrl: `${server.origin}/api/v1`,
    options,
    toolCallsMade,
    generationRequests: () =>
      server.requests.filter((r) => r.path === "/api/v1/services/aigc/text-generation/generation").map((r) => ({ headers: r.headers as Record<string, unknown>, body: r.body as Json })),
    failNextStream: (code: string, message: string, afterChunks: number) => void faults.push({ code, message, afterChunks }),
  });
}
