// The wenxinworkshop embeddings endpoints: a list of texts in, OpenAI-shaped vectors out.
import { vectorsByIndex, vendorObject } from "../vendor-fields.js";
import type { JsonObject } from "@bufbuild/protobuf";
import type { ErrorContext } from "../codec.js";
import type { EmbedParams, EmbedResult } from "../provider.js";
import { UpstreamError } from "../upstream-error.js";
import { fromEmbeddingUsage } from "../vendor-usage.js";

interface QianfanEmbeddings {
  data?: { index?: number; embedding?: number[] }[];
  usage?: unknown;
}

/** The request body; v1 embedding models have one vector size, so asking for another is refused here. */
export function toQianfanEmbeddingBody(params: EmbedParams, model: string, provider: string): JsonObject {
  if (params.dimensions !== undefined) {
    throw new UpstreamError({ kind: "bad_request", provider, message: `provider "${provider}": model "${model}" cannot shorten its vectors; leave dimensions unset` });
  }
  const body: JsonObject = { input: params.inputs };
  if (params.user) body.user_id = params.user;
  return body;
}

/** The vectors in the order of the texts (`index`), one per text, and the tokens read. */
export function fromQianfanEmbeddings(body: unknown, params: EmbedParams, ctx: ErrorContext): EmbedResult {
  const answer = vendorObject(body, "the answer", ctx) as QianfanEmbeddings;
  const vectors = vectorsByIndex(answer.data, params.inputs.length, { list: "data", index: "index", vector: "embedding" }, ctx) as number[][];
  const { usage, fault } = fromEmbeddingUsage(answer?.usage, { input: "prompt_tokens", total: "total_tokens" });
  return { vectors, usage, usageFault: fault };
}
