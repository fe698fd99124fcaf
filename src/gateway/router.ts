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
   * unknown models are skipped, as are duplicates. "provider/model" names
   * exactly one candidate: the caller chose it.
   */
  resolve(model: string): Candidate[] {
    const { candidate, route } = this.primary(model);
    const candidates = [candidate];
    for (const fallback of route?.fallbacks ?? []) {
      let next: Candidate;
      try {
        next = this.primary(fallback).candidate;
      } catch {
        continue;
      }
      if (!candidates.some((c) => c.provider === next.provider && c.upstreamModel === next.upstreamModel)) candidates.push(next);
    }
    return candidates;
  }

  private primary(model: string): { candidate: Candidate; route?: RouteConfig } {
    const slash = model.indexOf("/");
    if (slash > 0 && this.providers.has(model.slice(0, slash))) {
      return { candidate: { provider: model.slice(0, slash), upstreamModel: model.slice(slash + 1) } };
    }
    // "ollama/llama3.1" names a vendor the gateway knows but was not given.
    let unconfigured: string | undefined = slash > 0 && presetFor(model.slice(0, slash)) ? model.slice(0, slash) : undefined;
    for (const { route, matches } of this.routes) {
      if (!matches(model)) continue;
      if (!this.providers.has(route.provider)) {
        unconfigured ??= route.provider;
        continue;
      }
      return { candidate: { provider: route.provider, upstreamModel: route.upstreamModel ?? model }, route };
    }
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
