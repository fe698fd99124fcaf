import type { KeyHasher } from "../auth/gateway-key.js";
import type { CacheConfig } from "../config/cache-config.js";
import { ConfigError } from "../config/config-error.js";
import type { RouteConfig } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { FleetLink } from "../redis/fleet-link.js";
import { FleetSeal } from "../redis/fleet-seal.js";
import { RedisErrors } from "../redis/redis-errors.js";
import type { RedisLink } from "../redis/redis-link.js";
import { parseRedisUrl } from "../redis/redis-url.js";
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
  /** The shared Redis link (REDIS_URL), for L2, fleet-wide coalescing and purges unless SWITCHBOARD_CACHE_REDIS_URL names a Redis of the cache's own. */
  redis: RedisLink | undefined;
  /** Key prefix in a Redis of the cache's own (the shared link has its own prefix). */
  redisPrefix: string;
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
    maxPartitionShare: config.memory.maxPartitionShare,
    maxWriterShare: config.memory.maxWriterShare,
    maxTeamShare: config.memory.maxTeamShare,
    now: deps.now,
    onEvict: (reason) => metrics.cacheEvictions.inc({ level: "l1", reason }),
  });
  const own = config.redis.enabled ? await ownRedis(deps) : undefined;
  const link = config.redis.enabled ? (own ?? deps.redis) : undefined;
  const redis = link && new RedisTier(link, secret, new RedisErrors(metrics.redisErrors, logger), config.redis, deps.now);
  const { waitMs, remoteWaitMs, stallMs } = config.coalesce;
  const coalescer = config.coalesce.enabled ? new Coalescer({ waitMs, remoteWaitMs, stallMs, remote: redis, now: deps.now }) : undefined;
  // Purges are sealed under the pepper (not SWITCHBOARD_CACHE_KEY): the key every fleet message is sealed with. They
  // reach the other instances' memory over any Redis there is, L2 in it or not.
  const busLink = link ?? deps.redis;
  const bus = busLink && new PurgeBus(new FleetLink(busLink, FleetSeal.fromPepper(deps.hasher), metrics.fleetMessagesDropped, logger), logger);
  const policy = new CachePolicy(deps.routes, config.defaults);
  const cache = new TieredCache({ policy, secret, memory, redis, coalescer, bus, metrics, logger, now: deps.now, close: own && (() => own.close()) });
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

/**
 * A Redis of the cache's own, when SWITCHBOARD_CACHE_REDIS_URL names one (in
 * the shapes of REDIS_URL): answers can then be evicted (an LRU policy) and
 * fill it without touching the limits and budgets in the shared Redis.
 */
async function ownRedis(deps: ResponseCacheDeps): Promise<RedisLink | undefined> {
  const url = deps.env.SWITCHBOARD_CACHE_REDIS_URL?.trim();
  if (!url) return undefined;
  try {
    parseRedisUrl(url);
  } catch (err) {
    // The message never repeats a password.
    throw new ConfigError("environment", "SWITCHBOARD_CACHE_REDIS_URL", (err as Error).message);
  }
  const { RedisLink } = await import("../redis/redis-link.js");
  // Its up and down lines say which Redis they are about.
  const link = new RedisLink({
    url,
    prefix: deps.redisPrefix,
    logger: deps.logger.child({ component: "response cache" }),
    whileDown: "the response cache is served from this instance's memory only",
    whileUp: "the response cache is shared across instances",
  });
  await link.connect();
  return link;
}
