import { setMaxListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { Code } from "@connectrpc/connect";
import type { DestinationStream } from "pino";
import { createAdminService } from "./api/admin/admin-service.js";
import { AdminWriteRate } from "./api/admin/admin-write-rate.js";
import { ownSecretsOf } from "./api/admin/secret-lookalike.js";
import { revalidateWatches } from "./api/admin/watch-revalidation.js";
import { createAuthInterceptor } from "./api/envelope/auth-interceptor.js";
import { CallFeed } from "./api/envelope/call-feed.js";
import { createKeyGate } from "./api/envelope/key-gate.js";
import { createRestEnvelope } from "./api/envelope/rest-envelope.js";
import { Authenticator } from "./auth/authenticator.js";
import { bootstrapAuth, type GeneratedMasterKey } from "./auth/bootstrap.js";
import { ChainedKeyDirectory, MasterKeyDirectory } from "./auth/key-directory.js";
import type { GatewayConfig } from "./config/config.js";
import { buildKeyPool, buildSecrets } from "./config/secrets-config.js";
import { buildCache } from "./config/cache-config.js";
import { DEFAULT_TRAFFIC } from "./config/traffic.js";
import { Dispatcher, type ProviderRuntime } from "./gateway/dispatcher.js";
import { gatewayError } from "./common/gateway-error.js";
import { Gateway } from "./gateway/gateway.js";
import { RequestFitter } from "./gateway/call-fitting.js";
import { Catalogue } from "./catalogue/catalogue.js";
import { ProviderHealth } from "./gateway/provider-health.js";
import { logUnservedFallbacks } from "./gateway/fallback-warnings.js";
import { Router } from "./gateway/router.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { keyLabelRulesFromEnv } from "./observability/bounded-labels.js";
import { knownModelNames } from "./observability/known-models.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { startTracing } from "./observability/tracing.js";
import { createRequestInterceptor } from "./api/envelope/request-interceptor.js";
import { createEarlyRefusals } from "./api/envelope/early-refusals.js";
import { rememberOwnSecret } from "./providers/redact.js";
import { createAdapter } from "./providers/registry.js";
import { DbSecretNotices } from "./secrets/db-secret-notices.js";
import { DisabledSecrets } from "./secrets/disabled-secrets.js";
import { KeyRotationRecords } from "./secrets/key-rotation-records.js";
import { KeyVersionMemory } from "./secrets/key-version-memory.js";
import { PoolActionBus } from "./secrets/pool-action-bus.js";
import { ProviderPools } from "./secrets/provider-pools.js";
import { SecretMetrics } from "./secrets/secret-metrics.js";
import { createSecretSources } from "./secrets/secret-sources.js";
import { createErrorInfoInterceptor } from "./api/envelope/error-info-interceptor.js";
import { HealthState } from "./common/health-state.js";
import { loadConsoleAssets } from "./server/console-assets.js";
import { createHttpHandler } from "./server/http-handler.js";
import { createRpcKeyGate } from "./server/rpc-key-gate.js";
import { refuseForeignHostsOnLoopback } from "./server/host-check.js";
import { isLoopbackHost, metricsAccessFromEnv } from "./server/metrics-access.js";
import { metricsReuseFromEnv } from "./observability/metrics-render-cache.js";
import { clientLimits } from "./server/client-limits.js";
import { OnePortServer } from "./server/one-port-server.js";
import { createOpenAISurface } from "./api/openai/openai-surface.js";
import { createResponsesSurface } from "./api/openai/responses-surface.js";
import { createAnthropicSurface } from "./api/anthropic/messages-surface.js";
import { createAnthropicModelsSurface } from "./api/anthropic/models-surface.js";
import { purgeRevokedKeys } from "./responses/revoked-key-purge.js";
import { responseMaxBytesFromEnv, responsesMaxBytesFromEnv, responseTtlFromEnv, StoredResponses } from "./responses/stored-responses.js";
import { API_SERVICES, createRoutes, hotMethods } from "./server/routes.js";
import { buildUsageConfig } from "./config/usage-config.js";
import { openStore } from "./store/open-store.js";
import { createUsageSystem } from "./usage/usage-system.js";
import { createResponseCache } from "./cache/create-response-cache.js";

export interface SwitchboardOptions {
  env?: NodeJS.ProcessEnv;
  /** Where log lines go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
  /** Prometheus default process metrics; off in tests that build many instances. */
  defaultMetrics?: boolean;
  /** Fields on every log line: a worker's pid under SWITCHBOARD_WORKERS, so lines tell which process wrote them. */
  logFields?: Record<string, string | number>;
  /** How long a /metrics text is served again (SWITCHBOARD_METRICS_REUSE_MS, else METRICS_RENDER_REUSE_MS); 0 in tests that read a counter right after a call. */
  metricsReuseMs?: number;
}

export interface Switchboard {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly gateway: Gateway;
  /** Set when a master key was generated at this start, not yet saved: once it listens, keep it (`keepGeneratedMasterKey`) and show it once. */
  readonly generatedMasterKey: GeneratedMasterKey | undefined;
  listen(): Promise<AddressInfo>;
  /** Drains in-flight calls for up to the configured grace period, then releases everything. */
  shutdown(): Promise<void>;
}

/**
 * The composition root: builds every part from the configuration and passes
 * dependencies explicitly. No module-level state, so tests build as many
 * gateways as they need.
 */
export async function createSwitchboard(config: GatewayConfig, options: SwitchboardOptions = {}): Promise<Switchboard> {
  const env = options.env ?? process.env;
  // The gateway's own secrets (master key, data keys, Vault and AWS credentials) are redacted wherever the pools' vendor keys are.
  const ownSecrets = ownSecretsOf(env);
  for (const secret of ownSecrets) rememberOwnSecret(secret);
  // The model catalogue first: a vendor file or an operator's row that does not validate stops the start before anything runs.
  const catalogue = Catalogue.shipped(config.catalogue?.models ?? []);
  // How long responses of /v1/responses are kept for previous_response_id: checked before anything opens.
  const responseTtlMs = responseTtlFromEnv(env);
  const responsesMaxBytesPerKey = responsesMaxBytesFromEnv(env);
  const responseMaxBytes = responseMaxBytesFromEnv(env);
  // Who may read /metrics (SWITCHBOARD_METRICS_TOKEN): also checked before anything opens.
  const metricsAccess = metricsAccessFromEnv(env);
  const metricsReuseMs = options.metricsReuseMs ?? metricsReuseFromEnv(env);
  const rootLogger = createLogger(config.logLevel, options.logDestination);
  const logger = options.logFields ? rootLogger.child(options.logFields) : rootLogger;
  const metrics = new GatewayMetrics({ defaultMetrics: options.defaultMetrics, keyLabels: keyLabelRulesFromEnv(env), knownModels: knownModelNames(config, catalogue) });
  // Traces only when the standard OTEL_* variables configure them; otherwise every call holds a no-op.
  const tracing = await startTracing(env, { logger, metrics });
  const health = new HealthState(API_SERVICES.map((service) => service.typeName));
  // Vendor keys: read from env, the encrypted file, Vault, AWS Secrets Manager or the store; versioned sources stay live (new versions become canaries).
  const secretMetrics = new SecretMetrics(metrics.registry);
  // One store (SQLite, or Postgres with DATABASE_URL): gateway keys, the usage ledger, canary verdicts.
  const usageConfig = config.usage ?? buildUsageConfig({}, env, "environment", config.dataDir);
  const db = await openStore(usageConfig.store, env, logger);
  const { resolver: secrets, dbSecrets } = createSecretSources({
    config: config.secrets ?? buildSecrets(undefined, env, config.dataDir),
    env,
    providers: config.providers,
    db,
    logger,
    metrics: secretMetrics,
    health,
  });
  const pools = await ProviderPools.create(config.providers, {
    resolver: secrets,
    logger,
    metrics: secretMetrics,
    rules: config.keyPool ?? buildKeyPool(undefined),
    // A key that keeps failing at the vendor is benched by its pool, on the circuit breakers' rule.
    breaker: config.traffic?.breaker ?? DEFAULT_TRAFFIC.breaker,
    memory: new KeyVersionMemory(db, logger),
    // Keys operators disabled stay refused across restarts, replacements and instances.
    disabled: new DisabledSecrets(db),
    // Operators' StageKey/PromoteKey/RollbackKey rotations outlive a restart, and reach instances that start later.
    rotations: new KeyRotationRecords(db, logger),
    // A recorded rotation that cannot be re-applied at start shows as degraded (`key_rotations`).
    health,
  }).catch(async (err: unknown) => {
    await secrets.close();
    await db.close();
    throw err;
  });

  const providers = new Map<string, ProviderRuntime>();
  for (const provider of config.providers) {
    providers.set(provider.name, {
      adapter: createAdapter(provider, logger),
      pool: pools.pool(provider.name)!,
      timeoutMs: provider.timeoutMs,
      firstTokenTimeoutMs: provider.firstTokenTimeoutMs,
      hedge: provider.hedge,
      embedBatchSize: provider.embedBatchSize,
      embedTokenInputs: provider.embedTokenInputs,
    });
  }

  const router = new Router(config.routes, new Set(providers.keys()));
  logUnservedFallbacks(router, logger);
  const auth = bootstrapAuth(config.dataDir, env);
  // Gateway keys, limits, budgets and the usage ledger (SQLite or Postgres; Redis when REDIS_URL is set).
  const usage = await createUsageSystem({
    config: usageConfig,
    db,
    env,
    hasher: auth.hasher,
    router,
    metrics,
    logger,
    health,
    catalogue,
  }).catch(async (err: unknown) => {
    pools.close();
    await secrets.close();
    await db.close();
    throw err;
  });
  // Operators' key-pool actions reach every instance sharing the Redis.
  const poolActions = usage.fleet ? new PoolActionBus(usage.fleet, logger) : undefined;
  await poolActions?.start(
    (action) => pools.apply(action),
    () => void pools.syncDisabled(),
  );
  // The canaries' own verdicts reach the other instances too: one verdict per canary across the fleet.
  if (poolActions) pools.tellFleetWith((action) => poolActions.publish(action));
  // A new version of a `db:` secret written on one instance is checked at once by the others.
  const dbSecretNotices = usage.fleet ? new DbSecretNotices(usage.fleet, logger) : undefined;
  await dbSecretNotices?.start((name) => void dbSecrets.changed(name));
  const dispatcher = new Dispatcher(providers, metrics, { traffic: config.traffic });
  // The response cache: in memory, and in the usage system's Redis when there is one.
  const cache = await createResponseCache({
    config: config.cache ?? buildCache(undefined),
    routes: config.routes,
    env,
    hasher: auth.hasher,
    redis: usage.redis,
    redisPrefix: usageConfig.redis.prefix,
    metrics,
    logger,
  });
  // Each request fitted to each candidate's model (ranges, refused parameters, limits, reasoning), every change reported.
  const fitter = new RequestFitter({ catalogue, providers, router, whenUnsupported: config.catalogue?.whenUnsupported ?? "degrade" });
  const gateway = new Gateway({ router, dispatcher, providers, logger, hooks: usage.hooks, cache, fitter, catalogue, metrics });
  // Each provider's health, computed when read (health checks, scrapes, model listings) from its key pool and breaker.
  const providerHealth = new ProviderHealth(providers, (name) => dispatcher.providerBreaker(name));
  health.readProvidersFrom(providerHealth);
  metrics.reportProvidersWith(providerHealth);
  metrics.reportUpstreamWith({
    providers: () => providers.keys(),
    breaker: (name) => dispatcher.providerBreaker(name)?.state,
    keys: (name) => providers.get(name)?.pool.list() ?? [],
  });
  metrics.reportDependenciesWith(() => [...health.dependencies()].map(([name, dependency]) => [name, dependency.ok]));
  // Finished calls for live views (WatchCalls); calls pay nothing for it while no one watches.
  const calls = new CallFeed();
  usage.keys.onForget(revalidateWatches({ feed: calls, key: (id) => usage.keyStore.get(id), logger }));
  // Responses of /v1/responses kept for previous_response_id: the expired pruned on a timer, a revoked key's deleted.
  const stored = new StoredResponses(db, { ttlMs: responseTtlMs, maxBytesPerKey: responsesMaxBytesPerKey, maxBytesPerResponse: responseMaxBytes, logger });
  stored.startPruning();
  usage.keys.onForget(purgeRevokedKeys({ stored, key: (id) => usage.keyStore.get(id), logger }));
  const usageReports = { ledger: usage.ledgerStore, currency: usage.currency, flush: () => usage.ledger.flush() };
  const authenticator = new Authenticator(auth.hasher, new ChainedKeyDirectory([new MasterKeyDirectory(auth.masterDigest), usage.keys]));
  // Every call takes a request from its key's rate as the key is authenticated, before its request is read, on every surface.
  const keyGate = createKeyGate(authenticator, (principal) => usage.hooks.takeRequest(principal));
  const earlyRefusals = createEarlyRefusals(logger, metrics, tracing, calls);
  // Operators' API: gateway keys and usage reports on the usage system's stores, vendor credentials in the pools.
  const admin = createAdminService({
    keys: {
      store: usage.keyStore,
      hasher: auth.hasher,
      spend: usage.spend,
      changed: usage.keyChanged,
      defaults: usageConfig.keyDefaults,
      budgets: usageConfig.budgets,
      currency: usage.currency,
      economyPrices: usage.economyPrices,
      quotas: usageConfig.keyQuotas,
      logger,
    },
    providers: { pools, dialects: new Map(config.providers.map((p) => [p.name, p.dialect])), logger, bus: poolActions },
    usage: usageReports,
    cache: { purge: cache && ((filter) => cache.purge(filter)), providers: new Set(providers.keys()), router, keys: usage.keyStore },
    secrets: { source: dbSecrets, notices: dbSecretNotices, logger },
    console: {
      calls: { feed: calls, currency: usage.currency },
      usage: usageReports,
      live: { metrics, providers: providerHealth, breaker: (name) => dispatcher.providerBreaker(name)?.state },
    },
    ownSecrets,
    adminWrites: new AdminWriteRate(usageConfig.adminWrites),
  });

  if (metricsAccess.open && !isLoopbackHost(config.server.host)) {
    logger.warn({ host: config.server.host }, "GET /metrics answers anyone who reaches this port, with key ids, teams and spend: set SWITCHBOARD_METRICS_TOKEN to require it as a bearer token");
  }

  // Aborted when the shutdown grace period is nearly over: calls still running end with Unavailable, not a reset.
  const stopCalls = new AbortController();
  setMaxListeners(Infinity, stopCalls.signal); // every call in flight listens to it
  const server = new OnePortServer({
    host: config.server.host,
    port: config.server.port,
    tls: config.server.tls,
    limits: config.server.clientLimits,
    metrics,
    logger,
    beforeGraceEnds: () => stopCalls.abort(gatewayError(Code.Unavailable, "the gateway is shutting down", "SHUTTING_DOWN")),
    // On loopback, only requests addressed to a loopback name or an address: no rebound DNS name reads /metrics.
    handler: refuseForeignHostsOnLoopback(config.server.host, createHttpHandler({
      routes: createRoutes(gateway, health, admin, clientLimits(config.server.clientLimits)),
      leanMethods: hotMethods(gateway),
      interceptors: [createErrorInfoInterceptor(), createRequestInterceptor(logger, metrics, tracing, calls), createAuthInterceptor(keyGate)],
      earlyRefusals,
      keyGate: createRpcKeyGate(keyGate, earlyRefusals),
      corsOrigins: config.server.corsOrigins,
      metrics,
      metricsAccess,
      metricsRender: { reuseMs: metricsReuseMs },
      health,
      logger,
      shutdownSignal: stopCalls.signal,
      rest: {
        prefix: "/v1/",
        handle: createRestEnvelope(
          [
            createOpenAISurface({ gateway, providerHealth }),
            // What coding agents speak: Claude Code and the Anthropic SDKs, Codex and the OpenAI Agents SDK.
            // Anthropic's own stream guarantees a tool call's input is a JSON object: it streams as it comes; others' is held whole.
            createAnthropicSurface({ gateway, toolInputIsObject: (provider) => config.providers.find((p) => p.name === provider)?.dialect === "anthropic" }),
            // The model list in Anthropic's shape, for the requests its SDKs mark with anthropic-version.
            createAnthropicModelsSurface({ gateway }),
            createResponsesSurface({ gateway, stored, logger }),
          ],
          { gate: keyGate, logger, metrics, shutdownSignal: stopCalls.signal, tracing, feed: calls },
        ),
      },
      // The web console (web/, built into dist/console) at /console.
      console: loadConsoleAssets(),
    })),
  });

  let stopping: Promise<void> | undefined;
  return {
    config,
    logger,
    metrics,
    gateway,
    generatedMasterKey: auth.generatedMasterKey,
    listen: () => server.listen(),
    shutdown() {
      stopping ??= (async () => {
        health.setServing(false);
        // Live views end now: a watch would otherwise hold the drain for the whole grace period.
        calls.close();
        await server.shutdown(config.server.shutdownGraceMs);
        // Every call's span has ended: export what is still buffered.
        await tracing.shutdown();
        await gateway.close();
        await cache?.close();
        // After the drain every completed call's ledger row is queued: write them all.
        await usage.close();
        pools.close();
        // A canary promoted (or rolled back) by the last calls: its verdict reaches the store before it closes.
        await pools.settled();
        await secrets.close();
        await stored.close();
        await db.close();
      })();
      return stopping;
    },
  };
}
