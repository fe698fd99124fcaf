// A Messages request as callers of `/v1/messages` write it (the Anthropic
// SDKs, Claude Code), read strictly into the unified request: a field of the
// wrong shape is InvalidArgument naming it, in Anthropic's own field names.
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ChatRequestSchema, type ChatRequest } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ContentPartSchema, MessageSchema, Role, ToolCallSchema, ToolChoiceMode, type ContentPart, type Message, type Tool, type ToolChoice } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { ReasoningBlockSchema, ReasoningConfigSchema, type ReasoningBlock, type ReasoningConfig } from "../../../gen/ts/switchboard/v1/reasoning_pb.js";
import { INT32_MAX } from "../../common/contract.js";
import { checkCallSize } from "../call-size.js";
import { checkToolCallPairing, type ToolIdFields } from "../tool-call-pairing.js";
import { strictReader as read } from "../openai/json-reader.js";
import type { MessageFields } from "../caller-fields.js";
import type { ChatParams, DialectOriginal } from "../provider.js";
import { BETA_HEADER } from "./original-request.js";
import { reasoningText } from "./wire.js";
import { systemPlacementProblem } from "./system-messages.js";
import { ownEntry } from "../../common/own-entry.js";
import { fieldsOf, rejectOutsized } from "../../common/json-value-bounds.js";
import { checkBlockFields, checkSourceFields, conversationJson, CONVERSATION_LIMITS } from "./conversation-fields.js";
import { readOutputFormat } from "./output-format.js";
import { readAdaptiveEffort } from "./adaptive-effort.js";

export interface AnthropicMessagesRequest {
  request: ChatParams & ChatRequest;
  stream: boolean;
}

export interface ReadOptions {
  /** `/v1/messages/count_tokens` takes no max_tokens. */
  maxTokensRequired: boolean;
  /** The caller's `anthropic-beta` header, if any. */
  betas?: string;
}

/**
 * Reads a caller's Messages request. The body is kept whole beside the
 * unified request, so that Anthropic's own models get what the unified
 * request cannot say (cache_control, beta features, fields added later).
 */
export function messagesRequestFromAnthropic(raw: unknown, options: ReadOptions = { maxTokensRequired: true }): AnthropicMessagesRequest {
  const body = read.object(raw, "body", true);
  if (!Array.isArray(body.messages)) read.reject("messages", "must be an array");
  checkCallSize(body.messages, { field: "messages", items: "messages", blocks: ["content", "content.content"] }, read.reject);
  rejectOutsized(freeFormJson(body), read.reject);
  // The conversation's own (tool call inputs above all) have a budget of their own, sized to long agent sessions.
  rejectOutsized(conversationJson(body.messages as JsonValue[]), read.reject, CONVERSATION_LIMITS);
  if (options.maxTokensRequired && (body.max_tokens === undefined || body.max_tokens === null)) read.reject("max_tokens", "is required");
  const system = readSystem(body.system);
  // Where a system message may stand depends on its neighbours' roles.
  const roles = (body.messages as JsonValue[]).map((message) => (message as JsonObject | null)?.role);
  const sourced = (body.messages as JsonValue[]).flatMap((message, i) => readMessage(message, i, roles));
  const messages = sourced.map(({ message }) => message);
  // Where each unified message came from, for errors that name its content or a part (caller-fields.ts).
  const messageFields = [...(system ? [{ content: "system" }] : []), ...sourced.map(({ fields }) => fields)];
  checkToolCallPairing([], messages, toolIdFields(body.messages as JsonValue[]), { call: "tool_use with id", where: "in an earlier assistant turn" }, read.reject);
  const request = create(ChatRequestSchema, {
    model: read.string(body.model, "model"),
    messages: system ? [system, ...messages] : messages,
    maxTokens: wholeNumber(body.max_tokens, "max_tokens"),
    temperature: read.number(body.temperature, "temperature"),
    topP: read.number(body.top_p, "top_p"),
    stop: read.array(body.stop_sequences, "stop_sequences").map((s, i) => read.string(s, `stop_sequences.${i}`)),
    user: readUserId(body.metadata),
    tools: read.array(body.tools, "tools").map(readTool),
    toolChoice: readToolChoice(body.tool_choice),
    reasoning: readThinking(body.thinking, body.output_config),
    // Claude gets the caller's own field; every other vendor this, as response_format from other surfaces.
    responseFormat: readOutputFormat(body),
  });
  const headers: Record<string, string> = {};
  if (options.betas) headers[BETA_HEADER] = betaList(options.betas);
  const original: DialectOriginal = { dialect: "anthropic", body, headers };
  // Errors name the caller's fields: its stop sequences are `stop_sequences`.
  // top_k and is_error have no unified field: carried beside the request for the vendors that take them (Gemini).
  const extras = {
    topK: wholeNumber(body.top_k, "top_k"),
    failedToolCalls: failedToolCalls(body.messages as JsonValue[]),
    parallelToolCalls: oneToolCallAtATime(body.tool_choice) ? false : undefined,
  };
  const fieldNames = { stop: "stop_sequences", toolChoiceName: "tool_choice.name", messages: messageFields };
  return { request: Object.assign(request, { original, fieldNames }, extras), stream: read.boolean(body.stream, "stream") === true };
}

