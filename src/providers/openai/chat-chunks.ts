// A streamed chat answer as `chat.completion.chunk` events, both ways: read
// from vendors that speak the dialect, and written for callers of the REST surface.
import { create, type JsonObject } from "@bufbuild/protobuf";
import type { ChatDelta, ChatSummary } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, ToolCallDeltaSchema, type ToolCallDelta } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { ErrorContext, StreamDecoder } from "../codec.js";
import { eventJson, streamCutShort } from "../codec-errors.js";
import type { ChatStreamDelta, ChatStreamEvent } from "../provider.js";
import { vendorArray, vendorObject, vendorString } from "../vendor-fields.js";
import { StreamIdentity } from "../stream-identity.js";
import { ToolCallFragments } from "../tool-call-fragments.js";
import { toOpenAIIdentity } from "./answer-identity.js";
import { openAIStreamError, type OpenAIStreamErrorBody } from "./errors.js";
import { fromOpenAILogprobs, toOpenAILogprobs } from "./logprobs.js";
import { answeredLegacyCallId, toLegacyDelta, toLegacyFinishReason } from "./legacy-functions.js";
import { toReasoningDetails } from "./reasoning.js";
import { finishReasonOf, fromOpenAIUsage, toOpenAIFinishReason, toOpenAIUsage } from "./usage.js";

interface ChatCompletionChunk {
  id?: string;
  /** The model as the vendor names it, its fingerprint and tier: on every chunk (OpenAI's). */
  model?: unknown;
  system_fingerprint?: unknown;
  service_tier?: unknown;
  choices?: {
    delta?: {
      content?: string | null;
      /** DeepSeek's and Qwen's reasoning text. */
      reasoning_content?: string | null;
      refusal?: string | null;
      tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[] | null;
      /** The legacy call (an answer to `functions`): its name with the first fragment, as tool_calls' function. */
      function_call?: { name?: string; arguments?: string } | null;
    };
    finish_reason?: string | null;
    /** This chunk's tokens' log probabilities, when asked for. */
    logprobs?: unknown;
    /** Moonshot's usage: inside the choice of the chunk with the finish reason. */
    usage?: unknown;
  }[];
  /** OpenAI's: on a last chunk of its own (null on the others while stream_options asks for it). */
  usage?: unknown;
  error?: OpenAIStreamErrorBody;
}

/**
 * Reads a vendor's chunk stream: deltas (text, reasoning, refusal, tool call
 * fragments, a legacy `function_call` as call 0) as they come, usage wherever
 * the vendor puts it (top level as OpenAI does, or in the finishing choice as
 * Moonshot does), and `[DONE]` (or a finish reason) as the end. The first
 * delta carries the answer's id and identity as the chunks before it said
 * them; the end says them again.
 */
