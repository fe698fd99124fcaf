import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import type { ParameterAdjustment } from "../../gen/ts/switchboard/v1/catalogue_pb.js";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { Catalogue } from "../catalogue/catalogue.js";
import { reasoningBeyondMaxTokens } from "../catalogue/reasoning-fitting.js";
import { fitChatRequest, type FittedRequest, type UnsupportedPolicy } from "../catalogue/request-fitting.js";
import { badRequest, badRequestOf } from "../common/bad-request.js";
import { gatewayError } from "../common/gateway-error.js";
import type { ModelTraits } from "../providers/model-traits.js";
import type { ChatParams } from "../providers/provider.js";
import { REASON_FOR_KIND } from "../providers/upstream-error.js";
import type { UsageLimits } from "./plausible-usage.js";
import type { ProviderRuntime } from "./provider-runtime.js";
import type { Candidate, Router } from "./router.js";
import { promptBoundTokens, UNBOUNDED_COMPLETION_TOKENS } from "./usage-estimate.js";

export interface RequestFitterDeps {
  catalogue: Catalogue;
  providers: ReadonlyMap<string, ProviderRuntime>;
  router: Router;
  /** For routes that name no policy of their own. */
  whenUnsupported: UnsupportedPolicy;
}

/**
 * Fits each call's request to each model that may serve it, from the model
 * catalogue (src/catalogue/request-fitting.ts): per candidate, since a
 * fallback may go to another vendor with other rules. The gateway asks it
 * once per call, after routing.
 */
export class RequestFitter {
  constructor(private readonly deps: RequestFitterDeps) {}

  forCall(params: ChatParams): CallFitting {
    const policy = this.deps.router.route(params.model)?.whenUnsupported ?? this.deps.whenUnsupported;
    return new CallFitting(this.deps, params, policy);
  }

  /**
   * Refuses `dimensions` the requested model cannot make (as the catalogue
   * knows it: its length, or a shorter one it offers), before any vendor is
   * asked: the answer's size is inputs × dimensions, and a vendor would
   * refuse it only after a round trip. Models the catalogue does not know are
   * left to their vendor.
   */
  checkEmbedDimensions(candidate: Candidate | undefined, dimensions: number | undefined): void {
    if (candidate === undefined || dimensions === undefined) return;
    const runtime = this.deps.providers.get(candidate.provider);
    const facts = this.deps.catalogue.lookup(candidate.provider, candidate.upstreamModel, runtime?.adapter.dialect)?.facts.embedding;
    if (!facts || dimensions === facts.dimensions) return;
    const shorter = facts.shorterDimensions;
    if (shorter === "any" ? dimensions < facts.dimensions : shorter?.includes(dimensions)) return;
    const offered = shorter === "any" ? `at most ${facts.dimensions}` : [facts.dimensions, ...(shorter ?? [])].join(", ");
    throw badRequest({ field: "dimensions", description: `${candidate.upstreamModel} makes vectors of ${offered} dimensions, not ${dimensions}` });
  }

  /** The most texts one embedding request to `model` carries: the provider's, or the model's own limit when lower. */
  embedBatch(provider: string, model: string, fallback: number): number {
    const runtime = this.deps.providers.get(provider);
    const modelLimit = this.deps.catalogue.lookup(provider, model, runtime?.adapter.dialect)?.facts.embedding?.maxBatch;
    return Math.min(runtime?.embedBatchSize ?? fallback, modelLimit ?? Infinity);
  }
}

/** One call's request as fitted to each candidate, remembered per candidate. */
export class CallFitting {
  private readonly fitted = new Map<string, FittedRequest>();

  constructor(
    private readonly deps: RequestFitterDeps,
    private readonly params: ChatParams,
    private readonly policy: UnsupportedPolicy,
  ) {}

  /** The request as `provider` sends it to `model`: fitted params, and the model's wire names for the codec. */
  request(provider: string, model: string): { params: ChatParams; traits?: ModelTraits } {
    const fitted = this.fit(provider, model);
    return fitted.ok ? { params: fitted.params, traits: fitted.traits } : { params: this.params };
  }

  /** What was changed for the candidate that served (none for an answer nobody served). */
  adjustments(served: Candidate | undefined): ParameterAdjustment[] {
    if (!served) return [];
    const fitted = this.fit(served.provider, served.upstreamModel);
    return fitted.ok ? fitted.adjustments : [];
  }

