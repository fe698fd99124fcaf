import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { UsageSchema, type Usage } from "../../gen/ts/switchboard/v1/chat_pb.js";
import { AttemptSchema, type Attempt } from "../../gen/ts/switchboard/v1/routing_pb.js";
import type { KeyBudget, KeyPolicy } from "../auth/key-policy.js";
import type { Principal } from "../auth/principal.js";
import type { Admission, AdmissionRequest, CallHooks, CallOutcome, CutPrompt, PrecheckRequest, UnchargedRequest } from "../gateway/call-hooks.js";
import { gatewayError } from "../common/gateway-error.js";
import type { Candidate, Router } from "../gateway/router.js";
import { tokensTaken, type RateDecision, type RateLimiter, type RateLimits } from "../limits/rate-limiter.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { maskKeys } from "../providers/redact.js";
import { coverOf, type AttemptCost } from "./attempt-cover.js";
import { currentPeriod, MAX_NANOS, wholeNanos, type BudgetAnswer, type Growth, type Period, type SpendCounter } from "./budgets.js";
import { formatDistinctAmounts } from "./distinct-amounts.js";
import { cheaperEconomy } from "./economy-prices.js";
import type { ProvisionalMark } from "./ledger-journal.js";
import type { LedgerRow } from "./ledger-store.js";
import { formatNanos, NANOS_PER_UNIT, type PriceTable, type TokenCounts } from "./pricing.js";
import { GATEWAY_EXITED, type UsageLedger } from "./usage-ledger.js";

/** A settled call: what it cost, and what the shared counts are told of it (its tokens, its reservation's settlement), once they take it. */
interface Settlement {
  cost: number;
  counted?: Promise<void>;
}

const PERIOD_ADJECTIVE = { day: "daily", week: "weekly", month: "monthly" } as const;

/** Why a call admitted within its budget ends BUDGET_EXHAUSTED after an attempt was cut (see `anotherAttempt`). */
const NOT_TRIED_AGAIN = "; the call was not tried again: its cut attempts' prompts are charged, and another attempt could take the key past its budget";

/** Candidates split by the key's scope (or its budget's prices); the ones left out are recorded as attempts that were never sent. */
interface Scoped {
  allowed: Candidate[];
  skipped: Attempt[];
}

/** `candidates` split by `keeps`; each one left out becomes an attempt never sent, with `outcome`. */
function splitBy(candidates: readonly Candidate[], keeps: (candidate: Candidate) => boolean, outcome: string): Scoped {
  const allowed: Candidate[] = [];
  const skipped: Attempt[] = [];
  for (const candidate of candidates) {
    if (keeps(candidate)) allowed.push(candidate);
    else skipped.push(create(AttemptSchema, { provider: candidate.provider, model: candidate.upstreamModel, outcome, duration: durationFromMs(0) }));
  }
  return { allowed, skipped };
}

