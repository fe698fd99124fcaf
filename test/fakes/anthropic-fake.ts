import type { ServerResponse } from "node:http";
import { pieces, sendJson, sleep, startFakeServer, type FakeServer, type RecordedRequest, type Scripted } from "./fake-server.js";

/**
 * A fake Anthropic Messages API. It enforces the documented request rules
 * (x-api-key and anthropic-version headers, required max_tokens, no system
 * role in messages, temperature 0-1, alternating roles, tool_result blocks
 * answering the previous turn's tool_use ids and coming first, no unknown
 * fields) and answers in the documented shapes:
 * - the answer echoes the last user text ("Echo: …");
 * - with tools (and tool_choice not "none") it calls the forced or first tool
 *   with {"query": …}, after a short text when the model chose freely;
 * - after tool results it answers "Tool result: …";
 * - max_tokens (in words here) cuts the answer with stop_reason "max_tokens";
 * - streams are the full typed event sequence, a `ping` included.
 */
export interface AnthropicFakeOptions {
  apiKey: string;
  models?: string[];
  /** Delay between stream events. */
  chunkDelayMs?: number;
  /** Words of filler appended to each answer (for long streams). */
  extraWords?: number;
  /** Prompt-cache counts to report in usage. */
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
}

export interface AnthropicFake extends FakeServer {
  /** The base URL to configure: the origin, as Anthropic's SDKs take it. */
  readonly baseUrl: string;
  readonly options: AnthropicFakeOptions;
  messageRequests(): Json[];
  /** Makes the next stream fail with `event: error` of this type after its first delta. */
  failNextStream(errorType: string, message: string): void;
  /** Makes the next stream end after its first delta, without an error or message_stop. */
  cutNextStream(): void;
}

type Json = Record<string, any>;

const VERSION = "2023-06-01";
const TOP_LEVEL = new Set([
  "model",
  "messages",
  "max_tokens",
  "system",
  "temperature",
  "top_p",
  "top_k",
  "stop_sequences",
  "stream",
  "metadata",
  "tools",
  "tool_choice",
  "thinking",
  "service_tier",
  "container",
  "mcp_servers",
  "output_config",
]);
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/** A scripted Anthropic error answer, shaped as the API sends them. */
export function anthropicError(status: number, type: string, message: string, headers?: Record<string, string>): Scripted {
  return { kind: "error", status, body: { type: "error", error: { type, message }, request_id: `req_${Date.now()}` }, headers };
}

function reject(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type: "error", error: { type, message }, request_id: `req_${Date.now()}` }, { "request-id": `req_${Date.now()}` });
}

function blocksOf(content: unknown): Json[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : [];
}

