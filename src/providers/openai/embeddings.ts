// Embeddings in the OpenAI shape, both ways: requested from vendors that
// speak the dialect, and served to callers of the REST surface.
import { vectorsByIndex, vendorObject } from "../vendor-fields.js";
import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { EmbedRequestSchema, TokenIdsSchema, type EmbedRequest, type EmbedResponse, type TokenIds } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { ErrorContext } from "../codec.js";
import { embedInputCount } from "../embed-inputs.js";
import type { EmbedParams, EmbedResult } from "../provider.js";
import { fromEmbeddingUsage } from "../vendor-usage.js";
import { wholeNumber } from "./chat-request.js";
import { strictReader as read } from "./json-reader.js";

export function toOpenAIEmbeddingRequest(params: EmbedParams, model: string): JsonObject {
  // Token arrays go as the caller wrote them (int[][]), to the vendors that take them (token-input-candidates.ts).
  const input = params.tokenInputs.length > 0 ? params.tokenInputs.map((tokens) => tokens.ids) : params.inputs;
  const body: JsonObject = { model, input, encoding_format: "float" };
  if (params.dimensions !== undefined) body.dimensions = params.dimensions;
  if (params.user) body.user = params.user;
  return body;
}

/** A vendor's vectors, in input order: one per input, each index once (vectorsByIndex), else bad_response. */
export function fromOpenAIEmbeddingList(raw: unknown, params: EmbedParams, ctx: ErrorContext): EmbedResult {
  const answer = vendorObject(raw, "the answer", ctx);
  const vectors = vectorsByIndex(answer.data, embedInputCount(params), { list: "data", index: "index", vector: "embedding" }, ctx) as number[][];
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

/**
 * The largest token id a request may carry: the unified request's (TokenIds.ids
 * is uint32). Tokenizers' vocabularies are far smaller (o200k_base's 200,019
 * ids); an id past the model's is its vendor's to refuse.
 */
const MAX_TOKEN_ID = 2 ** 32 - 1;

/** Reads a caller's request body; a field of the wrong shape is InvalidArgument naming it. */
export function embeddingRequestFromOpenAI(raw: unknown): OpenAIEmbeddingRequest {
  const body = read.object(raw, "body", true);
  const { inputs, tokenInputs } = embeddingInputs(body.input);
  const encoding = body.encoding_format ?? "float";
  if (encoding !== "float" && encoding !== "base64") return read.reject("encoding_format", 'must be "float" or "base64"');
  const request = create(EmbedRequestSchema, { model: read.string(body.model, "model"), inputs, tokenInputs, dimensions: wholeNumber(body, "dimensions"), user: read.string(body.user, "user") });
  // Errors name the texts as the caller wrote them: OpenAI's `input`, not the unified `inputs` or `token_inputs`.
  return { request: Object.assign(request, { fieldNames: { inputs: "input", tokenInputs: "input" } }), encoding };
}

/**
 * OpenAI's `input`: a string, strings, one text's token ids (int[], what
 * LangChain sends for one short text) or several texts' (int[][], what
 * LangChain's OpenAIEmbeddings sends by default). `[]` is read as no strings.
 */
function embeddingInputs(input: unknown): { inputs: string[]; tokenInputs: TokenIds[] } {
  if (typeof input === "string") return { inputs: [input], tokenInputs: [] };
  if (Array.isArray(input)) {
    if (input.every((x) => typeof x === "string")) return { inputs: input as string[], tokenInputs: [] };
    if (input.every((x) => typeof x === "number")) return { inputs: [], tokenInputs: [tokenIds(input, "input")] };
    if (input.every((x) => Array.isArray(x))) return { inputs: [], tokenInputs: input.map((ids: unknown[], i) => tokenIds(ids, `input[${i}]`)) };
  }
  return read.reject("input", "must be a string, an array of strings, an array of token ids (integers) or an array of such arrays");
}

function tokenIds(ids: unknown[], field: string): TokenIds {
  ids.forEach((id, j) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) read.reject(`${field}[${j}]`, `must be a token id: an integer from 0 to ${MAX_TOKEN_ID}`);
  });
  return create(TokenIdsSchema, { ids: ids as number[] });
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
