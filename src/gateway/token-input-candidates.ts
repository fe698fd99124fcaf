import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { badRequestOf } from "../common/bad-request.js";
import type { EmbedParams } from "../providers/provider.js";
import type { ProviderRuntime } from "./provider-runtime.js";
import type { Candidate } from "./router.js";

/** Why a provider takes none, and, where its dialect could send them, how its operator enables them. */
function whyNot(provider: string, runtime: ProviderRuntime | undefined): string {
  const dialect = runtime?.adapter.dialect;
  if (dialect !== "openai") return `whose API (dialect "${dialect}") takes texts only`;
  return `which is not set to take them: if its endpoint does (vLLM's does), its operator can set providers.${provider}.embed_token_inputs: true`;
}

/**
 * The candidates that can take an Embed call's token arrays, and the others
 * as attempts never sent (outcome "unsupported", as request fitting skips a
 * chat candidate). None left: InvalidArgument naming the field and the
 * provider, saying who serves token arrays, how its operator enables them
 * and how LangChain sends text instead. A call of texts keeps every candidate.
 */
export function tokenInputCandidates(
  params: EmbedParams,
  candidates: readonly Candidate[],
  providers: ReadonlyMap<string, ProviderRuntime>,
): { candidates: readonly Candidate[]; refused: Attempt[]; error?: ConnectError } {
  if (params.tokenInputs.length === 0) return { candidates, refused: [] };
  // Judged once at start from each provider's dialect, endpoint and config (src/config/token-input-endpoints.ts).
  const usable = candidates.filter((candidate) => providers.get(candidate.provider)?.embedTokenInputs === true);
  const refused = candidates
    .filter((candidate) => !usable.includes(candidate))
    .map((candidate) => create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome: "unsupported", duration: durationFromMs(0) }));
  if (usable.length > 0 || candidates.length === 0) return { candidates: usable, refused };
  const first = candidates[0]!;
  const field = params.fieldNames?.tokenInputs ?? "token_inputs";
  const description =
    `token arrays are served only by OpenAI's own embeddings API (api.openai.com) and by providers configured to take them; model "${params.model}" is served by provider "${first.provider}" (${first.upstreamModel}), ` +
    `${whyNot(first.provider, providers.get(first.provider))}. Send the texts instead (LangChain's OpenAIEmbeddings does with check_embedding_ctx_length=False)`;
  return { candidates: usable, refused, error: badRequestOf([{ field, description }], "INVALID_ARGUMENT", { provider: first.provider, model: first.upstreamModel }) };
}
