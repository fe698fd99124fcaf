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
  /** Whose answers these are: "key:{id}", "team:{team}", or "route:{provider}:{model pattern}" for a route shared by every caller of it. */
  partition: string;
  /** Who writes the answer, named as its own partition (`key:{id}`): L2 bounds what one key writes across every partition it reaches. */
  writer: string;
  /**
   * The tenant the writer belongs to: its team (`team:{team}`), or the key
   * itself (`writer`) when it has none. Both levels bound what one tenant's
   * keys hold together, so a team that mints many keys gets one share.
   */
  tenant: string;
  /** May be answered from the cache (false for `no-cache`: a refresh). */
  read: boolean;
  /**
   * May replace an entry already kept. A refresh of a shared partition
   * (route, team) only fills an empty one: otherwise any caller could redraw,
   * until the vendor says something odd, the answer every other caller gets.
   */
  replace: boolean;
}

/** Why a call is left out of the cache entirely (a metric's label). */
export type BypassReason = "mode_off" | "not_deterministic" | "no_store";

/** Why an answer is not kept (a metric's label). */
export type NotStoredReason = "refusal" | "content_filter" | "length" | "tool_calls" | "unfinished" | "empty" | "fallback";

/** The route a call's policy comes from: its settings, and a name for it that stays the same across restarts and instances. */
interface ServingRoute {
  policy: RouteCachePolicy;
  /** "{provider}:{model pattern}" of the route; "{provider}/{model}" for a direct name no route matches. */
  id: string;
  /** The model name the route sends its vendor; undefined when no route matches and the name is not direct. */
  upstreamModel: string | undefined;
}

/** Route policies looked up per (requested model, provider) are remembered, up to this many. */
const MEMO_LIMIT = 1_000;

/**
 * What is cached, for whom, and for how long: the route's `cache` settings
 * (the gateway-wide defaults for routes without), the request's own
 * `cache_control`, and what the answer turned out to be.
 */
export class CachePolicy {
  private readonly routes: { route: RouteConfig; matches: (model: string) => boolean }[];
  private readonly memo = new Map<string, ServingRoute>();

  constructor(
    routes: readonly RouteConfig[],
    private readonly defaults: RouteCachePolicy,
  ) {
    this.routes = routes.map((route) => ({ route, matches: compileGlob(route.model) }));
  }

  /**
   * How the call uses the cache, or why it does not. `routed`: the first
   * candidate the router gave the call, which picks the route whose settings
   * apply (`primary`, the first that can take the call, unless request
   * fitting skipped it): a fallback of another provider has no route of the
   * requested name, and would otherwise be cached under the defaults.
   */
  forCall(params: ChatParams, primary: Candidate, principal: Principal, routed: Candidate = primary): CallCachePolicy | BypassReason {
    const serving = this.servingRoute(params.model, routed, principal);
    const route = serving.policy;
    if (route.mode === "off") return "mode_off";
    if (params.cacheControl === CacheControl.NO_STORE) return "no_store";
    // Without a fixed temperature or seed, asking twice means asking for another answer.
    if (route.mode === "deterministic" && params.temperature !== 0 && params.seed === undefined) return "not_deterministic";
    const partition = partitionOf(serving, principal);
    const read = params.cacheControl !== CacheControl.NO_CACHE;
    const writer = ownPartition(principal);
    return { route, partition, writer, tenant: tenantOf(principal), read, replace: read || partition === writer };
  }

