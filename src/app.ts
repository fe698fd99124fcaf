import type { AddressInfo } from "node:net";
import type { DestinationStream } from "pino";
import { createAdminService } from "./api/admin/admin-service.js";
import { Authenticator, createAuthInterceptor } from "./auth/auth-interceptor.js";
import { bootstrapAuth } from "./auth/bootstrap.js";
import { ChainedKeyDirectory, MasterKeyDirectory } from "./auth/key-directory.js";
import type { GatewayConfig } from "./config/config.js";
import { Dispatcher, type ProviderRuntime } from "./gateway/dispatcher.js";
import { Gateway } from "./gateway/gateway.js";
import { Router } from "./gateway/router.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { GatewayMetrics } from "./observability/metrics.js";
import { createRequestInterceptor } from "./observability/request-interceptor.js";
import { createAdapter } from "./providers/registry.js";
import { createCredential } from "./secrets/credential.js";
import { KeyPool } from "./secrets/key-pool.js";
import { EnvSecretSource, SecretResolver } from "./secrets/secret-source.js";
import { HealthState } from "./server/health-service.js";
import { createHttpHandler } from "./server/http-handler.js";
import { OnePortServer } from "./server/one-port-server.js";
import { createRestHandler } from "./server/openai-rest/rest-handler.js";
import { API_SERVICES, createRoutes } from "./server/routes.js";

export interface SwitchboardOptions {
  env?: NodeJS.ProcessEnv;
  /** Where log lines go (tests capture them); stdout by default. */
  logDestination?: DestinationStream;
  /** Prometheus default process metrics; off in tests that build many instances. */
  defaultMetrics?: boolean;
}

export interface Switchboard {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly gateway: Gateway;
  /** Set when a master key was generated at this start: show it once, then forget it. */
  readonly generatedMasterKey: string | undefined;
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
  const logger = createLogger(config.logLevel, options.logDestination);
  const metrics = new GatewayMetrics({ defaultMetrics: options.defaultMetrics });
  const secrets = new SecretResolver([new EnvSecretSource(env)]);

  const providers = new Map<string, ProviderRuntime>();
  for (const provider of config.providers) {
    const credentials = await Promise.all(
      provider.keys.map(async (key) => ({
        credential: createCredential(
          `${provider.name}/${key.id}`,
          key.secret ? await secrets.resolve(key.secret) : "",
          key.secondary ? await secrets.resolve(key.secondary) : undefined,
        ),
        weight: key.weight,
      })),
    );
    providers.set(provider.name, { adapter: createAdapter(provider), pool: new KeyPool(provider.name, credentials), timeoutMs: provider.timeoutMs });
  }

  const router = new Router(config.routes, new Set(providers.keys()));
  const gateway = new Gateway({ router, dispatcher: new Dispatcher(providers, metrics), providers, logger });
  const auth = bootstrapAuth(config.dataDir, env);
  const authenticator = new Authenticator(auth.hasher, new ChainedKeyDirectory([new MasterKeyDirectory(auth.masterDigest)]));
  const health = new HealthState(API_SERVICES.map((service) => service.typeName));

  const server = new OnePortServer({
    host: config.server.host,
    port: config.server.port,
    tls: config.server.tls,
    logger,
    handler: createHttpHandler({
      routes: createRoutes(gateway, health, createAdminService()),
      interceptors: [createRequestInterceptor(logger, metrics), createAuthInterceptor(authenticator)],
      corsOrigins: config.server.corsOrigins,
      metrics,
      health,
      rest: { prefix: "/v1/", handle: createRestHandler({ gateway, authenticator, logger, metrics }) },
    }),
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
        await server.shutdown(config.server.shutdownGraceMs);
        await gateway.close();
      })();
      return stopping;
    },
  };
}
