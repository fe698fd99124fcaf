// The Gemini generateContent wire format: contents/parts with user and model
// roles, systemInstruction, generationConfig, function calls as parts.
import { ownEntry } from "../../common/own-entry.js";
import type { JsonObject } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  FinishReason,
  ResponseFormatType,
  Role,
  ToolCallSchema,
  type ContentPart,
  type Message,
  type ToolCall,
} from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { asObject, mergeTurns, parseDataUrl, toolArgumentsObject, toolResultValue, type Turn } from "../message-content.js";
import { messageText } from "../message-text.js";
import type { ChatParams } from "../provider.js";
import { effortName } from "../reasoning.js";
import { toolChoiceIn } from "../tool-choice.js";
import { UsageCounts, type VendorUsage } from "../vendor-usage.js";
import { UpstreamError } from "../upstream-error.js";
import { MAX_TOOL_CALLS } from "../answer-limits.js";
import type { ErrorContext } from "../codec.js";
import { badResponse } from "../codec-errors.js";
import { madeUpCallId } from "../made-up-call-id.js";
import { vendorArray, vendorObject, vendorString } from "../vendor-fields.js";
import type { GoogleError, PromptFeedback } from "./errors.js";
import { toolCallId, toolCallSignature } from "./thought-signature.js";

type Part = JsonObject;
type GeminiTurn = Turn<"user" | "model", Part>;

/** The model's resource name, "models/gemini-x"; callers may name it either way. */
export function modelResource(model: string): string {
  return `models/${model.replace(/^models\//, "")}`;
}

/** The model's resource name in a URL path. */
export function modelPath(model: string): string {
  return `/models/${encodeURIComponent(model.replace(/^models\//, ""))}`;
}

/** Builds the request body for `model`. `vendor_options` go in first (generationConfig merged) so the gateway's own fields win. */
export function toGeminiBody(provider: string, params: ChatParams, model = ""): JsonObject {
  const vendor = params.vendorOptions ?? {};
  const body: JsonObject = { ...vendor };
  const system = params.messages.filter((m) => m.role === Role.SYSTEM).map((m) => messageText(m, provider)).filter((text) => text !== "");
  if (system.length > 0) body.systemInstruction = { parts: system.map((text) => ({ text })) };
  const contents = toGeminiContents(provider, params.messages, { checksSignatures: checksThoughtSignatures(model), failedToolCalls: params.failedToolCalls });
  // Gemini refuses a request without contents ("contents is not specified"): say why before asking it.
  if (contents.length === 0) {
    throw new UpstreamError({
      kind: "bad_request",
      provider,
      message: `provider "${provider}" (Gemini): the conversation needs a user message (system messages go to the separate systemInstruction)`,
    });
  }
  body.contents = contents;

  const config: JsonObject = { ...asObject(vendor.generationConfig) };
  if (params.temperature !== undefined) config.temperature = params.temperature;
  if (params.topP !== undefined) config.topP = params.topP;
  if (params.topK !== undefined) config.topK = params.topK;
  if (params.maxTokens !== undefined) config.maxOutputTokens = params.maxTokens;
  if (params.stop.length > 0) config.stopSequences = params.stop;
  if (params.seed !== undefined) config.seed = Number(params.seed);
  if (params.presencePenalty !== undefined) config.presencePenalty = params.presencePenalty;
  if (params.frequencyPenalty !== undefined) config.frequencyPenalty = params.frequencyPenalty;
  if (params.reasoning) config.thinkingConfig = { ...asObject(config.thinkingConfig), ...toThinkingConfig(params) };
  const format = params.responseFormat;
  if (format?.type === ResponseFormatType.JSON_OBJECT || format?.type === ResponseFormatType.JSON_SCHEMA) {
    config.responseMimeType = "application/json";
    // Our schemas are JSON Schema; responseJsonSchema takes that as is, while responseSchema takes only an OpenAPI subset.
    if (format.type === ResponseFormatType.JSON_SCHEMA && format.schema) config.responseJsonSchema = format.schema;
  }
  if (Object.keys(config).length > 0) body.generationConfig = config;

  if (params.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: params.tools.map((tool) => {
          // parametersJsonSchema for the same reason: `parameters` rejects JSON Schema keywords such as additionalProperties.
          const declaration: JsonObject = { name: tool.name, parametersJsonSchema: tool.parameters ?? { type: "object", properties: {} } };
          if (tool.description) declaration.description = tool.description;
          return declaration;
        }),
      },
    ];
    const calling = toFunctionCallingConfig(params);
    if (calling) body.toolConfig = { ...asObject(vendor.toolConfig), functionCallingConfig: calling };
  }
  return body;
}

