import { createHmac, randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { pieces, sendJson, sleep, startFakeServer, type FakeServer, type RecordedRequest, type Scripted } from "./fake-server.js";
import { droppedConnection } from "./stream-writing.js";

/**
 * A fake Anthropic Messages API. It enforces the documented request rules
 * (x-api-key and anthropic-version headers, required max_tokens, system
 * messages in `messages` only for the models that take them and only where
 * they may stand, temperature 0-1, alternating roles, tool_result blocks
 * answering the previous turn's tool_use ids and coming first, tool_use ids
 * unique in the conversation, tool names unique, stop sequences neither
 * empty nor whitespace only, thinking blocks only with the signature the
 * fake gave them, no unknown fields) and answers in the documented shapes:
 * - the answer echoes the last user text ("Echo: …");
 * - with tools (and tool_choice not "none") it calls the forced or first tool
 *   with {"query": …}, after a short text when the model chose freely (or
 *   the tool `toolCall` names, or none);
 * - after tool results it answers "Tool result: …";
 * - max_tokens (in words here) cuts the answer with stop_reason "max_tokens";
 *   with `contextWindow`, a prompt and answer that fill it cut the answer with
 *   stop_reason "model_context_window_exceeded", as Claude Sonnet 4.5 on does;
 * - streams are the full typed event sequence, a `ping` included;
 * - with `thinking` enabled or adaptive (or always, on the models that
 *   always think) it thinks first: a signed thinking block (or,
 *   with `redactThinking`, a redacted one), streamed as thinking_delta and
 *   signature_delta; in a tool-use loop the assistant turn must come back
 *   starting with its thinking blocks, text and signature unchanged
 *   (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking);
 * - a user message with "[refuse]" ends with stop_reason "refusal".
 */
export interface AnthropicFakeOptions {
  apiKey: string;
  models?: string[];
  /** Delay between stream events. */
  chunkDelayMs?: number;
  /** Words of filler appended to each answer (for long streams). */
  extraWords?: number;
  /** Prompt-cache counts to report in usage: reads, and writes (of them, `cacheCreation1hTokens` kept for an hour, the rest for five minutes). */
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  cacheCreation1hTokens?: number;
  /** Thinking comes back encrypted, as redacted_thinking blocks. */
  redactThinking?: boolean;
  /**
   * A compaction step the answer reports, as Anthropic's server-side compaction
   * does: in `usage.iterations` (a `compaction` entry, then the `message` one),
   * left out of the top-level counts.
   */
  compaction?: { input_tokens: number; output_tokens: number };
  /**
   * The model an answer names, by the one asked, where they differ: an alias
   * answers as the dated model it points to ("claude-sonnet-4-5" as
   * "claude-sonnet-4-5-20250929"). Unset, an answer names the model asked.
   */
  modelVersions?: Record<string, string>;
  /** The tool the model calls when it may (undefined: it answers in words); unset, the forced or first tool with {"query": …}. */
  toolCall?: (body: Json) => { name: string; input: Json } | undefined;
  /** Streams: the connection is dropped after message_delta (the stop reason and final usage), where message_stop goes. */
  dropBeforeMessageStop?: boolean;
  /** The model's context window, in the fake's tokens (words): prompt and answer together; unset, unbounded. */
  contextWindow?: number;
}

export interface AnthropicFake extends FakeServer {
  /** The base URL to configure: the origin, as Anthropic's SDKs take it. */
  readonly baseUrl: string;
  readonly options: AnthropicFakeOptions;
  messageRequests(): Json[];
  /** The tool calls the fake made, in order, as it made them (to compare what a client received with them). */
  readonly toolCallsMade: { id: string; name: string; arguments: string }[];
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
  // Automatic prompt caching: one breakpoint for the whole request (@anthropic-ai/sdk 1.15, MessageCreateParamsBase.cache_control).
  "cache_control",
]);
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/**
 * Fields of beta features, taken only with the beta named in `anthropic-beta`
 * (context editing: https://docs.anthropic.com/en/docs/build-with-claude/context-editing,
 * "context-management-2025-06-27"); without it they are extra inputs.
 */
