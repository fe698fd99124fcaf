// Claude caches nothing unless a request marks where the cached prefix ends
// (cache_control), and a cache read costs a tenth of fresh input, a write a
// quarter more. A caller of `/v1/messages` (Claude Code) marks its own
// breakpoints; a caller of the OpenAI surfaces or the typed API cannot say
// them, and agents there (Codex) resend the whole conversation every turn.
// Their requests get Anthropic's automatic caching: a top-level
// `cache_control`, which puts the breakpoint on the request's last cacheable
// block and moves it forward as the conversation grows. A prompt shorter than
// the model's minimum cacheable length is neither written nor charged more.
// One reuse within five minutes pays for the write. A provider can turn it off
// (`automatic_prompt_caching: false`).
import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatParams } from "../provider.js";
import { anthropicOriginal } from "./original-request.js";

/** The default five-minute breakpoint, as Anthropic's automatic caching takes it. */
const automaticCacheControl = (): JsonObject => ({ type: "ephemeral" });

/**
 * `body` (the vendor request, changed in place) with the automatic breakpoint,
 * unless the caller set a top-level `cache_control` of its own or wrote the request as Anthropic Messages, its
 * breakpoints (or their absence) its own.
 */
export function withAutomaticPromptCaching(body: JsonObject, params: Pick<ChatParams, "original">): JsonObject {
  if (anthropicOriginal(params.original) === undefined && !Object.hasOwn(body, "cache_control")) body.cache_control = automaticCacheControl();
  return body;
}
