import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ProviderStates } from "../common/health-state.js";
import { BoundedLabel, KeyLabels, type KeyLabelRules } from "./bounded-labels.js";
import { KeyBudgets, type KeyBudgetState } from "./key-budgets.js";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const FIRST_TOKEN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const TOKENS_PER_SECOND_BUCKETS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000];
/** Distinct models (beyond the known ones) and teams with a label of their own; past these they count as "other". */
const MAX_MODELS = 200;
const MAX_TEAMS = 100;

/** A provider's circuit breaker and vendor keys, read at each scrape (see reportUpstreamWith). */
export interface UpstreamStates {
  providers(): Iterable<string>;
  /** closed, open or half_open; undefined while breakers are off. */
  breaker(provider: string): string | undefined;
  keys(provider: string): Iterable<{ id: string; state: string; trafficShare: number }>;
}

/** A served call's usage, for the token and cost counters. */
export interface UsageSample {
  provider: string;
  model: string;
  keyId: string;
  team: string;
  currency: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** In units of the currency. */
  cost: number;
}

const BREAKER_STATES = ["closed", "open", "half_open"];
const KEY_STATES = ["active", "standby", "cooling_down", "disabled", "draining"];

/** Every metric of one gateway instance, on its own registry (no global state). */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly models: BoundedLabel;
  private readonly teams = new BoundedLabel(MAX_TEAMS);
  private readonly keyLabels: KeyLabels;
  private readonly budgets = new KeyBudgets();
  private upstream: UpstreamStates | undefined;
  private dependencies: () => Iterable<[string, boolean]> = () => [];

  readonly requests = new Counter({
    name: "switchboard_requests_total",
    help: "API calls by surface (connect, grpc, grpc-web, rest), method and result code.",
    labelNames: ["surface", "method", "code"] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: "switchboard_request_duration_seconds",
    help: "API call duration by surface, method and result code (streams: until the last message).",
    labelNames: ["surface", "method", "code"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly callsInFlight = new Gauge({
    name: "switchboard_calls_in_flight",
    help: "API calls being served now, by surface.",
    labelNames: ["surface"] as const,
    registers: [this.registry],
  });

  readonly timeToFirstToken = new Histogram({
    name: "switchboard_time_to_first_token_seconds",
    help: "Streams: from the call's arrival to its first token going out, by the provider and upstream model that served it.",
    labelNames: ["provider", "model"] as const,
    buckets: FIRST_TOKEN_BUCKETS,
    registers: [this.registry],
  });

  readonly overhead = new Histogram({
    name: "switchboard_overhead_seconds",
    help: "The gateway's own time per call that went upstream: its duration minus the time from its first attempt's start to its last attempt's end, by surface and kind (chat, chat_stream, embed).",
    labelNames: ["surface", "kind"] as const,
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });

  readonly outputTokensPerSecond = new Histogram({
    name: "switchboard_output_tokens_per_second",
    help: "Streams: output tokens per second after the first token, by provider and upstream model.",
    labelNames: ["provider", "model"] as const,
    buckets: TOKENS_PER_SECOND_BUCKETS,
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
    help: "Provider circuit breaker state changes, by name (the provider) and new state; scope is always provider (a vendor key's health is its pool's: switchboard_key_transitions_total).",
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

  // Gateway keys, limits, budgets and the usage ledger. Per-key labels only for marked and top keys (KeyLabels): keys are many; the ledger has them all.
  readonly rateLimited = new Counter({
    name: "switchboard_rate_limited_total",
    help: "Calls refused by a key's rate limit, by the limit that refused (requests or tokens).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  readonly budgetRefusals = new Counter({
    name: "switchboard_budget_refusals_total",
    help: "Calls refused for the key's budget: spent, at admission or before another attempt (a retry, failover or hedge) it could not cover; or unpriced: only models with no price could serve the call.",
    labelNames: ["stage"] as const,
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
    help: "What served calls cost by the price table, in units of the accounting currency, by provider and upstream model.",
    labelNames: ["provider", "model", "currency"] as const,
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: "switchboard_tokens_total",
    help: "Tokens of served calls by provider, upstream model and kind (prompt, completion, cached).",
    labelNames: ["provider", "model", "kind"] as const,
    registers: [this.registry],
  });

  readonly keyCost = new Counter({
    name: "switchboard_key_cost_total",
    help: 'What served calls cost, by gateway key (marked keys and the top keys by tokens; the rest as "other") and team.',
    labelNames: ["key", "team", "currency"] as const,
    registers: [this.registry],
    collect: () => this.dropDemotedKeys(),
  });

  readonly keyTokens = new Counter({
    name: "switchboard_key_tokens_total",
    help: 'Tokens of served calls by gateway key (marked keys and the top keys by tokens; the rest as "other"), team and kind.',
    labelNames: ["key", "team", "kind"] as const,
    registers: [this.registry],
  });

  readonly keyBudgetSpent: Gauge<"key" | "team" | "currency"> = new Gauge({
    name: "switchboard_key_budget_spent",
    help: "What a gateway key spent of its budget this period, as this instance last saw it (marked keys and the keys nearest their limit), in units of the currency.",
    labelNames: ["key", "team", "currency"] as const,
    registers: [this.registry],
    collect: () => this.showBudgets(),
  });

  readonly keyBudgetLimit = new Gauge({
    name: "switchboard_key_budget_limit",
    help: "A gateway key's budget for the period (the keys of switchboard_key_budget_spent), in units of the currency.",
    labelNames: ["key", "team", "currency"] as const,
    registers: [this.registry],
  });

  readonly keyBudgetRemaining = new Gauge({
    name: "switchboard_key_budget_remaining",
    help: "What is left of a gateway key's budget this period (the keys of switchboard_key_budget_spent), in units of the currency.",
    labelNames: ["key", "team", "currency"] as const,
    registers: [this.registry],
  });

  readonly unpricedCalls = new Counter({
    name: "switchboard_unpriced_calls_total",
    help: "Served calls whose model has no price (counted at zero cost): add it to pricing.models.",
    labelNames: ["provider"] as const,
    registers: [this.registry],
  });

  readonly usageFaults = new Counter({
    name: "switchboard_usage_faults_total",
    help:
      "Calls whose vendor reported a usage that cannot be true of the call (a prompt past the model's context window, an answer past the max_tokens sent, a detail past its count; field cost_nanos: a charge past the spend counter's most), charged the bounded counts instead (each logged, event usage_fault).",
    labelNames: ["provider", "field"] as const,
    registers: [this.registry],
  });

  readonly ledgerRows = new Counter({
    name: "switchboard_ledger_rows_total",
    help:
      "Usage ledger rows by result: written; replayed from the crash journal at start; interrupted, a call in flight when the gateway ended, recorded at the next start with status gateway_exited; not_journaled, queued while the journal could not be written; dropped because the store stayed unreachable and the queue overflowed; rejected as values the store cannot hold (each logged).",
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
    help: "Connections refused on arrival because the gateway (limit=total, server.max_connections) or the client's address (limit=per_client, server.max_connections_per_client) held as many as allowed; limit=streams: HTTP/2 streams refused because the gateway held as many open as allowed (server.max_open_streams); limit=streams_per_client: because the client's address did (server.max_open_streams_per_client); limit=pipelined: HTTP/1.1 connections closed for pipelining more than 16 requests; limit=resets: HTTP/2 sessions ended (GOAWAY ENHANCE_YOUR_CALM) because their client's address reset more streams before their answer than allowed (server.stream_resets_per_client_per_second, server.stream_reset_burst_per_client), or refused while that address cools down; limit=protocol: HTTP/2 sessions nghttp2 ended for a flood (CONTINUATION, PING, SETTINGS, rapid reset on one connection) or a protocol error; limit=headers: HTTP/2 streams Node reset before the gateway saw them, their header list past the SETTINGS_MAX_HEADER_LIST_SIZE advertised (twice the gateway's limit).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  readonly requestBodiesRefused = new Counter({
    name: "switchboard_request_bodies_refused_total",
    help: "Requests refused because the request-body bytes held before handling would pass a bound: total (server.max_buffered_request_bytes), per_connection (server.max_buffered_request_bytes_per_connection) or per_client (server.max_buffered_request_bytes_per_client, the client's address).",
    labelNames: ["limit"] as const,
    registers: [this.registry],
  });

  readonly slowClients = new Counter({
    name: "switchboard_slow_clients_total",
    help: "Requests cut off because the client was too slow, by what was late: headers (the connection is closed), body (HTTP/1.1: the connection is closed; HTTP/2: the stream is reset) or answer (a stream the client stopped reading: the same).",
    labelNames: ["waiting_for"] as const,
    registers: [this.registry],
  });

  readonly fleetMessagesDropped = new Counter({
    name: "switchboard_fleet_messages_dropped_total",
    help: "Messages on a fleet channel over Redis (pools:actions, keys:changed, secrets:db-changed, cache:purged) that were ignored, by channel and reason (unsigned, forged, stale, replayed): see src/redis/fleet-seal.ts.",
    labelNames: ["channel", "reason"] as const,
    registers: [this.registry],
  });

  readonly redisUp = new Gauge({
    name: "switchboard_redis_up",
    help: "1 while Redis (shared limits, spend counters, revocations) is reachable, 0 while the fallback policy applies.",
    registers: [this.registry],
  });

  // The response cache (src/cache). Labels name providers and models, never keys or teams.
  readonly cacheHits = new Counter({
    name: "switchboard_cache_hits_total",
    help: "Calls answered from the response cache, by level (l1: this process's memory; l2: Redis), provider and model.",
    labelNames: ["level", "provider", "model"] as const,
    registers: [this.registry],
  });

  readonly cacheMisses = new Counter({
    name: "switchboard_cache_misses_total",
    help: "Cacheable calls the response cache could not answer (the vendor was called), by provider and model.",
    labelNames: ["provider", "model"] as const,
    registers: [this.registry],
  });

  readonly cacheCoalesced = new Counter({
    name: "switchboard_cache_coalesced_total",
    help: "Calls answered by an identical call in flight (on this or another instance) instead of calling the vendor, by provider and model.",
    labelNames: ["provider", "model"] as const,
    registers: [this.registry],
  });

  readonly cacheBypassed = new Counter({
    name: "switchboard_cache_bypassed_total",
    help: "Calls that left the response cache out, by reason (mode_off, not_deterministic, no_store).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly cacheNotStored = new Counter({
    name: "switchboard_cache_not_stored_total",
    help: "Answers not kept in the response cache, by reason (refusal, content_filter, length, tool_calls, unfinished, fallback, too_large, l2_full, shared_entry_kept).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly cacheStoredBytes = new Counter({
    name: "switchboard_cache_stored_bytes_total",
    help: "Bytes written to the response cache, by level (l1: the answer; l2: compressed and encrypted).",
    labelNames: ["level"] as const,
    registers: [this.registry],
  });

  readonly cacheEvictions = new Counter({
    name: "switchboard_cache_evictions_total",
    help: "Entries dropped from this process's response cache (l1), by reason (capacity: room for newer ones; expired). Redis expires l2 entries itself.",
    labelNames: ["level", "reason"] as const,
    registers: [this.registry],
  });

  readonly cacheUnreadable = new Counter({
    name: "switchboard_cache_unreadable_total",
    help: "Redis cache entries that did not open (another SWITCHBOARD_CACHE_KEY or pepper, or tampered), treated as misses.",
    registers: [this.registry],
  });

  readonly cacheSavedCost = new Counter({
    name: "switchboard_cache_saved_cost_total",
    help: "What calls answered from the response cache would have cost at the vendor, in units of the accounting currency, by provider and model.",
    labelNames: ["provider", "model", "currency"] as const,
    registers: [this.registry],
  });

  private cacheState: { entries: number; bytes: number; waiting: number } | undefined;

  readonly cacheMemory: Gauge<"measure"> = new Gauge({
    name: "switchboard_cache_memory",
    help: "This process's response cache (l1): entries and bytes held (measure=entries|bytes).",
    labelNames: ["measure"] as const,
    registers: [this.registry],
    collect: () => {
      this.cacheMemory.set({ measure: "entries" }, this.cacheState?.entries ?? 0);
      this.cacheMemory.set({ measure: "bytes" }, this.cacheState?.bytes ?? 0);
    },
  });

  readonly cacheWaiting: Gauge = new Gauge({
    name: "switchboard_cache_coalesce_waiting",
    help: "Calls in this process waiting for an identical call's answer.",
    registers: [this.registry],
    collect: () => this.cacheWaiting.set(this.cacheState?.waiting ?? 0),
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

  readonly breakerState: Gauge<"provider" | "state"> = new Gauge({
    name: "switchboard_breaker_state",
    help: "A provider's circuit breaker: 1 for its current state (closed, open, half_open), 0 for the others.",
    labelNames: ["provider", "state"] as const,
    registers: [this.registry],
    collect: () => this.showUpstream(),
  });

  readonly keyState = new Gauge({
    name: "switchboard_key_state",
    help: "A vendor key's state: 1 for its current state (active, standby, cooling_down, disabled, draining), 0 for the others; retired keys are not shown.",
    labelNames: ["provider", "credential", "state"] as const,
    registers: [this.registry],
  });

  readonly keyTrafficShare = new Gauge({
    name: "switchboard_key_traffic_share",
    help: "The share of its provider's calls a vendor key gets now (a canary's share while staged), 0 to 1.",
    labelNames: ["provider", "credential"] as const,
    registers: [this.registry],
  });

  readonly dependencyUp: Gauge<"dependency"> = new Gauge({
    name: "switchboard_dependency_up",
    help: "1 while a dependency (redis, store, vault) answers, 0 while it does not (/healthz says what that means for calls).",
    labelNames: ["dependency"] as const,
    registers: [this.registry],
    collect: () => {
      this.dependencyUp.reset();
      for (const [name, ok] of this.dependencies()) this.dependencyUp.set({ dependency: name }, ok ? 1 : 0);
    },
  });

  readonly traceSpansExported = new Counter({
    name: "switchboard_trace_spans_exported_total",
    help: "Spans sent to the OTLP endpoint, by result (ok, failed); none while tracing is off.",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  /** `knownModels`: the models the gateway is configured for (knownModelNames), which always keep their own label. */
  constructor(options: { defaultMetrics?: boolean; keyLabels?: KeyLabelRules; knownModels?: Iterable<string> } = {}) {
    this.models = new BoundedLabel(MAX_MODELS, options.knownModels);
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool check metrics refuses them): their per-type siblings
      // (nodejs_active_handles{type}, …) carry the same figures, summed.
      for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) this.registry.removeSingleMetric(name);
    }
    this.keyLabels = new KeyLabels(options.keyLabels ?? { marked: new Set(), top: 10 });
  }

  /** Where the provider gauge reads each provider's state from at each scrape. */
  reportProvidersWith(providers: ProviderStates): void {
    this.providers = providers;
  }

  /** Where the cache gauges read their figures from at each scrape. */
  reportCacheWith(state: { readonly entries: number; readonly bytes: number; readonly waiting: number }): void {
    this.cacheState = state;
  }

  /** Where the breaker and key gauges read their states from at each scrape. */
  reportUpstreamWith(upstream: UpstreamStates): void {
    this.upstream = upstream;
  }

  /** Where the dependency gauge reads each dependency's state from at each scrape. */
  reportDependenciesWith(dependencies: () => Iterable<[string, boolean]>): void {
    this.dependencies = dependencies;
  }

  /** A model's label value on any metric: callers choose model names (a glob route takes any), so past the known models and MAX_MODELS others they count as "other". */
  modelLabel(model: string): string {
    return this.models.of(model);
  }

  /**
   * A model's label where nothing has vouched for the name yet (a cache
   * miss, before any vendor answered): the label of a model served before,
   * else "other". Names a vendor refuses would otherwise take every place,
   * and real models' tokens and cost would count as "other" from then on.
   */
  servedModelLabel(model: string): string {
    return this.models.known(model);
  }

  recordRequest(surface: string, method: string, code: string, seconds: number): void {
    this.requests.inc({ surface, method, code });
    this.requestDuration.observe({ surface, method, code }, seconds);
  }

  recordFirstToken(provider: string, model: string, seconds: number): void {
    this.timeToFirstToken.observe({ provider, model: this.models.of(model) }, seconds);
  }

  recordOutputRate(provider: string, model: string, tokensPerSecond: number): void {
    this.outputTokensPerSecond.observe({ provider, model: this.models.of(model) }, tokensPerSecond);
  }

  /** A served call's tokens and cost: by provider and model, and by key and team (bounded labels). */
  recordUsage(usage: UsageSample): void {
    const { provider, currency } = usage;
    const model = this.models.of(usage.model);
    const team = this.teams.of(usage.team);
    const key = this.keyLabels.label(usage.keyId, team, usage.promptTokens + usage.completionTokens);
    if (usage.cost > 0) {
      this.cost.inc({ provider, model, currency }, usage.cost);
      this.keyCost.inc({ key, team, currency }, usage.cost);
    }
    for (const [kind, count] of [
      ["prompt", usage.promptTokens],
      ["completion", usage.completionTokens],
      ["cached", usage.cachedTokens],
    ] as const) {
      if (count === 0 && kind === "cached") continue;
      this.tokens.inc({ provider, model, kind }, count);
      this.keyTokens.inc({ key, team, kind }, count);
    }
  }

  /** A key's budget as a call just saw it; shown at scrapes for marked keys and those nearest their limit. */
  recordBudget(state: KeyBudgetState): void {
    this.budgets.record({ ...state, team: this.teams.of(state.team) });
  }

  /** A key changed (undefined: any key may have): its budget gauges go until a call admitted since shows them again. */
  forgetBudget(keyId: string | undefined): void {
    this.budgets.forget(keyId);
  }

  private dropDemotedKeys(): void {
    for (const { keyId, team } of this.keyLabels.rerank()) {
      const labelled = this.teams.of(team);
      this.keyCost.remove({ key: keyId, team: labelled });
      for (const kind of ["prompt", "completion", "cached"]) this.keyTokens.remove({ key: keyId, team: labelled, kind });
    }
  }

  private showBudgets(): void {
    for (const gauge of [this.keyBudgetSpent, this.keyBudgetLimit, this.keyBudgetRemaining]) gauge.reset();
    for (const state of this.budgets.shown((keyId) => this.keyLabels.isMarked(keyId), this.keyLabels.top)) {
      const labels = { key: state.keyId, team: state.team, currency: state.currency };
      this.keyBudgetSpent.set(labels, state.spent);
      this.keyBudgetLimit.set(labels, state.limit);
      this.keyBudgetRemaining.set(labels, Math.max(0, state.limit - state.spent));
    }
  }

  private showUpstream(): void {
    this.breakerState.reset();
    this.keyState.reset();
    this.keyTrafficShare.reset();
    for (const provider of this.upstream?.providers() ?? []) {
      const breaker = this.upstream!.breaker(provider);
      if (breaker) for (const state of BREAKER_STATES) this.breakerState.set({ provider, state }, state === breaker ? 1 : 0);
      for (const key of this.upstream!.keys(provider)) {
        if (key.state === "retired") continue;
        for (const state of KEY_STATES) this.keyState.set({ provider, credential: key.id, state }, state === key.state ? 1 : 0);
        this.keyTrafficShare.set({ provider, credential: key.id }, key.trafficShare);
      }
    }
  }

  recordUpstream(provider: string, status: string, seconds: number): void {
    this.upstreamRequests.inc({ provider, status });
    this.upstreamDuration.observe({ provider, status }, seconds);
  }
}
