// A chat request fitted to the model that will serve it, before any dialect
// encodes it: the one place where per-model rules change a request, each
// change recorded for the caller.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { AdjustmentKind, type ParameterAdjustment } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { MessageSchema, ResponseFormatSchema, ResponseFormatType, Role, ToolChoiceMode, ToolChoiceSchema } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { blankStopSequenceRefusal } from "../providers/anthropic/blank-stop-sequences.js";
import type { ModelTraits } from "../providers/model-traits.js";
import { fitChatOnlyFields } from "../providers/openai/chat-only-fields.js";
import { emptyUserTurnRefusal } from "../providers/empty-user-turns.js";
import { logprobsAskedBy, logprobsRefusal } from "../providers/openai/logprobs.js";
import type { ChatParams } from "../providers/provider.js";
import { Adjustments } from "./adjustments.js";
import type { ModelEntry } from "./catalogue.js";
import { imageInputRefusal } from "./image-input.js";
import { applyRules } from "./parameter-rules.js";
import { fitBudgetWithinMaxTokens, fitReasoning } from "./reasoning-fitting.js";
import { sendDefaultMaxTokens, sendLongestAnswer } from "./required-max-tokens.js";
import { fitSystemPlacement } from "./system-placement.js";
import { thinkingLevelRefusal } from "./thinking-level-fitting.js";

/** What a route does with a request its model cannot honour (a JSON schema on a model with JSON mode only). */
export type UnsupportedPolicy = "degrade" | "refuse";

export type FittedRequest =
  | { ok: true; params: ChatParams; traits: ModelTraits; adjustments: ParameterAdjustment[] }
  /**
   * The model cannot honour the request: why, for the caller. With `field`,
   * the caller's field the model cannot take as asked (InvalidArgument naming
   * it); without, the route's policy is to refuse what the model lacks.
   */
  | { ok: false; reason: string; field?: string };

/** The candidate a request is fitted to: its model as the vendor names it, and the dialect its provider speaks. */
export interface Serving {
  model: string;
  dialect?: string;
  /** Set where the dialect requires max_tokens (Anthropic's): what a call without one is sent for a model whose longest answer is not known. */
  defaultMaxTokens?: number;
}

/**
 * Fits `params` to the model `entry` describes, served as `serving` says. In
 * order: the Chat Completions fields a vendor of another dialect does not
 * take (chat-only-fields.ts), the Messages fields a vendor of another dialect
 * has no place for (top_k, is_error), one tool call at a time where there is
 * a switch for it, a user turn with nothing in it where the vendor refuses one (empty-user-turns.ts), where system messages go (system-placement.ts),
 * then, when the model is known, a thinking level of the caller's own (refused when the model takes no such level),
 * images (refused when the model takes none, image-input.ts),
 * reasoning (how the model takes it, and log probabilities refused while it reasons where the vendor refuses them),
 * max_tokens (the model's limits, its longest answer or the provider's default
 * where the dialect requires one, room for a reasoning budget), the parameter
 * rules (and those that hold while reasoning), the number of stop sequences,
 * forced tool use, JSON asked for beside tools, and the response format
 * (degraded or refused by `policy`).
 * The request given is not changed.
 */
