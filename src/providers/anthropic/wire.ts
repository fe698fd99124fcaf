// The Anthropic Messages wire format: system prompt out of band (and any
// later system message in place: the catalogue kept it there only for a
// model that takes it, system-placement.ts), content blocks,
// required max_tokens, tool results as user content.
import { ownEntry } from "../../common/own-entry.js";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  FinishReason,
  MessageSchema,
  Role,
  ToolCallSchema,
  type ContentPart,
  type Message,
  type ToolCall,
  type Usage,
} from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema, type ReasoningBlock } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { asObject, mergeTurns, parseDataUrl, toolArgumentsObject, type Turn } from "../message-content.js";
import { messageText } from "../message-text.js";
import type { ChatParams } from "../provider.js";
import { effortName, reasoningBudget } from "../reasoning.js";
import type { ModelTraits } from "../model-traits.js";
import { toolCallIdFitting } from "../tool-call-ids.js";
import { madeUpCallId } from "../made-up-call-id.js";
import { withUniqueToolUseIds } from "./unique-tool-use-ids.js";
import { toolChoiceIn } from "../tool-choice.js";
import { UsageCounts, type VendorUsage } from "../vendor-usage.js";
import { anthropicOriginal, withOriginal } from "./original-request.js";
import { jsonTool, jsonToolChoice, jsonToolName } from "./json-tool.js";
import { replayableTurn, thinkingMayContinue } from "./replayable-thinking.js";
import { splitSystem } from "./system-messages.js";
import type { ErrorContext } from "../codec.js";
import { vendorObject, vendorString } from "../vendor-fields.js";
import { UpstreamError } from "../upstream-error.js";

export const ANTHROPIC_VERSION = "2023-06-01";

export interface AnthropicWireOptions {
  /** Sent when the caller gives no max_tokens, which Anthropic requires. */
  defaultMaxTokens: number;
}

type Block = JsonObject;
type AnthropicTurn = Turn<"user" | "assistant" | "system", Block>;

/** Builds the request body. `vendor_options` go in first so the gateway's own fields win. */
export function toAnthropicBody(provider: string, params: ChatParams, model: string, stream: boolean, options: AnthropicWireOptions, traits: ModelTraits = {}): JsonObject {
  const body: JsonObject = { ...(params.vendorOptions ?? {}) };
  body.model = model;
  const { system, conversation } = splitSystem(params.messages);
  const systemText = system.map((m) => messageText(m, provider)).filter((text) => text !== "");
  if (systemText.length > 0) body.system = systemText.join("\n\n");
  // A model that always thinks adaptively (Claude Opus 5.5) thinks on a call that asked for none: its thinking goes as on any other call.
  const thinking = params.reasoning !== undefined || traits.adaptiveThinking === true;
  body.messages = toAnthropicMessages(provider, conversation, thinking);
  // Anthropic refuses an empty `messages` ("messages: Field required"): said here, before any vendor is asked.
  if (body.messages.length === 0) {
    throw new UpstreamError({
      kind: "bad_request",
      provider,
      message: `provider "${provider}" (Anthropic Messages) needs a user message: system messages go to the separate system prompt, and the conversation has no turn with content`,
    });
  }
  body.max_tokens = params.maxTokens ?? options.defaultMaxTokens;
  // Ranges (temperature 0-1) and what a model refuses (seed, penalties) are the model catalogue's to fit, and to report.
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.stop.length > 0) body.stop_sequences = params.stop;
  if (params.user) body.metadata = { ...asObject(body.metadata), user_id: params.user };
  const adaptive = thinking && traits.adaptiveThinking ? adaptiveThinking(params) : undefined;
  if (adaptive) Object.assign(body, adaptive);
  else if (thinking) body.thinking = { type: "enabled", budget_tokens: reasoningBudget(params)! };
  // A model that thinks unless told not to (Claude 5), on a call that asked for no reasoning.
  else if (traits.reasoningOff) body.thinking = { type: "disabled" };
  const tools: JsonObject[] = params.tools.map((tool) => {
    const out: JsonObject = { name: tool.name, input_schema: tool.parameters ?? { type: "object", properties: {} } };
    if (tool.description) out.description = tool.description;
    return out;
  });
  const json = jsonToolName(params);
  if (json !== undefined) tools.push(jsonTool(params, json));
  if (tools.length > 0) body.tools = tools;
  // While thinking, Anthropic refuses forced tool use: the JSON tool is offered, not forced.
  const toolChoice = json !== undefined ? (thinking ? { type: "auto" } : jsonToolChoice(params, json)) : toAnthropicToolChoice(params);
  if (toolChoice !== undefined && tools.length > 0) body.tool_choice = toolChoice;
  // OpenAI's parallel_tool_calls: false, as Anthropic says it (tool_choice "none" has no room for it, nor need).
  if (params.parallelToolCalls === false && tools.length > 0 && toolChoice?.type !== "none") body.tool_choice = { ...(toolChoice ?? { type: "auto" }), disable_parallel_tool_use: true };
  if (stream) body.stream = true;
  const original = anthropicOriginal(params.original);
  const sent = original ? withOriginal(body, original) : body;
  // Exactly as built: a caller's budget_tokens merged into adaptive thinking would be refused.
  if (adaptive) Object.assign(sent, adaptive);
  if (thinking && !thinkingMayContinue(sent.messages)) delete sent.thinking;
  // Also the caller's own conversation: ids a vendor without ids once made may repeat across its turns.
  if (Array.isArray(sent.messages)) sent.messages = withUniqueToolUseIds(sent.messages);
  return sent;
}

