import { setImmediate as nextTurn } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  ChatResponseSchema,
  ChatStreamResponseSchema,
  EmbedResponseSchema,
  EmbeddingSchema,
  type ChatResponse,
  type ChatStreamResponse,
  type EmbedResponse,
} from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import type { ParameterAdjustment } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { MessageSchema, Role, UsageSchema, type FinishReason, type Logprobs, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import type { ReasoningBlock } from "../../gen/ts/switchboard/v1/reasoning_pb.js";
import type { Model } from "../../gen/ts/switchboard/v1/models_pb.js";
import type { Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import { excerpt } from "../common/excerpt.js";
import { gatewayError } from "../common/gateway-error.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { embedInputCount } from "../providers/embed-inputs.js";
import type { ChatParams, EmbedParams, VendorIdentity } from "../providers/provider.js";
import { UpstreamError } from "../providers/upstream-error.js";
import { maskKeys } from "../providers/redact.js";
import { StreamedToolCalls } from "../providers/streamed-tool-calls.js";
import { usageFaultLine, type UsageFault } from "../providers/vendor-usage.js";
import { Catalogue } from "../catalogue/catalogue.js";
import { AdmittedCall, type CallRequest } from "./admitted-call.js";
import { RequestFitter, type CallFitting } from "./call-fitting.js";
import type { CallContext } from "./call-context.js";
import { OPEN_HOOKS, type CallHooks, type CallKind } from "./call-hooks.js";
import type { DispatchOutcome } from "./dispatch-outcome.js";
import type { Dispatcher } from "./dispatcher.js";
import { deltaResponse } from "./delta-response.js";
import { embedInBatches } from "./embed-batches.js";
import { tokenInputCandidates } from "./token-input-candidates.js";
import { KeptLogprobs } from "./kept-logprobs.js";
import { MAX_STREAMED_ANSWER_CHARS } from "../providers/answer-limits.js";
import { toConnectError } from "./errors.js";
import { ModelListing } from "./model-listing.js";
import type { ProviderRuntime } from "./provider-runtime.js";
import { CACHE_MISS, NO_CACHE, type CacheableAnswer, type CacheLookup, type CacheStatus, type ResponseCache } from "./response-cache.js";
import type { Candidate, Router } from "./router.js";
import { startTimer, type StartTimer } from "./timers.js";
import { boundTokens, embedTokens, estimatedUsage, estimateUsage, rateLimitTokens, reportedUsage, saysAnything, textTokens, toolCallTokens } from "./usage-estimate.js";
import { HeardUsage } from "./heard-usage.js";
import { PlausibleUsage, type UsageCorrection } from "./plausible-usage.js";
import { UsageGrace } from "./usage-grace.js";

export interface GatewayDeps {
  router: Router;
  dispatcher: Dispatcher;
  providers: ReadonlyMap<string, ProviderRuntime>;
  logger: Logger;
  hooks?: CallHooks;
  /** Consulted between admission and dispatch; none when unset. */
  cache?: ResponseCache;
  /** Fits each request to the model of each candidate (the model catalogue); requests go as asked when unset. */
  fitter?: RequestFitter;
  /** Describes listed models (capabilities, limits, prices). */
  catalogue?: Catalogue;
  /** The clock of the grace a stream's vendor gets to send its usage after the caller left (UsageGrace); Node's timers when unset. */
  timer?: StartTimer;
  /** Counts vendors' usage faults (switchboard_usage_faults_total); none when unset. */
  metrics?: GatewayMetrics;
}

/**
 * Characters of answer a stream may carry per token of its max_tokens: far
 * above any tokenizer's (about 4 a token; a long run of one character a few
 * dozen at most), so a vendor keeping to max_tokens never meets it, and one
 * that ignores it is cut (bad_response) before the key is charged far more
 * than max_tokens allowed. Reasoning is not held to it (some vendors' limits
 * leave the reasoning out).
 */
const MOST_CHARS_PER_TOKEN = 32;

/** A streamed answer: its messages, and the provider whose events they are (for surfaces that name it before the end). */
export interface GatewayStream {
  responses: AsyncGenerator<ChatStreamResponse>;
  servingProvider(): string | undefined;
  /** The model name the serving provider received (what a unary answer's `model` says), known with the first event. */
  servingModel(): string | undefined;
  /** Whether the answer comes from the response cache. */
  cache: CacheStatus;
  /** Whether the key's economy model serves in place of the model asked for (the summary's `downgraded`, known before the first event). */
  downgraded: boolean;
  /** How the request was changed for the candidate serving it (for surfaces that say so before the end). */
  adjustments(): ParameterAdjustment[];
  /**
   * The vendor's usage as told before the end (ChatStreamDelta.usage: Anthropic's prompt counts), known with the
   * first event when the vendor tells it then, for surfaces that say it from their first event; of a cached answer, what a
   * live stream would tell then (cachedPromptUsage), its output being told with the end as a live stream's is.
   */
  earlyUsage(): Usage | undefined;
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
  private readonly cache: ResponseCache;
  private readonly listing: ModelListing;
  private readonly fitter: RequestFitter;

  constructor(private readonly deps: GatewayDeps) {
    this.hooks = deps.hooks ?? OPEN_HOOKS;
    this.cache = deps.cache ?? NO_CACHE;
    this.fitter = deps.fitter ?? new RequestFitter({ catalogue: new Catalogue([]), providers: deps.providers, router: deps.router, whenUnsupported: "degrade" });
    this.listing = new ModelListing(deps);
  }

  async chat(params: ChatParams, ctx: CallContext): Promise<ChatResponse> {
    const fitting = this.fitter.forCall(params);
    const call = await this.admit("chat", params.model, { bound: boundTokens(params), boundFor: (c) => fitting.boundTokens(c) }, ctx, chatPrompt(params));
    return call.answering(async () => {
      const candidates = fitted(call, fitting);
      const cache = await this.consultCache(call, candidates, params, ctx);
      try {
        if (cache.answer) return this.chatResponse(call, cache.answer, { attempts: [], served: cache.answer.served }, params, ctx, cache.status, fitting);
        const { value, outcome } = await this.deps.dispatcher.unary(candidates, ctx, (adapter, attempt) => (call.sending(adapter.name, attempt.upstreamModel), adapter.chat({ ...attempt, ...fitting.request(adapter.name, attempt.upstreamModel) })), call);
        const plausible = this.plausibleUsage(fitting, ctx);
        const reported = reportedUsage(value.usage, saysAnything(value.message));
        const usage = reported ? plausible.reported(reported, outcome.served) : plausible.estimated(estimateUsage(params, value.message), outcome.served);
        const answer = { ...value, usage, served: outcome.served! };
        this.sayUsageFault(value.usageFault, answer.served, ctx);
        cache.store(answer);
        return this.chatResponse(call, answer, outcome, params, ctx, "miss", fitting);
      } catch (err) {
        throw call.fail(err);
      } finally {
        cache.release();
      }
    });
  }

  /** Settles an answered call and builds its response, whoever answered: the vendor or the cache. */
  private chatResponse(
    call: AdmittedCall,
    answer: CacheableAnswer,
    outcome: DispatchOutcome,
    params: ChatParams,
    ctx: CallContext,
    cache: CacheStatus,
    fitting: CallFitting,
  ): ChatResponse {
    const attempts = call.succeed(outcome, answer.usage, cache !== "miss", answer);
    return create(ChatResponseSchema, {
      id: answer.id,
      message: answer.message,
      finishReason: answer.finishReason,
      stopSequence: answer.stopSequence,
      usage: answer.usage,
      ...vendorIdentity(answer),
      logprobs: answer.logprobs,
      ...provenance(answer.served, attempts, params.model, ctx),
      downgraded: call.admission.downgraded,
      cached: cache !== "miss",
      coalesced: cache === "coalesced",
      adjustments: fitting.adjustments(answer.served),
    });
  }

  /** `keepsAnswer`: the surface keeps the whole answer itself (the Responses API repeats it at the end), so the gateway bounds it (MAX_STREAMED_ANSWER_CHARS) even when it keeps none of it. */
  async chatStream(params: ChatParams, ctx: CallContext, { keepsAnswer = false }: { keepsAnswer?: boolean } = {}): Promise<GatewayStream> {
    const fitting = this.fitter.forCall(params);
    const call = await this.admit("chat_stream", params.model, { bound: boundTokens(params), boundFor: (c) => fitting.boundTokens(c) }, ctx, chatPrompt(params));
    // A call refused before its stream begins (no model fits, the cache lookup cut) errs once it is counted.
    return call.answering(async () => {
      const candidates = fitted(call, fitting);
      const cache = await this.consultCache(call, candidates, params, ctx);
      const cached = cache.answer;
      if (cached) {
        return {
          responses: this.replay(params, ctx, call, cached, cache.status, fitting),
          servingProvider: () => cached.served.provider,
          servingModel: () => cached.served.upstreamModel,
          cache: cache.status,
          downgraded: call.admission.downgraded,
          adjustments: () => fitting.adjustments(cached.served),
          earlyUsage: () => cachedPromptUsage(cached.usage),
        };
      }
      const grace = new UsageGrace(ctx.signal, this.deps.timer ?? startTimer);
      const plausible = this.plausibleUsage(fitting, ctx);
      const heard = new HeardUsage({ reported: (usage) => plausible.reported(usage, dispatched.serving()), estimated: (usage) => plausible.estimated(usage, dispatched.serving()) });
      const dispatched = this.deps.dispatcher.stream(
        candidates,
        ctx,
        (adapter, attempt) => (call.sending(adapter.name, attempt.upstreamModel), adapter.chatStream({ ...grace.attempt(attempt), ...fitting.request(adapter.name, attempt.upstreamModel) })),
        call,
      );
      return {
        responses: this.streamResponses(params, ctx, call, dispatched, cache, fitting, keepsAnswer, grace, heard),
        servingProvider: () => dispatched.serving()?.provider,
        servingModel: () => dispatched.serving()?.upstreamModel,
        cache: "miss",
        downgraded: call.admission.downgraded,
        adjustments: () => fitting.adjustments(dispatched.serving()),
        earlyUsage: () => heard.usage,
      };
    });
  }

  /** A cached answer as a stream: its text, reasoning and tool calls in one delta, then the summary. */
  private async *replay(params: ChatParams, ctx: CallContext, call: AdmittedCall, answer: CacheableAnswer, cache: CacheStatus, fitting: CallFitting): AsyncGenerator<ChatStreamResponse> {
    const { content, toolCalls, reasoningContent, reasoningSummarized, refusal, reasoning } = answer.message;
    if (saysAnything(answer.message)) {
      const fragments = toolCalls.map((toolCall, index) => ({ index, id: toolCall.id, name: toolCall.name, argumentsFragment: toolCall.arguments }));
      const identity = { id: answer.id || undefined, ...vendorIdentity(answer) };
      yield create(ChatStreamResponseSchema, { event: { case: "delta", value: { content, toolCalls: fragments, reasoningContent, reasoningSummarized, refusal, reasoning, logprobs: answer.logprobs, ...identity } } });
    }
    const attempts = call.succeed({ attempts: [], served: answer.served }, answer.usage, true, answer);
    await call.counted();
    yield this.summary(call, answer, attempts, params, ctx, { usageEstimated: false, cache, adjustments: fitting.adjustments(answer.served) });
  }

  private summary(
    call: AdmittedCall,
    answer: CacheableAnswer,
    attempts: Attempt[],
    params: ChatParams,
    ctx: CallContext,
    how: { usageEstimated: boolean; cache: CacheStatus; adjustments: ParameterAdjustment[] },
  ): ChatStreamResponse {
    return create(ChatStreamResponseSchema, {
      event: {
        case: "summary",
        value: {
          id: answer.id,
          finishReason: answer.finishReason,
          stopSequence: answer.stopSequence,
          usage: answer.usage,
          ...vendorIdentity(answer),
          usageEstimated: how.usageEstimated,
          toolCalls: answer.message.toolCalls,
          reasoning: answer.message.reasoning,
          ...provenance(answer.served, attempts, params.model, ctx),
          downgraded: call.admission.downgraded,
          cached: how.cache !== "miss",
          coalesced: how.cache === "coalesced",
          adjustments: how.adjustments,
        },
      },
    });
  }

  private async *streamResponses(
    params: ChatParams,
    ctx: CallContext,
    call: AdmittedCall,
    dispatched: ReturnType<Dispatcher["stream"]>,
    cache: CacheLookup,
    fitting: CallFitting,
    keepsAnswer: boolean,
    grace: UsageGrace,
    heard: HeardUsage,
  ): AsyncGenerator<ChatStreamResponse> {
    const toolCalls = new StreamedToolCalls();
    // The answer's text is kept whole only for what needs it: the response cache (to store it, or to hand it to
    // identical calls waiting on this one) and a trace that records content. Otherwise only its length is counted.
    const keepText = cache !== CACHE_MISS || ctx.trace?.recordsContent === true;
    const bounded = keepText || keepsAnswer;
    let text = "";
    const said = { reasoningContent: "", reasoningSummarized: false, refusal: "" };
    // Log probabilities are kept for the response cache alone (they can be many: one per token).
    const logprobs = cache !== CACHE_MISS ? new KeptLogprobs() : undefined;
    /** Tokens generated so far (text, reasoning, refusal, tool calls), estimated, for when the vendor reports none. */
    let generated = 0;
    /** Characters of answer text so far, held to max_tokens. */
    let answered = 0;
    const mostAnswered = params.maxTokens === undefined ? Infinity : params.maxTokens * MOST_CHARS_PER_TOKEN;
    /** Characters kept so far, here or by the surface (the text, when kept, and the tool calls, which the summary carries): at most MAX_STREAMED_ANSWER_CHARS. */
    let kept = 0;
    // What the vendor generated before a failure or a hang-up counts; before the first delta, `fail` charges the prompt if the request went out.
    let begun = false;
    /** The answer said something (text, reasoning, a tool call, a refusal): a usage that counts nothing is then no count. */
    let spoke = false;
    /** The vendor's usage of an answer whose caller left after its end (UsageGrace): what the call is charged. */
    let billed: Usage | undefined;
    // Cut before the vendor's usage came: the text and reasoning it streamed are known, and estimated; what it spent unseen
    // (a reasoning model's hidden reasoning) is not. The prompt is the vendor's count where it told one (HeardUsage).
    const partialUsage = () => billed ?? (begun ? heard.charged(params, generated) : undefined);
    try {
      for await (const event of dispatched.events) {
        if (event.type === "delta") {
          // Identical calls waiting on this one wait while it advances: a stall (its vendor's, or its client's, read at the same pace) lets them go.
          cache.progress();
          if (!begun) call.firstToken();
          heard.hear(event.usage);
          const reasoning = event.reasoning ?? "";
          spoke ||= saysAnything({ content: event.content, toolCalls: event.toolCalls, reasoningContent: reasoning, refusal: event.refusal ?? "" });
          generated += textTokens(event.content) + textTokens(reasoning) + textTokens(event.refusal ?? "");
          answered += event.content.length;
          if (bounded) kept += event.content.length + reasoning.length + (event.refusal?.length ?? 0);
          if (keepText) {
            text += event.content;
            said.reasoningContent += reasoning;
            said.reasoningSummarized ||= event.reasoningSummarized === true;
            said.refusal += event.refusal ?? "";
          }
          if (logprobs && event.logprobs) kept += logprobs.add(event.logprobs);
          for (const fragment of event.toolCalls) {
            // Names and ids count as well: the summary carries them, and a vendor may send any number of either.
            kept += toolCalls.add(fragment);
            generated += toolCallTokens(fragment.name, fragment.argumentsFragment);
            answered += fragment.argumentsFragment.length;
          }
          if (kept > MAX_STREAMED_ANSWER_CHARS) throw answerTooLong(dispatched.serving()?.provider);
          if (answered > mostAnswered) throw pastMaxTokens(dispatched.serving()?.provider, params.maxTokens!);
          const first = !begun;
          begun = true;
          yield deltaResponse(event);
          // The caller has written the first event; let it leave before the rest of a burst is handled. Node sends
          // what a response writes in one tick together, and a vendor's events read at once would otherwise all be
          // answered before the first went out: time to first token would be the time to handle the whole burst.
          if (first) await nextTurn();
          continue;
        }
        const outcome = dispatched.outcome();
        const served = outcome.served ?? outcome.lastTried!;
        const told = reportedUsage(event.usage, spoke);
        const reported = told && heard.atEnd(told);
        if (ctx.signal.aborted) {
          // The caller left after the answer's end, and the vendor's usage came in the grace: the call is cut all the same, charged what the vendor counted.
          billed = reported ?? heard.charged(params, generated);
          throw ctx.signal.reason;
        }
        const answer = streamedAnswer(event, text, toolCalls, reported ?? heard.charged(params, generated), served, { ...said, reasoning: event.reasoning ?? [] }, logprobs?.all);
        this.sayUsageFault(event.usageFault, served, ctx);
        const attempts = call.succeed(outcome, answer.usage, false, answer);
        cache.store(answer);
        await call.counted();
        yield this.summary(call, answer, attempts, params, ctx, { usageEstimated: reported === undefined, cache: "miss", adjustments: fitting.adjustments(served) });
      }
    } catch (err) {
      const error = call.fail(err, dispatched.outcome(), partialUsage());
      await call.counted();
      throw error;
    } finally {
      grace.close();
      cache.release();
      // The client went away mid-stream: what was generated so far still counts.
      if (!call.settled) call.fail(ctx.signal.reason, dispatched.outcome(), partialUsage());
    }
  }

  async embed(params: EmbedParams, ctx: CallContext): Promise<EmbedResponse> {
    const tokens = embedTokens(params);
    const inputUsage = (): Usage => create(UsageSchema, { promptTokens: tokens.estimated, totalTokens: tokens.estimated });
    const call = await this.admit("embed", params.model, tokens, ctx, { promptUsage: inputUsage });
    return call.answering(async () => {
      try {
        const { candidates, refused, error } = tokenInputCandidates(params, call.candidates, this.deps.providers);
        call.admission.skipped.push(...refused);
        if (error) throw error;
        this.fitter.checkEmbedDimensions(candidates[0], params.dimensions);
        // A failed attempt's batches tell it what of the input its vendor bills (promptBilled), charged at its model when the call settles.
        const { value, outcome } = await this.deps.dispatcher.unary(candidates, ctx, (adapter, attempt) =>
          (call.sending(adapter.name, attempt.upstreamModel), embedInBatches(adapter, { ...attempt, params }, this.fitter.embedBatch(adapter.name, attempt.upstreamModel, embedInputCount(params)), attempt.promptBilled)),
          call,
        );
        const usage = value.usage ?? inputUsage();
        this.sayUsageFault(value.usageFault, outcome.served!, ctx);
        const attempts = call.succeed(outcome, usage);
        return create(EmbedResponseSchema, {
          embeddings: value.vectors.map((values, index) => create(EmbeddingSchema, { index, values })),
          usage,
          ...provenance(outcome.served!, attempts, params.model, ctx),
        });
      } catch (err) {
        throw call.fail(err);
      }
    });
  }

  /**
   * A call that asks no vendor and costs nothing (`/v1/messages/count_tokens`): routed, and held to
   * the key's scope as a chat call is admitted; no tokens are taken, no budget is reserved, nothing billed.
   */
  async admitUncharged(model: string, ctx: CallContext): Promise<void> {
    await this.hooks.admitUncharged?.({ ctx, requestedModel: model, candidates: this.deps.router.resolve(model) });
  }

  /**
   * Refuses a chat call its admission surely would (the key's scope, a spent
   * budget), before the surface does costly work to build it (CallHooks.precheck);
   * takes and reserves nothing. A model that routes nowhere is refused as admission refuses it.
   */
  async precheck(kind: CallKind, model: string, ctx: CallContext): Promise<void> {
    try {
      await this.hooks.precheck?.({ ctx, kind, requestedModel: model, candidates: this.deps.router.resolve(model) });
    } catch (err) {
      ctx.report?.({ requestedModel: model, downgraded: false });
      throw err;
    }
  }

  /**
   * The most tokens an answer of `model` may run to, as the model catalogue
   * knows the models it routes to (the largest); undefined when it knows
   * none of them, or when the model routes nowhere (its admission says so).
   */
  maxOutputTokens(model: string): number | undefined {
    let candidates: Candidate[];
    try {
      candidates = this.deps.router.resolve(model);
    } catch {
      return undefined;
    }
    const limits = candidates.map((c) => this.deps.catalogue?.lookup(c.provider, c.upstreamModel, this.deps.providers.get(c.provider)?.adapter.dialect)?.facts.maxOutputTokens);
    const known = limits.filter((limit): limit is number => limit !== undefined && limit > 0);
    return known.length > 0 ? Math.max(...known) : undefined;
  }

  /**
   * The model `id` names, when the caller's key may call it: listed or not, as
   * a call naming it would be served (ModelListing.model). NotFound when no
   * route serves it, or its key's scope leaves it out (as OpenAI answers for a
   * model an account cannot use).
   */
  async describeModel(id: string, ctx: CallContext): Promise<Model> {
    const model = await this.listing.model(id);
    if (ctx.signal.aborted) throw toConnectError(ctx.signal.reason, ctx.signal);
    const policy = ctx.principal.policy;
    if (policy && !policy.allows(model)) {
      throw gatewayError(Code.NotFound, `model "${excerpt(id)}" is not available to this key; GET /v1/models lists the models it can use`, "MODEL_NOT_FOUND", { model: excerpt(id) });
    }
    return model;
  }

  /** The models the caller can name: those its key's scope lets it call, of one provider when `provider` is set. */
  async listModels(provider: string, ctx: CallContext): Promise<Model[]> {
    const models = await this.listing.models();
    if (ctx.signal.aborted) throw toConnectError(ctx.signal.reason, ctx.signal);
    const policy = ctx.principal.policy;
    return models.filter((model) => (!provider || model.provider === provider) && (!policy || policy.allows(model)));
  }

  /**
   * The cache's answer, if any, keyed on the candidates that can take the call
   * (`fitted`): those that would answer it, under the cache settings of the
   * route the router chose (call.candidates), though its own model was
   * skipped. A failure to look up (the caller cancelled while waiting)
   * settles the call.
   */
  private async consultCache(call: AdmittedCall, candidates: readonly Candidate[], params: ChatParams, ctx: CallContext): Promise<CacheLookup> {
    try {
      return await this.cache.lookup(params, candidates, ctx, call.candidates[0]);
    } catch (err) {
      throw call.fail(err);
    }
  }

  /** Token counts from the vendor that could not be true: one warn line for the call, naming the fields, never their values. */
  private sayUsageFault(fault: UsageFault | undefined, served: Candidate, ctx: CallContext): void {
    if (!fault) return;
    const { fields, usage, message } = usageFaultLine(fault);
    this.deps.logger.warn({ requestId: ctx.requestId, provider: served.provider, model: served.upstreamModel, fault: "vendor", fields, usage }, message);
  }

  /**
   * Holds a call's usage to what it could have used (plausible-usage.ts); a vendor's report that could not be
   * true is said in one warn line for the call, with the counts reported and kept, and counted by field.
   */
  private plausibleUsage(fitting: CallFitting, ctx: CallContext): PlausibleUsage {
    return new PlausibleUsage(
      (candidate) => fitting.usageLimits(candidate),
      (served, corrections) => this.sayImplausibleUsage(served, corrections, ctx),
    );
  }

  private sayImplausibleUsage(served: Candidate | undefined, corrections: UsageCorrection[], ctx: CallContext): void {
    const provider = served?.provider ?? "unknown";
    for (const { field } of corrections) this.deps.metrics?.usageFaults.inc({ provider, field });
    const counts = (which: "reported" | "kept" | "bound") =>
      Object.fromEntries(corrections.filter((correction) => correction[which] !== undefined).map((correction) => [correction.field, correction[which]]));
    this.deps.logger.warn(
      {
        event: "usage_fault",
        fault: "vendor",
        requestId: ctx.requestId,
        provider,
        model: served && maskKeys(served.upstreamModel),
        fields: corrections.map((c) => c.field),
        reported: counts("reported"),
        kept: counts("kept"),
        bounds: counts("bound"),
      },
      "vendor fault: the answer's usage looks untrue of the call: a part past its whole is cut; a prompt past the model's context window or an answer past the max_tokens sent (bounds) is charged as reported, since a vendor that samples more than once per call (compaction, server tools) bills so: check it against the vendor's bill",
    );
  }

  /** Routes and admits a call; a refusal (no route, scope, limits, budget) still tells the caller's log line what was asked for. */
  private async admit(
    kind: CallKind,
    model: string,
    tokens: { bound: number; boundFor?: (candidate: Candidate) => number },
    ctx: CallContext,
    prompt: Pick<CallRequest, "messages" | "promptUsage">,
  ): Promise<AdmittedCall> {
    try {
      const candidates = this.deps.router.resolve(model);
      const admission = await this.hooks.admit({ ctx, kind, requestedModel: model, candidates, estimatedTokens: rateLimitTokens(candidates, tokens.bound, tokens.boundFor), boundTokens: tokens.bound, boundTokensFor: tokens.boundFor });
      return new AdmittedCall(admission, ctx, { kind, model, ...prompt });
    } catch (err) {
      ctx.report?.({ requestedModel: model, downgraded: false });
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.deps.providers.values()].map((runtime) => runtime.adapter.close()));
  }
}

/** A chat call's messages (for traces that record content) and its prompt's estimated usage. */
function chatPrompt(params: ChatParams): Pick<CallRequest, "messages" | "promptUsage"> {
  return { messages: params.messages, promptUsage: () => estimatedUsage(params, 0) };
}

/**
 * The candidates whose model can take the call (the others are skipped), or
 * the call fails. Decided before the cache is consulted: a route that refuses
 * a request never serves an answer cached through one that degraded it.
 */
function fitted(call: AdmittedCall, fitting: CallFitting): Candidate[] {
  const { candidates, refused, error } = fitting.admissible(call.candidates);
  call.admission.skipped.push(...refused);
  if (error) throw call.fail(error);
  return candidates;
}

/**
 * A cached answer's usage as a live stream tells it before its first token: the prompt's counts (cache reads and
 * writes as the hit reports them at its end, and in its unary answer), no output yet. None without a prompt count.
 */
function cachedPromptUsage(usage: Usage | undefined): Usage | undefined {
  if (!usage || usage.promptTokens <= 0) return undefined;
  return create(UsageSchema, { ...usage, completionTokens: 0, reasoningTokens: 0, totalTokens: usage.promptTokens });
}

/** A streamed answer past MAX_STREAMED_ANSWER_CHARS: the vendor's bad response. Thrown out of the loop over the events, it ends the upstream request. */
function pastMaxTokens(provider = "unknown", maxTokens: number): UpstreamError {
  return new UpstreamError({
    kind: "bad_response",
    provider,
    message: `provider "${provider}" streamed more than ${MOST_CHARS_PER_TOKEN} characters for each of the ${maxTokens} tokens max_tokens allows: it ignored max_tokens, and the stream was cut`,
  });
}

function answerTooLong(provider = "unknown"): UpstreamError {
  return new UpstreamError({
    kind: "bad_response",
    provider,
    message: `provider "${provider}" streamed an answer longer than ${MAX_STREAMED_ANSWER_CHARS} characters, the most the gateway keeps of one answer`,
  });
}

/** A stream's answer once it ended: its text, reasoning and tool calls as assembled from the deltas. */
function streamedAnswer(
  end: { id: string; finishReason: FinishReason; stopSequence?: string } & VendorIdentity,
  text: string,
  toolCalls: StreamedToolCalls,
  usage: Usage,
  served: Candidate,
  said: { reasoningContent: string; reasoningSummarized: boolean; refusal: string; reasoning: ReasoningBlock[] },
  logprobs: Logprobs | undefined,
): CacheableAnswer {
  const message = create(MessageSchema, { role: Role.ASSISTANT, content: text, toolCalls: toolCalls.list(), ...said });
  return { id: end.id, message, finishReason: end.finishReason, stopSequence: end.stopSequence, usage, served, ...vendorIdentity(end), logprobs };
}

/** What the vendor said of its answer beside its content (each unset when it did not say). */
function vendorIdentity(said: VendorIdentity): VendorIdentity {
  return { vendorModel: said.vendorModel, systemFingerprint: said.systemFingerprint, serviceTier: said.serviceTier };
}

/** What every answer says of where it came from: who served it, after which attempts, for which request. */
function provenance(served: Candidate, attempts: Attempt[], requestedModel: string, ctx: CallContext) {
  return { provider: served.provider, model: served.upstreamModel, requestId: ctx.requestId, attempts, requestedModel };
}