export function fitChatRequest(params: ChatParams, entry: ModelEntry | undefined, policy: UnsupportedPolicy, serving: Serving = { model: entry?.model ?? params.model }): FittedRequest {
  const out: ChatParams = { ...params, stop: [...params.stop] };
  const adjustments = new Adjustments();
  const foreign = fitChatOnlyFields(out, serving.dialect, serving.model);
  if (foreign.refused) return { ok: false, reason: foreign.refused.reason, field: foreign.refused.field };
  for (const drop of foreign.dropped) adjustments.dropped(drop.field, drop.requested, drop.reason);
  const noLogprobs = logprobsRefusal(out, serving.dialect, serving.model);
  if (noLogprobs) return { ok: false, ...noLogprobs };
  const blankStop = blankStopSequenceRefusal(out, serving.dialect, serving.model);
  if (blankStop) return { ok: false, ...blankStop };
  // The caller's messages, before any is placed otherwise or put in front.
  const emptyTurn = emptyUserTurnRefusal(params, serving.dialect, serving.model);
  if (emptyTurn) return { ok: false, ...emptyTurn };
  fitMessagesOnlyFields(out, serving.dialect, adjustments);
  fitOneToolCallAtATime(out, entry?.facts, serving.dialect, adjustments, serving.model);
  // Known or not: over Anthropic's API, a model nothing is known of takes no system message mid-conversation.
  fitSystemPlacement(out, entry?.facts.midConversationSystem, serving.dialect, adjustments, serving.model);
  if (!entry) {
    sendDefaultMaxTokens(out, serving.defaultMaxTokens, adjustments, serving.model);
    return { ok: true, params: out, traits: {}, adjustments: adjustments.list };
  }
  const facts = entry.facts;
  const model = entry.model;
  const level = thinkingLevelRefusal(out, facts.reasoning, serving.dialect, model);
  if (level) return { ok: false, ...level };
  // Only a row's word counts: a vendor's defaults (no images) say nothing of a fine-tune or a model newer than its file.
  const images = imageInputRefusal(params, entry.row ? facts.imageInput : undefined, model);
  if (images) return { ok: false, ...images };

  let reasoning = fitReasoning(out, facts.reasoning, adjustments, model);
  // Refused rather than dropped, as for a vendor that gives none: the answer would lack what was asked with nothing to say so.
  const logprobsWhileReasoning = reasoning && facts.reasoning?.noLogprobs ? logprobsAskedBy(out) : undefined;
  if (logprobsWhileReasoning) return { ok: false, field: logprobsWhileReasoning, reason: `${model} returns no log probabilities while it reasons (its vendor refuses them); leave them out, or call a model that does not reason` };
  fitMaxTokens(out, facts.maxOutputTokens, facts.parameters.minMaxTokens, adjustments, model);
  sendLongestAnswer(out, facts.maxOutputTokens, serving.defaultMaxTokens);
  if (reasoning && facts.reasoning?.budgetWithinMaxTokens) reasoning = fitBudgetWithinMaxTokens(out, facts.reasoning, facts.maxOutputTokens, adjustments, model);
  sendDefaultMaxTokens(out, serving.defaultMaxTokens, adjustments, model);

  // What reasoning refuses goes first, so that a choice between parameters (temperature or top_p) is made among those left.
  if (reasoning && facts.reasoning?.parameters) applyRules(out, facts.reasoning.parameters, adjustments, model, " while reasoning");
  applyRules(out, facts.parameters, adjustments, model);
  if (reasoning && facts.reasoning?.noForcedTools) unforceTools(out, adjustments, model);
  const oneCallAtATime = facts.parallelToolCalls === false;
  if (oneCallAtATime || (serving.dialect === "openai" && !facts.wire.parallelToolCallsField)) withoutParallelToolCalls(out, oneCallAtATime, adjustments, model);
  // Counted after the rules: a model that refuses stop has it dropped, however many there were.
  if (facts.maxStopSequences !== undefined && out.stop.length > facts.maxStopSequences) {
    return { ok: false, field: params.fieldNames?.stop ?? "stop", reason: `${model} takes at most ${facts.maxStopSequences} stop sequences, got ${out.stop.length}` };
  }

  const refusal =
    fitRequiredToolChoice(out, facts.requiredToolChoice, adjustments, model, policy) ??
    fitJsonWithTools(out, facts.jsonModeWithTools, adjustments, model, policy) ??
    fitResponseFormat(out, facts, adjustments, model, policy);
  if (refusal) return { ok: false, reason: refusal };

  const traits: ModelTraits = {
    ...facts.wire,
    reasoningOff: (!reasoning && facts.reasoning?.byDefault) || undefined,
    replayReasoningText: reasoning && facts.reasoning?.replay === "text",
    adaptiveThinking: reasoning && facts.reasoning?.control === "adaptive",
    streamOnly: facts.wire.streamOnly || (reasoning && facts.reasoning?.streamOnly) || undefined,
  };
  return { ok: true, params: out, traits, adjustments: adjustments.list };
}

function fitMaxTokens(params: ChatParams, most: number | undefined, least: number | undefined, adjustments: Adjustments, model: string): void {
  const asked = params.maxTokens;
  if (asked === undefined) return;
  if (most !== undefined && asked > most) {
    params.maxTokens = most;
    adjustments.add("max_tokens", AdjustmentKind.CLAMPED, String(asked), String(most), `${model} writes at most ${most} tokens`);
  } else if (least !== undefined && asked < least) {
    params.maxTokens = least;
    adjustments.add("max_tokens", AdjustmentKind.CLAMPED, String(asked), String(least), `${model} takes max_tokens from ${least}`);
  }
}

/** The dialects that take `top_k` and a failed tool result's mark: Anthropic's own (the caller's body goes on) and Gemini's (`topK`, `response.error`). */
const TAKES_MESSAGES_ONLY_FIELDS = new Set(["anthropic", "gemini"]);

