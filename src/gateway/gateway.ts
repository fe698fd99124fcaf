import { create } from "@bufbuild/protobuf";
import {
  ChatResponseSchema,
  ChatStreamResponseSchema,
  EmbedResponseSchema,
  EmbeddingSchema,
  type ChatResponse,
  type ChatStreamResponse,
  type EmbedResponse,
} from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { ToolCallSchema, UsageSchema, type ToolCall } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { Model } from "../../gen/ts/switchboard/v1/models_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { Logger } from "../observability/logger.js";
import type { ChatParams, EmbedParams } from "../providers/provider.js";
import { AdmittedCall } from "./admitted-call.js";
import type { CallContext } from "./call-context.js";
import { OPEN_HOOKS, type CallHooks, type CallKind } from "./call-hooks.js";
import type { Dispatcher } from "./dispatcher.js";
import { embedInBatches } from "./embed-batches.js";
import { toConnectError } from "./errors.js";
import { ModelListing } from "./model-listing.js";
import type { ProviderRuntime } from "./provider-runtime.js";
import type { Candidate, Router } from "./router.js";
import { boundTokens, embedTokens, estimateTokens, estimateUsage } from "./usage-estimate.js";

export interface GatewayDeps {
  router: Router;
  dispatcher: Dispatcher;
  providers: ReadonlyMap<string, ProviderRuntime>;
  logger: Logger;
  hooks?: CallHooks;
}

/** A streamed answer: its messages, and the provider whose events they are (for surfaces that name it before the end). */
export interface GatewayStream {
  responses: AsyncGenerator<ChatStreamResponse>;
  servingProvider(): string | undefined;
}

/**
 * The pipeline: route, admit, dispatch, settle. Surface-neutral: the Connect
 * services and the REST surfaces all call it; it answers in the unified
 * shapes and fails with ConnectError. A call's outcome flows one way: the
 * dispatcher returns it, the gateway settles the call with it (AdmittedCall)
 * and builds the answer from it.
 */
export class Gateway {
  private readonly hooks: CallHooks;
  private readonly listing: ModelListing;

  constructor(private readonly deps: GatewayDeps) {
    this.hooks = deps.hooks ?? OPEN_HOOKS;
    this.listing = new ModelListing(deps);
  }

  async chat(params: ChatParams, ctx: CallContext): Promise<ChatResponse> {
    const call = await this.admit("chat", params.model, { estimated: estimateTokens(params), bound: boundTokens(params) }, ctx);
    try {
      const { value, outcome } = await this.deps.dispatcher.unary(call.candidates, ctx, (adapter, attempt) => adapter.chat({ ...attempt, params }));
      const usage = value.usage ?? estimateUsage(params, value.message.content);
      const attempts = call.succeed(outcome, usage);
      return create(ChatResponseSchema, {
        id: value.id,
        message: value.message,
        finishReason: value.finishReason,
        usage,
        ...provenance(outcome.served!, attempts, params.model, ctx),
        downgraded: call.admission.downgraded,
      });
    } catch (err) {
      throw call.fail(err);
    }
  }

  async chatStream(params: ChatParams, ctx: CallContext): Promise<GatewayStream> {
    const call = await this.admit("chat_stream", params.model, { estimated: estimateTokens(params), bound: boundTokens(params) }, ctx);
    const dispatched = this.deps.dispatcher.stream(call.candidates, ctx, (adapter, attempt) => adapter.chatStream({ ...attempt, params }));
    return { responses: this.streamResponses(params, ctx, call, dispatched), servingProvider: () => dispatched.serving()?.provider };
  }