/**
 * The body's free-form JSON values, all of which Anthropic's own models get as
 * written (original-request.ts): every field but the messages (bounded by
 * checkCallSize, their blocks' fields by conversation-fields.ts), and each
 * tool whole.
 */
function* freeFormJson(body: JsonObject): Generator<readonly [string, unknown]> {
  yield* fieldsOf(body, (key) => key === "messages" || (key === "tools" && Array.isArray(body.tools)));
  if (Array.isArray(body.tools)) for (const [i, tool] of body.tools.entries()) yield [`tools.${i}`, tool];
}

/** Where each tool_use block's id and each tool_result block's tool_use_id are (the blocks were read, and so checked, by readMessage), in the order of the messages read from them. */
function toolIdFields(messages: JsonValue[]): ToolIdFields {
  const fields: ToolIdFields = { calls: [], results: [] };
  messages.forEach((message, i) => {
    const content = (message as JsonObject).content;
    if (!Array.isArray(content)) return;
    content.forEach((block, j) => {
      const type = (block as JsonObject).type;
      if (type === "tool_use") fields.calls.push(`messages.${i}.content.${j}.id`);
      if (type === "tool_result") fields.results.push(`messages.${i}.content.${j}.tool_use_id`);
    });
  });
  return fields;
}

/** The ids of the tool results marked `is_error: true` (the blocks were read, and so checked, by readMessage). */
function failedToolCalls(messages: JsonValue[]): string[] {
  const failed: string[] = [];
  messages.forEach((message, i) => {
    const content = (message as JsonObject).content;
    if (!Array.isArray(content)) return;
    content.forEach((block, j) => {
      const b = block as JsonObject;
      if (b.type === "tool_result" && read.boolean(b.is_error, `messages.${i}.content.${j}.is_error`) === true) failed.push(b.tool_use_id as string);
    });
  });
  return failed;
}

/**
 * `metadata` holds `user_id` alone, at most 256 characters, as Anthropic's
 * API takes it (https://docs.anthropic.com/en/api/messages, metadata): it is
 * sent on to the vendor, so the caller must not size it.
 */
export const USER_ID_CHARS = 256;

function readUserId(raw: unknown): string {
  const metadata = read.object(raw, "metadata");
  for (const key of Object.keys(metadata)) if (key !== "user_id") read.reject(`metadata.${key.slice(0, 64)}`, "is not a metadata field (user_id)");
  const id = read.string(metadata.user_id, "metadata.user_id");
  if (id.length > USER_ID_CHARS) read.reject("metadata.user_id", `must be at most ${USER_ID_CHARS} characters, got ${id.length}`);
  return id;
}

/** `anthropic-beta`: comma-separated feature names, nothing else (it is sent on as a header). */
function betaList(value: string): string {
  if (!/^[A-Za-z0-9._-]+(\s*,\s*[A-Za-z0-9._-]+)*$/.test(value.trim())) read.reject(BETA_HEADER, "must be a comma-separated list of beta feature names");
  return value.trim();
}

function wholeNumber(value: unknown, field: string): number | undefined {
  const n = read.number(value, field);
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= INT32_MAX)) read.reject(field, `must be a whole number from 1 to ${INT32_MAX}`);
  return n;
}

/** `system`: a string or text blocks, as one system message (blocks joined by a blank line). */
function readSystem(raw: unknown): Message | undefined {
  if (raw === undefined || raw === null) return undefined;
  const text = systemText(raw, "system");
  return text === "" ? undefined : create(MessageSchema, { role: Role.SYSTEM, content: text });
}

/** A system prompt's text, written as a string or text blocks (joined by a blank line); `at` names it. */
function systemText(raw: unknown, at: string): string {
  if (typeof raw === "string") return raw;
  return read
    .array(raw, at)
    .map((block, i) => {
      const b = readBlock(block, `${at}.${i}`);
      if (b.type !== "text") read.reject(`${at}.${i}.type`, 'must be "text"');
      return read.string(b.text, `${at}.${i}.text`);
    })
    .join("\n\n");
}

/** Blocks a content array may hold, by role; anything else is refused by name rather than dropped. */
const USER_BLOCKS = "text, image, tool_result";
const ASSISTANT_BLOCKS = "text, tool_use, thinking, redacted_thinking";

/** A unified message, and where in the caller's body it came from. */
interface Sourced {
  message: Message;
  fields: MessageFields;
}

