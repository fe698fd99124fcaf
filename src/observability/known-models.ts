import type { Catalogue } from "../catalogue/catalogue.js";
import { isGlob } from "../common/glob.js";
import type { RouteConfig } from "../config/config.js";

/** The parts of the configuration that name models (a GatewayConfig is one). */
export interface ModelSources {
  providers: readonly { name: string }[];
  routes: readonly Pick<RouteConfig, "model" | "upstreamModel" | "fallbacks">[];
  usage?: { pricing: { models: Record<string, unknown> } };
}

/**
 * The models the gateway is configured for, which always keep a `model`
 * label of their own (callers calling many other names cannot push them into
 * "other"): the catalogue's models and their snapshots, the routes' names,
 * targets and fallbacks, and the priced models. Globs are left out, and a
 * "provider/model" name counts as its model, the name the metrics carry.
 */
export function knownModelNames(config: ModelSources, catalogue: Catalogue): Set<string> {
  const providers = new Set([...config.providers.map((provider) => provider.name), ...catalogue.providers()]);
  const names = new Set<string>();
  const add = (name: string | undefined) => {
    if (!name || isGlob(name)) return;
    names.add(name);
    const slash = name.indexOf("/");
    if (slash > 0 && providers.has(name.slice(0, slash))) names.add(name.slice(slash + 1));
  };
  for (const provider of catalogue.providers()) {
    for (const entry of catalogue.models(provider)) {
      add(entry.model);
      for (const snapshot of entry.snapshots) add(snapshot);
    }
  }
  for (const route of config.routes) {
    add(route.model);
    add(route.upstreamModel);
    for (const fallback of route.fallbacks ?? []) add(fallback);
  }
  for (const priced of Object.keys(config.usage?.pricing.models ?? {})) add(priced);
  return names;
}
