// Messages in the OpenAI Chat Completions shape, both ways: encoded for
// vendors that speak the dialect (and for the REST surface's answers), and
// decoded from callers' requests and vendors' answers alike.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { ContentPartSchema, MessageSchema, Role, ToolCallSchema, type ContentPart, type Message, type ToolCall } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { toolCallIdFitting } from "../tool-call-ids.js";
import { madeUpCallId } from "../made-up-call-id.js";
import type { ErrorContext } from "../codec.js";
import { badResponse } from "../codec-errors.js";
import { lenientReader, type JsonReader } from "./json-reader.js";
import { readReasoningDetails } from "./reasoning.js";
import { answeredLegacyCallId, conversationLegacyCallId, legacyResultCallId, readLegacyCall } from "./legacy-functions.js";
import { ownEntry } from "../../common/own-entry.js";

/** Role names on the wire, which DashScope's native API shares. */
export const OPENAI_ROLE_NAMES: Record<Role, string> = {
  [Role.UNSPECIFIED]: "user",
  [Role.SYSTEM]: "system",
  [Role.USER]: "user",
  [Role.ASSISTANT]: "assistant",
  [Role.TOOL]: "tool",
};

/**
 * Roles as callers write them; "developer" is OpenAI's newer name for the
 * system role, and "function" the legacy role of a function's result (a tool
 * result: legacy-functions.ts).
 */
const ROLES: Record<string, Role> = { system: Role.SYSTEM, developer: Role.SYSTEM, user: Role.USER, assistant: Role.ASSISTANT, tool: Role.TOOL, function: Role.TOOL };

/** OpenAI refuses a tool call id over 40 characters (`string_above_max_length`). */
const openAIToolCallId = toolCallIdFitting({ maxLength: 40 });

export interface EncodeOptions {
  /**
   * Fit tool call ids to OpenAI's 40-character rule: for requests to a
   * vendor. Answers to callers keep ids as they came (Gemini's carry a thought
   * signature that must come back whole on the next turn).
   */
  fitIds: boolean;
  /** Send assistant turns' reasoning text back as `reasoning_content` (DeepSeek's thinking mode after tool calls). */
  replayReasoning?: boolean;
}

export function toOpenAIMessage(message: Message, options: EncodeOptions = { fitIds: true }): JsonObject {
  const out: JsonObject = { role: OPENAI_ROLE_NAMES[message.role] };
  if (message.parts.length > 0) {
    out.content = message.parts.map(toOpenAIPart);
  } else {
    // An assistant turn that only calls tools has null content on the wire.
    out.content = message.content === "" && message.toolCalls.length > 0 ? null : message.content;
  }
  if (message.name) out.name = message.name;
  if (message.toolCalls.length > 0) out.tool_calls = toOpenAIToolCalls(message.toolCalls, options);
  if (message.toolCallId) out.tool_call_id = options.fitIds ? openAIToolCallId(message.toolCallId) : message.toolCallId;
  // Sent even when empty: DeepSeek refuses a tool-call turn of thinking mode without the field.
  if (options.replayReasoning && message.role === Role.ASSISTANT) out.reasoning_content = message.reasoningContent;
  return out;
}

/**
 * A conversation's messages for a vendor of the dialect. OpenAI's tool
 * messages take text parts only (an image there is a 400), so the images of a
 * turn's tool results go in one user message right after that turn's tool
 * messages, each led by the id of the call it answers; the tool messages keep
 * their text. A model that takes no images still refuses them there.
 */
export function toOpenAIMessages(messages: Message[], options: EncodeOptions = { fitIds: true }): JsonObject[] {
  const out: JsonObject[] = [];
  let images: JsonObject[] = [];
  const flushImages = () => {
    if (images.length > 0) out.push({ role: "user", content: images });
    images = [];
  };
  for (const message of messages) {
    if (message.role !== Role.TOOL) flushImages();
    const encoded = toOpenAIMessage(message, options);
    if (message.role === Role.TOOL && message.parts.some((part) => part.part.case === "imageUrl")) {
      const texts = message.parts.filter((part) => part.part.case !== "imageUrl").map(toOpenAIPart);
      encoded.content = texts.length > 0 ? texts : "";
      images.push({ type: "text", text: `Images from tool call ${String(encoded.tool_call_id)}:` });
      for (const part of message.parts) if (part.part.case === "imageUrl") images.push(toOpenAIPart(part));
    }
    out.push(encoded);
  }
  flushImages();
  return out;
}

function toOpenAIPart(part: ContentPart): JsonObject {
  if (part.part.case === "imageUrl") {
    const image: JsonObject = { url: part.part.value.url };
    if (part.part.value.detail) image.detail = part.part.value.detail;
    return { type: "image_url", image_url: image };
  }
  return { type: "text", text: part.part.value ?? "" };
}

/** An assistant message's `tool_calls`, which DashScope's native API shares. */
export function toOpenAIToolCalls(calls: ToolCall[], options: EncodeOptions = { fitIds: true }): JsonObject[] {
  return calls.map((call) => ({
    id: options.fitIds ? openAIToolCallId(call.id) : call.id,
    type: "function",
    function: { name: call.name, arguments: options.fitIds ? call.arguments || "{}" : call.arguments },
  }));
}

