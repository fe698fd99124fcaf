import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ProviderStates } from "../common/health-state.js";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Every metric of one gateway instance, on its own registry (no global state). */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: "switchboard_requests_total",
    help: "API calls by method and result code.",
    labelNames: ["method", "code"] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: "switchboard_request_duration_seconds",
    help: "API call duration by method and result code (streams: until the last message).",
    labelNames: ["method", "code"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly upstreamRequests = new Counter({
    name: "switchboard_upstream_requests_total",
    help: "Upstream vendor calls by provider and status (HTTP status, or an error kind when there was none).",
    labelNames: ["provider", "status"] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: "switchboard_upstream_duration_seconds",
    help: "Upstream vendor call duration by provider and status.",
    labelNames: ["provider", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: "switchboard_retries_total",
    help: "Extra attempts on the same candidate (same or another key), by provider and the error that caused them.",
    labelNames: ["provider", "reason"] as const,
    registers: [this.registry],
  });

  readonly failovers = new Counter({
    name: "switchboard_failovers_total",
    help: "Moves to the next candidate of a call's fallback chain, by the provider left, the provider tried next, and the cause.",
    labelNames: ["from", "to", "reason"] as const,
    registers: [this.registry],
  });

  readonly retryBudgetExhausted = new Counter({
    name: "switchboard_retry_budget_exhausted_total",
    help: "Retries or hedges not sent because the provider's retry budget was spent.",
    labelNames: ["provider"] as const,
    registers: [this.registry],
  });

  readonly breakerTransitions = new Counter({
    name: "switchboard_breaker_transitions_total",
    help: "Circuit breaker state changes, by scope (provider or key), name (provider, or credential id) and new state.",
    labelNames: ["scope", "name", "state"] as const,
    registers: [this.registry],
  });

  readonly breakerSkips = new Counter({
    name: "switchboard_breaker_skips_total",
    help: "Candidates skipped at once, without a call: circuit_open (the provider's or every key's breaker) or keys_unavailable (the key pool had no usable key).",
    labelNames: ["provider", "outcome"] as const,
    registers: [this.registry],
  });

  readonly hedges = new Counter({
    name: "switchboard_hedges_total",
    help: "Hedged attempts sent, by provider and which attempt answered first (primary, hedge, or none when both failed).",
    labelNames: ["provider", "winner"] as const,
    registers: [this.registry],
  });

  readonly attemptsCut = new Counter({
    name: "switchboard_attempts_cut_total",
    help: "Attempts the gateway cut for taking too long, by provider, what they waited for (answer, first_token, silence) and the bound that cut them (configured: timeout_ms or first_token_timeout_ms; learnt: the model's recent latency; deadline: the share of the caller's deadline kept for a retry).",
    labelNames: ["provider", "wait", "bound"] as const,
    registers: [this.registry],
  });

  // Gateway keys, limits, budgets and the usage ledger. No per-key labels: keys are many; the ledger has them.
  readonly rateLimited = new Counter({
    name: "switchboard_rate_limited_total",
    help: "Calls refused by a key's rate limit, by the limit that refused (requests or tokens).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  readonly budgetRefusals = new Counter({
    name: "switchboard_budget_refusals_total",
    help: "Calls refused because the key's budget for the period is spent.",
    registers: [this.registry],
  });

  readonly economyDowngrades = new Counter({
    name: "switchboard_economy_downgrades_total",
    help: "Calls served by an economy model because the key's budget reached its soft threshold (or was spent, in economy-only mode).",
    labelNames: ["requested_model", "economy_model"] as const,
    registers: [this.registry],
  });

  readonly scopeRefusals = new Counter({
    name: "switchboard_model_not_allowed_total",
    help: "Calls refused because the key may not use the requested model.",
    registers: [this.registry],
  });

  readonly cost = new Counter({
    name: "switchboard_cost_total",
    help: "What served calls cost by the price table, in units of the accounting currency, by provider.",
    labelNames: ["provider", "currency"] as const,
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: "switchboard_tokens_total",
    help: "Tokens of served calls by provider and kind (prompt, completion, cached).",
    labelNames: ["provider", "kind"] as const,
    registers: [this.registry],
  });

  readonly unpricedCalls = new Counter({
    name: "switchboard_unpriced_calls_total",
    help: "Served calls whose model has no price (counted at zero cost): add it to pricing.models.",
    labelNames: ["provider"] as const,
    registers: [this.registry],
  });

  readonly ledgerRows = new Counter({
    name: "switchboard_ledger_rows_total",
    help: "Usage ledger rows written, or dropped because the store stayed unreachable and the queue overflowed.",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly ledgerQueued = new Gauge({
    name: "switchboard_ledger_queued_rows",
    help: "Usage ledger rows waiting to be written.",
    registers: [this.registry],
  });

  readonly ledgerFlushDuration = new Histogram({
    name: "switchboard_ledger_flush_duration_seconds",
    help: "Time to write one batch of usage ledger rows.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly redisErrors = new Counter({
    name: "switchboard_redis_errors_total",
    help: "Redis commands that failed (an unreachable server or a script error), by operation; the failure policy then applied.",
    labelNames: ["operation"] as const,
    registers: [this.registry],
  });

  // Connections: the caps and the timeouts for slow clients (src/server/client-limits.ts).
  readonly connectionsRefused = new Counter({
    name: "switchboard_connections_refused_total",
    help: "Connections refused on arrival because the gateway (limit=total, server.max_connections) or the client's address (limit=per_client, server.max_connections_per_client) held as many as allowed.",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  readonly slowClients = new Counter({
    name: "switchboard_slow_clients_total",
    help: "Requests cut off because the client was too slow to send them, by what was late: headers (the connection is closed) or body (HTTP/1.1: the connection is closed; HTTP/2: the stream is reset).",
    labelNames: ["waiting_for"] as const,
    registers: [this.registry],
  });

  readonly redisUp = new Gauge({
    name: "switchboard_redis_up",
    help: "1 while Redis (shared limits, spend counters, revocations) is reachable, 0 while the fallback policy applies.",
    registers: [this.registry],
  });

  private providers: ProviderStates | undefined;

  readonly providerUp: Gauge<"provider"> = new Gauge({
    name: "switchboard_provider_up",
    help: "1 while a provider can serve (a usable vendor key and a closed circuit breaker), 0 while it is degraded (/healthz says why).",
    labelNames: ["provider"] as const,
    registers: [this.registry],
    // Computed at each scrape from the key pools and breakers: calls pay nothing for it.
    collect: () => {
      this.providerUp.reset();
      for (const name of this.providers?.names() ?? []) this.providerUp.set({ provider: name }, this.providers!.of(name).serving ? 1 : 0);
    },
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where the provider gauge reads each provider's state from at each scrape. */
  reportProvidersWith(providers: ProviderStates): void {
    this.providers = providers;
  }

  recordRequest(method: string, code: string, seconds: number): void {
    this.requests.inc({ method, code });
    this.requestDuration.observe({ method, code }, seconds);
  }

  recordUpstream(provider: string, status: string, seconds: number): void {
    this.upstreamRequests.inc({ provider, status });
    this.upstreamDuration.observe({ provider, status }, seconds);
  }
}
