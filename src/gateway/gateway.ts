import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
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
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { ChatParams, EmbedParams, ProviderAdapter, UpstreamCall } from "../providers/provider.js";
import { isUpstreamError } from "../providers/upstream-error.js";
import type { KeyPool } from "../secrets/key-pool.js";
import type { CallContext } from "./call-context.js";
import { toConnectError } from "./errors.js";
import type { Candidate, Router } from "./router.js";
import { estimateUsage } from "./usage-estimate.js";

export interface ProviderRuntime {
  adapter: ProviderAdapter;
  pool: KeyPool;
  /** Upper bound for one attempt when the caller's deadline is later or absent. */
  timeoutMs: number;
}

export interface GatewayDeps {
  router: Router;
  providers: Map<string, ProviderRuntime>;
  metrics: GatewayMetrics;
  logger: Logger;
}

const CHAT_CAPABILITIES = [Capability.CHAT, Capability.STREAMING, Capability.TOOLS];
const MODEL_LIST_TTL_MS = 5 * 60_000;

/**
 * The pipeline: route, dispatch, account. Transport-neutral: Connect handlers
 * and the OpenAI REST surface both call it; it answers in the unified shapes
 * and fails with ConnectError.
 */
export class Gateway {
  private modelCache: { at: number; models: Promise<Model[]> } | undefined;

  constructor(private readonly deps: GatewayDeps) {}

  async chat(params: ChatParams, ctx: CallContext): Promise<ChatResponse> {
    const { candidate, runtime } = this.route(params.model, ctx);
    const result = await this.attempt(candidate, runtime, ctx, (call) => runtime.adapter.chat({ ...call, params }));
    return create(ChatResponseSchema, {
      id: result.id,
      message: result.message,
      finishReason: result.finishReason,
      usage: result.usage ?? estimateUsage(params, result.message.content),
      provider: candidate.provider,
      model: candidate.upstreamModel,
      requestId: ctx.info.requestId,
    });
  }

  async *chatStream(params: ChatParams, ctx: CallContext): AsyncGenerator<ChatStreamResponse> {
    const { candidate, runtime } = this.route(params.model, ctx);
    const credential = runtime.pool.pick();
    const started = performance.now();
    const signal = attemptSignal(ctx.signal, runtime.timeoutMs);
    const toolCalls = new Map<number, ToolCall>();
    let text = "";
    let status = "200";
    try {
      for await (const event of runtime.adapter.chatStream({ params, upstreamModel: candidate.upstreamModel, credential, signal })) {
        if (event.type === "delta") {
          text += event.content;
          for (const fragment of event.toolCalls) {
            const call = toolCalls.get(fragment.index) ?? create(ToolCallSchema, {});
            call.id ||= fragment.id;
            call.name ||= fragment.name;
            call.arguments += fragment.argumentsFragment;
            toolCalls.set(fragment.index, call);
          }
          yield create(ChatStreamResponseSchema, {
            event: { case: "delta", value: { content: event.content, toolCalls: event.toolCalls } },
          });
          continue;
        }
        const usage = event.usage ?? estimateUsage(params, text);
        yield create(ChatStreamResponseSchema, {
          event: {
            case: "summary",
            value: {
              id: event.id,
              finishReason: event.finishReason,
              usage,
              usageEstimated: event.usage === undefined,
              toolCalls: [...toolCalls.entries()].sort(([a], [b]) => a - b).map(([index, call]) => {
                call.id ||= `call_${index}`;
                return call;
              }),
              provider: candidate.provider,
              model: candidate.upstreamModel,
              requestId: ctx.info.requestId,
            },
          },
        });
      }
    } catch (err) {
      status = isUpstreamError(err) ? err.outcome : "error";
      if (isUpstreamError(err)) runtime.pool.report(credential.id, { ok: false, error: err });
      throw toConnectError(err, ctx.signal);
    } finally {
      this.deps.metrics.recordUpstream(candidate.provider, status, (performance.now() - started) / 1000);
    }
    runtime.pool.report(credential.id, { ok: true });
  }

