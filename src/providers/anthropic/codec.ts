import type { Codec } from "../codec.js";
import { badResponse, isJsonObject } from "../codec-errors.js";
import { vendorIdentityOf } from "../openai/answer-identity.js";
import type { DiscoveredModel } from "../provider.js";
import { anthropicHttpError, anthropicStreamError } from "./errors.js";
import { anthropicOriginal, BETA_HEADER } from "./original-request.js";
import { AnthropicStreamDecoder } from "./stream-decoder.js";
import { ANTHROPIC_VERSION, fromAnthropicContent, fromAnthropicStopReason, fromAnthropicStopSequence, fromAnthropicUsage, toAnthropicBody, type AnthropicMessage } from "./wire.js";
import { jsonToolName } from "./json-tool.js";
import { withAutomaticPromptCaching } from "./automatic-prompt-caching.js";

export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

export interface AnthropicCodecOptions {
  /** The provider's configured name, for the errors of requests the dialect cannot carry. */
  provider: string;
  /** Sent when the caller gives no max_tokens, which Anthropic requires, and the catalogue knows no longest answer for the model (the provider's default_max_tokens). */
  defaultMaxTokens?: number;
  /** Mark a cache breakpoint on requests whose caller could not (automatic-prompt-caching.ts); on unless false. */
  automaticPromptCaching?: boolean;
}

/** Models asked for per page: Anthropic's maximum, so one page usually holds them all. */
const MODELS_PAGE_SIZE = 1000;

/**
 * The Anthropic Messages dialect. The base URL is the origin without the
 * version ("https://api.anthropic.com"), as Anthropic's SDKs take it.
 * Anthropic has no embeddings API: the codec has no embed functions.
 */
export function createAnthropicCodec(options: AnthropicCodecOptions): Codec {
  const { provider } = options;
  const wire = { defaultMaxTokens: options.defaultMaxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS };
  return {
    dialect: "anthropic",
    defaultHeaders: { "anthropic-version": ANTHROPIC_VERSION },
    defaultMaxTokens: wire.defaultMaxTokens,

    chatRequest(params, model, stream, traits) {
      // The beta features a caller of `/v1/messages` asked for go on with its request.
      const headers = anthropicOriginal(params.original)?.headers;
      const betas = headers?.[BETA_HEADER] ? { headers: { [BETA_HEADER]: headers[BETA_HEADER] } } : {};
      const body = toAnthropicBody(provider, params, model, stream, wire, traits);
      if (options.automaticPromptCaching !== false) withAutomaticPromptCaching(body, params);
      return { method: "POST", path: "/v1/messages", body, stream: stream ? "sse" : undefined, ...betas };
    },

    chatResponse(body, params, ctx) {
      if (!isJsonObject(body) || !Array.isArray(body.content)) throw badResponse(ctx, "answered with no content");
      const answer = body as AnthropicMessage;
      const message = fromAnthropicContent(answer.content, jsonToolName(params), ctx);
      const { usage, fault } = fromAnthropicUsage(answer.usage);
      return {
        id: typeof answer.id === "string" ? answer.id : "",
        message,
        finishReason: fromAnthropicStopReason(answer.stop_reason, message.toolCalls.length > 0),
        stopSequence: fromAnthropicStopSequence(answer.stop_reason, answer.stop_sequence, params.stop),
        usage,
        usageFault: fault,
        // The model as Anthropic names it: the dated one an alias points to.
        ...vendorIdentityOf({ model: body.model }),
      };
    },

    chatStream(params, ctx) {
      return new AnthropicStreamDecoder(jsonToolName(params), ctx, params.stop);
    },

    // The list is paged by the last id of the previous page.
    modelsRequest(afterId) {
      const after = afterId ? `&after_id=${encodeURIComponent(afterId)}` : "";
      return { method: "GET", path: `/v1/models?limit=${MODELS_PAGE_SIZE}${after}` };
    },

    modelsResponse(body) {
      const list = (isJsonObject(body) ? body : {}) as { data?: { id?: unknown }[]; has_more?: unknown; last_id?: unknown };
      const models: DiscoveredModel[] = [];
      for (const model of Array.isArray(list.data) ? list.data : []) if (typeof model?.id === "string") models.push({ id: model.id, embeddings: false });
      return { models, nextPageToken: list.has_more === true && typeof list.last_id === "string" && list.last_id ? list.last_id : undefined };
    },

    httpError: anthropicHttpError,
    // An error body with a 200 status (a proxy's doing): classified by its type, as a mid-stream error is.
    bodyError: (body, _status, ctx) => (isJsonObject(body) && body.type === "error" && isJsonObject(body.error) ? anthropicStreamError(JSON.stringify(body), ctx) : undefined),
  };
}