/** `top_k` and `is_error` (from `/v1/messages`) are dropped, and said to be, for a vendor whose dialect has no place for them. */
function fitMessagesOnlyFields(params: ChatParams, dialect: string | undefined, adjustments: Adjustments): void {
  if (dialect === undefined || TAKES_MESSAGES_ONLY_FIELDS.has(dialect)) return;
  if (params.topK !== undefined) {
    adjustments.dropped("top_k", String(params.topK), `the ${dialect} dialect takes no top_k`);
    params.topK = undefined;
  }
  if (params.failedToolCalls?.length) {
    adjustments.dropped("is_error", params.failedToolCalls.join(", "), `the ${dialect} dialect has no mark for a failed tool result: its text goes as the result`);
    params.failedToolCalls = undefined;
  }
}

/** The dialects whose own request has a switch for one tool call at a time: Anthropic's disable_parallel_tool_use, DashScope's parameters.parallel_tool_calls. */
const SWITCHES_PARALLEL_TOOL_CALLS = new Set(["anthropic", "dashscope"]);

/**
 * One tool call at a time (`parallelToolCalls: false`, from `/v1/messages`'
 * tool_choice.disable_parallel_tool_use) goes to a vendor with a switch for
 * it: its dialect's own, or in the OpenAI dialect the `parallel_tool_calls`
 * the model's wire facts name (a vendor that documents none, DeepSeek's,
 * Moonshot's, refuses or ignores it). A model that calls one function at a
 * time anyway is not sent it (the o-series refuses it): left out without a
 * word, as is the switch where no tool may be called. Elsewhere it is
 * dropped, and reported: the model may call several at once.
 */
function fitOneToolCallAtATime(params: ChatParams, facts: ModelEntry["facts"] | undefined, dialect: string | undefined, adjustments: Adjustments, model: string): void {
  if (params.parallelToolCalls !== false || dialect === undefined) return;
  const mayCall = mayCallTools(params);
  const oneAtATimeAnyway = facts?.parallelToolCalls === false;
  if (mayCall && !oneAtATimeAnyway && (SWITCHES_PARALLEL_TOOL_CALLS.has(dialect) || (dialect === "openai" && facts?.wire.parallelToolCallsField))) return;
  params.parallelToolCalls = undefined;
  if (!mayCall || oneAtATimeAnyway) return;
  const why = facts ? `${model} has no switch for parallel function calls, and may call several at once` : `nothing is known of a switch for parallel function calls on ${model}, which may call several at once`;
  adjustments.dropped("tool_choice.disable_parallel_tool_use", "true", why);
}

/** Whether the answer may call a tool: there are tools, and tool_choice is not "none". */
function mayCallTools(params: ChatParams): boolean {
  const choice = params.toolChoice?.choice;
  return params.tools.length > 0 && !(choice?.case === "mode" && choice.value === ToolChoiceMode.NONE);
}

/** A forced tool choice becomes "auto" for models that refuse forced tool use while they reason. */
function unforceTools(params: ChatParams, adjustments: Adjustments, model: string): void {
  const choice = params.toolChoice?.choice;
  const forced = choice?.case === "functionName" ? `function ${choice.value}` : choice?.case === "mode" && choice.value === ToolChoiceMode.REQUIRED ? "required" : undefined;
  if (!forced) return;
  params.toolChoice = create(ToolChoiceSchema, { choice: { case: "mode", value: ToolChoiceMode.AUTO } });
  adjustments.add("tool_choice", AdjustmentKind.DEGRADED, forced, "auto", `${model} takes no forced tool use while reasoning`);
}

/**
 * OpenAI's `parallel_tool_calls` (a Chat Completions or Responses caller's
 * own field) is not sent to a model that has no such switch, whatever its
 * value. A model that calls one function at a time (OpenAI's o-series, which
 * answers it 400 unsupported_parameter): only `true` asked for something it
 * will not get. In the OpenAI dialect, a model whose vendor documents no
 * switch (DeepSeek's and Moonshot's APIs ignore or refuse the field), which
 * may call several at once: only `false` did, reported as
 * `tool_choice.disable_parallel_tool_use` from `/v1/messages` is.
 */
function withoutParallelToolCalls(params: ChatParams, oneCallAtATime: boolean, adjustments: Adjustments, model: string): void {
  const options = params.vendorOptions;
  if (params.vendorOptionsDialect !== "openai" || options?.parallel_tool_calls === undefined) return;
  const { parallel_tool_calls: asked, ...rest } = options;
  params.vendorOptions = Object.keys(rest).length > 0 ? rest : undefined;
  if (oneCallAtATime && asked === true) adjustments.dropped("parallel_tool_calls", "true", `${model} calls one function at a time`);
  if (!oneCallAtATime && asked === false && mayCallTools(params)) adjustments.dropped("parallel_tool_calls", "false", `${model} has no switch for parallel function calls, and may call several at once`);
}

