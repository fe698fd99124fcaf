import type { Codec, VendorRequest } from "../codec.js";
import { badResponse } from "../codec-errors.js";
import { fromOpenAIMessage } from "../openai/messages.js";
import { fromOpenAIFinishReason } from "../openai/usage.js";
import type { ChatResult } from "../provider.js";
import { fromDashScopeEmbeddings, toDashScopeEmbeddingBody } from "./embeddings.js";
import { dashScopeError, generationError, parseDashScopeError } from "./errors.js";
import { DashScopeStreamDecoder } from "./stream.js";
import { fromDashScopeUsage, toDashScopeChatBody, type DashScopeGeneration } from "./wire.js";

const GENERATION = "/services/aigc/text-generation/generation";
const TEXT_EMBEDDING = "/services/embeddings/text-embedding/text-embedding";

/** The documented switch that makes DashScope answer with an event stream. */
const STREAM_HEADERS = { "x-dashscope-sse": "enable" };

export interface DashScopeCodecOptions {
  /** The provider's configured name, for the errors of requests the dialect cannot carry. */
  provider: string;
}

/** Alibaba DashScope's native API (not its OpenAI-compatible mode), as pure functions. */
export function createDashScopeCodec(options: DashScopeCodecOptions): Codec {
  const { provider } = options;
  return {
    dialect: "dashscope",

    chatRequest(params, model, stream, traits): VendorRequest {
      const request: VendorRequest = { method: "POST", path: GENERATION, body: toDashScopeChatBody(params, model, provider, stream, traits) };
      return stream ? { ...request, stream: "sse", headers: STREAM_HEADERS } : request;
    },

    chatResponse(body, _params, ctx): ChatResult {
      const answer = body as DashScopeGeneration | null;
      const choice = answer?.output?.choices?.[0];
      if (!choice) throw badResponse(ctx, "answered with no choices");
      const { usage, fault } = fromDashScopeUsage(answer?.usage);
      return {
        id: answer?.request_id ?? "",
        message: fromOpenAIMessage(choice.message, ctx),
        finishReason: fromOpenAIFinishReason(choice.finish_reason),
        usage,
        usageFault: fault,
      };
    },

    chatStream: (_params, ctx) => new DashScopeStreamDecoder(ctx),

    embedRequest: (params, model) => ({ method: "POST", path: TEXT_EMBEDDING, body: toDashScopeEmbeddingBody(params, model) }),
    embedResponse: fromDashScopeEmbeddings,

    // The native API has no model list: the adapter lists none.

    httpError: (status, headers, text, ctx) => dashScopeError(ctx, parseDashScopeError(text), { status, headers }),
    bodyError: (body, _status, ctx) => generationError(body, ctx),
  };
}
