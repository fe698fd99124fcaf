import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { pieces, sendJson, sleep, startFakeServer, type FakeServer, type RecordedRequest } from "./fake-server.js";
import { droppedConnection } from "./stream-writing.js";

/**
 * A fake Baidu Qianfan v1 (wenxinworkshop) vendor. It enforces the documented
 * rules and answers in the documented shapes, errors included (as
 * `{error_code, error_msg}` inside HTTP 200 answers):
 * - `POST /oauth/2.0/token?grant_type=client_credentials&client_id=AK&client_secret=SK`
 *   issues access tokens; a wrong pair gets `{error:"invalid_client", …}`;
 * - chat and embeddings demand a valid `access_token` query (110 invalid, 111 expired);
 * - messages: odd count, user (or function) and assistant alternating, user first,
 *   no "system" role (the system prompt is the top-level `system` field);
 * - temperature in (0, 1], top_p in [0, 1], penalty_score in [1, 2],
 *   max_output_tokens from 2 to the model's most (2048 for the 8K models, 4096 for
 *   the 128K ones; above it, error 336003), response_format a string;
 * - functions[] need a name, a description and parameters (description is required:
 *   https://cloud.baidu.com/doc/WENXINWORKSHOP/s/clntwmv7t, functions); tool_choice is
 *   `{type:"function", function:{name}}` naming one of them (reference §2a Tools);
 * - every message needs content, an assistant's content or a function_call (336003 "the content of message i is empty");
 * - the answer echoes the last user message ("Echo: …"); with `functions` it
 *   calls the forced or first function with {"query": …}; after a function
 *   message it answers "Tool result: …"; JSON mode answers {"answer": …};
 *   max_output_tokens (in words here) cut the answer with finish_reason "length"
 *   and is_truncated (Baidu's `length` follows that flag).
 */
export interface QianfanFakeOptions {
  apiKey: string;
  secretKey: string;
  /** `expires_in` of issued tokens, in seconds (Baidu: 30 days). */
  expiresIn?: number;
  chunkDelayMs?: number;
  /** Words of filler appended to each answer (for long streams). */
  extraWords?: number;
  /**
   * Usage that counts nothing. "last-chunk": a stream's is_end chunk says 0/0/0
   * after chunks that counted; the reference (../shared/reference/vendor-wire-formats.md
   * §2a Streaming, L121: "`usage` appears in chunks; one-api keeps the last non-zero
   * value") is why a reader must keep the last non-zero one. "every-answer": every
   * answer and chunk says 0/0/0, a vendor that counts nothing (for the gateway's estimate).
   */
  zeroUsage?: "last-chunk" | "every-answer";
  /**
   * Fields that override how every answer (a stream's is_end chunk) says it
   * ended: is_truncated "the result was cut", need_clear_history (with
   * ban_round) "the input is unsafe: clear the conversation", or a finish_reason.
   */
  ending?: { finish_reason?: string; is_truncated?: boolean; need_clear_history?: boolean; ban_round?: number };
  /** Streams: the connection is dropped after the is_end chunk, where the body would have ended: a vendor's connection lost once it had said the answer's end. */
  dropAfterEnd?: boolean;
}

export interface QianfanFake extends FakeServer {
  /** The base URL to configure (the origin: the token endpoint and the API share it). */
  readonly baseUrl: string;
  readonly options: QianfanFakeOptions;
  /** Every token issued, oldest first. */
  readonly issuedTokens: string[];
  /** Makes every token issued so far answer 111 "Access token expired". */
  expireTokens(): void;
  /** While on, every token (old or new) answers 110, as for an app whose API access was withdrawn. */
  revokeAccess(revoked: boolean): void;
  tokenRequests(): RecordedRequest[];
  /** Chat requests with the endpoint they named and the token they carried. */
  chatRequests(): { endpoint: string; token: string; body: Json }[];
}

type Json = Record<string, any>;