  async embed(params: EmbedParams, ctx: CallContext): Promise<EmbedResponse> {
    const { candidate, runtime } = this.route(params.model, ctx);
    const result = await this.attempt(candidate, runtime, ctx, (call) => runtime.adapter.embed({ ...call, params }));
    return create(EmbedResponseSchema, {
      embeddings: result.vectors.map((values, index) => create(EmbeddingSchema, { index, values })),
      usage: result.usage ?? create(UsageSchema, {}),
      provider: candidate.provider,
      model: candidate.upstreamModel,
      requestId: ctx.info.requestId,
    });
  }

  /** Declared models and those the vendors list, cached for a few minutes. */
  async listModels(provider: string, ctx: CallContext): Promise<Model[]> {
    const now = Date.now();
    if (!this.modelCache || now - this.modelCache.at > MODEL_LIST_TTL_MS) {
      this.modelCache = { at: now, models: this.discoverModels() };
    }
    const models = await this.modelCache.models;
    if (ctx.signal.aborted) throw toConnectError(ctx.signal.reason, ctx.signal);
    return provider ? models.filter((model) => model.provider === provider) : models;
  }

  private async discoverModels(): Promise<Model[]> {
    const byId = new Map<string, Model>();
    for (const { id, candidate } of this.deps.router.declaredModels()) {
      byId.set(id, create(ModelSchema, { id, provider: candidate.provider, upstreamModel: candidate.upstreamModel, capabilities: CHAT_CAPABILITIES }));
    }
    const lists = await Promise.all(
      [...this.deps.providers.entries()].map(async ([name, runtime]) => {
        try {
          return { name, models: await runtime.adapter.listModels(runtime.pool.pick(), AbortSignal.timeout(10_000)) };
        } catch (err) {
          this.deps.logger.warn({ provider: name, error: (err as Error).message }, "could not list the provider's models");
          return { name, models: [] };
        }
      }),
    );
    for (const { name, models } of lists) {
      for (const model of models) {
        const id = this.deps.router.routesTo(model.id, name) ? model.id : `${name}/${model.id}`;
        if (byId.has(id)) continue;
        byId.set(
          id,
          create(ModelSchema, {
            id,
            provider: name,
            upstreamModel: model.id,
            capabilities: model.embeddings ? [Capability.EMBEDDINGS] : CHAT_CAPABILITIES,
            discovered: true,
          }),
        );
      }
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  private route(model: string, ctx: CallContext): { candidate: Candidate; runtime: ProviderRuntime } {
    ctx.info.requestedModel = model;
    const [candidate] = this.deps.router.resolve(model);
    const runtime = candidate && this.deps.providers.get(candidate.provider);
    if (!candidate || !runtime) throw new ConnectError(`model "${model}" is not available`, Code.NotFound);
    ctx.info.provider = candidate.provider;
    ctx.info.model = candidate.upstreamModel;
    return { candidate, runtime };
  }

  /** One upstream attempt with a credential from the pool, timed and counted. */
  private async attempt<T>(
    candidate: Candidate,
    runtime: ProviderRuntime,
    ctx: CallContext,
    run: (call: Omit<UpstreamCall<unknown>, "params">) => Promise<T>,
  ): Promise<T> {
    const credential = runtime.pool.pick();
    const started = performance.now();
    let status = "200";
    try {
      const result = await run({ upstreamModel: candidate.upstreamModel, credential, signal: attemptSignal(ctx.signal, runtime.timeoutMs) });
      runtime.pool.report(credential.id, { ok: true });
      return result;
    } catch (err) {
      status = isUpstreamError(err) ? err.outcome : "error";
      if (isUpstreamError(err)) runtime.pool.report(credential.id, { ok: false, error: err });
      throw toConnectError(err, ctx.signal);
    } finally {
      this.deps.metrics.recordUpstream(candidate.provider, status, (performance.now() - started) / 1000);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.deps.providers.values()].map((runtime) => runtime.adapter.close()));
  }
}

/** The caller's signal, bounded by the provider's own timeout. */
function attemptSignal(caller: AbortSignal, timeoutMs: number): AbortSignal {
  return AbortSignal.any([caller, AbortSignal.timeout(timeoutMs)]);
}

export type { Usage };
