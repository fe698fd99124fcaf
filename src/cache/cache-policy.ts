import { CacheControl } from "../../gen/ts/switchboard/v1/cache_pb.js";
import { FinishReason } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Principal } from "../auth/principal.js";
import type { RouteCachePolicy } from "../config/cache-config.js";
import type { RouteConfig } from "../config/config.js";
import { compileGlob } from "../common/glob.js";
import type { CacheableAnswer } from "../gateway/response-cache.js";
import type { Candidate } from "../gateway/router.js";
import type { ChatParams } from "../providers/provider.js";

/** How one call uses the cache. */
export interface CallCachePolicy {
  route: RouteCachePolicy;
  /** Whose answers these are: "key:{id}", "team:{team}", or "shared" for a route shared by every caller. */
  partition: string;
  /** May be answered from the cache (false for `no-cache`: a refresh). */
  read: boolean;
}

/** Why a call is left out of the cache entirely (a metric's label). */
export type BypassReason = "mode_off" | "not_deterministic" | "no_store";

/** Why an answer is not kept (a metric's label). */
export type NotStoredReason = "refusal" | "content_filter" | "length" | "tool_calls" | "fallback";

/** Route policies looked up per (requested model, provider) are remembered, up to this many. */
const MEMO_LIMIT = 1_000;

/**
 * What is cached, for whom, and for how long: the route's `cache` settings
 * (the gateway-wide defaults for routes without), the request's own
 * `cache_control`, and what the answer turned out to be.
 */
export class CachePolicy {
  private readonly routes: { route: RouteConfig; matches: (model: string) => boolean }[];
  private readonly memo = new Map<string, RouteCachePolicy>();

  constructor(
    routes: readonly RouteConfig[],
    private readonly defaults: RouteCachePolicy,
  ) {
    this.routes = routes.map((route) => ({ route, matches: compileGlob(route.model) }));
  }

  /** How the call uses the cache, or why it does not. */
  forCall(params: ChatParams, primary: Candidate, principal: Principal): CallCachePolicy | BypassReason {
    const route = this.routePolicy(params.model, primary);
    if (route.mode === "off") return "mode_off";
    if (params.cacheControl === CacheControl.NO_STORE) return "no_store";
    // Without a fixed temperature or seed, asking twice means asking for another answer.
    if (route.mode === "deterministic" && params.temperature !== 0 && params.seed === undefined) return "not_deterministic";
    return { route, partition: partitionOf(route, principal), read: params.cacheControl !== CacheControl.NO_CACHE };
  }

  /** Why an answer may not be kept or shared, or undefined when it may. */
  notStorable(answer: CacheableAnswer, primary: Candidate, route: RouteCachePolicy): NotStoredReason | undefined {
    if (answer.finishReason === FinishReason.REFUSAL || answer.message.refusal !== "") return "refusal";
    if (answer.finishReason === FinishReason.CONTENT_FILTER) return "content_filter";
    if (answer.finishReason === FinishReason.LENGTH && !route.truncated) return "length";
    if ((answer.finishReason === FinishReason.TOOL_CALLS || answer.message.toolCalls.length > 0) && !route.toolCalls) return "tool_calls";
    // A fallback's answer is not what the key names: the route's own model may be back next time.
    if (answer.served.provider !== primary.provider || answer.served.upstreamModel !== primary.upstreamModel) return "fallback";
    return undefined;
  }

  /**
   * The policy of the route that serves the call: the first route (in the
   * router's order) whose model matches the requested name and whose provider
   * serves it; for "provider/model" names, the first route of that provider
   * matching the model. The defaults when none does.
   */
  private routePolicy(requested: string, primary: Candidate): RouteCachePolicy {
    const memoKey = `${primary.provider}\0${requested}`;
    let policy = this.memo.get(memoKey);
    if (policy === undefined) {
      const direct = requested.startsWith(`${primary.provider}/`) ? requested.slice(primary.provider.length + 1) : undefined;
      const found =
        this.routes.find(({ route, matches }) => route.provider === primary.provider && matches(requested)) ??
        (direct === undefined ? undefined : this.routes.find(({ route, matches }) => route.provider === primary.provider && matches(direct)));
      policy = found?.route.cache ?? this.defaults;
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(memoKey, policy);
    }
    return policy;
  }
}

function partitionOf(route: RouteCachePolicy, principal: Principal): string {
  if (route.share === "route") return "shared";
  if (route.share === "team" && principal.team) return `team:${principal.team}`;
  return `key:${principal.keyId}`;
}