const CHAT_ENDPOINTS = new Set(["completions_pro", "completions", "ernie-4.0-turbo-8k", "ernie-4.0-turbo-128k", "ernie-3.5-128k", "ernie_speed", "ernie-speed-128k", "ernie-speed-pro-128k", "ernie-lite-8k", "eb-instant", "ernie-tiny-8k"]);
const EMBEDDING_ENDPOINTS = new Set(["embedding-v1", "bge_large_zh", "bge_large_en", "tao_8k"]);
const CHAT_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/";
const EMBEDDING_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/";

function fail(res: ServerResponse, code: number, message: string): void {
  // wenxinworkshop reports errors with HTTP 200.
  sendJson(res, 200, { error_code: code, error_msg: message });
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The most tokens each endpoint writes (max_output_tokens' upper bound, from each model's API page). */
const MAX_OUTPUT_TOKENS: Record<string, number> = {
  "ernie-4.0-turbo-128k": 4096,
  "ernie-3.5-128k": 4096,
  "ernie-speed-128k": 4096,
  "ernie-speed-pro-128k": 4096,
  "eb-instant": 1024,
};

/** Returns [error_code, message] when the body breaks a documented rule. */
export function violation(body: Json, endpoint: string): [number, string] | undefined {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return [336003, "messages is empty"];
  if (messages.length % 2 === 0) return [336003, "the length of messages must be an odd number"];
  for (const [i, m] of messages.entries()) {
    if (m.role === "system") return [336003, `the role of message ${i} is invalid: use the system parameter for system prompts`];
    const expected = i % 2 === 0 ? ["user", "function"] : ["assistant"];
    if (i === 0 && m.role !== "user") return [336003, "the role of the first message must be user"];
    if (!expected.includes(m.role)) return [336003, `the role of message ${i} must be ${expected.join(" or ")}`];
    if (typeof m.content !== "string") return [336003, `the content of message ${i} must be a string`];
    if (m.role === "function" && typeof m.name !== "string") return [336003, `message ${i} of role function needs a name`];
    if (m.content === "" && !m.function_call) return [336003, `the content of message ${i} is empty`];
    if (m.function_call && (m.role !== "assistant" || typeof m.function_call.name !== "string" || typeof m.function_call.arguments !== "string")) {
      return [336003, `message ${i} has an invalid function_call`];
    }
  }
  if (body.system !== undefined && typeof body.system !== "string") return [336003, "system must be a string"];
  const inRange = (name: string, ok: (v: number) => boolean) => body[name] === undefined || (typeof body[name] === "number" && ok(body[name]));
  if (!inRange("temperature", (v) => v > 0 && v <= 1)) return [336001, "temperature must be in (0, 1]"];
  if (!inRange("top_p", (v) => v >= 0 && v <= 1)) return [336001, "top_p must be in [0, 1]"];
  if (!inRange("penalty_score", (v) => v >= 1 && v <= 2)) return [336001, "penalty_score must be in [1, 2]"];
  if (!inRange("max_output_tokens", (v) => Number.isInteger(v) && v >= 2)) return [336001, "max_output_tokens must be an integer of at least 2"];
  const most = MAX_OUTPUT_TOKENS[endpoint] ?? 2048;
  if (body.max_output_tokens > most) return [336003, `max_output_tokens must be in [2, ${most}]`];
  if (body.stop !== undefined && (!Array.isArray(body.stop) || body.stop.length > 4)) return [336001, "stop must be a list of at most 4 strings"];
  if (body.response_format !== undefined && !["json_object", "text"].includes(body.response_format)) return [336001, "response_format must be \"json_object\" or \"text\""];
  for (const [i, fn] of (body.functions ?? []).entries()) {
    if (typeof fn.name !== "string" || typeof fn.parameters !== "object") return [336001, `functions[${i}] needs a name and parameters`];
    if (typeof fn.description !== "string" || fn.description === "") return [336003, `functions[${i}].description is required`];
  }
  if (body.tool_choice !== undefined) {
    if (!body.functions) return [336001, "tool_choice needs functions"];
    // It forces one of the functions, as {type:"function", function:{name}} (../shared/reference/vendor-wire-formats.md
    // §2a Tools; the SDK's ToolChoice, go/qianfan/chat_completion.go): no mode words, no other shape.
    const choice = body.tool_choice;
    const named = typeof choice === "object" && choice !== null && choice.type === "function" && typeof choice.function === "object" && choice.function !== null ? choice.function.name : undefined;
    if (typeof named !== "string") return [336003, 'tool_choice must be {"type":"function","function":{"name":…}}'];
    if (!body.functions.some((fn: Json) => fn.name === named)) return [336003, `tool_choice names "${named}", which is not among functions`];
  }
  if (body.user_id !== undefined && typeof body.user_id !== "string") return [336001, "user_id must be a string"];
  return undefined;
}

interface Answer {
  result: string;
  functionCall?: { name: string; arguments: string; thoughts: string };
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function answer(body: Json, options: QianfanFakeOptions): Answer {
  const messages: Json[] = body.messages;
  const last = messages[messages.length - 1]!;
  const promptTokens = messages.reduce((sum, m) => sum + words(m.content) + 2, words(body.system ?? ""));
  const userText = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const functions: Json[] = body.functions ?? [];
  if (functions.length > 0 && last.role === "user") {
    const name = body.tool_choice?.function?.name ?? functions[0]!.name;
    return {
      result: "",
      functionCall: { name, arguments: JSON.stringify({ query: userText }), thoughts: `the user asks about ${userText}` },
      finishReason: "function_call",
      usage: usage(promptTokens, 10),
    };
  }
  let text = last.role === "function" ? `Tool result: ${JSON.parse(last.content).result}` : `Echo: ${userText}`;
  if (options.extraWords) text += " " + Array.from({ length: options.extraWords }, (_, i) => `word${i}`).join(" ");
  let finishReason = "normal";
  if (typeof body.max_output_tokens === "number" && words(text) > body.max_output_tokens) {
    text = text.split(/\s+/).slice(0, body.max_output_tokens).join(" ");
    finishReason = "length";
  }
  if (body.response_format === "json_object") text = JSON.stringify({ answer: text });
  return { result: text, finishReason, usage: usage(promptTokens, words(text)) };
}

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** How an answer says it ended, as `ending` overrides it. */
function endFields(result: Answer, options: QianfanFakeOptions): Json {
  return { is_truncated: result.finishReason === "length", need_clear_history: false, finish_reason: result.finishReason, ...options.ending };
}

async function stream(res: ServerResponse, result: Answer, options: QianfanFakeOptions): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const id = `as-${randomBytes(5).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const parts = result.functionCall ? [""] : pieces(result.result);
  for (const [i, piece] of parts.entries()) {
    if (res.destroyed) return;
    const isEnd = i === parts.length - 1;
    const chunk: Json = { id, object: "chat.completion", created, sentence_id: i, is_end: isEnd, is_truncated: false, result: piece, need_clear_history: false };
    if (isEnd) Object.assign(chunk, endFields(result, options));
    // Usage rides on every chunk; the last non-zero one is final.
    chunk.usage = isEnd ? result.usage : usage(result.usage.prompt_tokens, i + 1);
    if (options.zeroUsage === "every-answer" || (isEnd && options.zeroUsage === "last-chunk")) chunk.usage = usage(0, 0);
    if (isEnd && result.functionCall) chunk.function_call = result.functionCall;
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    if (options.chunkDelayMs && !isEnd) await sleep(options.chunkDelayMs);
  }
  // No [DONE]: the connection closes after the is_end chunk.
  if (options.dropAfterEnd) return droppedConnection(res);
  res.end();
}

export async function startQianfanFake(options: QianfanFakeOptions): Promise<QianfanFake> {
  const valid = new Set<string>();
  const expired = new Set<string>();
  const issuedTokens: string[] = [];
  let revoked = false;

  const server = await startFakeServer(async (req, res) => {
    const url = new URL(req.path, "http://fake");
    if (url.pathname === "/oauth/2.0/token") {
      if (req.method !== "POST" && req.method !== "GET") return sendJson(res, 405, { error: "invalid_request", error_description: "method not allowed" });
      if (url.searchParams.get("grant_type") !== "client_credentials") {
        return sendJson(res, 400, { error: "unsupported_grant_type", error_description: "The authorization grant type is not supported" });
      }
      if (url.searchParams.get("client_id") !== options.apiKey) return sendJson(res, 401, { error: "invalid_client", error_description: "unknown client id" });
      if (url.searchParams.get("client_secret") !== options.secretKey) return sendJson(res, 401, { error: "invalid_client", error_description: "Client authentication failed" });
      const expiresIn = options.expiresIn ?? 2_592_000;
      const token = `24.${randomBytes(16).toString("hex")}.${expiresIn}.${Math.floor(Date.now() / 1000)}.282335-${issuedTokens.length + 1}`;
      valid.add(token);
      issuedTokens.push(token);
      return sendJson(res, 200, {
        refresh_token: `25.${randomBytes(16).toString("hex")}`,
        expires_in: expiresIn,
        session_key: randomBytes(8).toString("hex"),
        access_token: token,
        scope: "public brain_all_scope wenxinworkshop_mgr",
        session_secret: randomBytes(8).toString("hex"),
      });
    }

    const isChat = url.pathname.startsWith(CHAT_PREFIX);
    const isEmbedding = url.pathname.startsWith(EMBEDDING_PREFIX);
    if (req.method !== "POST" || (!isChat && !isEmbedding)) return fail(res, 3, "Unsupported openapi method");
    const token = url.searchParams.get("access_token") ?? "";
    if (expired.has(token)) return fail(res, 111, "Access token expired");
    if (revoked || !valid.has(token)) return fail(res, 110, "Access token invalid or no longer valid");
    const endpoint = decodeURIComponent(url.pathname.slice((isChat ? CHAT_PREFIX : EMBEDDING_PREFIX).length));
    if (!(isChat ? CHAT_ENDPOINTS : EMBEDDING_ENDPOINTS).has(endpoint)) return fail(res, 3, "Unsupported openapi method");
    if (typeof req.body !== "object" || req.body === null) return fail(res, 336002, "Invalid JSON");
    const body = req.body as Json;

    if (isEmbedding) {
      const inputs = body.input;
      if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > 16 || inputs.some((t) => typeof t !== "string" || t === "")) {
        return fail(res, 336003, "input must be a list of 1 to 16 non-empty strings");
      }
      const tokens = inputs.reduce((sum: number, text: string) => sum + words(text), 0);
      return sendJson(res, 200, {
        id: `as-${randomBytes(5).toString("hex")}`,
        object: "embedding_list",
        created: Math.floor(Date.now() / 1000),
        data: inputs.map((text: string, index: number) => ({ object: "embedding", embedding: Array.from({ length: 8 }, (_, d) => ((text.length + d) % 5) / 5), index })),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    }

    const problem = violation(body, endpoint);
    if (problem) return fail(res, problem[0], problem[1]);
    const result = answer(body, options);
    if (body.stream === true) return stream(res, result, options);
    sendJson(res, 200, {
      id: `as-${randomBytes(5).toString("hex")}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      result: result.result,
      ...endFields(result, options),
      ...(result.functionCall ? { function_call: result.functionCall } : {}),
      usage: options.zeroUsage === "every-answer" ? usage(0, 0) : result.usage,
    });
  });

  return Object.assign(server, {
    baseUrl: server.origin,
    options,
    issuedTokens,
    expireTokens() {
      for (const token of valid) expired.add(token);
      valid.clear();
    },
    revokeAccess(on: boolean) {
      revoked = on;
    },
    tokenRequests: () => server.requests.filter((r) => r.path.startsWith("/oauth/2.0/token")),
    chatRequests: () =>
      server.requests
        .filter((r) => r.path.startsWith(CHAT_PREFIX))
        .map((r) => {
          const url = new URL(r.path, "http://fake");
          return { endpoint: decodeURIComponent(url.pathname.slice(CHAT_PREFIX.length)), token: url.searchParams.get("access_token") ?? "", body: r.body as Json };
        }),
  });
}
