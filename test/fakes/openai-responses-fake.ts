// OpenAI's Responses API (`POST /v1/responses`) in the fake OpenAI vendor
// (openai-fake.ts), for the models OpenAI serves there only. Rules enforced,
// each as OpenAI documents or answers it:
// - the models only on Responses are refused on Chat Completions with 400
//   "This model is only supported in v1/responses and not in
//   v1/chat/completions." (github.com/alvinunreal/tmuxai/issues/82; each
//   model's page, https://developers.openai.com/api/docs/models/gpt-5-codex:
//   "available in the Responses API only");
// - Chat Completions' fields are unknown here (messages, max_tokens,
//   max_completion_tokens, response_format, stop, seed, the penalties,
//   reasoning_effort): 400 "Unknown parameter" (the request's fields are
//   https://platform.openai.com/docs/api-reference/responses/create);
// - input items are messages (user, assistant, system, developer),
//   function_call, function_call_output and reasoning; a function_call_output
//   must follow its function_call (400 "No tool call found for function call
//   output with call_id …"), and with store false a reasoning item comes back
//   by its encrypted_content, which must be one OpenAI issued (the fake's);
// - tools are flat `{type: "function", name, parameters, strict}` (strict is
//   true unless sent false); a forced tool_choice is `{type: "function", name}`;
// - max_output_tokens is at least 16 ("integer below minimum value");
// - text.format json_schema carries name and schema flat.
// It answers as the Chat Completions fake does (echo, tool calls with
// {"query": …}, "Tool result: …", JSON formats, a cut at max_output_tokens in
// words), with a reasoning item (its encrypted_content when
// `include: ["reasoning.encrypted_content"]`), and usage in the Responses
// shape: input_tokens with input_tokens_details.cached_tokens, output_tokens
// with output_tokens_details.reasoning_tokens
// (https://platform.openai.com/docs/api-reference/responses/object). Streams
// are the documented events, numbered
// (https://platform.openai.com/docs/api-reference/responses-streaming).
import type { ServerResponse } from "node:http";
import { pieces, sendJson, sleep } from "./fake-server.js";

type Json = Record<string, any>;

/** The models OpenAI serves only on its Responses API (each model's page). */
export const RESPONSES_ONLY_MODELS = ["gpt-5-codex", "gpt-5.1-codex", "gpt-5.1-codex-mini", "gpt-5.1-codex-max", "codex-mini-latest", "o1-pro", "o3-pro", "gpt-5-pro"];

export const ONLY_ON_RESPONSES = "This model is only supported in v1/responses and not in v1/chat/completions.";

/** Reasoning tokens each answer spends. */
export const RESPONSES_REASONING_TOKENS = 7;