const BETA_FIELDS: Record<string, string> = { context_management: "context-management-" };

/**
 * Models that take temperature or top_p, not both: "`temperature` and `top_p`
 * cannot both be specified for this model" (Claude Opus 4.1 and the 4.5
 * family on, https://docs.anthropic.com/en/docs/about-claude/models/migrating-to-claude-4).
 */
const ONE_SAMPLING_KNOB = /^claude-(opus-4-[1-9]|sonnet-4-[5-9]|haiku-4-[5-9])/;

/**
 * Mid-conversation system messages
 * (https://platform.claude.com/docs/en/build-with-claude/mid-conversation-system-messages):
 * `{role: "system", content: string | text blocks}` in `messages`, taken
 * from Claude Opus 4.8 on, no beta header; the models released before refuse
 * the role with "role 'system' is not supported on this model". Placement
 * (the page's limitations): never first, right after a user message (or an
 * assistant message ending in server_tool_use, which the fake has none of),
 * and the last message or right before an assistant message.
 */
const BEFORE_OPUS_4_8 = /^claude-(3-|sonnet-4|haiku-4|opus-4(-[0-7])?(-\d{8})?$)/;

function systemMessageViolation(body: Json, i: number): string | undefined {
  if (BEFORE_OPUS_4_8.test(body.model)) return "role 'system' is not supported on this model";
  if (i === 0) return "messages.0: a system message cannot be the first message; use the top-level `system` parameter";
  if (body.messages[i - 1].role !== "user") return `messages.${i}: a system message must immediately follow a user message`;
  const next = body.messages[i + 1];
  if (next !== undefined && next.role !== "assistant") return `messages.${i}: a system message must be the last message or be followed by an assistant message`;
  const content = body.messages[i].content;
  if (typeof content === "string") return content === "" ? `messages.${i}.content: system messages must have non-empty content` : undefined;
  if (!Array.isArray(content) || content.length === 0) return `messages.${i}.content: Input should be a valid string or a list of text blocks`;
  for (const [j, block] of content.entries()) {
    if (block?.type !== "text" || typeof block.text !== "string" || block.text === "") return `messages.${i}.content.${j}: system messages take non-empty text blocks only`;
  }
  return undefined;
}

/** The conversation's turns: the system messages in it are instructions, not turns. */
function turnsOf(messages: Json[]): Json[] {
  return messages.filter((m) => m.role !== "system");
}

/** What the fake signed: thinking blocks by signature (the text they sign), redacted blocks by data. */
export interface Issued {
  signatures: Map<string, string>;
  redacted: Set<string>;
}

/** A scripted Anthropic error answer, shaped as the API sends them. */
export function anthropicError(status: number, type: string, message: string, headers?: Record<string, string>): Scripted {
  return { kind: "error", status, body: { type: "error", error: { type, message }, request_id: `req_${Date.now()}` }, headers };
}

/**
 * Anthropic's 429 for a per-minute token limit, with the rate-limit headers
 * of the bucket its sentence names. The sentence is Anthropic's as its users
 * report it (github.com/continuedev/continue/issues/12057, 2026; the older
 * "This request would exceed the rate limit for your organization (…) of
 * 40,000 input tokens per minute", github.com/bhouston/mycoder/issues/62);
 * the headers (`remaining` rounded to the nearest thousand, `retry-after` on
 * a 429) are documented at docs.claude.com/en/api/rate-limits and in
 * ../shared/reference/vendor-wire-formats.md §4. `remaining` equal to
 * `limit` is a full bucket refusing the request: the request alone is over
 * the limit.
 */
export function overTokensPerMinute(bucket: "input" | "output", limit: number, remaining: number, retryAfterSeconds = 30): Scripted {
  const message =
    `This request would exceed your organization's rate limit of ${limit.toLocaleString("en-US")} ${bucket} tokens per minute (org: 00000000-0000-0000-0000-000000000000, model: claude-sonnet-4-5). ` +
    "For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. " +
    "Please reduce the prompt length or the maximum tokens requested, or try again later.";
  return anthropicError(429, "rate_limit_error", message, {
    "retry-after": String(retryAfterSeconds),
    [`anthropic-ratelimit-${bucket}-tokens-limit`]: String(limit),
    [`anthropic-ratelimit-${bucket}-tokens-remaining`]: String(remaining),
    [`anthropic-ratelimit-${bucket}-tokens-reset`]: new Date(Date.UTC(2026, 0, 1)).toISOString(),
  });
}

