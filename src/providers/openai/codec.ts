import type { Codec } from "../codec.js";
import { fromResponsesAnswer } from "../openai-responses/upstream-answer.js";
import { toResponsesBody } from "../openai-responses/upstream-request.js";
import { ResponsesStreamDecoder } from "../openai-responses/upstream-stream.js";
import { fromOpenAIChatCompletion } from "./chat-completion.js";
import { openAIChunkDecoder } from "./chat-chunks.js";
import { toOpenAIChatBody, type OpenAIRequestOptions } from "./chat-request.js";
import { fromOpenAIEmbeddingList, toOpenAIEmbeddingRequest } from "./embeddings.js";
import { fromOpenAIHttpError, openAIBodyError } from "./errors.js";
import { fromOpenAIModelList } from "./models.js";

/**
 * The OpenAI Chat Completions dialect, as OpenAI, DeepSeek, Moonshot, Zhipu
 * GLM v4, Qianfan v2, DashScope's compatible mode, Ollama and vLLM speak it.
 * A model the catalogue says OpenAI serves only on its Responses API
 * (ModelTraits.endpoint: the Codex and -pro models, which `/chat/completions`
 * answers 400 "only supported in v1/responses") goes to `/responses` in that
 * API's shape, and its answer is read in that shape; errors come in the same envelope.
 */
export function createOpenAICodec(options: OpenAIRequestOptions): Codec {
  return {
    dialect: "openai",
    chatRequest: (params, model, stream, traits) =>
      traits?.endpoint === "responses"
        ? { method: "POST", path: "/responses", body: toResponsesBody(params, model, stream, traits), stream: stream ? "sse" : undefined }
        : { method: "POST", path: "/chat/completions", body: toOpenAIChatBody(params, model, stream, options, traits), stream: stream ? "sse" : undefined },
    chatResponse: (body, _params, ctx, traits) => (traits?.endpoint === "responses" ? fromResponsesAnswer(body, ctx) : fromOpenAIChatCompletion(body, ctx)),
    chatStream: (_params, ctx, traits) => (traits?.endpoint === "responses" ? new ResponsesStreamDecoder(ctx) : openAIChunkDecoder(ctx)),
    embedRequest: (params, model) => ({ method: "POST", path: "/embeddings", body: toOpenAIEmbeddingRequest(params, model) }),
    embedResponse: fromOpenAIEmbeddingList,
    modelsRequest: () => ({ method: "GET", path: "/models" }),
    modelsResponse: fromOpenAIModelList,
    httpError: fromOpenAIHttpError,
    bodyError: openAIBodyError,
  };
}