  private async *streamResponses(params: ChatParams, ctx: CallContext, call: AdmittedCall, dispatched: ReturnType<Dispatcher["stream"]>): AsyncGenerator<ChatStreamResponse> {
    const toolCalls = new Map<number, ToolCall>();
    let text = "";
    // What the vendor generated before a failure or a hang-up counts; a stream refused before its first delta cost nothing.
    let begun = false;
    const partialUsage = () => (begun ? estimateUsage(params, text) : undefined);
    try {
      for await (const event of dispatched.events) {
        if (event.type === "delta") {
          begun = true;
          text += event.content;
          for (const fragment of event.toolCalls) {
            const toolCall = toolCalls.get(fragment.index) ?? create(ToolCallSchema, {});
            toolCall.id ||= fragment.id;
            toolCall.name ||= fragment.name;
            toolCall.arguments += fragment.argumentsFragment;
            toolCalls.set(fragment.index, toolCall);
          }
          yield create(ChatStreamResponseSchema, { event: { case: "delta", value: { content: event.content, toolCalls: event.toolCalls } } });
          continue;
        }
        const outcome = dispatched.outcome();
        const usage = event.usage ?? estimateUsage(params, text);
        const attempts = call.succeed(outcome, usage);
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
                .map(([index, toolCall]) => {
                  toolCall.id ||= `call_${index}`;
                  return toolCall;
                }),
              ...provenance(outcome.served ?? outcome.lastTried!, attempts, params.model, ctx),
              downgraded: call.admission.downgraded,
            },
          },
        });
      }
    } catch (err) {
      throw call.fail(err, dispatched.outcome(), partialUsage());
    } finally {
      // The client went away mid-stream: what was generated so far still counts.
      if (!call.settled) call.fail(ctx.signal.reason, dispatched.outcome(), partialUsage());
    }
  }

  async embed(params: EmbedParams, ctx: CallContext): Promise<EmbedResponse> {
    const tokens = embedTokens(params);
    const call = await this.admit("embed", params.model, tokens, ctx);
    try {
      const { value, outcome } = await this.deps.dispatcher.unary(call.candidates, ctx, (adapter, attempt) =>
        embedInBatches(adapter, { ...attempt, params }, this.deps.providers.get(adapter.name)?.embedBatchSize ?? params.inputs.length),
      );
      const usage = value.usage ?? create(UsageSchema, { promptTokens: tokens.estimated, totalTokens: tokens.estimated });
      const attempts = call.succeed(outcome, usage);
      return create(EmbedResponseSchema, {
        embeddings: value.vectors.map((values, index) => create(EmbeddingSchema, { index, values })),
        usage,
        ...provenance(outcome.served!, attempts, params.model, ctx),
      });
    } catch (err) {
      throw call.fail(err);
    }
  }

  /** The models the caller can name: those its key's scope lets it call, of one provider when `provider` is set. */
  async listModels(provider: string, ctx: CallContext): Promise<Model[]> {
    const models = await this.listing.models();
    if (ctx.signal.aborted) throw toConnectError(ctx.signal.reason, ctx.signal);
    const policy = ctx.principal.policy;
    return models.filter((model) => (!provider || model.provider === provider) && (!policy || policy.allows(model)));
  }

  /** Routes and admits a call; a refusal (no route, scope, limits, budget) still tells the caller's log line what was asked for. */
  private async admit(kind: CallKind, model: string, tokens: { estimated: number; bound: number }, ctx: CallContext): Promise<AdmittedCall> {
    try {
      const candidates = this.deps.router.resolve(model);
      const admission = await this.hooks.admit({ ctx, kind, requestedModel: model, candidates, estimatedTokens: tokens.estimated, boundTokens: tokens.bound });
      return new AdmittedCall(admission, ctx, model);
    } catch (err) {
      ctx.report?.({ requestedModel: model, downgraded: false });
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.deps.providers.values()].map((runtime) => runtime.adapter.close()));
  }
}

/** What every answer says of where it came from: who served it, after which attempts, for which request. */
function provenance(served: Candidate, attempts: Attempt[], requestedModel: string, ctx: CallContext) {
  return { provider: served.provider, model: served.upstreamModel, requestId: ctx.requestId, attempts, requestedModel };
}