/**
 * Anthropic's 429 once the organization crossed its usage tier's monthly
 * spend cap: rate_limit_error with `details.error_code`
 * "enforced_spend_limit_reached" and no `retry-after`
 * (docs.claude.com/en/api/rate-limits, "Spend limits").
 */
export function spendCapReached(): Scripted {
  const message =
    "You have reached your API usage limits: your organization has crossed its monthly API usage threshold, set based on your organization's API tier. You will regain access on 2026-09-01 at 00:00 UTC.";
  return { kind: "error", status: 429, body: { type: "error", error: { type: "rate_limit_error", message, details: { error_code: "enforced_spend_limit_reached" } }, request_id: "req_1" } };
}

function reject(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type: "error", error: { type, message }, request_id: `req_${Date.now()}` }, { "request-id": `req_${Date.now()}` });
}

function blocksOf(content: unknown): Json[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : [];
}

/**
 * Models that always think adaptively: `thinking` left out is adaptive, and
 * "disabled" or a budget is refused (Claude Opus 5.5 and Fable 5.1; Sonnet 5.5
 * takes only "between_tools" to think less, which the gateway never sends),
 * https://platform.claude.com/docs/en/models/opus-5-5/whats-new-opus-5-5.
 */
const ALWAYS_THINKS = /^claude-(opus-5-5|fable-5-1|sonnet-5-5)(-|$)/;

/** Whether the model thinks on this request: asked to (a budget, or adaptive thinking), or always. */
function thinks(body: Json): boolean {
  const type = body.thinking?.type;
  return type === "enabled" || type === "adaptive" || (type === undefined && ALWAYS_THINKS.test(body.model));
}

/** The extended-thinking rules (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking), and adaptive thinking's, with the API's wording. */
function thinkingViolation(body: Json): string | undefined {
  const thinking = body.thinking;
  if (thinking !== undefined && thinking.type !== "adaptive" && ALWAYS_THINKS.test(body.model)) {
    return `"thinking.type.${thinking.type}" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.`;
  }
  if (!thinks(body)) {
    if (thinking !== undefined && thinking.type !== "disabled") return "thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'";
    return undefined;
  }
  if (thinking?.type === "enabled" && (!Number.isInteger(thinking.budget_tokens) || thinking.budget_tokens < 1024)) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
  if (thinking?.type === "enabled" && body.max_tokens <= thinking.budget_tokens) return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size";
  if (body.temperature !== undefined && body.temperature !== 1) return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility";
  if (body.top_p !== undefined && !(body.top_p >= 0.95 && body.top_p <= 1)) return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.";
  if (body.tool_choice?.type === "any" || body.tool_choice?.type === "tool") return "Thinking may not be enabled when `tool_choice` forces tool use.";
  return undefined;
}

/**
 * While thinking, the assistant turn that led to the tool results being sent
 * must start with its thinking blocks, returned as they were given: the text
 * and signature of each unchanged (the signature is checked), redacted blocks'
 * data as it was.
 */
function replayViolation(body: Json, issued: Issued): string | undefined {
  const thinking = thinks(body);
  for (const [i, m] of body.messages.entries()) {
    for (const [j, block] of blocksOf(m.content).entries()) {
      if (block.type === "thinking" && issued.signatures.get(block.signature) !== block.thinking) return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      if (block.type === "redacted_thinking" && !issued.redacted.has(block.data)) return `messages.${i}.content.${j}: Invalid \`data\` in \`redacted_thinking\` block`;
    }
  }
  const turns = turnsOf(body.messages);
  const turn = turns.at(-2);
  const inToolLoop = turn !== undefined && blocksOf(turns.at(-1)!.content).some((b) => b.type === "tool_result");
  if (!thinking || !inToolLoop) return undefined;
  const first = blocksOf(turn.content)[0];
  if (first?.type !== "thinking" && first?.type !== "redacted_thinking") {
    return `messages.${body.messages.indexOf(turn)}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`;
  }
  return undefined;
}

