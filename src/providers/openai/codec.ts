import type { Codec } from "../codec.js";
import { fromOpenAIChatCompletion } from "./chat-completion.js";
import { openAIChunkDecoder } from "./chat-chunks.js";
import { toOpenAIChatBody, type OpenAIRequestOptions } from "./chat-request.js";
import { fromOpenAIEmbeddingList, toOpenAIEmbeddingRequest } from "./embeddings.js";
import { fromOpenAIHttpError, openAIBodyError } from "./errors.js";
import { fromOpenAIModelList } from "./models.js";

/**
 * The OpenAI Chat Completions dialect, as OpenAI, DeepSeek, Moonshot, Zhipu
 * GLM v4, Qianfan v2, DashScope's compatible mode, Ollama and vLLM speak it.
 */
export function createOpenAICodec(options: OpenAIRequestOptions): Codec {
  return {
    dialect: "openai",
    chatRequest: (params, model, stream, traits) => ({ method: "POST", path: "/chat/completions", body: toOpenAIChatBody(params, model, stream, options, traits), stream: stream ? "sse" : undefined }),
    chatResponse: (body, _params, ctx) => fromOpenAIChatCompletion(body, ctx),
    chatStream: (_params, ctx) => openAIChunkDecoder(ctx),
    embedRequest: (params, model) => ({ method: "POST", path: "/embeddings", body: toOpenAIEmbeddingRequest(params, model) }),
    embedResponse: fromOpenAIEmbeddingList,
    modelsRequest: () => ({ method: "GET", path: "/models" }),
    modelsResponse: fromOpenAIModelList,
    httpError: fromOpenAIHttpError,
    bodyError: openAIBodyError,
  };
}
