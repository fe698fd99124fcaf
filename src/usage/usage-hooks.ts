import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { KeyBudget, KeyPolicy } from "../auth/key-policy.js";
import type { Principal } from "../auth/principal.js";
import type { Admission, AdmissionRequest, CallHooks, CallOutcome, UnchargedRequest } from "../gateway/call-hooks.js";
import { gatewayError } from "../common/gateway-error.js";
import type { Candidate, Router } from "../gateway/router.js";
import { tokensTaken, type RateDecision, type RateLimiter, type RateLimits } from "../limits/rate-limiter.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { maskKeys } from "../providers/redact.js";
import { currentPeriod, type BudgetAnswer, type Period, type SpendCounter } from "./budgets.js";
import type { ProvisionalMark } from "./ledger-journal.js";
import type { LedgerRow } from "./ledger-store.js";
import { formatNanos, NANOS_PER_UNIT, type PriceTable } from "./pricing.js";
import { GATEWAY_EXITED, type UsageLedger } from "./usage-ledger.js";

const PERIOD_ADJECTIVE = { day: "daily", week: "weekly", month: "monthly" } as const;

/** Candidates split by the key's scope; the ones left out are recorded as attempts that were never sent. */
interface Scoped {
  allowed: Candidate[];
  skipped: Attempt[];
}

function inScope(policy: KeyPolicy, candidates: Candidate[]): Scoped {
  const allowed: Candidate[] = [];
  const skipped: Attempt[] = [];
  for (const candidate of candidates) {
    if (policy.allows(candidate)) allowed.push(candidate);
    else skipped.push(create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome: "not_allowed", duration: durationFromMs(0) }));
  }
  return { allowed, skipped };
}

export interface UsageHooksDeps {
  router: Router;
  limiter: RateLimiter;
  spend: SpendCounter;
  prices: PriceTable;
  ledger: UsageLedger;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * The gateway-key policies around every call, in the pipeline's admit/settle
 * seam. Admission: the key's model scope (PermissionDenied), its rate limits
 * (ResourceExhausted with a retry delay), its budget (an economy model past
 * the soft threshold, ResourceExhausted once spent). Settlement: the real
 * token count reconciles the token limit, the real cost the spend counter,
 * and one row goes to the usage ledger. Refused calls get a ledger row too.
 * Between the two, as its first attempt goes to a vendor, a call's
 * provisional entry goes to the ledger's journal (`dispatching`): the row it
 * is recorded with should the process end before the call does.
 *
 * The master key has no policy: no limits, no budget, but its calls are in
 * the ledger (as key "master").
 */
export class UsageHooks implements CallHooks {
  private readonly warnedUnpriced = new Set<string>();

  constructor(private readonly deps: UsageHooksDeps) {}

