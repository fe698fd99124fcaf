import { Code } from "@connectrpc/connect";
import type { RouteConfig } from "../config/config.js";
import { howToEnable, presetFor } from "../config/provider-presets.js";
import { excerpt } from "../common/excerpt.js";
import { gatewayError } from "../common/gateway-error.js";
import { compileGlob } from "../common/glob.js";

/** One way to serve a requested model: a provider and the model name it receives. */
export interface Candidate {
  provider: string;
  upstreamModel: string;
}

/** A route's fallback no call can reach (Router.unservedFallbacks). */
export interface UnservedFallback {
  /** Where the config file has it: `routes[0].fallbacks[1]`. */
  field: string;
  /** The route's model (name or glob). */
  route: string;
  fallback: string;
  /** The provider it would route to, which is not configured; unset when no route or provider serves the name at all. */
  unconfiguredProvider?: string;
}

interface CompiledRoute {
  route: RouteConfig;
  matches: (model: string) => boolean;
}

/**
 * Turns a requested model into candidates. Routes are tried in order (the
 * config file's first, then the vendors' defaults); "provider/model" names a
 * provider directly. Routes to providers that are not configured are skipped,
 * so the defaults cost nothing until a vendor's key is set.
 */
export class Router {
  private readonly routes: CompiledRoute[];

  constructor(
    routes: RouteConfig[],
    private readonly providers: ReadonlySet<string>,
  ) {
    this.routes = routes.map((route) => ({ route, matches: compileGlob(route.model) }));
  }

  /**
   * The candidates in the order to try them: the route's own, then its
   * `fallbacks`, each routed as if requested (its own fallbacks are not
   * followed, so chains cannot loop). Fallbacks to unconfigured providers or
   * unknown models are skipped (said once at start: unservedFallbacks), as are duplicates. "provider/model" names
   * exactly one candidate: the caller chose it.
   */
  resolve(model: string): Candidate[] {
    const { candidate, route } = this.primary(model);
    const candidates = [candidate];
    for (const fallback of route?.fallbacks ?? []) {
      const next = this.locate(fallback).served;
      if (!next) continue;
      if (!candidates.some((c) => c.provider === next.candidate.provider && c.upstreamModel === next.candidate.upstreamModel)) candidates.push(next.candidate);
    }
    return candidates;
  }

  /**
   * The routes' fallbacks no call can reach, which resolve() skips without a
   * word: a name no route (the file's or a vendor's default pattern) nor
   * configured provider serves, most likely misspelt; and one that routes to
   * a provider that is not configured (documented: a chain may name vendors
   * whose keys are set only in some environments). For the start-up log.
   */
  unservedFallbacks(): UnservedFallback[] {
    return this.routes.flatMap(({ route }, i) =>
      (route.fallbacks ?? []).flatMap((fallback, j) => {
        const found = this.locate(fallback);
        if (found.served) return [];
        return [{ field: `routes[${i}].fallbacks[${j}]`, route: route.model, fallback, unconfiguredProvider: found.unconfigured }];
      }),
    );
  }

  private primary(model: string): { candidate: Candidate; route?: RouteConfig } {
    const { served, unconfigured } = this.locate(model);
    if (served) return served;
    const hint = unconfigured
      ? `it would route to provider "${unconfigured}", which is not configured (${howToEnable(unconfigured)})`
      : "no route serves it";
    throw gatewayError(
      Code.NotFound,
      `model "${excerpt(model)}" is not available: ${hint}; call ListModels (or GET /v1/models) to see the models you can use`,
      "MODEL_NOT_FOUND",
      unconfigured ? { model, provider: unconfigured } : { model },
    );
  }

  /** Where `model` goes; else the unconfigured provider it would go to, if any. */
  private locate(model: string): { served?: { candidate: Candidate; route?: RouteConfig }; unconfigured?: string } {
    const slash = model.indexOf("/");
    if (slash > 0 && this.providers.has(model.slice(0, slash))) {
      return { served: { candidate: { provider: model.slice(0, slash), upstreamModel: model.slice(slash + 1) } } };
    }
    // "ollama/llama3.1" names a vendor the gateway knows but was not given.
    let unconfigured: string | undefined = slash > 0 && presetFor(model.slice(0, slash)) ? model.slice(0, slash) : undefined;
    for (const { route, matches } of this.routes) {
      if (!matches(model)) continue;
      if (!this.providers.has(route.provider)) {
        unconfigured ??= route.provider;
        continue;
      }
      return { served: { candidate: { provider: route.provider, upstreamModel: route.upstreamModel ?? model }, route } };
    }
    return { unconfigured };
  }

  /** The route `model` is served by (the first that matches a configured provider); none for "provider/model" or an unrouted name. */
  route(model: string): RouteConfig | undefined {
    const slash = model.indexOf("/");
    if (slash > 0 && this.providers.has(model.slice(0, slash))) return undefined;
    return this.routes.find(({ route, matches }) => matches(model) && this.providers.has(route.provider))?.route;
  }

  /** The exact (non-glob) model names routes declare, with where they go. */
  declaredModels(): { id: string; candidate: Candidate }[] {
    return this.routes
      .filter(({ route }) => !/[*?]/.test(route.model) && this.providers.has(route.provider))
      .map(({ route }) => ({ id: route.model, candidate: { provider: route.provider, upstreamModel: route.upstreamModel ?? route.model } }));
  }

  /** Whether `model` would be routed to `provider` by name alone (so it can be listed without a prefix). */
  routesTo(model: string, provider: string): boolean {
    try {
      const [first] = this.resolve(model);
      return first?.provider === provider && first.upstreamModel === model;
    } catch {
      return false;
    }
  }
}
