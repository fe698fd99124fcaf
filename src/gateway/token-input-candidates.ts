import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { badRequestOf } from "../common/bad-request.js";
import type { EmbedParams } from "../providers/provider.js";
import type { ProviderRuntime } from "./provider-runtime.js";
import type { Candidate } from "./router.js";

/**
 * The providers whose embeddings API takes token ids as `input` (int[] and
 * int[][]): OpenAI's, as its API reference documents. The other vendors of
 * its dialect document texts only (Zhipu, Qianfan v2, DashScope's compatible
 * mode), and ids are a tokenizer's: tiktoken's mean nothing to another model.
 */
const TOKEN_INPUT_PROVIDERS: ReadonlySet<string> = new Set(["openai"]);

function takesTokenInputs(candidate: Candidate, providers: ReadonlyMap<string, ProviderRuntime>): boolean {
  return TOKEN_INPUT_PROVIDERS.has(candidate.provider) && providers.get(candidate.provider)?.adapter.dialect === "openai";
}

/**
 * The candidates that can take an Embed call's token arrays, and the others
 * as attempts never sent (outcome "unsupported", as request fitting skips a
 * chat candidate). None left: InvalidArgument naming the field, saying who
 * serves token arrays and how LangChain sends text instead. A call of texts
 * keeps every candidate.
 */
export function tokenInputCandidates(
  params: EmbedParams,
  candidates: readonly Candidate[],
  providers: ReadonlyMap<string, ProviderRuntime>,
): { candidates: readonly Candidate[]; refused: Attempt[]; error?: ConnectError } {
  if (params.tokenInputs.length === 0) return { candidates, refused: [] };
  const usable = candidates.filter((candidate) => takesTokenInputs(candidate, providers));
  const refused = candidates
    .filter((candidate) => !usable.includes(candidate))
    .map((candidate) => create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome: "unsupported", duration: durationFromMs(0) }));
  if (usable.length > 0 || candidates.length === 0) return { candidates: usable, refused };
  const first = candidates[0]!;
  const field = params.fieldNames?.tokenInputs ?? "token_inputs";
  const description =
    `token arrays are served only by OpenAI's embedding models (provider "openai"), and model "${params.model}" is served by ${first.provider}/${first.upstreamModel}: ` +
    "send the texts instead (LangChain's OpenAIEmbeddings does with check_embedding_ctx_length=False)";
  return { candidates: usable, refused, error: badRequestOf([{ field, description }], "INVALID_ARGUMENT", { provider: first.provider, model: first.upstreamModel }) };
}