  /**
   * The candidates whose model can take the call, and the others as attempts
   * never sent (outcome "unsupported"). None left: the first one's refusal,
   * InvalidArgument naming the caller's field it cannot take as asked (more
   * stop sequences than it takes, log probabilities it cannot return, images
   * to a model that takes none), else Unimplemented saying what the model
   * lacks; either's ErrorInfo names the provider and model.
   */
  admissible(candidates: readonly Candidate[]): { candidates: Candidate[]; refused: Attempt[]; error?: ConnectError } {
    const usable: Candidate[] = [];
    const refused: Attempt[] = [];
    let refusal: Extract<FittedRequest, { ok: false }> | undefined;
    for (const candidate of candidates) {
      const fitted = this.fit(candidate.provider, candidate.upstreamModel);
      if (fitted.ok) {
        usable.push(candidate);
        continue;
      }
      refusal ??= fitted;
      refused.push(create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome: "unsupported", duration: durationFromMs(0) }));
    }
    if (usable.length > 0) return { candidates: usable, refused };
    const first = candidates[0];
    const naming = { provider: first?.provider ?? "", model: first?.upstreamModel ?? "" };
    const error =
      refusal?.field !== undefined
        ? badRequestOf([{ field: refusal.field, description: refusal.reason }], "INVALID_ARGUMENT", naming)
        : gatewayError(Code.Unimplemented, `model "${this.params.model}" cannot take this request: ${refusal?.reason ?? ""}`, REASON_FOR_KIND.unsupported, naming);
    return { candidates: usable, refused, error };
  }

  /**
   * The most tokens a call to `candidate` may use, for the budget to reserve:
   * the prompt's bound plus the answer's, which is max_tokens as fitted (the
   * model's limit applies), else the model's most, else a generous default;
   * plus a reasoning budget where the model may spend it beyond max_tokens.
   * A prompt never costs more than the model's context window: a vendor refuses a longer one unbilled.
   */
  boundTokens(candidate: Candidate): number {
    const facts = this.entry(candidate.provider, candidate.upstreamModel)?.facts;
    const prompt = promptBoundTokens(this.params, facts?.imageTokens);
    // No max_tokens sent: the model's most (or a generous default); either with the reasoning it may spend beyond it.
    const answer = (this.maxTokens(candidate) ?? facts?.maxOutputTokens ?? UNBOUNDED_COMPLETION_TOKENS) + this.reasoningBeyond(candidate);
    return Math.min(prompt, facts?.contextWindow ?? prompt) + answer;
  }

  /**
   * The most a call to `candidate` can be billed, as its vendor must count it
   * (plausible-usage.ts): a prompt no longer than the model's context window,
   * an answer no longer than the max_tokens sent (with the reasoning the
   * model may spend beyond it); each undefined when not known (no window in
   * the catalogue, no max_tokens sent).
   */
  usageLimits(candidate: Candidate): UsageLimits {
    const maxTokens = this.maxTokens(candidate);
    const facts = this.entry(candidate.provider, candidate.upstreamModel)?.facts;
    const beyond = this.reasoningBeyond(candidate);
    // A model that may reason past max_tokens by an amount no one set (no budget sent, none by default) has no answer
    // bound to hold its vendor to: a true count past it must be billed, not cut.
    const unboundedReasoning = facts?.reasoning !== undefined && !facts.reasoning.budgetWithinMaxTokens && beyond === 0;
    return { promptTokens: facts?.contextWindow, completionTokens: maxTokens === undefined || unboundedReasoning ? undefined : maxTokens + beyond };
  }

  /** The max_tokens sent to `candidate`, as fitted to its model. */
  private maxTokens(candidate: Candidate): number | undefined {
    const fitted = this.fit(candidate.provider, candidate.upstreamModel);
    return fitted.ok ? fitted.params.maxTokens : this.params.maxTokens;
  }

  /** The reasoning budget `candidate`'s model may spend beyond max_tokens. */
  private reasoningBeyond(candidate: Candidate): number {
    const fitted = this.fit(candidate.provider, candidate.upstreamModel);
    return fitted.ok ? reasoningBeyondMaxTokens(fitted.params, this.entry(candidate.provider, candidate.upstreamModel)?.facts.reasoning) : 0;
  }

  private fit(provider: string, model: string): FittedRequest {
    const key = `${provider}/${model}`;
    let fitted = this.fitted.get(key);
    if (!fitted) {
      const adapter = this.deps.providers.get(provider)?.adapter;
      fitted = fitChatRequest(this.params, this.entry(provider, model), this.policy, { model, dialect: adapter?.dialect, defaultMaxTokens: adapter?.defaultMaxTokens });
      this.fitted.set(key, fitted);
    }
    return fitted;
  }

  private entry(provider: string, model: string) {
    return this.deps.catalogue.lookup(provider, model, this.deps.providers.get(provider)?.adapter.dialect);
  }
}