export function openAIChunkDecoder(ctx: ErrorContext): StreamDecoder {
  const identity = new StreamIdentity();
  const toolCallFragments = new ToolCallFragments(ctx);
  let reason: string | undefined;
  let refused = false;
  // The last usage sent counts; it is read (and checked) once, at the end.
  let usage: { raw: unknown; path: string } | undefined;
  let done = false;
  /** Whether the legacy call's first fragment went out (with the id the wire does not give). */
  let legacyCalled = false;
  const finishReason = () => (reason === undefined ? FinishReason.UNSPECIFIED : finishReasonOf(reason, refused));
  return {
    get done() {
      return done;
    },
    get answered() {
      return reason !== undefined;
    },
    next(event): ChatStreamEvent[] {
      // openai-python ends on any data starting with it (_streaming.py), trailing blanks and all.
      if (event.data.startsWith("[DONE]")) {
        done = true;
        return [];
      }
      if (event.data === "") return [];
      const chunk = eventJson(event.data, ctx) as ChatCompletionChunk;
      if (chunk.error) throw openAIStreamError(ctx, chunk.error);
      identity.heard(chunk.id, chunk);
      if (chunk.usage !== undefined && chunk.usage !== null) usage = { raw: chunk.usage, path: "usage" };
      const choice = chunk.choices?.[0];
      if (!choice) return [];
      if (choice.usage !== undefined && choice.usage !== null) usage = { raw: choice.usage, path: "choices[0].usage" };
      if (choice.finish_reason) reason = choice.finish_reason;
      // Every field is checked before it reaches the unified delta: a text that is no string is the vendor's bad_response.
      const delta = vendorObject(choice.delta, "choices[0].delta", ctx);
      const content = vendorString(delta.content, "choices[0].delta.content", ctx);
      const reasoning = vendorString(delta.reasoning_content, "choices[0].delta.reasoning_content", ctx);
      const refusal = vendorString(delta.refusal, "choices[0].delta.refusal", ctx);
      if (refusal !== "") refused = true;
      const toolCalls = toolCallFragments.read(vendorArray(delta.tool_calls, "choices[0].delta.tool_calls", ctx), "choices[0].delta.tool_calls");
      if (delta.function_call !== undefined && delta.function_call !== null) {
        const fn = vendorObject(delta.function_call, "choices[0].delta.function_call", ctx);
        // The first fragment carries the call's id, as tool_calls' first fragment does.
        const callId = legacyCalled ? "" : answeredLegacyCallId(identity.id);
        legacyCalled = true;
        toolCalls.push(
          create(ToolCallDeltaSchema, {
            index: 0,
            id: callId,
            name: vendorString(fn.name, "choices[0].delta.function_call.name", ctx),
            argumentsFragment: vendorString(fn.arguments, "choices[0].delta.function_call.arguments", ctx),
          }),
        );
      }
      const logprobs = fromOpenAILogprobs(choice.logprobs, "choices[0].logprobs", ctx);
      const scored = logprobs !== undefined && (logprobs.content.length > 0 || logprobs.refusal.length > 0);
      if (content === "" && toolCalls.length === 0 && reasoning === "" && refusal === "" && !scored) return [];
      const out: ChatStreamDelta = { type: "delta", content, toolCalls, reasoning: reasoning || undefined, refusal: refusal || undefined };
      if (scored) out.logprobs = logprobs;
      return identity.announce([out]);
    },
    finish() {
      // The finish reason says the answer is whole, [DONE] or not (some compatible servers close without it); [DONE]
      // without one is a stream cut short, as every other dialect's, not an answer an agent may take as finished.
      if (reason === undefined) throw streamCutShort(ctx);
      const read = usage ? fromOpenAIUsage(usage.raw, usage.path) : { usage: undefined };
      return { type: "end", ...identity.said(), finishReason: finishReason(), usage: read.usage, usageFault: read.fault };
    },
  };
}

/** What every chunk of an answer says of it: its id and model, and where known the tier and fingerprint. */
interface ChunkHead {
  id: string;
  model: string;
  serviceTier?: string;
  systemFingerprint?: string;
}

/** What a delta or summary says of the answer's identity (ChatDelta's first, ChatSummary's). */
type SaidIdentity = Pick<ChatDelta, "id" | "vendorModel" | "serviceTier" | "systemFingerprint">;

/**
 * Writes the `chat.completion.chunk` objects of one streamed answer, for
 * callers of the REST surface: reasoning as `reasoning_content` deltas (as
 * DeepSeek streams it), refusals as `refusal` deltas (as OpenAI does), and
 * the signed reasoning blocks whole with the finish reason, as `reasoning_details`.
 * Every chunk names the answer as its vendor did (id, dated model, tier,
 * fingerprint), taken from the first event, which is when the vendor has
 * said them; `fallback` names it where the vendor did not. For a caller that
 * asked with legacy `functions`, the call streams as `function_call`.
 */
export class OpenAIChunkWriter {
  private head: ChunkHead | undefined;
  private refused = false;
  /** The JSON of a text delta's chunk up to its text, the same for every one once the head is known (see deltaJson). */
  private textChunkStart: string | undefined;

  constructor(
    private readonly created: number,
    private readonly fallback: () => { id: string; model: string },
    private readonly legacyFunctions = false,
  ) {}