/**
 * One Messages turn as unified messages. A user turn's tool results become
 * TOOL messages, ahead of what else it says (as OpenAI-style vendors need
 * them, right after the assistant's calls); an assistant turn is one message
 * with its text, tool calls and signed thinking; a system message (placed as
 * Anthropic places them, system-messages.ts) is a system message where it is.
 */
function readMessage(raw: JsonValue, i: number, roles: readonly unknown[]): Sourced[] {
  const at = `messages.${i}`;
  const m = read.object(raw, at, true);
  if (m.role !== "user" && m.role !== "assistant" && m.role !== "system") return read.reject(`${at}.role`, 'must be "user", "assistant" or "system"');
  if (m.content === undefined || m.content === null) read.reject(`${at}.content`, "is required");
  if (m.role === "system") {
    const misplaced = systemPlacementProblem(roles, i);
    if (misplaced) read.reject(`${at}.role`, misplaced);
    return [{ message: create(MessageSchema, { role: Role.SYSTEM, content: systemText(m.content, `${at}.content`) }), fields: { content: `${at}.content` } }];
  }
  const blocks = typeof m.content === "string" ? [{ type: "text", text: m.content }] : read.array(m.content, `${at}.content`);
  return m.role === "assistant" ? [{ message: readAssistant(blocks, at), fields: { content: `${at}.content` } }] : readUser(blocks, at);
}

function readUser(blocks: JsonValue[], at: string): Sourced[] {
  const results: Sourced[] = [];
  const parts: ContentPart[] = [];
  const partFields: string[] = [];
  for (const [j, raw] of blocks.entries()) {
    const field = `${at}.content.${j}`;
    const block = readBlock(raw, field);
    if (block.type === "tool_result") results.push(readToolResult(block, field));
    else if (block.type === "text" || block.type === "image") {
      parts.push(readPart(block, field));
      partFields.push(field);
    } else read.reject(`${field}.type`, `"${String(block.type)}" is not supported in a user turn (${USER_BLOCKS})`);
  }
  // A turn of no blocks at all is kept, empty: request fitting refuses it where the vendor would (empty-user-turns.ts), rather than the conversation losing a turn.
  if (parts.length === 0 && results.length > 0) return results;
  return [...results, { message: userMessage(Role.USER, parts), fields: { content: `${at}.content`, parts: partFields } }];
}

/** A content block at `at`: an object with only the fields its type has (conversation-fields.ts). */
function readBlock(raw: unknown, at: string): JsonObject {
  const block = read.object(raw, at, true);
  checkBlockFields(block, at, read.reject);
  return block;
}

/** Plain text as `content`, the shape every dialect takes; parts only when there is an image. */
function userMessage(role: Role, parts: ContentPart[], extra: { toolCallId?: string } = {}): Message {
  const textOnly = parts.every((part) => part.part.case === "text");
  if (textOnly) return create(MessageSchema, { role, content: parts.map((part) => part.part.value as string).join("\n\n"), ...extra });
  return create(MessageSchema, { role, parts, ...extra });
}

function readPart(block: JsonObject, at: string): ContentPart {
  if (block.type === "text") return create(ContentPartSchema, { part: { case: "text", value: read.string(block.text, `${at}.text`) } });
  const source = read.object(block.source, `${at}.source`, true);
  checkSourceFields(source, `${at}.source`, read.reject);
  let url: string;
  // Checked here, where the caller's path is known, as validateChat checks every image URL.
  if (source.type === "base64") {
    const mediaType = read.string(source.media_type, `${at}.source.media_type`);
    if (!mediaType.startsWith("image/")) read.reject(`${at}.source.media_type`, "must be an image type (image/png, image/jpeg, …)");
    url = `data:${mediaType};base64,${read.string(source.data, `${at}.source.data`)}`;
  } else if (source.type === "url") {
    url = read.string(source.url, `${at}.source.url`);
    if (!/^https?:/.test(url)) read.reject(`${at}.source.url`, "must be an http(s) URL");
  } else return read.reject(`${at}.source.type`, 'must be "base64" or "url"');
  return create(ContentPartSchema, { part: { case: "imageUrl", value: { url, detail: "" } } });
}

function readToolResult(block: JsonObject, at: string): Sourced {
  const toolCallId = read.string(block.tool_use_id, `${at}.tool_use_id`);
  if (toolCallId === "") read.reject(`${at}.tool_use_id`, "is required");
  const fields = { content: `${at}.content` };
  if (typeof block.content === "string" || block.content === undefined || block.content === null) {
    return { message: create(MessageSchema, { role: Role.TOOL, toolCallId, content: read.string(block.content, `${at}.content`) }), fields };
  }
  const parts = read.array(block.content, `${at}.content`).map((item, k) => {
    const part = readBlock(item, `${at}.content.${k}`);
    if (part.type !== "text" && part.type !== "image") read.reject(`${at}.content.${k}.type`, `"${String(part.type)}" is not supported in a tool result (text, image)`);
    return readPart(part, `${at}.content.${k}`);
  });
  return { message: userMessage(Role.TOOL, parts, { toolCallId }), fields: { content: `${at}.content`, parts: parts.map((_, k) => `${at}.content.${k}`) } };
}

