import { vendorArray, vendorObject } from "../vendor-fields.js";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { MessageSchema, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import type { Codec } from "../codec.js";
import { badResponse, isJsonObject } from "../codec-errors.js";
import { vendorIdentityOf } from "../openai/answer-identity.js";
import type { DiscoveredModel } from "../provider.js";
import { fromGoogleError, geminiHttpError, noCandidate, type GoogleError } from "./errors.js";
import { GeminiStreamDecoder } from "./stream-decoder.js";
import { fromGeminiFinishReason, fromGeminiParts, fromGeminiUsage, modelPath, modelResource, toGeminiBody, type GeminiResponse } from "./wire.js";

export interface GeminiCodecOptions {
  /** The provider's configured name, for the errors of requests the dialect cannot carry. */
  provider: string;
}

/** Models asked for per page: the most the list gives at once, so one page usually holds them all. */
const MODELS_PAGE_SIZE = 1000;

interface GeminiModel {
  name?: unknown;
  supportedGenerationMethods?: unknown;
}

/**
 * The Gemini Developer API (generativelanguage) dialect. The base URL
 * includes the API version: "https://generativelanguage.googleapis.com/v1beta".
 */
export function createGeminiCodec(options: GeminiCodecOptions): Codec {
  const { provider } = options;
  return {
    dialect: "gemini",

    chatRequest(params, model, stream) {
      const body = toGeminiBody(provider, params, model);
      // Without alt=sse the stream is one JSON array written piece by piece; with it, one event a chunk.
      if (stream) return { method: "POST", path: `${modelPath(model)}:streamGenerateContent?alt=sse`, body, stream: "sse" };
      return { method: "POST", path: `${modelPath(model)}:generateContent`, body };
    },

    chatResponse(body, _params, ctx) {
      const answer = (isJsonObject(body) ? body : {}) as GeminiResponse;
      const candidate = answer.candidates?.[0];
      if (!candidate) throw noCandidate(answer.promptFeedback, ctx);
      const { text, reasoning, reasoningSummarized, toolCalls } = fromGeminiParts(candidate.content?.parts, 0, typeof answer.responseId === "string" ? answer.responseId : "", ctx);
      const { usage, fault } = fromGeminiUsage(answer.usageMetadata);
      return {
        id: typeof answer.responseId === "string" ? answer.responseId : "",
        message: create(MessageSchema, { role: Role.ASSISTANT, content: text, toolCalls, reasoningContent: reasoning, reasoningSummarized }),
        finishReason: fromGeminiFinishReason(candidate.finishReason, toolCalls.length > 0),
        usage,
        usageFault: fault,
        ...vendorIdentityOf({ model: answer.modelVersion }),
      };
    },

    chatStream(_params, ctx) {
      return new GeminiStreamDecoder(ctx);
    },

    embedRequest(params, model) {
      const requests = params.inputs.map((text) => {
        const request: JsonObject = { model: modelResource(model), content: { parts: [{ text }] } };
        if (params.dimensions !== undefined) request.outputDimensionality = params.dimensions;
        return request;
      });
      return { method: "POST", path: `${modelPath(model)}:batchEmbedContents`, body: { requests } };
    },

    embedResponse(body, params, ctx) {
      const answer = (isJsonObject(body) ? body : {}) as { embeddings?: unknown };
      // In the order of the requests, with no index: one per input, each a list (its values are checked by the adapter).
      const embeddings = vendorArray(answer.embeddings, "embeddings", ctx);
      if (embeddings.length !== params.inputs.length) throw badResponse(ctx, `answered with ${embeddings.length} embeddings for ${params.inputs.length} inputs`);
      const vectors = embeddings.map((embedding, i) => {
        const values = vendorObject(embedding, `embeddings[${i}]`, ctx).values;
        if (!Array.isArray(values)) throw badResponse(ctx, `answered with embeddings[${i}].values that is not a list of numbers`);
        return values as number[];
      });
      // The Developer API reports no token counts for embeddings.
      return { vectors, usage: undefined };
    },

    modelsRequest(pageToken) {
      const page = pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : "";
      return { method: "GET", path: `/models?pageSize=${MODELS_PAGE_SIZE}${page}` };
    },

    modelsResponse(body) {
      const list = (isJsonObject(body) ? body : {}) as { models?: GeminiModel[]; nextPageToken?: unknown };
      const models = (Array.isArray(list.models) ? list.models : []).flatMap((model) => servable(model ?? {}));
      return { models, nextPageToken: typeof list.nextPageToken === "string" && list.nextPageToken ? list.nextPageToken : undefined };
    },

    httpError: geminiHttpError,
    // An error body with a 200 status (a proxy's doing): classified by the HTTP code it carries, as a mid-stream error is.
    bodyError(body, _status, ctx) {
      if (!isJsonObject(body) || !isJsonObject(body.error) || Array.isArray(body.candidates)) return undefined;
      const error = body.error as GoogleError;
      return fromGoogleError(ctx, typeof error.code === "number" && error.code >= 400 && error.code <= 599 ? error.code : 500, error);
    },
  };
}

/** A listed model as the gateway can serve it: none for a model that neither chats nor embeds (answer-only or image models). */
function servable(model: GeminiModel): DiscoveredModel[] {
  if (typeof model.name !== "string") return [];
  const methods = Array.isArray(model.supportedGenerationMethods) ? model.supportedGenerationMethods : [];
  const embeddings = methods.includes("embedContent");
  if (!embeddings && !methods.includes("generateContent")) return [];
  return [{ id: model.name.replace(/^models\//, ""), embeddings }];
}