/** Returns an error message when the body breaks one of Anthropic's documented rules. */
export function violation(body: Json): string | undefined {
  for (const key of Object.keys(body)) if (!TOP_LEVEL.has(key)) return `${key}: Extra inputs are not permitted`;
  if (typeof body.model !== "string" || body.model === "") return "model: Field required";
  if (body.max_tokens === undefined) return "max_tokens: Field required";
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) return "max_tokens: Input should be a valid integer greater than or equal to 1";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages: Field required";
  if (body.temperature !== undefined && !(typeof body.temperature === "number" && body.temperature >= 0 && body.temperature <= 1)) {
    return "temperature: Input should be less than or equal to 1";
  }
  if (body.top_p !== undefined && !(body.top_p >= 0 && body.top_p <= 1)) return "top_p: Input should be less than or equal to 1";
  if (body.stop_sequences !== undefined && !(Array.isArray(body.stop_sequences) && body.stop_sequences.every((s: unknown) => typeof s === "string" && s.trim() !== ""))) {
    return "stop_sequences: each stop sequence must be a non-empty string";
  }
  if (body.system !== undefined && typeof body.system !== "string" && !(Array.isArray(body.system) && body.system.every((b: Json) => b.type === "text"))) {
    return "system: Input should be a valid string or a list of text blocks";
  }
  if (body.metadata !== undefined) {
    for (const key of Object.keys(body.metadata)) if (key !== "user_id") return `metadata.${key}: Extra inputs are not permitted`;
  }
  const toolNames = new Set<string>();
  for (const [i, tool] of (body.tools ?? []).entries()) {
    if (typeof tool.name !== "string" || !/^[a-zA-Z0-9_-]{1,128}$/.test(tool.name)) return `tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
    if (tool.input_schema?.type !== "object") return `tools.${i}.input_schema.type: Input should be 'object'`;
    toolNames.add(tool.name);
  }
  if (body.tool_choice !== undefined) {
    if (!body.tools?.length) return "tool_choice: tool_choice may only be specified while providing tools";
    if (!["auto", "any", "tool", "none"].includes(body.tool_choice.type)) return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'";
    if (body.tool_choice.type === "tool" && !toolNames.has(body.tool_choice.name)) return `tool_choice.name: tool "${body.tool_choice.name}" is not among the tools`;
  }
  let previousToolUses = new Set<string>();
  for (const [i, m] of body.messages.entries()) {
    if (m.role === "system") {
      return 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.';
    }
    if (m.role !== "user" && m.role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (i > 0 && body.messages[i - 1].role === m.role) {
      return `messages: roles must alternate between "user" and "assistant", but found multiple "${m.role}" roles in a row`;
    }
    const blocks = blocksOf(m.content);
    if (blocks.length === 0 || (typeof m.content === "string" && m.content === "" && i < body.messages.length - 1)) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    }
    const toolUses = new Set<string>();
    const answered = new Set<string>();
    let seenOther = false;
    for (const [j, block] of blocks.entries()) {
      const at = `messages.${i}.content.${j}`;
      switch (block.type) {
        case "text":
          if (typeof block.text !== "string" || (block.text === "" && typeof m.content !== "string")) return `${at}.text: text content blocks must be non-empty`;
          seenOther = true;
          break;
        case "image": {
          const source = block.source ?? {};
          if (source.type === "base64" && (!IMAGE_TYPES.has(source.media_type) || typeof source.data !== "string")) return `${at}.source: invalid base64 image source`;
          if (source.type === "url" && !/^https?:\/\//.test(source.url ?? "")) return `${at}.source.url: invalid url`;
          if (source.type !== "base64" && source.type !== "url") return `${at}.source.type: Input should be 'base64' or 'url'`;
          seenOther = true;
          break;
        }
        case "tool_use":
          if (m.role !== "assistant") return `${at}: tool_use blocks are only allowed in assistant messages`;
          if (typeof block.id !== "string" || !/^[a-zA-Z0-9_-]+$/.test(block.id)) return `${at}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
          if (block.input === null || typeof block.input !== "object" || Array.isArray(block.input)) return `${at}.input: Input should be a valid dictionary`;
          toolUses.add(block.id);
          break;
        case "tool_result":
          if (m.role !== "user") return `${at}: tool_result blocks are only allowed in user messages`;
          if (!previousToolUses.has(block.tool_use_id)) {
            return `${at}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
          }
          if (seenOther) return `${at}: tool_result blocks must come before any other content in a user message`;
          answered.add(block.tool_use_id);
          break;
        default:
          return `${at}.type: Input tag '${block.type}' found using 'type' does not match any of the expected tags`;
      }
    }
    if (m.role === "user" && previousToolUses.size > 0) {
      const missing = [...previousToolUses].filter((id) => !answered.has(id));
      if (missing.length > 0) {
        return `messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    }
    previousToolUses = toolUses;
  }
  return undefined;
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function textOf(blocks: Json[]): string {
  return blocks
    .filter((b) => b.type === "text")
    .map((b) => b.text)
    .join(" ");
}

function resultText(block: Json): string {
  return typeof block.content === "string" ? block.content : textOf(block.content ?? []);
}

interface Answer {
  blocks: Json[];
  stopReason: string;
  stopSequence: string | null;
  usage: Json;
}

function answer(body: Json, options: AnthropicFakeOptions): Answer {
  const messages: Json[] = body.messages;
  const last = messages[messages.length - 1]!;
  const lastBlocks = blocksOf(last.content);
  const system = typeof body.system === "string" ? body.system : textOf(body.system ?? []);
  const input = words(system) + messages.reduce((sum, m) => sum + words(textOf(blocksOf(m.content))) + 3, 0);
  const usage = (output: number) => ({
    input_tokens: input,
    cache_creation_input_tokens: options.cacheCreationTokens ?? 0,
    cache_read_input_tokens: options.cacheReadTokens ?? 0,
    output_tokens: output,
  });
  const results = lastBlocks.filter((b) => b.type === "tool_result");
  const userText = textOf(lastBlocks);
  const tools: Json[] = body.tools ?? [];
  const choice = body.tool_choice?.type ?? "auto";
  if (tools.length > 0 && choice !== "none" && last.role === "user" && results.length === 0) {
    const name = choice === "tool" ? body.tool_choice.name : tools[0]!.name;
    const blocks: Json[] = [];
    // Claude explains itself before a tool call it chose freely; a forced call ("any"/"tool") is prefilled and has no text.
    if (choice === "auto") blocks.push({ type: "text", text: "Let me check." });
    blocks.push({ type: "tool_use", id: `toolu_${Math.random().toString(36).slice(2, 12)}`, name, input: { query: userText } });
    return { blocks, stopReason: "tool_use", stopSequence: null, usage: usage(12) };
  }
  let text = results.length > 0 ? `Tool result: ${results.map(resultText).join(" ")}` : `Echo: ${userText}`;
  if (options.extraWords) text += " " + Array.from({ length: options.extraWords }, (_, i) => `word${i}`).join(" ");
  let stopReason = "end_turn";
  let stopSequence: string | null = null;
  for (const sequence of body.stop_sequences ?? []) {
    const at = text.indexOf(sequence);
    if (at !== -1) {
      text = text.slice(0, at);
      stopReason = "stop_sequence";
      stopSequence = sequence;
    }
  }
  if (words(text) > body.max_tokens) {
    text = text.split(/\s+/).slice(0, body.max_tokens).join(" ");
    stopReason = "max_tokens";
  }
  return { blocks: [{ type: "text", text }], stopReason, stopSequence, usage: usage(words(text)) };
}