/**
 * Gemini 2.5 takes a budget (`thinkingBudget`), Gemini 3 a level
 * (`thinkingLevel`): the model catalogue sends each model the one it takes.
 * Thought summaries are asked for, so the reasoning comes back as text.
 */
function toThinkingConfig(params: ChatParams): JsonObject {
  const config: JsonObject = { includeThoughts: true };
  const level = effortName(params);
  if (params.reasoning?.budgetTokens !== undefined) config.thinkingBudget = params.reasoning.budgetTokens;
  else if (level) config.thinkingLevel = level;
  return config;
}

function toFunctionCallingConfig(params: ChatParams): JsonObject | undefined {
  return toolChoiceIn<JsonObject>(params, {
    auto: { mode: "AUTO" },
    none: { mode: "NONE" },
    required: { mode: "ANY" },
    functionName: (name) => ({ mode: "ANY", allowedFunctionNames: [name] }),
  });
}

/**
 * Gemini 3 (and later) refuses a function call of the current turn that
 * comes back without a thought signature. Calls another vendor made (a
 * failover, a client switching models) never had one: Google's documented
 * placeholder stands in for it, which skips the check
 * (https://ai.google.dev/gemini-api/docs/thought-signatures, FAQ).
 */
export const PLACEHOLDER_THOUGHT_SIGNATURE = "skip_thought_signature_validator";

/** Models before Gemini 3 neither sign function calls nor check their signatures. */
function checksThoughtSignatures(model: string): boolean {
  return !/^(models\/)?gemini-[12](\.|-)/.test(model);
}

/**
 * Messages as contents: assistant → model, tool results → user-role
 * functionResponse parts (named after the call they answer, which Gemini
 * matches by name), consecutive same-role turns merged. `checksSignatures`:
 * the model wants a thought signature on the first function call of each
 * assistant turn, as Gemini 3 signs them (only the first of parallel calls
 * is signed): one with none gets PLACEHOLDER_THOUGHT_SIGNATURE.
 * `failedToolCalls`: the calls whose results report a failure.
 */
export function toGeminiContents(provider: string, messages: Message[], { checksSignatures = false, failedToolCalls = [] as readonly string[] } = {}): JsonObject[] {
  const failed = new Set(failedToolCalls);
  const turns: GeminiTurn[] = [];
  const callNames = new Map<string, string>();
  for (const message of messages) {
    switch (message.role) {
      case Role.SYSTEM:
        break;
      case Role.ASSISTANT: {
        const parts = spokenParts(message);
        for (const [i, call] of message.toolCalls.entries()) {
          callNames.set(call.id, call.name);
          const part: Part = { functionCall: { name: call.name, args: toolArgumentsObject(provider, call) } };
          const signature = toolCallSignature(call.id) ?? (checksSignatures && i === 0 ? PLACEHOLDER_THOUGHT_SIGNATURE : undefined);
          if (signature) part.thoughtSignature = signature;
          parts.push(part);
        }
        // Gemini refuses a turn without parts: one that says nothing and calls nothing is left out, its neighbours merged.
        if (parts.length > 0) turns.push({ role: "model", blocks: parts });
        break;
      }
      case Role.TOOL: {
        const name = callNames.get(message.toolCallId) || message.name;
        if (!name) {
          throw new UpstreamError({
            kind: "bad_request",
            provider,
            message: `provider "${provider}" needs the function name of each tool result, but no earlier assistant message has a tool call with id "${message.toolCallId}"`,
          });
        }
        turns.push({ role: "user", blocks: toolResultParts(name, message, failed.has(message.toolCallId)) });
        break;
      }
      default:
        turns.push({ role: "user", blocks: contentParts(message) });
    }
  }
  return mergeTurns(turns).map((turn) => ({ role: turn.role, parts: turn.role === "user" ? functionResponsesFirst(turn.blocks) : turn.blocks }));
}

/**
 * A tool result as a functionResponse part, its text the response: under
 * `error` when the call failed, the key Google documents for a failed call's
 * details (FunctionResponse.response: "Use "output" key to specify function
 * output and "error" key to specify error details"), else under `content`.
 * A functionResponse holds JSON only: the result's images follow it as
 * parts of their own in the same user turn, where Gemini takes images.
 */
