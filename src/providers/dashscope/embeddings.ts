// DashScope's text-embedding service: texts inside `input`, the vector size inside `parameters`.
import { vectorsByIndex, vendorObject } from "../vendor-fields.js";
import type { JsonObject } from "@bufbuild/protobuf";
import type { ErrorContext } from "../codec.js";
import type { EmbedParams, EmbedResult } from "../provider.js";
import { fromEmbeddingUsage } from "../vendor-usage.js";

interface DashScopeEmbeddings {
  output?: { embeddings?: { text_index?: number; embedding?: number[] }[] };
  usage?: unknown;
}

export function toDashScopeEmbeddingBody(params: EmbedParams, model: string): JsonObject {
  const body: JsonObject = { model, input: { texts: params.inputs } };
  if (params.dimensions !== undefined) body.parameters = { dimension: params.dimensions };
  return body;
}

/** The vectors in the order of the texts (`text_index`), one per text, and the tokens read. */
export function fromDashScopeEmbeddings(body: unknown, params: EmbedParams, ctx: ErrorContext): EmbedResult {
  const answer = vendorObject(body, "the answer", ctx) as DashScopeEmbeddings;
  const output = vendorObject(answer.output, "output", ctx);
  const vectors = vectorsByIndex(output.embeddings, params.inputs.length, { list: "output.embeddings", index: "text_index", vector: "embedding" }, ctx) as number[][];
  // The one count is the total: all of it input.
  const { usage, fault } = fromEmbeddingUsage(answer?.usage, { input: "total_tokens" });
  return { vectors, usage, usageFault: fault };
}
