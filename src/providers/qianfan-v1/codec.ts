import type { Codec, VendorRequest } from "../codec.js";
import { badResponse, isJsonObject, parseJson } from "../codec-errors.js";
import { fromOpenAIUsage } from "../openai/usage.js";
import type { ChatResult } from "../provider.js";
import { fromQianfanEmbeddings, toQianfanEmbeddingBody } from "./embeddings.js";
import { chatPath, embeddingPath, knownModels } from "./endpoints.js";
import { hasErrorCode, qianfanError, qianfanStatusError } from "./errors.js";
import { QianfanStreamDecoder } from "./stream.js";
import { fromQianfanAnswer, fromQianfanFinishReason, toQianfanChatBody, type QianfanChatAnswer } from "./wire.js";

export interface QianfanV1CodecOptions {
  /** The provider's configured name, for the errors of requests the dialect cannot carry. */
  provider: string;
}

/**
 * Baidu Qianfan v1 (wenxinworkshop), as pure functions: the model named by
 * the request's path, errors as `error_code` bodies (inside HTTP 200 answers
 * too). The access token is not the codec's: QianfanTokenAuth puts it in the
 * query string.
 */
export function createQianfanV1Codec(options: QianfanV1CodecOptions): Codec {
  const { provider } = options;
  return {
    dialect: "qianfan-v1",

    chatRequest(params, model, stream): VendorRequest {
      const request: VendorRequest = { method: "POST", path: chatPath(model), body: toQianfanChatBody(params, provider, stream) };
      return stream ? { ...request, stream: "sse" } : request;
    },

    chatResponse(body, _params, ctx): ChatResult {
      if (!isJsonObject(body)) throw badResponse(ctx, "answered with a body that is not JSON");
      const answer = body as QianfanChatAnswer;
      const message = fromQianfanAnswer(answer);
      const { usage, fault } = fromOpenAIUsage(answer.usage);
      return {
        id: answer.id ?? "",
        message,
        finishReason: fromQianfanFinishReason(answer, message.toolCalls.length > 0),
        usage,
        usageFault: fault,
      };
    },

    chatStream: (_params, ctx) => new QianfanStreamDecoder(ctx),

    embedRequest: (params, model) => ({ method: "POST", path: embeddingPath(model), body: toQianfanEmbeddingBody(params, model, provider) }),
    embedResponse: fromQianfanEmbeddings,

    // v1 has no model list: the endpoint table is what this dialect knows how to reach.
    knownModels,

    httpError(status, _headers, text, ctx) {
      const body = parseJson(text);
      return hasErrorCode(body) ? qianfanError(ctx, body, status) : qianfanStatusError(ctx, status, text);
    },
    bodyError: (body, status, ctx) => (hasErrorCode(body) ? qianfanError(ctx, body, status) : undefined),
  };
}
