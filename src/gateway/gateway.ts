import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import {
  ChatResponseSchema,
  ChatStreamResponseSchema,
  EmbedResponseSchema,
  EmbeddingSchema,
  type ChatResponse,
  type ChatStreamResponse,
  type EmbedResponse,
} from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ToolCallSchema, UsageSchema, type ToolCall, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { Capability, ModelSchema, type Model } from "../../gen/ts/switchboard/v1/models_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { Logger } from "../observability/logger.js";
import type { ChatParams, EmbedParams } from "../providers/provider.js";
import { isUpstreamError } from "../providers/upstream-error.js";
import type { CallContext } from "./call-context.js";
import { OPEN_HOOKS, type Admission, type CallHooks, type CallKind } from "./call-hooks.js";
import type { Dispatcher, ProviderRuntime } from "./dispatcher.js";
import { embedInBatches } from "./embed-batches.js";
import { toConnectError } from "./errors.js";
import type { Candidate, Router } from "./router.js";
import { boundTokens, embedTokens, estimateTokens, estimateUsage } from "./usage-estimate.js";

export type { ProviderRuntime };

export interface GatewayDeps {
  router: Router;
  dispatcher: Dispatcher;
  providers: ReadonlyMap<string, ProviderRuntime>;
  logger: Logger;
  hooks?: CallHooks;
}

const CHAT_CAPABILITIES = [Capability.CHAT, Capability.STREAMING, Capability.TOOLS];
const MODEL_LIST_TTL_MS = 5 * 60_000;
/** A listing some provider could not answer (no usable key, vendor down) is redone this soon, so its models come back when it does. */
const INCOMPLETE_MODEL_LIST_TTL_MS = 10_000;

/**
 * The pipeline: route, admit, dispatch, settle. Transport-neutral: Connect
 * handlers and the OpenAI REST surface both call it; it answers in the
 * unified shapes and fails with ConnectError.
 */
export class Gateway {
  private modelCache: { at: number; ttlMs: number; models: Promise<Model[]> } | undefined;
  private readonly hooks: CallHooks;

  constructor(private readonly deps: GatewayDeps) {
    this.hooks = deps.hooks ?? OPEN_HOOKS;
  }

  async chat(params: ChatParams, ctx: CallContext): Promise<ChatResponse> {
    const admission = await this.admit("chat", params.model, { estimated: estimateTokens(params), bound: boundTokens(params) }, ctx);
    const attempts: Attempt[] = [...admission.skipped];
    const started = performance.now();
    try {
      const { result, served } = await this.deps.dispatcher.unary(admission.candidates, ctx, attempts, (adapter, call) =>
        adapter.chat({ ...call, params }),
      );
      const usage = result.usage ?? estimateUsage(params, result.message.content);
      admission.settle({ served, usage, attempts, latencyMs: performance.now() - started });
      return create(ChatResponseSchema, {
        id: result.id,
        message: result.message,
        finishReason: result.finishReason,
        usage,
        ...provenance(served, attempts, params.model, ctx),
        downgraded: admission.downgraded,
      });
    } catch (err) {
      throw this.fail(err, admission, attempts, started, ctx);
    }
  }