/**
 * Adaptive thinking (Claude Opus 4.7 on): Claude decides how much to think,
 * steered by `output_config.effort` (high when unset), beside the caller's
 * other output_config. Its thinking is asked for as summarized text, which
 * these models otherwise leave out ("omitted"), unless the caller of
 * `/v1/messages` chose a display of its own.
 */
function adaptiveThinking(params: ChatParams): JsonObject {
  const caller = anthropicOriginal(params.original)?.body ?? {};
  const display = asObject(caller.thinking).display;
  const out: JsonObject = { thinking: { type: "adaptive", display: typeof display === "string" ? display : "summarized" } };
  const effort = effortName(params);
  if (effort) out.output_config = { ...asObject(caller.output_config), ...asObject(params.vendorOptions?.output_config), effort };
  return out;
}

function toAnthropicToolChoice(params: ChatParams): JsonObject | undefined {
  return toolChoiceIn<JsonObject>(params, {
    auto: { type: "auto" },
    none: { type: "none" },
    required: { type: "any" },
    functionName: (name) => ({ type: "tool", name }),
  });
}

/** Anthropic accepts `tool_use` ids of letters, digits, `_` and `-` only. */
const anthropicToolUseId = toolCallIdFitting({ pattern: /^[a-zA-Z0-9_-]+$/ });

/**
 * Messages as alternating user/assistant turns: tool results become user
 * content, consecutive same-role messages are merged, and in a user turn the
 * tool results come first, as Anthropic requires right after a tool_use turn.
 * While thinking, an assistant turn starts with its thinking blocks, as
 * Anthropic returned them (signatures and redacted data unchanged); unsigned
 * ones (another vendor's) are left out (replayable-thinking.ts). The system
 * messages given are those that stay in place (splitSystem).
 */
export function toAnthropicMessages(provider: string, messages: Message[], thinking = false): JsonObject[] {
  const turns: AnthropicTurn[] = [];
  for (const message of messages) {
    switch (message.role) {
      case Role.SYSTEM: {
        const text = messageText(message, provider);
        if (text !== "") turns.push({ role: "system", blocks: [{ type: "text", text }] });
        break;
      }
      case Role.ASSISTANT: {
        const blocks = replayableTurn([
          ...(thinking ? message.reasoning.map(thinkingBlock) : []),
          ...assistantSaid(message),
          ...message.toolCalls.map((call) => ({ type: "tool_use", id: anthropicToolUseId(call.id), name: call.name, input: toolArgumentsObject(provider, call) })),
        ]);
        // A turn that said nothing (OpenAI takes `content: null` or ""), which Anthropic refuses: left out, the turns around it merged.
        if (blocks.length > 0) turns.push({ role: "assistant", blocks });
        break;
      }
      case Role.TOOL: {
        const result: Block = { type: "tool_result", tool_use_id: anthropicToolUseId(message.toolCallId) };
        result.content = message.parts.length > 0 ? message.parts.map(partBlock).filter(isBlock) : message.content;
        turns.push({ role: "user", blocks: [result] });
        break;
      }
      default:
        turns.push({ role: "user", blocks: contentBlocks(message) });
    }
  }
  return mergeTurns(turns).map((turn) => {
    const blocks = turn.role === "user" ? toolResultsFirst(turn.blocks) : turn.blocks;
    // A lone text block goes as a plain string, the shape most requests have.
    const only = blocks.length === 1 ? blocks[0]! : undefined;
    const content: JsonValue = only?.type === "text" ? only.text! : blocks.length === 0 ? "" : blocks;
    return { role: turn.role, content };
  });
}