/** Returns an error message when the body breaks one of Anthropic's documented rules. */
export function violation(body: Json, issued: Issued = { signatures: new Map(), redacted: new Set() }, betas: string[] = []): string | undefined {
  for (const key of Object.keys(body)) {
    const beta = BETA_FIELDS[key];
    if (!TOP_LEVEL.has(key) && !(beta && betas.some((name) => name.startsWith(beta)))) return `${key}: Extra inputs are not permitted`;
  }
  if (typeof body.model !== "string" || body.model === "") return "model: Field required";
  if (body.max_tokens === undefined) return "max_tokens: Field required";
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) return "max_tokens: Input should be a valid integer greater than or equal to 1";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages: Field required";
  if (body.temperature !== undefined && !(typeof body.temperature === "number" && body.temperature >= 0 && body.temperature <= 1)) {
    return "temperature: Input should be less than or equal to 1";
  }
  if (body.top_p !== undefined && !(body.top_p >= 0 && body.top_p <= 1)) return "top_p: Input should be less than or equal to 1";
  if (body.temperature !== undefined && body.top_p !== undefined && ONE_SAMPLING_KNOB.test(body.model)) {
    return "`temperature` and `top_p` cannot both be specified for this model. Please use only one.";
  }
  const thinking = thinkingViolation(body);
  if (thinking) return thinking;
  if (body.stop_sequences !== undefined && !(Array.isArray(body.stop_sequences) && body.stop_sequences.every((s: unknown) => typeof s === "string"))) {
    return "stop_sequences: Input should be a valid list of strings";
  }
  // As the API words them: github.com/MegaGrindStone/mcp-web-ui/issues/5 (`stop_sequences: ["", "\n"]`) and BerriAI/litellm#3286 (`stop: ["\n"]`).
  if (body.stop_sequences?.some((s: string) => s === "")) return "stop_sequences: each stop sequence must be non-empty";
  if (body.stop_sequences?.some((s: string) => s.trim() === "")) return "stop_sequences: each stop sequence must contain non-whitespace";
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
    // As the API words it: github.com/anthropics/claude-code/issues/10687.
    if (toolNames.has(tool.name)) return "tools: Tool names must be unique.";
    toolNames.add(tool.name);
  }
  if (body.tool_choice !== undefined) {
    if (!body.tools?.length) return "tool_choice: tool_choice may only be specified while providing tools";
    if (!["auto", "any", "tool", "none"].includes(body.tool_choice.type)) return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'";
    if (body.tool_choice.type === "tool" && !toolNames.has(body.tool_choice.name)) return `tool_choice.name: tool "${body.tool_choice.name}" is not among the tools`;
  }
  let previousToolUses = new Set<string>();
  const everyToolUse = new Set<string>();
  for (const [i, m] of body.messages.entries()) {
    if (m.role === "system") {
      const misplaced = systemMessageViolation(body, i);
      if (misplaced) return misplaced;
      continue;
    }
    if (m.role !== "user" && m.role !== "assistant") return `messages.${i}.role: Input should be 'user', 'assistant' or 'system'`;
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
        case "thinking":
        case "redacted_thinking":
          if (m.role !== "assistant") return `${at}: thinking blocks are only allowed in assistant messages`;
          break;
        case "tool_use":
          if (m.role !== "assistant") return `${at}: tool_use blocks are only allowed in assistant messages`;
          if (typeof block.id !== "string" || !/^[a-zA-Z0-9_-]+$/.test(block.id)) return `${at}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
          if (block.input === null || typeof block.input !== "object" || Array.isArray(block.input)) return `${at}.input: Input should be a valid dictionary`;
          // One id a call in the whole conversation, as the API words it (https://github.com/anthropics/claude-code/issues/21317).
          if (everyToolUse.has(block.id)) return `${at}: \`tool_use\` ids must be unique`;
          everyToolUse.add(block.id);
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
  return replayViolation(body, issued);
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

function answer(body: Json, options: AnthropicFakeOptions, issued: Issued, secret: Buffer): Answer {
  const thought = thinkingBlocks(body, options, issued, secret);
  const result = plainAnswer(body, options);
  if (thought.length === 0) return result;
  const thinkingTokens = words(thought.map((b) => b.thinking ?? "x").join(" "));
  return { ...result, blocks: [...thought, ...result.blocks], usage: { ...result.usage, output_tokens: result.usage.output_tokens + thinkingTokens } };
}

/** The thinking the model does first when asked, signed (or encrypted) so that it can be checked when it comes back. */
function thinkingBlocks(body: Json, options: AnthropicFakeOptions, issued: Issued, secret: Buffer): Json[] {
  if (!thinks(body)) return [];
  if (options.redactThinking) {
    const data = randomBytes(24).toString("base64");
    issued.redacted.add(data);
    return [{ type: "redacted_thinking", data }];
  }
  const last = turnsOf(body.messages).at(-1)!;
  const thinking = `The user wrote ${JSON.stringify(textOf(blocksOf(last.content)) || "tool results")}; I should answer with care.`;
  const signature = createHmac("sha256", secret).update(thinking).digest("base64");
  issued.signatures.set(signature, thinking);
  return [{ type: "thinking", thinking, signature }];
}

function plainAnswer(body: Json, options: AnthropicFakeOptions): Answer {
  const messages: Json[] = body.messages;
  const last = turnsOf(messages).at(-1)!;
  const lastBlocks = blocksOf(last.content);
  const system = typeof body.system === "string" ? body.system : textOf(body.system ?? []);
  const input = words(system) + messages.reduce((sum, m) => sum + words(textOf(blocksOf(m.content))) + 3, 0);
  const usage = (output: number) => ({
    input_tokens: input,
    cache_creation_input_tokens: options.cacheCreationTokens ?? 0,
    cache_read_input_tokens: options.cacheReadTokens ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: (options.cacheCreationTokens ?? 0) - (options.cacheCreation1hTokens ?? 0), ephemeral_1h_input_tokens: options.cacheCreation1hTokens ?? 0 },
    output_tokens: output,
  });
  const results = lastBlocks.filter((b) => b.type === "tool_result");
  const userText = textOf(lastBlocks);
  const tools: Json[] = body.tools ?? [];
  const choice = body.tool_choice?.type ?? "auto";
  const scripted = options.toolCall ? options.toolCall(body) : { name: choice === "tool" ? body.tool_choice.name : tools[0]?.name, input: { query: userText } };
  if (tools.length > 0 && choice !== "none" && last.role === "user" && results.length === 0 && scripted) {
    const blocks: Json[] = [];
    // Claude explains itself before a tool call it chose freely; a forced call ("any"/"tool") is prefilled and has no text.
    if (choice === "auto") blocks.push({ type: "text", text: "Let me check." });
    blocks.push({ type: "tool_use", id: `toolu_${Math.random().toString(36).slice(2, 12)}`, name: scripted.name, input: scripted.input });
    return { blocks, stopReason: "tool_use", stopSequence: null, usage: usage(12) };
  }
  // A refusal from the streaming classifiers: the answer stops with stop_reason "refusal" (https://docs.anthropic.com/en/api/handling-stop-reasons).
  if (userText.includes("[refuse]")) return { blocks: [{ type: "text", text: "I" }], stopReason: "refusal", stopSequence: null, usage: usage(1) };
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
  const room = options.contextWindow === undefined ? Infinity : Math.max(0, options.contextWindow - input);
  if (words(text) > room) {
    text = text.split(/\s+/).slice(0, room).join(" ");
    stopReason = "model_context_window_exceeded";
    stopSequence = null;
  }
  return { blocks: [{ type: "text", text }], stopReason, stopSequence, usage: usage(words(text)) };
}