  async admit(request: AdmissionRequest): Promise<Admission> {
    const { ctx, requestedModel, estimatedTokens } = request;
    const { principal } = ctx;
    const policy = principal.policy;
    const atMs = Date.now();
    const started = performance.now();
    const refuse = (error: ConnectError, attempts: Attempt[] = []): ConnectError => {
      this.deps.ledger.append(this.row(request, atMs, performance.now() - started, { attempts, error, latencyMs: 0 }, 0, false));
      return error;
    };

    let candidates = request.candidates;
    let skipped: Attempt[] = [];
    const limits: RateLimits = { requestsPerMinute: policy?.record.requestsPerMinute ?? 0, tokensPerMinute: policy?.record.tokensPerMinute ?? 0 };
    if (policy) {
      // Judged on every model the call could reach, fallbacks included: a candidate outside the scope is never called.
      const scoped = inScope(policy, candidates);
      if (scoped.allowed.length === 0) {
        this.deps.metrics.scopeRefusals.inc();
        throw refuse(this.notAllowed(principal.keyId, policy, requestedModel, candidates), scoped.skipped);
      }
      candidates = scoped.allowed;
      skipped = scoped.skipped;
      let decision;
      try {
        decision = await this.deps.limiter.acquire(principal.keyId, limits, estimatedTokens);
      } catch (err) {
        throw refuse(ConnectError.from(err));
      }
      if (!decision.allowed) throw refuse(this.rateLimited(principal.keyId, limits, decision));
    }

    let downgraded = false;
    let reservation: BudgetAnswer | undefined;
    let reservedIn: Period | undefined;
    const budget = policy?.record.budget;
    if (policy && budget) {
      const economyModel = policy.economyFor(requestedModel);
      let economy: Scoped | undefined;
      if (economyModel !== undefined && economyModel !== requestedModel) economy = this.resolveEconomy(economyModel, principal, policy);
      // A request for an economy model itself is served as it is, even in economy-only mode.
      else if (policy.isEconomyModel(requestedModel)) economy = { allowed: candidates, skipped };
      const period = currentPeriod(budget.period, atMs);
      // An upper bound of the call's cost, never more than the whole budget: one call can hold the budget, never overflow it.
      // Any candidate may serve (a fallback may cost more than the first): the dearest one's bound is reserved.
      const reserve = (options: Candidate[]): number => {
        let most = 0;
        for (const candidate of options) {
          most = Math.max(most, this.deps.prices.estimate(candidate.provider, candidate.upstreamModel, request.boundTokensFor?.(candidate) ?? request.boundTokens));
        }
        return Math.min(most, budget.limitNanos);
      };
      let answer;
      try {
        answer = await this.deps.spend.admit({
          keyId: principal.keyId,
          budget,
          period,
          reserveNormal: reserve(candidates),
          reserveEconomy: economy ? reserve(economy.allowed) : undefined,
        });
      } catch (err) {
        this.refundTokens(principal.keyId, limits, estimatedTokens);
        if (err instanceof ConnectError) throw refuse(err);
        // The ledger could not be read to rebuild the key's spend: no guessing at a budget.
        this.deps.logger.error({ requestId: ctx.requestId, keyId: principal.keyId, error: (err as Error).message }, "could not read the key's spend");
        throw refuse(gatewayError(Code.Unavailable, "the key's budget cannot be checked right now; retry shortly", "BUDGETS_UNAVAILABLE", {}, 1_000));
      }
      this.showBudget(principal, budget, answer.spentNanos, atMs);
      if (answer.decision === "refused") {
        this.refundTokens(principal.keyId, limits, estimatedTokens);
        this.deps.metrics.budgetRefusals.inc();
        throw refuse(this.budgetExhausted(principal.keyId, budget, answer.spentNanos, period, atMs, economy === undefined));
      }
      if (answer.decision === "economy" && economy && economy.allowed !== candidates) {
        this.deps.metrics.economyDowngrades.inc({ requested_model: this.deps.metrics.modelLabel(requestedModel), economy_model: this.deps.metrics.modelLabel(economyModel!) });
        this.deps.logger.info(
          { requestId: ctx.requestId, keyId: principal.keyId, requestedModel, economyModel, spent: formatNanos(answer.spentNanos), budget: formatNanos(budget.limitNanos) },
          "budget soft threshold reached: serving the economy model",
        );
        candidates = economy.allowed;
        skipped = economy.skipped;
        downgraded = true;
      }
      reservation = answer;
      reservedIn = period;
    }

    let settled = false;
    /** Drawn as the first attempt goes out: the provisional entry's and the row's, so that the row supersedes the entry. */
    let rowKey: string | undefined;
    return {
      candidates,
      skipped,
      downgraded,
      dispatching: (first, prompt) => {
        if (settled || rowKey !== undefined) return;
        rowKey = randomUUID();
        const mark: ProvisionalMark = reservedIn ? { reservation: { startMs: reservedIn.startMs, endMs: reservedIn.endMs, callId: reservation?.callId } } : {};
        try {
          this.deps.ledger.begin(this.provisional(request, atMs, rowKey, first, prompt, skipped, downgraded), mark);
        } catch (err) {
          this.deps.logger.error({ requestId: ctx.requestId, error: (err as Error).message }, "could not journal a call's provisional ledger entry");
        }
      },
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        try {
          return this.settle(request, atMs, limits, reservation, downgraded, outcome, rowKey);
        } catch (err) {
          this.deps.logger.error({ requestId: ctx.requestId, error: (err as Error).message }, "could not account for a call");
        }
      },
    };
  }