const CHAT_COMPLETIONS_FIELDS = ["messages", "max_tokens", "max_completion_tokens", "response_format", "stop", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort"];

export interface ResponsesFakeState {
  /** encrypted_content the fake issued: only these come back. */
  issued: Set<string>;
  /** Prompt tokens to report as cached. */
  cachedTokens?: number;
  chunkDelayMs?: number;
  extraWords?: number;
  toolCallsMade: { id: string; name: string; arguments: string }[];
}

function invalid(res: ServerResponse, message: string, param: string | null = null): void {
  sendJson(res, 400, { error: { message, type: "invalid_request_error", param, code: null } });
}

/** The rule a Responses request breaks, as OpenAI words it, and the field. */
export function responsesViolation(body: Json, state: ResponsesFakeState): [string, string | null] | undefined {
  if (typeof body.model !== "string" || body.model === "") return ["Missing required parameter: 'model'.", "model"];
  for (const field of CHAT_COMPLETIONS_FIELDS) if (body[field] !== undefined) return [`Unknown parameter: '${field}'.`, field];
  if (body.max_output_tokens !== undefined && !(Number.isInteger(body.max_output_tokens) && body.max_output_tokens >= 16)) {
    return [`Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got ${body.max_output_tokens} instead.`, "max_output_tokens"];
  }
  const items: Json[] = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
  if (!Array.isArray(items) || items.length === 0) return ["Missing required parameter: 'input'.", "input"];
  const called = new Set<string>();
  for (const [i, item] of items.entries()) {
    const type = item.type ?? "message";
    if (type === "message" && !["user", "assistant", "system", "developer"].includes(item.role)) return [`Invalid value: '${item.role}'.`, `input[${i}].role`];
    if (type === "function_call") {
      if (typeof item.call_id !== "string" || typeof item.name !== "string" || typeof item.arguments !== "string") return [`Missing required parameter: 'input[${i}].call_id'.`, `input[${i}]`];
      called.add(item.call_id);
    } else if (type === "function_call_output") {
      if (!called.has(item.call_id)) return [`No tool call found for function call output with call_id ${item.call_id}.`, "input"];
    } else if (type === "reasoning") {
      if (body.store !== false || !state.issued.has(item.encrypted_content)) return [`The encrypted content for item input[${i}] could not be verified.`, `input[${i}].encrypted_content`];
    } else if (type !== "message") {
      return [`Invalid value: '${type}'.`, `input[${i}].type`];
    }
  }
  for (const [i, tool] of (body.tools ?? []).entries()) {
    if (tool.type !== "function" || typeof tool.name !== "string") return [`Missing required parameter: 'tools[${i}].name'.`, `tools[${i}].name`];
  }
  if (typeof body.tool_choice === "object" && typeof body.tool_choice?.name !== "string") return ["Missing required parameter: 'tool_choice.name'.", "tool_choice.name"];
  const format = body.text?.format;
  if (format?.type === "json_schema" && (typeof format.name !== "string" || typeof format.schema !== "object")) return ["Missing required parameter: 'text.format.name'.", "text.format.name"];
  return undefined;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.filter((p) => p.type === "input_text" || p.type === "output_text").map((p) => p.text).join(" ");
  return "";
}

function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

let issuedCount = 0;

/** The Response to a request that broke no rule: its output items, status and usage. */
function respond(body: Json, state: ResponsesFakeState): Json {
  const items: Json[] = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
  const last = items[items.length - 1]!;
  const userText = textOf([...items].reverse().find((item) => (item.type ?? "message") === "message" && item.role === "user")?.content);
  const promptTokens = items.reduce((sum, item) => sum + words(textOf(item.content ?? item.output ?? item.arguments)) + 3, 0);
  const id = `resp_fake${Date.now()}`;
  const encrypted = `gAAAAAfake-reasoning-${++issuedCount}`;
  state.issued.add(encrypted);
  const withEncrypted = Array.isArray(body.include) && body.include.includes("reasoning.encrypted_content");
  const summary = body.reasoning?.summary ? [{ type: "summary_text", text: `Thinking about ${userText}.` }] : [];
  const output: Json[] = [{ id: `rs_${issuedCount}`, type: "reasoning", summary, ...(withEncrypted ? { encrypted_content: encrypted } : {}) }];
  let status = "completed";
  let incomplete: Json | null = null;
  let said = 0;
  const tools: Json[] = body.tools ?? [];
  if (tools.length > 0 && body.tool_choice !== "none" && (last.type ?? "message") === "message" && last.role === "user") {
    const call = { id: `call_${Date.now()}`, name: body.tool_choice?.name ?? tools[0]!.name, arguments: JSON.stringify({ query: userText }) };
    state.toolCallsMade.push(call);
    output.push({ id: `fc_${issuedCount}`, type: "function_call", status: "completed", call_id: call.id, name: call.name, arguments: call.arguments });
    said = 10;
  } else {
    let text = last.type === "function_call_output" ? `Tool result: ${textOf(last.output)}` : `Echo: ${userText}`;
    if (state.extraWords) text += " " + Array.from({ length: state.extraWords }, (_, i) => `word${i}`).join(" ");
    const limit = body.max_output_tokens;
    if (typeof limit === "number" && words(text) + RESPONSES_REASONING_TOKENS > limit) {
      text = text.split(/\s+/).slice(0, Math.max(0, limit - RESPONSES_REASONING_TOKENS)).join(" ");
      status = "incomplete";
      incomplete = { reason: "max_output_tokens" };
    }
    const format = body.text?.format?.type;
    if (format === "json_object" || format === "json_schema") text = JSON.stringify({ answer: text });
    output.push({ id: `msg_${issuedCount}`, type: "message", role: "assistant", status, content: [{ type: "output_text", text, annotations: [] }] });
    said = words(text);
  }
  const cached = Math.min(state.cachedTokens ?? 0, promptTokens);
  const usage = {
    input_tokens: promptTokens,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: said + RESPONSES_REASONING_TOKENS,
    output_tokens_details: { reasoning_tokens: RESPONSES_REASONING_TOKENS },
    total_tokens: promptTokens + said + RESPONSES_REASONING_TOKENS,
  };
  return { id, object: "response", created_at: Math.floor(Date.now() / 1000), status, error: null, incomplete_details: incomplete, model: body.model, output, usage, store: body.store !== false };
}

/** Answers `POST /v1/responses`. */
export async function answerResponses(res: ServerResponse, body: Json, state: ResponsesFakeState): Promise<void> {
  const problem = responsesViolation(body, state);
  if (problem) return invalid(res, problem[0], problem[1]);
  const response = respond(body, state);
  if (body.stream !== true) return sendJson(res, 200, response);
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let sequence = 0;
  const send = async (type: string, fields: Json) => {
    if (res.destroyed) throw new Error("client went away");
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: sequence++ })}\n\n`);
    if (state.chunkDelayMs) await sleep(state.chunkDelayMs);
  };
  const head = { ...response, status: "in_progress", output: [], usage: null, incomplete_details: null };
  await send("response.created", { response: head });
  await send("response.in_progress", { response: head });
  for (const [index, item] of (response.output as Json[]).entries()) {
    if (item.type === "reasoning") {
      await send("response.output_item.added", { output_index: index, item: { ...item, summary: [], encrypted_content: undefined } });
      for (const [s, part] of (item.summary as Json[]).entries()) {
        const where = { item_id: item.id, output_index: index, summary_index: s };
        await send("response.reasoning_summary_part.added", { ...where, part: { type: "summary_text", text: "" } });
        for (const piece of pieces(part.text, 8)) await send("response.reasoning_summary_text.delta", { ...where, delta: piece });
        await send("response.reasoning_summary_text.done", { ...where, text: part.text });
        await send("response.reasoning_summary_part.done", { ...where, part });
      }
    } else if (item.type === "message") {
      const text: string = item.content[0].text;
      await send("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress", content: [] } });
      await send("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
      for (const piece of pieces(text)) await send("response.output_text.delta", { item_id: item.id, output_index: index, content_index: 0, delta: piece });
      await send("response.output_text.done", { item_id: item.id, output_index: index, content_index: 0, text });
      await send("response.content_part.done", { item_id: item.id, output_index: index, content_index: 0, part: item.content[0] });
    } else {
      await send("response.output_item.added", { output_index: index, item: { ...item, status: "in_progress", arguments: "" } });
      for (const piece of pieces(item.arguments, 5)) await send("response.function_call_arguments.delta", { item_id: item.id, output_index: index, delta: piece });
      await send("response.function_call_arguments.done", { item_id: item.id, output_index: index, arguments: item.arguments });
    }
    await send("response.output_item.done", { output_index: index, item });
  }
  await send(response.status === "completed" ? "response.completed" : "response.incomplete", { response });
  res.end();
}