  /**
   * Why an answer may not be kept or shared, or undefined when it may. The
   * route settings read here are keyed (cache-key.ts storedAnswerRules), so
   * they hold for every route that reads the entry as well.
   */
  notStorable(answer: CacheableAnswer, primary: Candidate, route: RouteCachePolicy): NotStoredReason | undefined {
    if (answer.finishReason === FinishReason.REFUSAL || answer.message.refusal !== "") return "refusal";
    if (answer.finishReason === FinishReason.CONTENT_FILTER) return "content_filter";
    if (TRUNCATED.has(answer.finishReason) && !route.truncated) return "length";
    if ((answer.finishReason === FinishReason.TOOL_CALLS || answer.message.toolCalls.length > 0) && !route.toolCalls) return "tool_calls";
    // No finish reason (a stream that ended without one) or one the gateway does not know (Gemini's MALFORMED_FUNCTION_CALL, …):
    // not a clean answer, and a retry must be able to get another.
    if (!FINISHED.has(answer.finishReason)) return "unfinished";
    // An answer that says nothing (reasoning alone says nothing to the caller) is the one a caller asks again for.
    if (answer.message.content === "" && answer.message.toolCalls.length === 0) return "empty";
    // A fallback's answer is not what the key names: the route's own model may be back next time.
    if (answer.served.provider !== primary.provider || answer.served.upstreamModel !== primary.upstreamModel) return "fallback";
    return undefined;
  }

  /**
   * The route that serves the call: that of the requested model, or, for a
   * call downgraded to the key's economy model (its candidates are that
   * model's), the economy model's route, so a route that switched its cache
   * off is not cached through downgrades. `routed`: the router's first candidate.
   */
  private servingRoute(requested: string, routed: Candidate, principal: Principal): ServingRoute {
    const asked = this.routeOf(requested, routed.provider);
    const economy = principal.policy?.economyFor(requested);
    if (economy === undefined || economy === requested || asked.upstreamModel === routed.upstreamModel) return asked;
    const downgraded = this.routeOf(economy, routed.provider);
    return downgraded.upstreamModel === routed.upstreamModel ? downgraded : asked;
  }

  /**
   * The first route (in the router's order) whose model matches the name and
   * whose provider is `provider`; for "provider/model" names, the first route
   * of that provider matching the model. The defaults when none does.
   */
  private routeOf(name: string, provider: string): ServingRoute {
    const memoKey = `${provider}\0${name}`;
    let serving = this.memo.get(memoKey);
    if (serving === undefined) {
      const direct = name.startsWith(`${provider}/`) ? name.slice(provider.length + 1) : undefined;
      const byName = this.routes.find(({ route, matches }) => route.provider === provider && matches(name));
      const byDirect = byName || direct === undefined ? undefined : this.routes.find(({ route, matches }) => route.provider === provider && matches(direct));
      const found = (byName ?? byDirect)?.route;
      serving = found
        ? { policy: found.cache ?? this.defaults, id: `${found.provider}:${found.model}`, upstreamModel: found.upstreamModel ?? (byName ? name : direct) }
        : { policy: this.defaults, id: `${provider}/${direct ?? name}`, upstreamModel: direct };
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(memoKey, serving);
    }
    return serving;
  }
}

/** Answers cut short by a bound on tokens: max_tokens, or the context window filling first. */
const TRUNCATED = new Set([FinishReason.LENGTH, FinishReason.CONTEXT_WINDOW_EXCEEDED]);

/** Finish reasons of a whole answer; truncated ones and TOOL_CALLS are kept only where the route allows them (above). */
const FINISHED = new Set([FinishReason.STOP, ...TRUNCATED, FinishReason.TOOL_CALLS]);

function partitionOf(serving: ServingRoute, principal: Principal): string {
  // The route's own name: two routes sharing their answers never share them with each other, though they serve the same model.
  if (serving.policy.share === "route") return `route:${serving.id}`;
  if (serving.policy.share === "team" && principal.team) return teamPartition(principal.team);
  return ownPartition(principal);
}

/** The caller's tenant: its team, or its key alone when it has none ("" is none). */
function tenantOf(principal: Principal): string {
  return principal.team ? teamPartition(principal.team) : ownPartition(principal);
}

function teamPartition(team: string): string {
  return `team:${team}`;
}

/** The partition of the caller's own answers. */
function ownPartition(principal: Principal): string {
  return `key:${principal.keyId}`;
}