/** A reasoning block as Anthropic writes it, to vendors and to callers alike. */
export function thinkingBlock(block: ReasoningBlock): Block {
  return block.redacted ? { type: "redacted_thinking", data: block.redacted } : { type: "thinking", thinking: block.text, signature: block.signature };
}

function toolResultsFirst(blocks: Block[]): Block[] {
  return [...blocks.filter((b) => b.type === "tool_result"), ...blocks.filter((b) => b.type !== "tool_result")];
}

/** What an assistant turn said: its content, else its refusal (OpenAI's), which Anthropic has no field for but text. */
function assistantSaid(message: Message): Block[] {
  const said = contentBlocks(message);
  return said.length > 0 || message.refusal === "" ? said : [{ type: "text", text: message.refusal }];
}

function contentBlocks(message: Message): Block[] {
  if (message.parts.length > 0) return message.parts.map(partBlock).filter(isBlock);
  // Anthropic rejects empty text blocks (an assistant turn that only calls tools has no text).
  return message.content === "" ? [] : [{ type: "text", text: message.content }];
}

function partBlock(part: ContentPart): Block | undefined {
  switch (part.part.case) {
    case "text":
      return part.part.value === "" ? undefined : { type: "text", text: part.part.value };
    case "imageUrl": {
      const url = part.part.value.url;
      const data = parseDataUrl(url);
      return { type: "image", source: data ? { type: "base64", media_type: data.mediaType, data: data.data } : { type: "url", url } };
    }
    default:
      return undefined;
  }
}

function isBlock(block: Block | undefined): block is Block {
  return block !== undefined;
}

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: FinishReason.STOP,
  stop_sequence: FinishReason.STOP,
  // A server tool paused a long turn; what came so far is a complete answer to show.
  pause_turn: FinishReason.STOP,
  max_tokens: FinishReason.LENGTH,
  // Claude Sonnet 4.5 on: the context window filled before max_tokens did.
  model_context_window_exceeded: FinishReason.CONTEXT_WINDOW_EXCEEDED,
  tool_use: FinishReason.TOOL_CALLS,
  // The streaming classifiers stopped the answer; what came before may be partial.
  refusal: FinishReason.REFUSAL,
};

/**
 * The stop reason callers of `/v1/messages` read: a call of tools is
 * "tool_use" whatever the vendor said (Gemini says STOP), unless the answer
 * was cut or withheld: a tool call cut at max_tokens is not one to run.
 */
export function toAnthropicStopReason(reason: FinishReason, calledTools: boolean): string {
  const endedEarly = reason === FinishReason.LENGTH || reason === FinishReason.CONTEXT_WINDOW_EXCEEDED || reason === FinishReason.CONTENT_FILTER || reason === FinishReason.REFUSAL;
  if (calledTools && !endedEarly) return "tool_use";
  switch (reason) {
    case FinishReason.LENGTH:
      return "max_tokens";
    // Claude Code tells its user the context is full, not to raise the output limit.
    case FinishReason.CONTEXT_WINDOW_EXCEEDED:
      return "model_context_window_exceeded";
    case FinishReason.TOOL_CALLS:
      return "tool_use";
    case FinishReason.CONTENT_FILTER:
    case FinishReason.REFUSAL:
      return "refusal";
    default:
      return "end_turn";
  }
}