function inScope(policy: KeyPolicy, candidates: readonly Candidate[]): Scoped {
  return splitBy(candidates, (candidate) => policy.allows(candidate), "not_allowed");
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
 * seam. Before a call is read, as its key is authenticated: one request from
 * the key's requests per minute (`takeRequest`, ResourceExhausted with a
 * retry delay). Admission: the key's model scope (PermissionDenied), its
 * tokens per minute (ResourceExhausted with a retry delay), its budget (only models with a
 * price, else FailedPrecondition; an economy model past the soft threshold,
 * ResourceExhausted once spent). Settlement: the real
 * token count reconciles the token limit, the real cost the spend counter,
 * and one row goes to the usage ledger. Refused calls get a ledger row too.
 * Between the two, as its first attempt goes to a vendor, a call's
 * provisional entry goes to the ledger's journal (`dispatching`): the row it
 * is recorded with should the process end before the call does; and before
 * each further attempt that may add to its cost, its reservation grows, or
 * the attempt is not sent (`anotherAttempt`).
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
    // Its request was taken as its key was authenticated, before the request was read (`takeRequest`): admission takes its tokens alone.
    const limits: RateLimits = { requestsPerMinute: 0, tokensPerMinute: policy?.record.tokensPerMinute ?? 0 };
    if (policy) {
      // Judged on every model the call could reach, fallbacks included: a candidate outside the scope is never called.
      const scoped = inScope(policy, candidates);
      if (scoped.allowed.length === 0) {
        this.deps.metrics.scopeRefusals.inc();
        throw refuse(this.notAllowed(principal.keyId, policy, requestedModel, candidates), scoped.skipped);
      }
      // A budgeted key is served only models with a price: a call to one with none would cost 0, beyond the budget's reach.
      const admitted = policy.record.budget ? this.priced(scoped) : scoped;
      if (admitted.allowed.length === 0) {
        this.deps.metrics.budgetRefusals.inc({ stage: "unpriced" });
        throw refuse(this.unpriced(principal.keyId, requestedModel, scoped.allowed), admitted.skipped);
      }
      candidates = admitted.allowed;
      skipped = admitted.skipped;
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
    /** What the reservation covers (attempt-cover.ts): the bound admission reserved for, grown by further attempts. */
    let covered = 0;
    let economyOffered = false;
    const budget = policy?.record.budget;
    if (policy && budget) {
      // An upper bound of the call's cost. Any candidate may serve (a fallback may cost more than the first): the dearest one's bound.
      const bound = (options: readonly Candidate[]): number => Math.max(0, ...options.map((candidate) => this.boundCost(request, candidate)));
      const economyModel = policy.economyFor(requestedModel);
      let economy: Scoped | undefined;
      if (economyModel !== undefined && economyModel !== requestedModel) economy = cheaperEconomy(this.resolveEconomy(economyModel, principal, policy), candidates, request, bound, this.deps);
      // A request for an economy model itself is served as it is, even in economy-only mode.
      else if (policy.isEconomyModel(requestedModel)) economy = { allowed: candidates, skipped };
      economyOffered = economy !== undefined;
      const period = currentPeriod(budget.period, atMs);
      const normalBound = bound(candidates);
      const economyBound = economy && bound(economy.allowed);
      let answer;
      try {
        // Never more than the whole budget: one call can hold the budget, never overflow it.
        answer = await this.deps.spend.admit({
          keyId: principal.keyId,
          budget,
          period,
          reserveNormal: Math.min(normalBound, budget.limitNanos),
          reserveEconomy: economyBound === undefined ? undefined : Math.min(economyBound, budget.limitNanos),
          atMs,
        });
      } catch (err) {
        this.refundTokens(principal.keyId, limits, estimatedTokens);
        if (err instanceof ConnectError) throw refuse(err);
        // The ledger could not be read to rebuild the key's spend: no guessing at a budget.
        this.deps.logger.error({ requestId: ctx.requestId, keyId: principal.keyId, error: (err as Error).message }, "could not read the key's spend");
        throw refuse(budgetsUnavailable());
      }
      this.showBudget(principal, budget, answer.spentNanos, atMs);
      if (answer.decision === "refused") {
        this.refundTokens(principal.keyId, limits, estimatedTokens);
        this.deps.metrics.budgetRefusals.inc({ stage: "admission" });
        throw refuse(this.budgetExhausted(principal.keyId, budget, answer.spentNanos, period, atMs, economy === undefined));
      }
      if (answer.decision === "economy" && economy && economy.allowed !== candidates) {
        // The requested name takes no label place (no vendor vouched for it: a glob mapping downgrades any name); the economy model is the operator's.
        this.deps.metrics.economyDowngrades.inc({ requested_model: this.deps.metrics.servedModelLabel(requestedModel), economy_model: this.deps.metrics.modelLabel(economyModel!) });
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
      covered = answer.decision === "economy" && economyBound !== undefined ? economyBound : normalBound;
    }

    let settled = false;
    /** What the shared counts were told of the call as it settled, until they take it (Admission.counted). */
    let telling: Promise<void> | undefined;
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
      anotherAttempt: async (next, earlier, prompt) => {
        if (settled || !reservation || !reservedIn || !budget) return;
        const lacking = coverOf([...earlier, next].map((candidate) => this.attemptCost(request, candidate, prompt))) - covered;
        if (lacking <= 0) return;
        let grown: Growth;
        try {
          grown = await reservation.grow(lacking);
        } catch (err) {
          if (err instanceof ConnectError) throw err;
          this.deps.logger.error({ requestId: ctx.requestId, keyId: principal.keyId, error: (err as Error).message }, "could not read the key's spend");
          throw budgetsUnavailable();
        }
        if (!grown.granted) {
          this.deps.logger.info({ requestId: ctx.requestId, keyId: principal.keyId, provider: next.provider, model: next.upstreamModel }, "budget exhausted: another attempt of the call is not sent");
          this.deps.metrics.budgetRefusals.inc({ stage: "another_attempt" });
          throw this.budgetExhausted(principal.keyId, budget, grown.spentNanos, reservedIn, Date.now(), !economyOffered, NOT_TRIED_AGAIN);
        }
        covered += lacking;
      },
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        try {
          const settlement = this.settle(request, atMs, limits, reservation, downgraded, outcome, rowKey);
          telling = settlement.counted;
          return settlement.cost;
        } catch (err) {
          this.deps.logger.error({ requestId: ctx.requestId, error: (err as Error).message }, "could not account for a call");
        }
      },
      counted: () => telling,
    };
  }

  /**
   * The key's scope, as `admit` judges it; a refusal leaves a ledger row, as every scope refusal does
   * (method `chat`: the call counts a chat call's prompt). Its tokens and budget are left alone (nothing
   * is generated), its request was taken (`takeRequest`).
   */
  async admitUncharged(request: UnchargedRequest): Promise<void> {
    const { ctx, requestedModel, candidates } = request;
    const { keyId, policy } = ctx.principal;
    if (!policy) return;
    const scoped = inScope(policy, candidates);
    if (scoped.allowed.length === 0) {
      this.deps.metrics.scopeRefusals.inc();
      const error = this.notAllowed(keyId, policy, requestedModel, candidates);
      this.deps.ledger.append(this.row({ ...request, kind: "chat" }, Date.now(), 0, { attempts: scoped.skipped, error, latencyMs: 0 }, 0, false));
      throw error;
    }
  }

  /**
   * Takes one request from the key's requests per minute for every call it
   * makes, on every surface (AIService and AdminService methods, every REST
   * route), as the key is authenticated and before the call's request is
   * read (api/envelope/key-gate.ts): refused or not, a call costs the gateway
   * its work, and a key past its limit is refused before any is done,
   * however large the body it sends. Admission then takes the call's tokens
   * alone. No ledger row for a refusal here: what the call is (its method,
   * its model) is not known yet; it is in the call's log line and
   * `switchboard_rate_limited_total`. The master key has no policy and so no
   * limit.
   */
  async takeRequest(principal: Principal): Promise<void> {
    const requestsPerMinute = principal.policy?.record.requestsPerMinute ?? 0;
    if (requestsPerMinute <= 0) return;
    const limits: RateLimits = { requestsPerMinute, tokensPerMinute: 0 };
    const decision = await this.deps.limiter.acquire(principal.keyId, limits, 0);
    if (!decision.allowed) throw this.rateLimited(principal.keyId, limits, decision);
  }

  /**
   * Before a surface's costly work for a call (a stored conversation
   * loaded): refuses it as `admit` would for the key's scope, for a budget
   * no candidate with a price can serve, or for a budget already spent with
   * no economy model to fall back to, with the
   * same ledger row; takes and reserves nothing. What it cannot judge (an
   * economy model's fitness, a spend it cannot read) it leaves to `admit`.
   */
  async precheck(request: PrecheckRequest): Promise<void> {
    const { ctx, requestedModel, candidates } = request;
    const { keyId, policy } = ctx.principal;
    if (!policy) return;
    const atMs = Date.now();
    const refuse = (error: ConnectError, attempts: Attempt[] = []): ConnectError => {
      this.deps.ledger.append(this.row(request, atMs, 0, { attempts, error, latencyMs: 0 }, 0, false));
      return error;
    };
    const scoped = inScope(policy, candidates);
    if (scoped.allowed.length === 0) {
      this.deps.metrics.scopeRefusals.inc();
      throw refuse(this.notAllowed(keyId, policy, requestedModel, candidates), scoped.skipped);
    }
    const budget = policy.record.budget;
    const priced = budget && this.priced(scoped);
    if (priced && priced.allowed.length === 0) {
      this.deps.metrics.budgetRefusals.inc({ stage: "unpriced" });
      throw refuse(this.unpriced(keyId, requestedModel, scoped.allowed), priced.skipped);
    }
    if (!budget || (budget.whenExhausted === "economy_only" && (policy.economyFor(requestedModel) !== undefined || policy.isEconomyModel(requestedModel)))) return;
    const period = currentPeriod(budget.period, atMs);
    const spent = await this.deps.spend.spent(keyId, period).catch(() => undefined);
    if (spent === undefined || spent < budget.limitNanos) return;
    this.deps.metrics.budgetRefusals.inc({ stage: "admission" });
    throw refuse(this.budgetExhausted(keyId, budget, spent, period, atMs, true));
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

  /**
   * Of a budgeted key's candidates in scope, those with a price: a call to a
   * model with none would cost 0, and the budget could never limit it. The
   * others join the skipped attempts (`unpriced`), never sent.
   */
  private priced(scoped: Scoped): Scoped {
    const priced = splitBy(scoped.allowed, (candidate) => this.deps.prices.isPriced(candidate.provider, candidate.upstreamModel), "unpriced");
    return { allowed: priced.allowed, skipped: [...scoped.skipped, ...priced.skipped] };
  }

  /** A budgeted key's call that only models with no price could serve (each said to the operators once). */
  private unpriced(keyId: string, requestedModel: string, candidates: readonly Candidate[]): ConnectError {
    for (const { provider, upstreamModel } of candidates) {
      this.warnUnpricedOnce(provider, upstreamModel, "no price for this model: keys with a budget are refused it (add it to pricing.models)");
    }
    const unpriced = candidates.map((c) => `${c.provider}/${c.upstreamModel}`).join(", ");
    const which = candidates.length === 1 ? "which has no price" : "none of which has a price";
    return gatewayError(
      Code.FailedPrecondition,
      `key "${keyId}" has a budget, and model "${requestedModel}" would be served by ${unpriced}, ${which}: its calls could not be counted against the budget. ` +
        "Operators: add a price in pricing.models (a price of 0 lets keys with a budget call a model free)",
      "MODEL_UNPRICED",
      { key: keyId, model: requestedModel, unpriced },
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
  ): Settlement {
    const keyId = request.ctx.principal.keyId;
    const served = this.served(outcome);
    // A cache hit costs the caller nothing; what the vendor would have charged is recorded as saved.
    const price = served && outcome.usage ? this.price(served, outcome.usage) : 0;
    // Each cut attempt's prompt is priced at its own model, alone. The row's tokens are its model's (the one that served, or was
    // tried last), its own cut attempts' included; the prompts cut on other models add their cost, and count as theirs in metrics.
    const cut = outcome.cutPrompts ?? [];
    const priceOf = (prompt: CutPrompt): number => this.price(prompt.candidate, promptOnly(prompt.promptTokens));
    const own = cut.filter((prompt) => served !== undefined && sameCandidate(prompt.candidate, served));
    const elsewhere = byCandidate(cut.filter((prompt) => !own.includes(prompt)), priceOf);
    const ownCost = price + sumOf(own, priceOf);
    const usage = withPromptTokens(outcome.usage, sumOf(own, (prompt) => prompt.promptTokens));
    // One charge, the same in the ledger, the spend counter, the metrics and the call's report: at most what a counter takes in one step.
    const cost = this.chargeable(outcome.cached ? 0 : ownCost + sumOf(elsewhere, (charge) => charge.costNanos), request, served);
    const saved = outcome.cached ? this.chargeable(price, request, served) : 0;
    const row: LedgerRow = { ...this.row(request, atMs, outcome.latencyMs, { ...outcome, usage }, cost, downgraded), savedCostNanos: saved };
    // The same key as the call's provisional entry, which this row supersedes; the spend counter's settlement names it too.
    row.rowKey = rowKey ?? randomUUID();
    this.deps.ledger.append(row);

    // What the shared counts are told (see Admission.counted): the tokens the call really used, and its cost.
    const counting: Promise<void>[] = [];
    if (limits.tokensPerMinute > 0) {
      // Cache hits cost the vendor nothing: their tokens are given back too.
      const used = outcome.cached ? 0 : row.promptTokens + row.completionTokens + sumOf(elsewhere, (charge) => charge.promptTokens);
      const delta = used - tokensTaken(limits, request.estimatedTokens);
      if (delta !== 0) counting.push(this.deps.limiter.adjustTokens(keyId, limits, delta).catch((err: Error) => this.warn("token limit reconciliation failed", err)));
    }
    if (reservation) {
      counting.push(reservation.settle(cost, row.rowKey).catch((err: Error) => this.warn("spend reconciliation failed", err)));
      const budget = request.ctx.principal.policy?.record.budget;
      if (budget) this.showBudget(request.ctx.principal, budget, reservation.spentNanos + cost, atMs);
    }
    if (served && outcome.cached && saved > 0) {
      this.deps.metrics.cacheSavedCost.inc({ provider: served.provider, model: this.deps.metrics.modelLabel(served.upstreamModel), currency: this.deps.prices.currency }, saved / NANOS_PER_UNIT);
    }
    const counted = counting.length === 0 ? undefined : counting.length === 1 ? counting[0] : Promise.all(counting).then(() => {});
    if (outcome.cached) return { cost, counted };
    const record = (candidate: Candidate, tokens: TokenCounts, costNanos: number): void =>
      this.deps.metrics.recordUsage({ provider: candidate.provider, model: candidate.upstreamModel, keyId, team: row.team, currency: this.deps.prices.currency, ...tokens, cost: costNanos / NANOS_PER_UNIT });
    if (served && usage) record(served, { promptTokens: row.promptTokens, completionTokens: row.completionTokens, cachedTokens: row.cachedTokens }, Math.min(ownCost, cost));
    for (const charge of elsewhere) record(charge.candidate, promptOnly(charge.promptTokens), Math.min(charge.costNanos, cost));
    return { cost, counted };
  }

  /**
   * `costNanos` as one charge: whole, and at most MAX_NANOS, the most a spend
   * counter adds in one step. More is no price of any real call (counts a
   * vendor cannot have billed, at the dearest price): it is said in a warn
   * line and counted, and charged MAX_NANOS, in the ledger as in the budget.
   */
  private chargeable(costNanos: number, request: AdmissionRequest, served: Candidate | undefined): number {
    const kept = wholeNanos(costNanos);
    if (costNanos > MAX_NANOS) {
      const provider = served?.provider ?? "unknown";
      this.deps.metrics.usageFaults.inc({ provider, field: "cost_nanos" });
      this.deps.logger.warn(
        { event: "usage_fault", requestId: request.ctx.requestId, provider, model: maskKeys(served?.upstreamModel ?? ""), fields: ["cost_nanos"], reported: { cost_nanos: costNanos }, kept: { cost_nanos: kept } },
        "the call's cost is past the most one charge can be (its usage, however counted, cannot be true): it is charged that most",
      );
    }
    return kept;
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

  /** The key's budget as this call (admitted at `atMs`) saw it, for the budget gauges. */
  private showBudget(principal: Principal, budget: KeyBudget, spentNanos: number, atMs: number): void {
    this.deps.metrics.recordBudget({
      keyId: principal.keyId,
      team: principal.team ?? "",
      currency: this.deps.prices.currency,
      spent: spentNanos / NANOS_PER_UNIT,
      limit: budget.limitNanos / NANOS_PER_UNIT,
      periodEndMs: currentPeriod(budget.period, atMs).endMs,
      seenMs: atMs,
    });
  }

  /** The most a call could cost on `candidate`: its bound's tokens at the dearest price one can be billed at. */
  private boundCost(request: AdmissionRequest, candidate: Candidate): number {
    return this.deps.prices.estimate(candidate.provider, candidate.upstreamModel, request.boundTokensFor?.(candidate) ?? request.boundTokens);
  }

  /**
   * What one attempt on `candidate` may add to the call's cost
   * (attempt-cover.ts). Its prompt, as a cut attempt is charged: the prompt's
   * estimate at the model's price; of an embedding, whose failed attempt is
   * charged the input tokens the vendor counted for the batches it finished,
   * its whole input's bound. Its answer: the rest of its bound.
   */
  private attemptCost(request: AdmissionRequest, candidate: Candidate, prompt: Usage | undefined): AttemptCost {
    const bound = this.boundCost(request, candidate);
    const promptTokens = request.kind === "embed" ? (request.boundTokensFor?.(candidate) ?? request.boundTokens) : (prompt?.promptTokens ?? 0);
    const promptCost = this.deps.prices.cost(candidate.provider, candidate.upstreamModel, { promptTokens, completionTokens: 0, cachedTokens: 0 });
    return { prompt: promptCost, answer: Math.max(bound - promptCost, 0) };
  }

  private price(served: Candidate, usage: TokenCounts): number {
    const { provider, upstreamModel } = served;
    if (!this.deps.prices.isPriced(provider, upstreamModel)) {
      this.deps.metrics.unpricedCalls.inc({ provider });
      this.warnUnpricedOnce(provider, upstreamModel, "no price for this model: its calls cost 0 (add it to pricing.models)");
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

  /** One warn line per model and message, for the operators to price it. */
  private warnUnpricedOnce(provider: string, model: string, message: string): void {
    const said = `${provider}/${model}\n${message}`;
    if (this.warnedUnpriced.has(said) || this.warnedUnpriced.size >= 1_000) return;
    this.warnedUnpriced.add(said);
    this.deps.logger.warn({ provider, model: maskKeys(model) }, message);
  }

  /** What served the call, or what was tried last when it failed. */
  private served(outcome: CallOutcome): Candidate | undefined {
    return outcome.served ?? outcome.lastTried;
  }

  private row(request: Pick<AdmissionRequest, "ctx" | "kind" | "requestedModel">, atMs: number, latencyMs: number, outcome: CallOutcome, costNanos: number, downgraded: boolean): LedgerRow {
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

  /** The economy model's candidates within the key's scope and with a price, or undefined (serve the requested model) when none is usable. */
  private resolveEconomy(model: string, principal: Principal, policy: KeyPolicy): Scoped | undefined {
    let routed: Candidate[];
    try {
      routed = this.deps.router.resolve(model);
    } catch (err) {
      this.deps.logger.warn({ keyId: principal.keyId, economyModel: model, error: (err as Error).message }, "the key's economy model cannot be routed; serving the requested model");
      return undefined;
    }
    const scoped = inScope(policy, routed);
    if (scoped.allowed.length === 0) {
      this.deps.logger.warn({ keyId: principal.keyId, economyModel: model }, "the key's economy model is outside its own scope; serving the requested model");
      return undefined;
    }
    // Asked for budgeted keys only: an economy model with no price would serve the key free of its budget.
    const priced = this.priced(scoped);
    if (priced.allowed.length > 0) return priced;
    for (const { provider, upstreamModel } of scoped.allowed) {
      this.warnUnpricedOnce(provider, upstreamModel, "no price for this model: it is no economy model for keys with a budget (add it to pricing.models)");
    }
    return undefined;
  }

  /** `after`: what the message adds, for a call refused after it began. */
  private budgetExhausted(keyId: string, budget: KeyBudget, spent: number, period: Period, now: number, noEconomy: boolean, after = ""): ConnectError {
    const currency = this.deps.prices.currency;
    const resets = new Date(period.endMs).toISOString();
    const economyHint = budget.whenExhausted === "economy_only" && noEconomy ? "; only models with an economy mapping are served until then" : "";
    const [spentShown, budgetShown] = formatDistinctAmounts(spent, budget.limitNanos);
    return gatewayError(
      Code.ResourceExhausted,
      `budget exhausted: key "${keyId}" spent ${spentShown} of its ${budgetShown} ${currency} ${PERIOD_ADJECTIVE[budget.period]} budget; it resets at ${resets}${economyHint}${after}`,
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

/** The cut prompts of each candidate, added up, and their cost (each priced alone by `price`). */
function byCandidate(prompts: readonly CutPrompt[], price: (prompt: CutPrompt) => number): (CutPrompt & { costNanos: number })[] {
  const charges = new Map<string, CutPrompt & { costNanos: number }>();
  for (const prompt of prompts) {
    const key = `${prompt.candidate.provider}/${prompt.candidate.upstreamModel}`;
    const charge = charges.get(key) ?? { candidate: prompt.candidate, promptTokens: 0, costNanos: 0 };
    charge.promptTokens += prompt.promptTokens;
    charge.costNanos += price(prompt);
    charges.set(key, charge);
  }
  return [...charges.values()];
}

function sameCandidate(a: Candidate, b: Candidate): boolean {
  return a.provider === b.provider && a.upstreamModel === b.upstreamModel;
}

function sumOf<T>(items: readonly T[], amount: (item: T) => number): number {
  return items.reduce((sum, item) => sum + amount(item), 0);
}

function promptOnly(promptTokens: number): TokenCounts {
  return { promptTokens, completionTokens: 0, cachedTokens: 0 };
}

/** `usage` with `tokens` more prompt tokens (a usage of those alone when there was none). */
function withPromptTokens(usage: Usage | undefined, tokens: number): Usage | undefined {
  if (tokens === 0) return usage;
  const base = usage ?? create(UsageSchema);
  return create(UsageSchema, { ...base, promptTokens: base.promptTokens + tokens, totalTokens: base.totalTokens + tokens });
}

function budgetsUnavailable(): ConnectError {
  return gatewayError(Code.Unavailable, "the key's budget cannot be checked right now; retry shortly", "BUDGETS_UNAVAILABLE", {}, 1_000);
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
    atMs: row.atMs,
    rowKey: row.rowKey,
  });
}
