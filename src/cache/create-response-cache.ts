import type { KeyHasher } from "../auth/gateway-key.js";
import type { CacheConfig } from "../config/cache-config.js";
import type { RouteConfig } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { RedisErrors } from "../redis/redis-errors.js";
import type { RedisLink } from "../redis/redis-link.js";
import { CachePolicy } from "./cache-policy.js";
import { CacheSecret } from "./cache-secret.js";
import { Coalescer } from "./coalescer.js";
import { MemoryCache } from "./memory-cache.js";
import { PurgeBus } from "./purge-bus.js";
import { RedisTier } from "./redis-tier.js";
import { TieredCache } from "./tiered-cache.js";

export interface ResponseCacheDeps {
  config: CacheConfig;
  routes: readonly RouteConfig[];
  env: NodeJS.ProcessEnv;
  /** Derives the cache secret from the pepper when SWITCHBOARD_CACHE_KEY is not set. */
  hasher: KeyHasher;
  /** The shared Redis link (REDIS_URL), for L2, fleet-wide coalescing and purges. */
  redis: RedisLink | undefined;
  metrics: GatewayMetrics;
  logger: Logger;
  now?: () => number;
}

/** The response cache from its configuration; undefined when it is switched off. */
export async function createResponseCache(deps: ResponseCacheDeps): Promise<TieredCache | undefined> {
  const { config, metrics, logger } = deps;
  if (!config.enabled) return undefined;
  const secret = CacheSecret.fromEnv(deps.env, deps.hasher);
  const memory = new MemoryCache({
    maxEntries: config.memory.maxEntries,
    maxBytes: config.memory.maxBytes,
    now: deps.now,
    onEvict: (reason) => metrics.cacheEvictions.inc({ level: "l1", reason }),
  });
  const link = config.redis.enabled ? deps.redis : undefined;
  const redis = link && new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), config.redis.maxEntryBytes);
  const coalescer = config.coalesce.enabled ? new Coalescer({ waitMs: config.coalesce.waitMs, remote: redis, now: deps.now }) : undefined;
  const bus = link && new PurgeBus(link, logger);
  const cache = new TieredCache({ policy: new CachePolicy(deps.routes, config.defaults), secret, memory, redis, coalescer, bus, metrics, logger, now: deps.now });
  await bus?.start((filter) => cache.purgeMemory(filter));
  metrics.reportCacheWith({
    get entries() {
      return memory.size;
    },
    get bytes() {
      return memory.bytes;
    },
    get waiting() {
      return coalescer?.waiting ?? 0;
    },
  });
  return cache;
}