/** `calledTools` is false when the only tool_use was the JSON-mode answer, which is a finished answer, not a call. */
export function fromAnthropicStopReason(reason: string | null | undefined, calledTools: boolean): FinishReason {
  const mapped = typeof reason === "string" ? (ownEntry(STOP_REASONS, reason) ?? FinishReason.UNSPECIFIED) : FinishReason.UNSPECIFIED;
  return mapped === FinishReason.TOOL_CALLS && !calledTools ? FinishReason.STOP : mapped;
}

/**
 * The stop sequence Anthropic says the answer stopped at (`stop_sequence`,
 * set with stop_reason "stop_sequence"). Kept only when it is one the request
 * sent: anything else (another type, text the caller never asked to stop at)
 * is left out, as other metadata of the wrong type is, rather than put in
 * the caller's answer.
 */
export function fromAnthropicStopSequence(reason: unknown, sequence: unknown, sent: readonly string[]): string | undefined {
  return reason === "stop_sequence" && typeof sequence === "string" && sent.includes(sequence) ? sequence : undefined;
}

/**
 * What callers of `/v1/messages` read of how the answer stopped: the stop
 * sequence it stopped at, when its vendor said which (stop_reason
 * "stop_sequence"), else the stop reason and a null stop_sequence.
 */
export function toAnthropicStop(reason: FinishReason, calledTools: boolean, stopSequence: string | undefined): { stop_reason: string; stop_sequence: string | null } {
  if (stopSequence !== undefined && !calledTools && reason === FinishReason.STOP) return { stop_reason: "stop_sequence", stop_sequence: stopSequence };
  return { stop_reason: toAnthropicStopReason(reason, calledTools), stop_sequence: null };
}

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  /** cache_creation_input_tokens by the lifetime the writes were asked for (`cache_control.ttl`). */
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
  /** Each sampling step of a call that compacted its context (`compaction`, then `message`): the top-level counts leave the compaction steps out. */
  iterations?: { type?: string; input_tokens?: number | null; output_tokens?: number | null; cache_creation_input_tokens?: number | null; cache_read_input_tokens?: number | null }[] | null;
}

/**
 * Anthropic's input_tokens excludes cached input: the prompt total adds cache
 * writes and reads back in. Writes are kept apart too (billed above the input
 * price), with the hour-long ones from `cache_creation`; without it every
 * write is priced as a five-minute one. Every count is checked
 * (vendor-usage.ts): an unusable one leaves the answer without usage (the
 * gateway estimates it).
 */
export function fromAnthropicUsage(raw: unknown): VendorUsage {
  return UsageCounts.read(raw, "usage", (usage, counts) => {
    const compaction = compactionSteps(usage.iterations, counts);
    const cacheRead = counts.sum("cache_read_input_tokens (with compaction)", counts.billed(usage.cache_read_input_tokens, "cache_read_input_tokens"), compaction.cacheRead);
    const cacheWrite = counts.sum("cache_creation_input_tokens (with compaction)", counts.billed(usage.cache_creation_input_tokens, "cache_creation_input_tokens"), compaction.cacheWrite);
    const byLifetime = counts.details(usage.cache_creation, "cache_creation");
    const hour = counts.extra(byLifetime?.ephemeral_1h_input_tokens, "cache_creation.ephemeral_1h_input_tokens") ?? 0;
    const prompt = counts.sum("input_tokens + cache_creation_input_tokens + cache_read_input_tokens", counts.billed(usage.input_tokens, "input_tokens"), compaction.input, cacheWrite, cacheRead);
    return {
      promptTokens: prompt,
      completionTokens: counts.sum("output_tokens (with compaction)", counts.billed(usage.output_tokens, "output_tokens"), compaction.output),
      cachedTokens: cacheRead,
      cacheWriteTokens: cacheWrite,
      cacheWrite1hTokens: Math.min(hour, cacheWrite),
    };
  });
}

/**
 * The compaction steps of `usage.iterations`, added up. Anthropic's
 * server-side compaction summarises the conversation in a sampling step of
 * its own, billed like any other, which the top-level counts (the sum of the
 * other steps) leave out: "sum across all entries in usage.iterations" for
 * what a call is billed. Compaction is refused as an option
 * (src/api/unpriced-options.ts); this bills one that gets through anyway.
 */