function toolResultParts(name: string, message: Message, failed: boolean): Part[] {
  const text = message.parts.length === 0 ? message.content : message.parts.flatMap((part) => (part.part.case === "text" ? [part.part.value] : [])).join("\n");
  const value = toolResultValue(text);
  const functionResponse: Part = { functionResponse: { name, response: failed ? { error: value } : { content: value } } };
  const images = message.parts.filter((part) => part.part.case === "imageUrl").map(toGeminiPart).filter((part): part is Part => part !== undefined);
  return [functionResponse, ...images];
}

/**
 * The function responses of a user turn together, ahead of its other parts
 * (the images of tool results, text that followed them): the turn answers
 * the previous turn's function calls first, as Gemini matches them.
 */
function functionResponsesFirst(parts: Part[]): Part[] {
  const responses = parts.filter((part) => part.functionResponse !== undefined);
  return responses.length === 0 ? parts : [...responses, ...parts.filter((part) => part.functionResponse === undefined)];
}

/**
 * What an assistant turn said, as parts: its content without empty texts,
 * else its refusal (OpenAI's `refusal`, with content null), which is the
 * model's text to Gemini, having no field for it.
 */
function spokenParts(message: Message): Part[] {
  const parts = contentParts(message).filter((part) => part.text !== "");
  return parts.length === 0 && message.refusal !== "" ? [{ text: message.refusal }] : parts;
}

function contentParts(message: Message): Part[] {
  if (message.parts.length > 0) return message.parts.map(toGeminiPart).filter((part): part is Part => part !== undefined);
  return message.content === "" ? [] : [{ text: message.content }];
}

function toGeminiPart(part: ContentPart): Part | undefined {
  switch (part.part.case) {
    case "text":
      return { text: part.part.value };
    case "imageUrl": {
      const url = part.part.value.url;
      const data = parseDataUrl(url);
      if (data) return { inlineData: { mimeType: data.mediaType, data: data.data } };
      const mimeType = imageMimeType(url);
      return { fileData: mimeType ? { mimeType, fileUri: url } : { fileUri: url } };
    }
    default:
      return undefined;
  }
}

const IMAGE_TYPES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", heic: "image/heic", heif: "image/heif" };

function imageMimeType(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return extension ? IMAGE_TYPES[extension] : undefined;
}

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name?: string; args?: unknown };
}

export interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiResponse {
  candidates?: { content?: { parts?: GeminiPart[] }; finishReason?: string }[];
  promptFeedback?: PromptFeedback;
  usageMetadata?: GeminiUsage;
  responseId?: string;
  /** The model as Google names it (the one an alias such as gemini-flash-latest points to). */
  modelVersion?: unknown;
  /** An error sent inside a stream. */
  error?: GoogleError;
}

/**
 * Text, thought summaries (the reasoning) and function calls of some parts;
 * `firstIndex` numbers the calls across stream chunks, `responseId` is the
 * answer's (it makes the ids of calls Gemini leaves without one unique in a
 * conversation). Every string the vendor sends must be one
 * (vendor-fields.ts), and an answer calls at most MAX_TOOL_CALLS functions:
 * else the vendor's bad_response. `reasoningSummarized`: Gemini's thought
 * parts are summaries of its thinking, never the thinking itself
 * (https://ai.google.dev/gemini-api/docs/thinking, "thought summaries"), so
 * reasoning read from them is a summary (Message.reasoning_summarized).
 */
export function fromGeminiParts(raw: unknown, firstIndex: number, responseId: string, ctx: ErrorContext): { text: string; reasoning: string; reasoningSummarized: boolean; toolCalls: ToolCall[] } {
  let text = "";
  let reasoning = "";
  const toolCalls: ToolCall[] = [];
  vendorArray(raw, "candidates[0].content.parts", ctx).forEach((value, i) => {
    const at = `candidates[0].content.parts[${i}]`;
    const part = vendorObject(value, at, ctx) as GeminiPart;
    const partText = vendorString(part.text, `${at}.text`, ctx);
    if (part.thought) {
      reasoning += partText;
      return;
    }
    text += partText;
    if (part.functionCall === undefined || part.functionCall === null) return;
    const call = vendorObject(part.functionCall, `${at}.functionCall`, ctx);
    const index = firstIndex + toolCalls.length;
    if (index >= MAX_TOOL_CALLS) throw badResponse(ctx, `called more than ${MAX_TOOL_CALLS} functions in one answer`);
    const signature = vendorString(part.thoughtSignature, `${at}.thoughtSignature`, ctx);
    toolCalls.push(
      create(ToolCallSchema, {
        // The Developer API usually gives no id; TOOL messages find the call by this made-up one.
        id: toolCallId(vendorString(call.id, `${at}.functionCall.id`, ctx) || madeUpCallId(responseId, index), signature || undefined),
        name: vendorString(call.name, `${at}.functionCall.name`, ctx),
        arguments: JSON.stringify(call.args ?? {}),
      }),
    );
  });
  return { text, reasoning, reasoningSummarized: reasoning !== "", toolCalls };
}

