// Embeddings in the OpenAI shape, both ways: requested from vendors that
// speak the dialect, and served to callers of the REST surface.
import { vectorsByIndex, vendorObject } from "../vendor-fields.js";
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { EmbedRequestSchema, type EmbedRequest, type EmbedResponse } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { ErrorContext } from "../codec.js";
import type { EmbedParams, EmbedResult } from "../provider.js";
import { fromEmbeddingUsage } from "../vendor-usage.js";
import { wholeNumber } from "./chat-request.js";
import { strictReader as read } from "./json-reader.js";

export function toOpenAIEmbeddingRequest(params: EmbedParams, model: string): JsonObject {
  const body: JsonObject = { model, input: params.inputs, encoding_format: "float" };
  if (params.dimensions !== undefined) body.dimensions = params.dimensions;
  if (params.user) body.user = params.user;
  return body;
}

/** A vendor's vectors, in input order: one per input, each index once (vectorsByIndex), else bad_response. */
export function fromOpenAIEmbeddingList(raw: unknown, params: EmbedParams, ctx: ErrorContext): EmbedResult {
  const answer = vendorObject(raw, "the answer", ctx);
  const vectors = vectorsByIndex(answer.data, params.inputs.length, { list: "data", index: "index", vector: "embedding" }, ctx) as number[][];
  const { usage, fault } = fromEmbeddingUsage(answer.usage, { input: "prompt_tokens", total: "total_tokens" });
  return { vectors, usage, usageFault: fault };
}

/**
 * How `/v1/embeddings` writes vectors: "float" as JSON arrays (OpenAI's
 * default), "base64" as little-endian float32 bytes. The OpenAI SDKs ask for
 * base64 unless the caller chose (openai-node and openai-python both decode
 * it as float32), so answering floats to them yields garbage vectors.
 */
export type EmbeddingEncoding = "float" | "base64";

export interface OpenAIEmbeddingRequest {
  request: EmbedRequest;
  encoding: EmbeddingEncoding;
}

/** Reads a caller's request body; a field of the wrong shape is InvalidArgument naming it. */
export function embeddingRequestFromOpenAI(raw: unknown): OpenAIEmbeddingRequest {
  const body = read.object(raw, "body", true);
  const input = body.input;
  const inputs = typeof input === "string" ? [input] : Array.isArray(input) && input.every((x) => typeof x === "string") ? (input as string[]) : undefined;
  if (!inputs) return read.reject("input", "must be a string or an array of strings (token arrays are not supported)");
  const encoding = body.encoding_format ?? "float";
  if (encoding !== "float" && encoding !== "base64") return read.reject("encoding_format", 'must be "float" or "base64"');
  const request = create(EmbedRequestSchema, { model: read.string(body.model, "model"), inputs, dimensions: wholeNumber(body, "dimensions"), user: read.string(body.user, "user") });
  // Errors name the texts as the caller wrote them: OpenAI's `input`, not the unified `inputs`.
  return { request: Object.assign(request, { fieldNames: { inputs: "input" } }), encoding };
}

/** The unified answer as an embedding list, for callers of the REST surface. */
export function toOpenAIEmbeddingList(res: EmbedResponse, encoding: EmbeddingEncoding): JsonObject {
  return {
    object: "list",
    data: res.embeddings.map((e) => ({ object: "embedding", index: e.index, embedding: encodeVector(e.values, encoding) })),
    model: res.model,
    usage: { prompt_tokens: res.usage?.promptTokens ?? 0, total_tokens: res.usage?.totalTokens ?? 0 },
  };
}

function encodeVector(values: number[], encoding: EmbeddingEncoding): JsonValue {
  if (encoding === "float") return values;
  const bytes = new DataView(new ArrayBuffer(values.length * Float32Array.BYTES_PER_ELEMENT));
  for (const [i, value] of values.entries()) bytes.setFloat32(i * Float32Array.BYTES_PER_ELEMENT, value, true);
  return Buffer.from(bytes.buffer).toString("base64");
}