  async *chatStream(params: ChatParams, ctx: CallContext): AsyncGenerator<ChatStreamResponse> {
    const admission = await this.admit("chat_stream", params.model, { estimated: estimateTokens(params), bound: boundTokens(params) }, ctx);
    const attempts: Attempt[] = [...admission.skipped];
    const started = performance.now();
    const toolCalls = new Map<number, ToolCall>();
    let text = "";
    let settled = false;
    // What the vendor generated before a failure or a hang-up counts; a stream refused before its first delta cost nothing.
    let begun = false;
    const partialUsage = () => (begun ? estimateUsage(params, text) : undefined);
    try {
      const events = this.deps.dispatcher.stream(admission.candidates, ctx, attempts, (adapter, call) =>
        adapter.chatStream({ ...call, params }),
      );
      for await (const event of events) {
        if (event.type === "delta") {
          begun = true;
          text += event.content;
          for (const fragment of event.toolCalls) {
            const call = toolCalls.get(fragment.index) ?? create(ToolCallSchema, {});
            call.id ||= fragment.id;
            call.name ||= fragment.name;
            call.arguments += fragment.argumentsFragment;
            toolCalls.set(fragment.index, call);
          }
          yield create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: event.content, toolCalls: event.toolCalls } } });
          continue;
        }
        const served: Candidate = { provider: ctx.info.provider ?? "", upstreamModel: ctx.info.model ?? "" };
        const usage = event.usage ?? estimateUsage(params, text);
        settled = true;
        admission.settle({ served, usage, attempts, latencyMs: performance.now() - started });
        yield create(ChatStreamResponseSchema, {
          event: {
            case: "summary",
            value: {
              id: event.id,
              finishReason: event.finishReason,
              usage,
              usageEstimated: event.usage === undefined,
              toolCalls: [...toolCalls.entries()]
                .sort(([a], [b]) => a - b)
                .map(([index, call]) => {
                  call.id ||= `call_${index}`;
                  return call;
                }),
              ...provenance(served, attempts, params.model, ctx),
              downgraded: admission.downgraded,
            },
          },
        });
      }
    } catch (err) {
      settled = true;
      throw this.fail(err, admission, attempts, started, ctx, partialUsage());
    } finally {
      // The client went away mid-stream: what was generated so far still counts.
      if (!settled) admission.settle({ attempts, usage: partialUsage(), error: toConnectError(ctx.signal.reason, ctx.signal), latencyMs: performance.now() - started });
    }
  }

  async embed(params: EmbedParams, ctx: CallContext): Promise<EmbedResponse> {
    const tokens = embedTokens(params);
    const admission = await this.admit("embed", params.model, tokens, ctx);
    const attempts: Attempt[] = [...admission.skipped];
    const started = performance.now();
    try {
      const { result, served } = await this.deps.dispatcher.unary(admission.candidates, ctx, attempts, (adapter, call) =>
        embedInBatches(adapter, { ...call, params }, this.deps.providers.get(adapter.name)?.embedBatchSize ?? params.inputs.length),
      );
      const usage = result.usage ?? create(UsageSchema, { promptTokens: tokens.estimated, totalTokens: tokens.estimated });
      admission.settle({ served, usage, attempts, latencyMs: performance.now() - started });
      return create(EmbedResponseSchema, {
        embeddings: result.vectors.map((values, index) => create(EmbeddingSchema, { index, values })),
        usage,
        ...provenance(served, attempts, params.model, ctx),
      });
    } catch (err) {
      throw this.fail(err, admission, attempts, started, ctx);
    }
  }

  /** Declared models and those the vendors list, cached for a few minutes (seconds while a provider cannot list). */
  async listModels(provider: string, ctx: CallContext): Promise<Model[]> {
    const now = Date.now();
    if (!this.modelCache || now - this.modelCache.at > this.modelCache.ttlMs) {
      const cache = { at: now, ttlMs: MODEL_LIST_TTL_MS, models: Promise.resolve<Model[]>([]) };
      cache.models = this.discoverModels().then(({ models, complete }) => {
        if (!complete) cache.ttlMs = INCOMPLETE_MODEL_LIST_TTL_MS;
        return models;
      });
      this.modelCache = cache;
    }
    const models = await this.modelCache.models;
    if (ctx.signal.aborted) throw toConnectError(ctx.signal.reason, ctx.signal);
    // A key sees only the models its scope lets it call.
    const policy = ctx.principal.policy;
    return models.filter(
      (model) =>
        (!provider || model.provider === provider) &&
        (!policy || policy.allows(model)),
    );
  }

  /** Every model, and whether every provider could list its own. */
  private async discoverModels(): Promise<{ models: Model[]; complete: boolean }> {
    const byId = new Map<string, Model>();
    for (const { id, candidate } of this.deps.router.declaredModels()) {
      byId.set(id, create(ModelSchema, { id, provider: candidate.provider, upstreamModel: candidate.upstreamModel, capabilities: CHAT_CAPABILITIES }));
    }
    const lists = await Promise.all(
      [...this.deps.providers.entries()].map(async ([name, runtime]) => {
        let credentialId: string | undefined;
        try {
          const credential = runtime.pool.pick();
          credentialId = credential.id;
          const models = await runtime.adapter.listModels(credential, AbortSignal.timeout(10_000));
          // Report like any attempt, so a key picked here as a half-open probe gets its verdict.
          runtime.pool.report(credential.id, { ok: true });
          return { name, models, ok: true };
        } catch (err) {
          if (credentialId && isUpstreamError(err)) runtime.pool.report(credentialId, { ok: false, error: err });
          // Its models are missing from the listing until it recovers: say why here (and on /healthz).
          this.deps.logger.warn({ provider: name, error: (err as Error).message }, "could not list the provider's models: they are left out of ListModels until it can");
          return { name, models: [], ok: false };
        }
      }),
    );
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
        byId.set(
          id,
          create(ModelSchema, {
            id,
            provider: name,
            upstreamModel: model.id,
            capabilities,
            discovered: true,
          }),
        );
      }
    }
    return { models: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)), complete: lists.every((list) => list.ok) };
  }

  private async admit(kind: CallKind, model: string, tokens: { estimated: number; bound: number }, ctx: CallContext): Promise<Admission> {
    ctx.info.requestedModel = model;
    const candidates = this.deps.router.resolve(model);
    return this.hooks.admit({ ctx, kind, requestedModel: model, candidates, estimatedTokens: tokens.estimated, boundTokens: tokens.bound });
  }

  private fail(err: unknown, admission: Admission, attempts: Attempt[], started: number, ctx: CallContext, usage?: Usage): ConnectError {
    const error = toConnectError(err, ctx.signal);
    admission.settle({ attempts, error, usage, latencyMs: performance.now() - started });
    return error;
  }

  async close(): Promise<void> {
    await Promise.all([...this.deps.providers.values()].map((runtime) => runtime.adapter.close()));
  }
}

/** What every answer says of where it came from: who served it, after which attempts, for which request. */
function provenance(served: Candidate, attempts: Attempt[], requestedModel: string, ctx: CallContext) {
  return { provider: served.provider, model: served.upstreamModel, requestId: ctx.info.requestId, attempts, requestedModel };
}