type StreamFailure = [string, string] | "cut";

/** `usage` with the compaction step the options script, and the answer's own step (`answered`), as `iterations`. */
function withIterations(usage: Json, answered: Json, options: AnthropicFakeOptions): Json {
  if (!options.compaction) return usage;
  return { ...usage, iterations: [{ type: "compaction", ...options.compaction }, { type: "message", input_tokens: answered.input_tokens, output_tokens: answered.output_tokens }] };
}

/** The model an answer names (AnthropicFakeOptions.modelVersions). */
function answeringModel(body: Json, options: AnthropicFakeOptions): string {
  return options.modelVersions?.[body.model] ?? body.model;
}

async function stream(res: ServerResponse, body: Json, result: Answer, options: AnthropicFakeOptions, failWith: StreamFailure | undefined): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  const send = async (type: string, data: Json) => {
    if (res.destroyed) throw new Error("client went away");
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
  };
  const id = `msg_${Date.now()}`;
  await send("message_start", {
    message: { id, type: "message", role: "assistant", model: answeringModel(body, options), content: [], stop_reason: null, stop_sequence: null, usage: { ...result.usage, output_tokens: 1 } },
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
      if (block.type === "thinking") {
        await send("content_block_start", { index, content_block: { type: "thinking", thinking: "" } });
        for (const piece of pieces(block.thinking, 8)) await send("content_block_delta", { index, delta: { type: "thinking_delta", thinking: piece } });
        await send("content_block_delta", { index, delta: { type: "signature_delta", signature: block.signature } });
      } else if (block.type === "redacted_thinking") {
        await send("content_block_start", { index, content_block: { type: "redacted_thinking", data: block.data } });
      } else if (block.type === "text") {
        await send("content_block_start", { index, content_block: { type: "text", text: "" } });
        for (const piece of pieces(block.text)) {
          await send("content_block_delta", { index, delta: { type: "text_delta", text: piece } });
          deltas++;
          await fail();
        }
      } else {
        await send("content_block_start", { index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } });
        await send("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } });
        // A call without input streams nothing more: Anthropic sends only the empty delta above, never "{}".
        const input = Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : "";
        for (const piece of input ? pieces(input, 5) : []) {
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
  await send("message_delta", { delta: { stop_reason: result.stopReason, stop_sequence: result.stopSequence }, usage: withIterations({ output_tokens: result.usage.output_tokens }, result.usage, options) });
  if (options.dropBeforeMessageStop) return droppedConnection(res);
  await send("message_stop", {});
  res.end();
}

export async function startAnthropicFake(options: AnthropicFakeOptions): Promise<AnthropicFake> {
  const models = options.models ?? ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"];
  const streamFailures: StreamFailure[] = [];
  const toolCallsMade: AnthropicFake["toolCallsMade"] = [];
  const issued: Issued = { signatures: new Map(), redacted: new Set() };
  const secret = randomBytes(32);
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
    const betas = String(req.headers["anthropic-beta"] ?? "").split(",").map((name) => name.trim());
    const problem = violation(body, issued, betas);
    if (problem) return reject(res, 400, "invalid_request_error", problem);
    if (!models.includes(body.model)) return reject(res, 404, "not_found_error", `model: ${body.model}`);
    const result = answer(body, options, issued, secret);
    for (const block of result.blocks) if (block.type === "tool_use") toolCallsMade.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
    if (body.stream === true) return stream(res, body, result, options, streamFailures.shift());
    sendJson(res, 200, {
      id: `msg_${Date.now()}`,
      type: "message",
      role: "assistant",
      model: answeringModel(body, options),
      content: result.blocks,
      stop_reason: result.stopReason,
      stop_sequence: result.stopSequence,
      usage: withIterations(result.usage, result.usage, options),
    });
  });
  return Object.assign(server, {
    baseUrl: server.origin,
    options,
    toolCallsMade,
    messageRequests: () => server.requests.filter((r) => r.path === "/v1/messages").map((r) => r.body as Json),
    failNextStream: (errorType: string, message: string) => void streamFailures.push([errorType, message]),
    cutNextStream: () => void streamFailures.push("cut"),
  });
}