type StreamFailure = [string, string] | "cut";

async function stream(res: ServerResponse, body: Json, result: Answer, options: AnthropicFakeOptions, failWith: StreamFailure | undefined): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  const send = async (type: string, data: Json) => {
    if (res.destroyed) throw new Error("client went away");
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
  };
  const id = `msg_${Date.now()}`;
  await send("message_start", {
    message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...result.usage, output_tokens: 1 } },
  });
  await send("ping", {});
  let deltas = 0;
  const fail = async () => {
    if (!failWith || deltas !== 1) return;
    if (failWith === "cut") res.end();
    else res.end(`event: error\ndata: ${JSON.stringify({ type: "error", error: { type: failWith[0], message: failWith[1] } })}\n\n`);
    throw new Error("scripted stream failure");
  };
  try {
    for (const [index, block] of result.blocks.entries()) {
      if (block.type === "text") {
        await send("content_block_start", { index, content_block: { type: "text", text: "" } });
        for (const piece of pieces(block.text)) {
          await send("content_block_delta", { index, delta: { type: "text_delta", text: piece } });
          deltas++;
          await fail();
        }
      } else {
        await send("content_block_start", { index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } });
        await send("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } });
        for (const piece of pieces(JSON.stringify(block.input), 5)) {
          await send("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } });
          deltas++;
          await fail();
        }
      }
      await send("content_block_stop", { index });
    }
  } catch (err) {
    if ((err as Error).message === "scripted stream failure") return;
    throw err;
  }
  await send("message_delta", { delta: { stop_reason: result.stopReason, stop_sequence: result.stopSequence }, usage: { output_tokens: result.usage.output_tokens } });
  await send("message_stop", {});
  res.end();
}

export async function startAnthropicFake(options: AnthropicFakeOptions): Promise<AnthropicFake> {
  const models = options.models ?? ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"];
  const streamFailures: StreamFailure[] = [];
  const server = await startFakeServer(async (req: RecordedRequest, res) => {
    if (req.headers["x-api-key"] !== options.apiKey) {
      return reject(res, 401, "authentication_error", "invalid x-api-key");
    }
    if (req.headers["anthropic-version"] === undefined) {
      return reject(res, 400, "invalid_request_error", "anthropic-version: header is required");
    }
    if (req.headers["anthropic-version"] !== VERSION) {
      return reject(res, 400, "invalid_request_error", `anthropic-version: unknown version "${req.headers["anthropic-version"]}"`);
    }
    if (req.method === "GET" && req.path.split("?")[0] === "/v1/models") {
      return sendJson(res, 200, {
        data: models.map((id) => ({ id, type: "model", display_name: id, created_at: "2025-01-01T00:00:00Z" })),
        has_more: false,
        first_id: models[0],
        last_id: models[models.length - 1],
      });
    }
    if (req.method !== "POST" || req.path !== "/v1/messages") return reject(res, 404, "not_found_error", "Not found");
    if (!(req.headers["content-type"] ?? "").includes("application/json") || typeof req.body !== "object") {
      return reject(res, 400, "invalid_request_error", "request body must be JSON");
    }
    const body = req.body as Json;
    const problem = violation(body);
    if (problem) return reject(res, 400, "invalid_request_error", problem);
    if (!models.includes(body.model)) return reject(res, 404, "not_found_error", `model: ${body.model}`);
    const result = answer(body, options);
    if (body.stream === true) return stream(res, body, result, options, streamFailures.shift());
    sendJson(res, 200, {
      id: `msg_${Date.now()}`,
      type: "message",
      role: "assistant",
      model: body.model,
      content: result.blocks,
      stop_reason: result.stopReason,
      stop_sequence: result.stopSequence,
      usage: result.usage,
    });
  });
  return Object.assign(server, {
    baseUrl: server.origin,
    options,
    messageRequests: () => server.requests.filter((r) => r.path === "/v1/messages").map((r) => r.body as Json),
    failNextStream: (errorType: string, message: string) => void streamFailures.push([errorType, message]),
    cutNextStream: () => void streamFailures.push("cut"),
  });
}