  /** The key's scope and request rate, as `admit` judges them; its tokens and budget are left alone: nothing is generated. */
  async admitUncharged({ ctx, requestedModel, candidates }: UnchargedRequest): Promise<void> {
    const { keyId, policy } = ctx.principal;
    if (!policy) return;
    if (inScope(policy, candidates).allowed.length === 0) {
      this.deps.metrics.scopeRefusals.inc();
      throw this.notAllowed(keyId, policy, requestedModel, candidates);
    }
    const limits: RateLimits = { requestsPerMinute: policy.record.requestsPerMinute, tokensPerMinute: 0 };
    const decision = await this.deps.limiter.acquire(keyId, limits, 0);
    if (!decision.allowed) throw this.rateLimited(keyId, limits, decision);
  }

  private rateLimited(keyId: string, limits: RateLimits, decision: Extract<RateDecision, { allowed: false }>): ConnectError {
    this.deps.metrics.rateLimited.inc({ limit: decision.limit });
    const limit = decision.limit === "requests" ? limits.requestsPerMinute : limits.tokensPerMinute;
    return gatewayError(
      Code.ResourceExhausted,
      `key "${keyId}" is over its limit of ${limit} ${decision.limit} per minute; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s`,
      "RATE_LIMITED",
      { key: keyId, limit: decision.limit === "requests" ? "requests_per_minute" : "tokens_per_minute", value: String(limit) },
      decision.retryAfterMs,
    );
  }

  private notAllowed(keyId: string, policy: KeyPolicy, requestedModel: string, candidates: Candidate[]): ConnectError {
    const called = candidates.map((c) => `${c.provider}/${c.upstreamModel}`).join(", ");
    return gatewayError(
      Code.PermissionDenied,
      `key "${keyId}" may not use model "${requestedModel}": it would be served by ${called}, which the key's scope (${policy.scope}) does not allow. ` +
        "A key is served only models its scope allows, judged on the model actually called (aliases, fallbacks and economy models included)",
      "MODEL_NOT_ALLOWED",
      { key: keyId, model: requestedModel, called },
    );
  }

  private settle(
    request: AdmissionRequest,
    atMs: number,
    limits: RateLimits,
    reservation: BudgetAnswer | undefined,
    downgraded: boolean,
    outcome: CallOutcome,
    rowKey: string | undefined,
  ): number {
    const keyId = request.ctx.principal.keyId;
    const served = this.served(outcome);
    const usage = outcome.usage;
    // A cache hit costs the caller nothing; what the vendor would have charged is recorded as saved.
    const price = served && usage ? this.price(served, usage) : 0;
    const cost = outcome.cached ? 0 : price;
    const row: LedgerRow = { ...this.row(request, atMs, outcome.latencyMs, outcome, cost, downgraded), savedCostNanos: outcome.cached ? price : 0 };
    // The same key as the call's provisional entry, which this row supersedes.
    if (rowKey !== undefined) row.rowKey = rowKey;
    this.deps.ledger.append(row);

    if (limits.tokensPerMinute > 0) {
      // Cache hits cost the vendor nothing: their tokens are given back too.
      const used = outcome.cached ? 0 : row.promptTokens + row.completionTokens;
      const delta = used - tokensTaken(limits, request.estimatedTokens);
      if (delta !== 0) this.deps.limiter.adjustTokens(keyId, limits, delta).catch((err: Error) => this.warn("token limit reconciliation failed", err));
    }
    if (reservation) {
      reservation.settle(cost).catch((err: Error) => this.warn("spend reconciliation failed", err));
      const budget = request.ctx.principal.policy?.record.budget;
      if (budget) this.showBudget(request.ctx.principal, budget, reservation.spentNanos + cost, atMs);
    }
    if (served && outcome.cached && price > 0) {
      this.deps.metrics.cacheSavedCost.inc({ provider: served.provider, model: this.deps.metrics.modelLabel(served.upstreamModel), currency: this.deps.prices.currency }, price / NANOS_PER_UNIT);
    }
    if (served && usage && !outcome.cached) {
      this.deps.metrics.recordUsage({
        provider: served.provider,
        model: served.upstreamModel,
        keyId,
        team: row.team,
        currency: this.deps.prices.currency,
        promptTokens: row.promptTokens,
        completionTokens: row.completionTokens,
        cachedTokens: row.cachedTokens,
        cost: cost / NANOS_PER_UNIT,
      });
    }
    return cost;
  }

