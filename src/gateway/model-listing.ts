import { create } from "@bufbuild/protobuf";
import { Capability, ModelSchema, type Model } from "../../gen/ts/switchboard/v1/models_pb.js";
import type { Catalogue } from "../catalogue/catalogue.js";
import { modelFacts } from "../catalogue/model-facts.js";
import type { Logger } from "../observability/logger.js";
import type { DiscoveredModel } from "../providers/provider.js";
import type { Dispatcher } from "./dispatcher.js";
import type { ProviderRuntime } from "./provider-runtime.js";
import type { Router } from "./router.js";

export const CHAT_CAPABILITIES = [Capability.CHAT, Capability.STREAMING, Capability.TOOLS];
const MODEL_LIST_TTL_MS = 5 * 60_000;
/** A listing some provider could not answer (no usable key, vendor down) is redone this soon, so its models come back when it does. */
const INCOMPLETE_MODEL_LIST_TTL_MS = 10_000;
/** How long one provider's model list may take, retries included. */
const LIST_DEADLINE_MS = 10_000;

export interface ModelListingDeps {
  router: Router;
  dispatcher: Dispatcher;
  providers: ReadonlyMap<string, ProviderRuntime>;
  logger: Logger;
  /** Capabilities, limits and prices of the models it knows, and the models a provider without a model list offers. */
  catalogue?: Catalogue;
}

/**
 * Every model a caller can name: the routes' declared names, what each
 * vendor's own list reports, and the models the catalogue knows of each
 * configured provider, each described by the catalogue (capabilities,
 * limits, prices, reasoning, source) where it knows the model; cached for a few minutes.
 * Each vendor is asked through the dispatcher, like any call: its key pool
 * picks the key and hears how it went, its breaker and retries apply, and
 * the upstream metrics count it.
 */
export class ModelListing {
  private cache: { at: number; ttlMs: number; models: Promise<Model[]> } | undefined;

  constructor(private readonly deps: ModelListingDeps) {}

  models(): Promise<Model[]> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > this.cache.ttlMs) {
      const cache = { at: now, ttlMs: MODEL_LIST_TTL_MS, models: Promise.resolve<Model[]>([]) };
      cache.models = this.discover().then(({ models, complete }) => {
        if (!complete) cache.ttlMs = INCOMPLETE_MODEL_LIST_TTL_MS;
        return models;
      });
      this.cache = cache;
    }
    return this.cache.models;
  }

  /**
   * The model `id` names: the listing's, else the one a route serves under
   * that name though no list names it (a fine-tune, a dated snapshot, a
   * vendor's model under its "provider/" prefix), described by the catalogue
   * where it knows it. Throws the router's MODEL_NOT_FOUND, which says why.
   */
  async model(id: string): Promise<Model> {
    const listed = (await this.models()).find((m) => m.id === id || `${m.provider}/${m.upstreamModel}` === id);
    if (listed) return listed;
    const [served] = this.deps.router.resolve(id);
    const model = create(ModelSchema, { id, provider: served!.provider, upstreamModel: served!.upstreamModel, capabilities: CHAT_CAPABILITIES });
    const entry = this.deps.catalogue?.lookup(model.provider, model.upstreamModel, this.deps.providers.get(model.provider)?.adapter.dialect);
    if (entry?.row) Object.assign(model, modelFacts(entry));
    return model;
  }

  /** Every model, and whether every provider could list its own. */
  private async discover(): Promise<{ models: Model[]; complete: boolean }> {
    const byId = new Map<string, Model>();
    for (const { id, candidate } of this.deps.router.declaredModels()) {
      byId.set(id, create(ModelSchema, { id, provider: candidate.provider, upstreamModel: candidate.upstreamModel, capabilities: CHAT_CAPABILITIES }));
    }
    const lists = await Promise.all([...this.deps.providers.keys()].map((name) => this.vendorList(name)));
    for (const { name, models } of lists) {
      for (const model of models) {
        const id = this.deps.router.routesTo(model.id, name) ? model.id : `${name}/${model.id}`;
        const capabilities = model.embeddings ? [Capability.EMBEDDINGS] : CHAT_CAPABILITIES;
        const declared = byId.get(id);
        if (declared) {
          // A declared name the vendor also lists: the vendor knows what it can do.
          if (declared.provider === name && declared.upstreamModel === model.id) declared.capabilities = capabilities;
          continue;
        }
        byId.set(id, create(ModelSchema, { id, provider: name, upstreamModel: model.id, capabilities, discovered: true }));
      }
    }
    this.describe(byId, new Set(lists.filter((list) => list.ok).map((list) => list.name)));
    return { models: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)), complete: lists.every((list) => list.ok) };
  }

  /**
   * The catalogue's models of each provider that can serve now (its list
   * answered) join the list, and every model the catalogue knows is described by it.
   */
  private describe(byId: Map<string, Model>, serving: ReadonlySet<string>): void {
    const catalogue = this.deps.catalogue;
    if (!catalogue) return;
    const listed = new Set([...byId.values()].map((model) => `${model.provider}/${model.upstreamModel}`));
    for (const [name, runtime] of this.deps.providers) {
      if (!serving.has(name)) continue;
      for (const entry of catalogue.models(name, runtime.adapter.dialect)) {
        const id = this.deps.router.routesTo(entry.model, name) ? entry.model : `${name}/${entry.model}`;
        if (listed.has(`${name}/${entry.model}`) || byId.has(id)) continue;
        byId.set(id, create(ModelSchema, { id, provider: name, upstreamModel: entry.model }));
      }
    }
    for (const model of byId.values()) {
      const entry = catalogue.lookup(model.provider, model.upstreamModel, this.deps.providers.get(model.provider)?.adapter.dialect);
      // A model known only by its vendor's defaults has no facts of its own to show.
      if (entry?.row) Object.assign(model, modelFacts(entry));
    }
  }

  private async vendorList(name: string): Promise<{ name: string; models: DiscoveredModel[]; ok: boolean }> {
    const signal = AbortSignal.timeout(LIST_DEADLINE_MS);
    try {
      const { value } = await this.deps.dispatcher.unary([{ provider: name, upstreamModel: "" }], { signal, deadline: Date.now() + LIST_DEADLINE_MS }, (adapter, call) =>
        adapter.listModels(call.credential, call.signal),
      );
      return { name, models: value, ok: true };
    } catch (err) {
      // Its models are missing from the listing until it recovers: say why here (and on /healthz).
      this.deps.logger.warn({ provider: name, error: (err as Error).message }, "could not list the provider's models: they are left out of ListModels until it can");
      return { name, models: [], ok: false };
    }
  }
}