function readAssistant(blocks: JsonValue[], at: string): Message {
  const message = create(MessageSchema, { role: Role.ASSISTANT });
  const reasoning: ReasoningBlock[] = [];
  for (const [j, raw] of blocks.entries()) {
    const field = `${at}.content.${j}`;
    const block = readBlock(raw, field);
    switch (block.type) {
      case "text":
        message.content += read.string(block.text, `${field}.text`);
        break;
      case "tool_use": {
        const input = read.object(block.input, `${field}.input`, true);
        // Claude refuses a call to no tool; refused here, naming the caller's field, before any vendor is asked.
        const name = read.string(block.name, `${field}.name`);
        if (name === "") read.reject(`${field}.name`, "is required: the name of the tool the assistant called");
        message.toolCalls.push(create(ToolCallSchema, { id: read.string(block.id, `${field}.id`), name, arguments: JSON.stringify(input) }));
        break;
      }
      case "thinking":
        reasoning.push(create(ReasoningBlockSchema, { text: read.string(block.thinking, `${field}.thinking`), signature: read.string(block.signature, `${field}.signature`) }));
        break;
      case "redacted_thinking":
        reasoning.push(create(ReasoningBlockSchema, { redacted: read.string(block.data, `${field}.data`) }));
        break;
      default:
        read.reject(`${field}.type`, `"${String(block.type)}" is not supported in an assistant turn (${ASSISTANT_BLOCKS})`);
    }
  }
  message.reasoning = reasoning;
  message.reasoningContent = reasoningText(reasoning);
  return message;
}

/**
 * A tool the model may call. Anthropic's own tools (`type` "web_search_…",
 * "bash_…", "text_editor_…") are defined by Anthropic and run by it or by
 * the client on Claude's terms: no other vendor's model knows them.
 */
function readTool(raw: JsonValue, i: number): Tool {
  const tool = read.object(raw, `tools.${i}`, true);
  if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
    return read.reject(`tools.${i}.type`, `Anthropic's own tool "${String(tool.type)}" cannot be served through the gateway: give it as a tool with name, description and input_schema`);
  }
  return {
    $typeName: "switchboard.v1.Tool",
    name: read.string(tool.name, `tools.${i}.name`),
    description: read.string(tool.description, `tools.${i}.description`),
    parameters: read.object(tool.input_schema, `tools.${i}.input_schema`, true),
    strict: tool.strict === true,
  };
}

const CHOICES: Record<string, ToolChoiceMode> = { auto: ToolChoiceMode.AUTO, any: ToolChoiceMode.REQUIRED, none: ToolChoiceMode.NONE };

function readToolChoice(raw: unknown): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  const choice = read.object(raw, "tool_choice", true);
  if (choice.type === "tool") return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "functionName", value: read.string(choice.name, "tool_choice.name") } };
  const mode = ownEntry(CHOICES, String(choice.type));
  if (mode === undefined) return read.reject("tool_choice.type", 'must be "auto", "any", "tool" or "none"');
  return { $typeName: "switchboard.v1.ToolChoice", choice: { case: "mode", value: mode } };
}

/**
 * `tool_choice.disable_parallel_tool_use: true`: at most one tool call in the
 * answer, asked of every vendor with a switch for it (request-fitting.ts
 * says which, and reports where there is none). `tool_choice` was read as an
 * object already.
 */
function oneToolCallAtATime(raw: unknown): boolean {
  if (raw === undefined || raw === null) return false;
  return read.boolean((raw as JsonObject).disable_parallel_tool_use, "tool_choice.disable_parallel_tool_use") === true;
}

/**
 * `thinking`: "enabled" with a budget, "adaptive" or "between_tools" (the model
 * decides how much and when, steered by `output_config.effort`), or "disabled".
 */
function readThinking(raw: unknown, outputConfig: unknown): ReasoningConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const thinking = read.object(raw, "thinking", true);
  switch (thinking.type) {
    case "disabled":
      return undefined;
    case "adaptive":
    case "between_tools":
      return create(ReasoningConfigSchema, { effort: readAdaptiveEffort(outputConfig) });
    case "enabled":
      return create(ReasoningConfigSchema, { budgetTokens: wholeNumber(thinking.budget_tokens, "thinking.budget_tokens") });
    default:
      return read.reject("thinking.type", 'must be "enabled", "adaptive", "between_tools" or "disabled"');
  }
}
