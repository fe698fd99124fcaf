// A unified chat request as OpenAI's Responses API takes it (`POST /responses`,
// https://platform.openai.com/docs/api-reference/responses/create), for the
// models OpenAI serves there only (ModelTraits.endpoint: the Codex and -pro
// models). The inverse of responses-request.ts, which reads the same shape from
// callers. The gateway keeps conversations itself: nothing is stored at
// OpenAI (`store: false`), so the whole conversation goes as input items, and
// OpenAI's reasoning rides back in its `encrypted_content`.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ResponseFormatType, Role, type ContentPart, type Message } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ModelTraits } from "../model-traits.js";
import type { ChatParams } from "../provider.js";
import { effortName } from "../reasoning.js";
import { toolCallIdFitting } from "../tool-call-ids.js";
import { toolChoiceIn } from "../tool-choice.js";
import { openAIEncryptedContentOf } from "./reasoning-items.js";

/** What a Response includes beyond its default: the reasoning, encrypted, for the next turn (store is false). */
export const ENCRYPTED_REASONING = "reasoning.encrypted_content";

/** OpenAI's rule for call ids, as on Chat Completions: at most 40 characters (another vendor's longer ids are fitted). */
const callId = toolCallIdFitting({ maxLength: 40 });

/**
 * The caller's own fields (`vendor_options`, a Chat Completions caller's
 * extra fields) the Responses API takes as they are: settings of this one
 * answer that add nothing to its price (a costlier `service_tier` is refused
 * before, unpriced-options.ts). Nothing else is sent: the state OpenAI keeps
 * (previous_response_id, conversation, prompt, background) is refused before
 * the call (state-fields.ts), the gateway writes the rest of the request
 * itself (model, input, tools, store, include, …), and Chat Completions'
 * own fields (logit_bias, prediction, …) have no place here.
 */
const CALLERS_FIELDS = ["metadata", "parallel_tool_calls", "prompt_cache_key", "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "text", "truncation"];

/**
 * The request body: the caller's fields the Responses API takes (CALLERS_FIELDS)
 * go in first so the gateway's win, as in the Chat Completions dialect. The
 * Responses API has no stop sequences, seed or penalties: the model catalogue
 * drops them from requests to these models, and reports it (request-fitting.ts).
 */
export function toResponsesBody(params: ChatParams, model: string, stream: boolean, traits: ModelTraits = {}): JsonObject {
  const body = callersFields(params.vendorOptions);
  body.model = model;
  body.input = toResponsesInput(params.messages);
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.maxTokens !== undefined) body.max_output_tokens = params.maxTokens;
  // `user` is deprecated there for `safety_identifier`, the same end-user id.
  if (params.user) body.safety_identifier = params.user;
  const reasoning = reasoningOf(params, body.reasoning);
  if (reasoning) body.reasoning = reasoning;
  if (params.responsesSettings?.truncation) body.truncation = params.responsesSettings.truncation;
  if (params.tools.length > 0) body.tools = params.tools.map((tool) => ({ type: "function", name: tool.name, description: tool.description || null, parameters: tool.parameters ?? { type: "object", properties: {} }, strict: tool.strict }));
  const toolChoice = toolChoiceIn<JsonValue>(params, { auto: "auto", none: "none", required: "required", functionName: (name) => ({ type: "function", name }) });
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  if (params.parallelToolCalls === false && params.tools.length > 0 && traits.parallelToolCallsField) body.parallel_tool_calls = false;
  const format = textFormat(params);
  if (format) body.text = { ...(isObject(body.text) ? body.text : {}), format };
  body.store = false;
  body.include = [ENCRYPTED_REASONING];
  if (stream) body.stream = true;
  return body;
}

/**
 * `reasoning`: the effort as fitted to the model, and the summary a
 * `/v1/responses` caller asked for, over what else the caller's own
 * `reasoning` holds (a typed caller's vendor_options), which is kept.
 */
function reasoningOf(params: ChatParams, callers: JsonValue | undefined): JsonObject | undefined {
  const effort = effortName(params);
  const summary = params.responsesSettings?.reasoningSummary;
  if (!effort && !summary) return undefined;
  return { ...(isObject(callers) ? callers : {}), ...(effort ? { effort } : {}), ...(summary ? { summary } : {}) };
}

/** The caller's fields this API takes; Chat Completions' `verbosity` is said its way, as `text.verbosity`. */
function callersFields(options: JsonObject | undefined): JsonObject {
  const body: JsonObject = {};
  if (!options) return body;
  for (const field of CALLERS_FIELDS) if (Object.hasOwn(options, field) && options[field] !== null) body[field] = options[field]!;
  if (typeof options.verbosity === "string") body.text = { ...(isObject(body.text) ? body.text : {}), verbosity: options.verbosity };
  return body;
}

/** `text.format`: JSON mode, or a JSON schema flat in the format (not nested under `json_schema` as in Chat Completions). */
function textFormat(params: Pick<ChatParams, "responseFormat">): JsonObject | undefined {
  const format = params.responseFormat;
  if (format?.type === ResponseFormatType.JSON_OBJECT) return { type: "json_object" };
  if (format?.type === ResponseFormatType.JSON_SCHEMA) return { type: "json_schema", name: format.schemaName || "response", schema: format.schema ?? {}, strict: format.strict };
  return undefined;
}

/**
 * The conversation as input items: system messages as developer messages,
 * an assistant turn as its reasoning (OpenAI's own encrypted reasoning only:
 * another vendor's cannot be read there), its message and its function
 * calls, and each tool result as a function_call_output.
 */
export function toResponsesInput(messages: readonly Message[]): JsonObject[] {
  const items: JsonObject[] = [];
  for (const message of messages) {
    switch (message.role) {
      case Role.SYSTEM:
        items.push({ type: "message", role: "developer", content: contentOf(message) });
        break;
      case Role.ASSISTANT: {
        for (const block of message.reasoning) {
          const encrypted = openAIEncryptedContentOf(block);
          if (encrypted !== undefined) items.push({ type: "reasoning", summary: [], encrypted_content: encrypted });
        }
        const said = message.content || message.refusal;
        if (said || message.toolCalls.length === 0) items.push({ type: "message", role: "assistant", content: said });
        for (const call of message.toolCalls) items.push({ type: "function_call", call_id: callId(call.id), name: call.name, arguments: call.arguments || "{}" });
        break;
      }
      case Role.TOOL:
        items.push({ type: "function_call_output", call_id: callId(message.toolCallId), output: contentOf(message) });
        break;
      default:
        items.push({ type: "message", role: "user", content: contentOf(message) });
    }
  }
  return items;
}

/** A message's text, or its parts as input parts (text and images). */
function contentOf(message: Message): JsonValue {
  return message.parts.length > 0 ? message.parts.map(inputPart) : message.content;
}

function inputPart(part: ContentPart): JsonObject {
  if (part.part.case === "imageUrl") return { type: "input_image", image_url: part.part.value.url, detail: part.part.value.detail || "auto" };
  return { type: "input_text", text: part.part.value ?? "" };
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