/**
 * tool_choice "required" (a call to any of the tools) where the API can force
 * only one named function (ERNIE v1): a lone tool is that function (the codec
 * names it); with several, refused by policy (the reason returned), or
 * degraded to auto, the model then free to answer in text.
 */
function fitRequiredToolChoice(params: ChatParams, takesRequired: boolean | undefined, adjustments: Adjustments, model: string, policy: UnsupportedPolicy): string | undefined {
  const choice = params.toolChoice?.choice;
  if (takesRequired !== false || choice?.case !== "mode" || choice.value !== ToolChoiceMode.REQUIRED || params.tools.length < 2) return undefined;
  const why = `${model} can force only one named function, not a call to any of ${params.tools.length} tools`;
  if (policy === "refuse") return `${why}, and the route's policy for that is "refuse"`;
  params.toolChoice = create(ToolChoiceSchema, { choice: { case: "mode", value: ToolChoiceMode.AUTO } });
  adjustments.add("tool_choice", AdjustmentKind.DEGRADED, "required", "auto", why);
  return undefined;
}

/**
 * JSON schemas on a model with JSON mode only, or JSON mode on a model with
 * none: refused by policy (the reason returned), or degraded to what the
 * model can do, the schema then given to the model in a system message.
 */
function fitResponseFormat(params: ChatParams, facts: ModelEntry["facts"], adjustments: Adjustments, model: string, policy: UnsupportedPolicy): string | undefined {
  const format = params.responseFormat;
  const schema = format?.type === ResponseFormatType.JSON_SCHEMA && facts.jsonSchema === false;
  const json = format?.type === ResponseFormatType.JSON_OBJECT && facts.jsonMode === false;
  if (!format || !(schema || json)) return undefined;
  const wanted = schema ? "JSON schemas" : "JSON mode";
  if (policy === "refuse") return `${model} does not take ${wanted}, and the route's policy for that is "refuse"`;
  const to = facts.jsonMode === false ? ResponseFormatType.TEXT : ResponseFormatType.JSON_OBJECT;
  const toName = to === ResponseFormatType.TEXT ? "text" : "json_object";
  params.responseFormat = create(ResponseFormatSchema, { type: to });
  // The model still sees the schema; JSON mode of OpenAI-compatible vendors also needs the word "json" in the prompt.
  if (schema && format.schema) giveSchemaInSystemMessage(params, format.schema);
  const how = schema && format.schema ? "; the schema is given to the model in a system message, and the answer is not checked against it" : "";
  adjustments.add("response_format", AdjustmentKind.DEGRADED, schema ? "json_schema" : "json_object", toName, `${model} does not take ${wanted}${how}`);
  return undefined;
}

/**
 * JSON mode or a JSON schema beside tools, on a model whose vendor refuses
 * the two together (Gemini 2.x answers 400 "Function calling with a response
 * mime type: 'application/json' is unsupported"): refused by policy (the
 * reason returned), or the tools kept and the answer left as text, a schema
 * then given to the model in a system message.
 */
function fitJsonWithTools(params: ChatParams, takesBoth: boolean | undefined, adjustments: Adjustments, model: string, policy: UnsupportedPolicy): string | undefined {
  const format = params.responseFormat;
  const json = format?.type === ResponseFormatType.JSON_OBJECT || format?.type === ResponseFormatType.JSON_SCHEMA;
  if (takesBoth !== false || !format || !json || params.tools.length === 0) return undefined;
  const isSchema = format.type === ResponseFormatType.JSON_SCHEMA;
  const why = `${model} does not take ${isSchema ? "a JSON schema" : "JSON mode"} in a request with tools`;
  if (policy === "refuse") return `${why}, and the route's policy for that is "refuse"`;
  params.responseFormat = create(ResponseFormatSchema, { type: ResponseFormatType.TEXT });
  const schema = isSchema ? format.schema : undefined;
  if (schema) giveSchemaInSystemMessage(params, schema);
  const how = schema ? "; the schema is given to the model in a system message, and the answer is not checked against it" : "";
  adjustments.add("response_format", AdjustmentKind.DEGRADED, isSchema ? "json_schema" : "json_object", "text", `${why}: the tools are kept${how}`);
  return undefined;
}

/** The schema a model cannot be held to, asked for in a system message ahead of the conversation. */
function giveSchemaInSystemMessage(params: ChatParams, schema: JsonObject): void {
  const instruction = `Answer with a JSON object that follows this JSON schema:\n${JSON.stringify(schema)}`;
  params.messages = [create(MessageSchema, { role: Role.SYSTEM, content: instruction }), ...params.messages];
  // Counted, so that an error naming messages[i] names the caller's message, not the one after it.
  params.insertedMessages = (params.insertedMessages ?? 0) + 1;
}