  /**
   * The row a call is recorded with should the process end before the call
   * does: status `gateway_exited`, the prompt's estimated tokens and their
   * cost at the first attempt's model, its skipped candidates and that attempt
   * (what it streamed before the end is not known). No metric counts it: if it
   * is ever stored, it is by a later run.
   */
  private provisional(
    request: AdmissionRequest,
    atMs: number,
    rowKey: string,
    first: Candidate,
    prompt: Usage | undefined,
    skipped: Attempt[],
    downgraded: boolean,
  ): LedgerRow & { rowKey: string } {
    const promptTokens = prompt?.promptTokens ?? 0;
    const { provider, upstreamModel } = first;
    const cost = promptTokens > 0 && this.deps.prices.isPriced(provider, upstreamModel) ? this.deps.prices.cost(provider, upstreamModel, { promptTokens, completionTokens: 0, cachedTokens: 0 }) : 0;
    const row = this.row(request, atMs, 0, { served: first, usage: prompt && { ...prompt, completionTokens: 0, cachedTokens: 0 }, attempts: skipped, latencyMs: 0 }, cost, downgraded);
    row.attempts.push({ provider, model: upstreamModel, outcome: GATEWAY_EXITED, ms: 0, hedged: false });
    return { ...row, status: GATEWAY_EXITED, rowKey };
  }

  /** The key's budget as this call saw it, for the budget gauges. */
  private showBudget(principal: Principal, budget: KeyBudget, spentNanos: number, atMs: number): void {
    this.deps.metrics.recordBudget({
      keyId: principal.keyId,
      team: principal.team ?? "",
      currency: this.deps.prices.currency,
      spent: spentNanos / NANOS_PER_UNIT,
      limit: budget.limitNanos / NANOS_PER_UNIT,
      periodEndMs: currentPeriod(budget.period, atMs).endMs,
    });
  }

  private price(served: Candidate, usage: NonNullable<CallOutcome["usage"]>): number {
    const { provider, upstreamModel } = served;
    if (!this.deps.prices.isPriced(provider, upstreamModel)) {
      this.deps.metrics.unpricedCalls.inc({ provider });
      const name = `${provider}/${upstreamModel}`;
      if (!this.warnedUnpriced.has(name) && this.warnedUnpriced.size < 1_000) {
        this.warnedUnpriced.add(name);
        this.deps.logger.warn({ provider, model: upstreamModel }, "no price for this model: its calls cost 0 (add it to pricing.models)");
      }
      return 0;
    }
    return this.deps.prices.cost(provider, upstreamModel, {
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      cachedTokens: usage.cachedTokens,
      reasoningTokens: usage.reasoningTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      cacheWrite1hTokens: usage.cacheWrite1hTokens,
    });
  }

  /** What served the call, or what was tried last when it failed. */
  private served(outcome: CallOutcome): Candidate | undefined {
    return outcome.served ?? outcome.lastTried;
  }