function compactionSteps(iterations: unknown, counts: UsageCounts): { input: number; output: number; cacheRead: number; cacheWrite: number } {
  const steps = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  if (!Array.isArray(iterations)) return steps;
  for (const [i, raw] of iterations.entries()) {
    const step = counts.details(raw, `iterations[${i}]`);
    if (step?.type !== "compaction") continue;
    const at = `iterations[${i}]`;
    steps.input = counts.sum(`${at} input_tokens`, steps.input, counts.billed(step.input_tokens, `${at}.input_tokens`));
    steps.output = counts.sum(`${at} output_tokens`, steps.output, counts.billed(step.output_tokens, `${at}.output_tokens`));
    steps.cacheRead = counts.sum(`${at} cache_read_input_tokens`, steps.cacheRead, counts.billed(step.cache_read_input_tokens, `${at}.cache_read_input_tokens`));
    steps.cacheWrite = counts.sum(`${at} cache_creation_input_tokens`, steps.cacheWrite, counts.billed(step.cache_creation_input_tokens, `${at}.cache_creation_input_tokens`));
  }
  return steps;
}

/**
 * Usage as Anthropic counts it, for callers of `/v1/messages`: input_tokens
 * leaves out what was read from and written to the prompt cache, which have
 * counts of their own (writes by lifetime too, as Claude Code reads them).
 */
export function toAnthropicUsage(usage: Usage | undefined): JsonObject {
  const cached = usage?.cachedTokens ?? 0;
  const written = usage?.cacheWriteTokens ?? 0;
  const hour = Math.min(usage?.cacheWrite1hTokens ?? 0, written);
  return {
    input_tokens: Math.max(0, (usage?.promptTokens ?? 0) - cached - written),
    output_tokens: usage?.completionTokens ?? 0,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: cached,
    cache_creation: { ephemeral_5m_input_tokens: written - hour, ephemeral_1h_input_tokens: hour },
  };
}

export interface AnthropicBlock {
  type?: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  /** thinking blocks: the reasoning and its signature; redacted_thinking blocks: the encrypted data. */
  thinking?: string;
  signature?: string;
  data?: string;
}

/** A Messages answer; only the fields the codec reads. */
export interface AnthropicMessage {
  id?: string;
  content?: AnthropicBlock[];
  stop_reason?: string | null;
  stop_sequence?: string | null;
  usage?: AnthropicUsage;
}

/**
 * Content blocks as one message; in JSON mode the input of the JSON tool
 * (`jsonTool`, its name: json-tool.ts) is the text. Thinking blocks become
 * the reasoning (its text, and the blocks whole for the next turn);
 * server-tool blocks are left out.
 */
export function fromAnthropicContent(blocks: AnthropicBlock[] | undefined, jsonTool: string | undefined, ctx: ErrorContext): Message {
  let text = "";
  let json: string | undefined;
  const toolCalls: ToolCall[] = [];
  const reasoning: ReasoningBlock[] = [];
  // Every string the vendor sends must be one (vendor-fields.ts): a number where text belongs is its bad_response.
  (blocks ?? []).forEach((raw, i) => {
    const block = vendorObject(raw, `content[${i}]`, ctx) as AnthropicBlock;
    const field = (name: keyof AnthropicBlock) => vendorString(block[name], `content[${i}].${name}`, ctx);
    if (block.type === "text") text += field("text");
    if (block.type === "thinking") reasoning.push(create(ReasoningBlockSchema, { text: field("thinking"), signature: field("signature") }));
    if (block.type === "redacted_thinking") reasoning.push(create(ReasoningBlockSchema, { redacted: field("data") }));
    if (block.type !== "tool_use") return;
    const input = JSON.stringify(block.input ?? {});
    const name = field("name");
    if (jsonTool !== undefined && name === jsonTool) json = input;
    else toolCalls.push(create(ToolCallSchema, { id: field("id") || madeUpCallId("", toolCalls.length), name, arguments: input }));
  });
  return create(MessageSchema, { role: Role.ASSISTANT, content: json ?? text, toolCalls, reasoning, reasoningContent: reasoningText(reasoning) });
}

/** The readable reasoning of some blocks: the thinking, redacted blocks left out. */
export function reasoningText(blocks: readonly ReasoningBlock[]): string {
  return blocks
    .filter((block) => !block.redacted)
    .map((block) => block.text)
    .join("\n\n");
}