const FINISH_REASONS: Record<string, FinishReason> = {
  STOP: FinishReason.STOP,
  MAX_TOKENS: FinishReason.LENGTH,
  // Each of these means Google withheld or cut the answer under a policy. RECITATION too: the
  // answer stops short because it would quote a source, so "stop" would pass a cut answer off as whole.
  SAFETY: FinishReason.CONTENT_FILTER,
  RECITATION: FinishReason.CONTENT_FILTER,
  LANGUAGE: FinishReason.CONTENT_FILTER,
  BLOCKLIST: FinishReason.CONTENT_FILTER,
  PROHIBITED_CONTENT: FinishReason.CONTENT_FILTER,
  SPII: FinishReason.CONTENT_FILTER,
  IMAGE_SAFETY: FinishReason.CONTENT_FILTER,
  IMAGE_PROHIBITED_CONTENT: FinishReason.CONTENT_FILTER,
  IMAGE_RECITATION: FinishReason.CONTENT_FILTER,
  // Google stopped the answer for a reason it does not give ("Unknown reason"; IMAGE_OTHER alike) or
  // without the image it was to make (NO_IMAGE): not the model's own end, so not "stop", which would
  // pass a cut answer off as whole; content_filter is the reason callers know for an answer the vendor cut.
  OTHER: FinishReason.CONTENT_FILTER,
  IMAGE_OTHER: FinishReason.CONTENT_FILTER,
  NO_IMAGE: FinishReason.CONTENT_FILTER,
  // The model's function call was invalid, or made with no tools enabled, and Google withheld it; or the
  // model called too many tools in a row and Google ended the turn. Either way the answer holds no call to
  // run and no finished text: reported as cut by the vendor (content_filter; on /v1/messages "refusal",
  // on /v1/responses "incomplete"), never as a clean stop an agent would take for the end of its turn.
  MALFORMED_FUNCTION_CALL: FinishReason.CONTENT_FILTER,
  UNEXPECTED_TOOL_CALL: FinishReason.CONTENT_FILTER,
  TOO_MANY_TOOL_CALLS: FinishReason.CONTENT_FILTER,
};

/**
 * Gemini says STOP when it calls functions; callers must hear TOOL_CALLS to
 * know to run them. A value Google adds later stays UNSPECIFIED, which every
 * surface writes as a real reason (and the cache does not keep).
 */
export function fromGeminiFinishReason(reason: string | undefined, calledTools: boolean): FinishReason {
  const mapped = typeof reason === "string" && reason ? (ownEntry(FINISH_REASONS, reason) ?? FinishReason.UNSPECIFIED) : FinishReason.UNSPECIFIED;
  return calledTools && (mapped === FinishReason.STOP || mapped === FinishReason.UNSPECIFIED) ? FinishReason.TOOL_CALLS : mapped;
}

/**
 * Thinking tokens are billed as output but counted apart from
 * candidatesTokenCount; tool-use prompt tokens are input. Every count is
 * checked (vendor-usage.ts): an unusable one leaves the answer without usage
 * (the gateway estimates it).
 */
export function fromGeminiUsage(raw: unknown): VendorUsage {
  return UsageCounts.read(raw, "usageMetadata", (usage, counts) => {
    const prompt = counts.sum("promptTokenCount + toolUsePromptTokenCount", counts.billed(usage.promptTokenCount, "promptTokenCount"), counts.billed(usage.toolUsePromptTokenCount, "toolUsePromptTokenCount"));
    const reasoning = counts.billed(usage.thoughtsTokenCount, "thoughtsTokenCount");
    const completion = counts.sum("candidatesTokenCount + thoughtsTokenCount", counts.billed(usage.candidatesTokenCount, "candidatesTokenCount"), reasoning);
    return {
      promptTokens: prompt,
      completionTokens: completion,
      totalTokens: counts.extra(usage.totalTokenCount, "totalTokenCount"),
      cachedTokens: counts.extra(usage.cachedContentTokenCount, "cachedContentTokenCount"),
      reasoningTokens: reasoning,
    };
  });
}