/** Where a message stands among legacy function calls, whose wire shape has no ids. */
interface LegacyPlace {
  /** The id the message's `function_call` takes. */
  callId: string;
  /** The calls of the last assistant message before it, which a `function` message answers by name. */
  earlierCalls?: readonly ToolCall[];
}

/**
 * A message from the wire: a caller's request message (`at` is its field
 * path, e.g. "messages[2]") or a vendor's answer (role assistant by
 * default), with its reasoning (`reasoning_content`, `reasoning_details`)
 * and refusal. A legacy `function_call` is one more tool call, and a
 * `function` message the result of the call it names (`legacy`).
 */
function readOpenAIMessage(raw: unknown, at: string, reader: JsonReader, defaultRole: Role | undefined, legacy: LegacyPlace, answerId?: string): Message {
  const m = reader.object(raw, at, true);
  const role = m.role === undefined || m.role === null ? defaultRole : ownEntry(ROLES, String(m.role));
  if (role === undefined) return reader.reject(`${at}.role`, `must be one of ${Object.keys(ROLES).join(", ")}`);
  const name = reader.string(m.name, `${at}.name`);
  // A function message's name is the function's, not its author's: the call it answers carries it.
  const message =
    m.role === "function"
      ? create(MessageSchema, { role, toolCallId: legacyResultCallId(name, legacy.earlierCalls ?? [], at, reader) })
      : create(MessageSchema, { role, name, toolCallId: reader.string(m.tool_call_id, `${at}.tool_call_id`) });
  if (Array.isArray(m.content)) message.parts = m.content.map((part, j) => readPart(part, `${at}.content[${j}]`, reader));
  else message.content = reader.string(m.content, `${at}.content`);
  message.refusal = reader.string(m.refusal, `${at}.refusal`);
  message.reasoningContent = reader.string(m.reasoning_content, `${at}.reasoning_content`);
  message.reasoning = readReasoningDetails(m.reasoning_details, `${at}.reasoning_details`, reader);
  message.toolCalls = reader.array(m.tool_calls, `${at}.tool_calls`).map((call, j) => readToolCall(call, `${at}.tool_calls[${j}]`, reader, answerId === undefined ? `call_${j}` : madeUpCallId(answerId, j)));
  const legacyCall = readLegacyCall(m.function_call, `${at}.function_call`, reader, legacy.callId);
  if (legacyCall) message.toolCalls.push(legacyCall);
  return message;
}

/**
 * A caller's conversation, each message as readOpenAIMessage reads it: a
 * legacy call takes an id from its message's place, and a `function`
 * message the id of the call it answers.
 */
export function readOpenAIMessages(raw: readonly unknown[], reader: JsonReader): Message[] {
  let earlierCalls: readonly ToolCall[] = [];
  return raw.map((value, i) => {
    const message = readOpenAIMessage(value, `messages[${i}]`, reader, undefined, { callId: conversationLegacyCallId(i), earlierCalls });
    if (message.role === Role.ASSISTANT) earlierCalls = message.toolCalls;
    return message;
  });
}

function readPart(raw: unknown, at: string, reader: JsonReader): ContentPart {
  const part = reader.object(raw, at, true);
  if (part.type === "text") return create(ContentPartSchema, { part: { case: "text", value: reader.string(part.text, `${at}.text`) } });
  if (part.type === "image_url") {
    const image = reader.object(part.image_url, `${at}.image_url`, true);
    return create(ContentPartSchema, { part: { case: "imageUrl", value: { url: reader.string(image.url, `${at}.image_url.url`), detail: reader.string(image.detail, `${at}.image_url.detail`) } } });
  }
  return reader.reject(`${at}.type`, `"${String(part.type)}" is not supported (text, image_url)`);
}

/**
 * A call without an id (some compatible servers send none) gets `missingId`, so a TOOL message can answer it:
 * in a caller's message its place, in a vendor's answer one unique across answers (made-up-call-id.ts).
 */
function readToolCall(raw: unknown, at: string, reader: JsonReader, missingId: string): ToolCall {
  const call = reader.object(raw, at, true);
  const fn = reader.object(call.function, `${at}.function`, true);
  return create(ToolCallSchema, {
    id: reader.string(call.id, `${at}.id`) || missingId,
    name: reader.string(fn.name, `${at}.function.name`),
    arguments: reader.string(fn.arguments, `${at}.function.arguments`),
  });
}

/**
 * An assistant message as a vendor answered it (DashScope's native API
 * shares the shape); `answerId` names a legacy call it makes.
 */
export function fromOpenAIMessage(raw: unknown, ctx: ErrorContext, answerId = ""): Message {
  const reader = lenientReader((field, problem) => {
    throw badResponse(ctx, `answered with ${field} that ${problem}`);
  });
  // An absent message reads as empty; a null one is no message (bad_response, as any wrong type).
  return readOpenAIMessage(raw === undefined ? {} : raw, "message", reader, Role.ASSISTANT, { callId: answeredLegacyCallId(answerId) }, answerId);
}

/** The shape of an answer's message, for dialects that embed it (DashScope's native choices). */
export interface OpenAIChoiceMessage {
  content?: string | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[] | null;
}