  /**
   * The chunk to write before the first delta, when that delta has log
   * probabilities: the assistant's role alone with none, as OpenAI opens such
   * a stream. The SDKs' stream helpers count a first chunk's tokens twice
   * (openai-node's ChatCompletionStream appends a choice's logprobs to the
   * very list it began with), so no tokens may come with the role.
   */
  opening(delta: ChatDelta): JsonObject | undefined {
    if (this.head !== undefined || delta.logprobs === undefined) return undefined;
    this.head = this.headOf(delta);
    return this.chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: { content: [], refusal: null }, finish_reason: null }]);
  }

  delta(delta: ChatDelta): JsonObject {
    const out: JsonObject = {};
    if (this.head === undefined) {
      this.head = this.headOf(delta);
      out.role = "assistant";
    }
    if (delta.content) out.content = delta.content;
    if (delta.reasoningContent) out.reasoning_content = delta.reasoningContent;
    if (delta.refusal) {
      out.refusal = delta.refusal;
      this.refused = true;
    }
    const toolCalls = this.legacyFunctions ? toLegacyDelta(out, delta.toolCalls) : delta.toolCalls;
    if (toolCalls.length > 0) out.tool_calls = toolCalls.map(toolCallFragment);
    // Log probabilities, when asked for, go where OpenAI puts them: beside the delta, before the finish reason.
    const choice: JsonObject = delta.logprobs ? { index: 0, delta: out, logprobs: toOpenAILogprobs(delta.logprobs), finish_reason: null } : { index: 0, delta: out, finish_reason: null };
    return this.chunk([choice]);
  }

  /**
   * `JSON.stringify(this.delta(delta))`. A delta of text alone (almost every
   * event of a stream) is written from the JSON of the parts every chunk
   * repeats, made once, and its text: stringifying the whole chunk again for
   * each one costs more than the rest of its way through the gateway.
   */
  deltaJson(delta: ChatDelta): string {
    const textAlone = this.head !== undefined && delta.content !== "" && delta.reasoningContent === "" && delta.refusal === "" && delta.toolCalls.length === 0 && delta.logprobs === undefined;
    if (!textAlone) return JSON.stringify(this.delta(delta));
    // chunk([]) ends with `"choices":[]}`: the choice goes in its brackets.
    this.textChunkStart ??= `${JSON.stringify(this.chunk([])).slice(0, -2)}{"index":0,"delta":{"content":`;
    return `${this.textChunkStart}${JSON.stringify(delta.content)}},"finish_reason":null}]}`;
  }

  finish(summary: ChatSummary): JsonObject {
    this.head ??= this.headOf(summary);
    const delta: JsonObject = summary.reasoning.length > 0 ? { reasoning_details: toReasoningDetails(summary.reasoning) } : {};
    const reason = toOpenAIFinishReason(summary.finishReason, this.refused);
    return this.chunk([{ index: 0, delta, finish_reason: this.legacyFunctions ? toLegacyFinishReason(reason) : reason }]);
  }

  usage(summary: ChatSummary): JsonObject {
    const out = this.chunk([]);
    out.usage = toOpenAIUsage(summary.usage);
    return out;
  }

  private headOf(said: SaidIdentity): ChunkHead {
    const fallback = this.fallback();
    return { id: said.id || fallback.id, model: said.vendorModel || fallback.model, serviceTier: said.serviceTier, systemFingerprint: said.systemFingerprint };
  }

  private chunk(choices: JsonObject[]): JsonObject {
    const head: ChunkHead = (this.head ??= this.fallback());
    const out: JsonObject = { id: head.id, object: "chat.completion.chunk", created: this.created, model: head.model };
    toOpenAIIdentity(out, head);
    out.choices = choices;
    return out;
  }
}

function toolCallFragment(fragment: ToolCallDelta): JsonObject {
  const fn: JsonObject = { arguments: fragment.argumentsFragment };
  if (fragment.name) fn.name = fragment.name;
  // The first fragment of a call names it; the rest carry arguments only.
  return fragment.id ? { index: fragment.index, id: fragment.id, type: "function", function: fn } : { index: fragment.index, function: fn };
}