  private row(request: AdmissionRequest, atMs: number, latencyMs: number, outcome: CallOutcome, costNanos: number, downgraded: boolean): LedgerRow {
    const { ctx } = request;
    const served = this.served(outcome);
    const usage = outcome.usage;
    return {
      atMs,
      requestId: ctx.requestId,
      keyId: ctx.principal.keyId,
      team: ctx.principal.team ?? "",
      method: request.kind,
      surface: ctx.surface ?? "",
      provider: served?.provider ?? "",
      // Names a caller chose ("openai/sk-…" routes a pasted key upstream as a model): kept with any key masked.
      requestedModel: maskKeys(request.requestedModel),
      servedModel: maskKeys(served?.upstreamModel ?? ""),
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: usage?.completionTokens ?? 0,
      cachedTokens: usage?.cachedTokens ?? 0,
      costNanos,
      currency: this.deps.prices.currency,
      latencyMs,
      status: outcome.error ? codeToString(outcome.error.code) : "ok",
      cacheHit: outcome.cached ?? false,
      downgraded,
      attempts: outcome.attempts.map((attempt) => ({
        provider: attempt.provider,
        model: maskKeys(attempt.model),
        outcome: attempt.outcome,
        ms: attempt.duration ? durationMs(attempt.duration) : 0,
        hedged: attempt.hedged,
      })),
    };
  }

  /** The economy model's candidates within the key's scope, or undefined (serve the requested model) when none is usable. */
  private resolveEconomy(model: string, principal: Principal, policy: KeyPolicy): Scoped | undefined {
    let routed: Candidate[];
    try {
      routed = this.deps.router.resolve(model);
    } catch (err) {
      this.deps.logger.warn({ keyId: principal.keyId, economyModel: model, error: (err as Error).message }, "the key's economy model cannot be routed; serving the requested model");
      return undefined;
    }
    const scoped = inScope(policy, routed);
    if (scoped.allowed.length > 0) return scoped;
    this.deps.logger.warn({ keyId: principal.keyId, economyModel: model }, "the key's economy model is outside its own scope; serving the requested model");
    return undefined;
  }

  private budgetExhausted(keyId: string, budget: KeyBudget, spent: number, period: Period, now: number, noEconomy: boolean): ConnectError {
    const currency = this.deps.prices.currency;
    const resets = new Date(period.endMs).toISOString();
    const economyHint = budget.whenExhausted === "economy_only" && noEconomy ? "; only models with an economy mapping are served until then" : "";
    return gatewayError(
      Code.ResourceExhausted,
      `budget exhausted: key "${keyId}" spent ${formatNanos(spent, 4)} of its ${formatNanos(budget.limitNanos, 4)} ${currency} ${PERIOD_ADJECTIVE[budget.period]} budget; it resets at ${resets}${economyHint}`,
      "BUDGET_EXHAUSTED",
      { key: keyId, spent: formatNanos(spent), budget: formatNanos(budget.limitNanos), currency, period_end: resets },
      period.endMs - now,
    );
  }

  /** Gives back what admission took for a call estimated at `estimated` tokens, when the call is refused after all. */
  private refundTokens(keyId: string, limits: RateLimits, estimated: number): void {
    const taken = tokensTaken(limits, estimated);
    if (taken > 0) this.deps.limiter.adjustTokens(keyId, limits, -taken).catch((err: Error) => this.warn("token refund failed", err));
  }

  private warn(message: string, err: Error): void {
    this.deps.logger.warn({ error: err.message }, message);
  }
}

/**
 * Charges the spend of a call the gateway's end cut short (replayed from the
 * ledger's journal, see UsageLedger) to its key, once: on the period it
 * reserved in, settling its reservation on a shared counter by the
 * reservation's id (or, for one this process made alone, an id drawn from the
 * row's). A call of a key without a budget reserved nothing: its spend is
 * read from the ledger should the key get one.
 */
export async function chargeInterrupted(spend: SpendCounter, row: LedgerRow, mark: ProvisionalMark): Promise<void> {
  const reservation = mark.reservation;
  if (!reservation) return;
  await spend.charge({
    keyId: row.keyId,
    period: { startMs: reservation.startMs, endMs: reservation.endMs },
    costNanos: row.costNanos,
    callId: reservation.callId ?? `row-${row.rowKey}`,
  });
}
