import { z } from "zod";

/**
 * The response cache's settings: gateway-wide under `cache:` (sizes, the
 * default policy, coalescing), and per route under `routes[].cache` (the
 * policy of the calls that route serves). Every field has a default, so a
 * config file names only what it changes. What each means: docs/cache.md.
 */
export type CacheMode = "off" | "deterministic" | "always";
export type CacheShare = "key" | "team" | "route";

/** Which calls of a route are cached, for how long, and who shares the answers. */
export interface RouteCachePolicy {
  /** off: never; deterministic: calls with temperature 0 or a seed; always: every call. */
  mode: CacheMode;
  ttlMs: number;
  /** key: each gateway key its own answers; team: the key's team shares them; route: every caller of the route does. */
  share: CacheShare;
  /** Keep answers that call tools (off by default: a tool call usually acts on the world). */
  toolCalls: boolean;
  /** Keep answers cut at max_tokens (off by default). */
  truncated: boolean;
}

export interface CacheConfig {
  enabled: boolean;
  /** For routes that set no `cache` of their own. */
  defaults: RouteCachePolicy;
  /**
   * L1: this process's memory, bounded by entries and bytes (least recently
   * used go first), a partition to its share of each, and so is what one
   * gateway key put in across every partition it writes to (`maxWriterShare`,
   * the partition's share unless set), so that no one key fills the whole
   * through the partitions it reaches; and so is what one team's keys put in
   * together (`maxTeamShare`; a key without a team is a team of its own), so
   * that no one tenant fills the whole through the keys it can mint.
   */
  memory: { maxEntries: number; maxBytes: number; maxPartitionShare: number; maxWriterShare: number; maxTeamShare: number };
  /** L2: Redis (SWITCHBOARD_CACHE_REDIS_URL, else REDIS_URL), shared by every instance. */
  redis: CacheRedisLimits & { enabled: boolean };
  /**
   * Identical calls in flight share one vendor call; the others wait at most
   * `waitMs` for it in this process, and at most `remoteWaitMs` for another
   * instance's (also the life of the fleet lock, so a lock left behind by a
   * slow or dead Redis client holds no one up longer), then call the vendor themselves;
   * and at most `stallMs` for the next event of a leader whose streamed answer has begun.
   */
  coalesce: { enabled: boolean; waitMs: number; remoteWaitMs: number; stallMs: number };
}

/** What L2 may hold, counted in sealed bytes (compressed and encrypted) plus key names. */
export interface CacheRedisLimits {
  /** An entry above it is not kept there. */
  maxEntryBytes: number;
  /** All entries together; past it, new answers are kept in memory only until older entries expire. */
  maxBytes: number;
  /** One partition's entries (a key's, a team's, a route's). */
  maxPartitionBytes: number;
  /**
   * The entries one gateway key wrote, across every partition it writes to (its
   * own, its team's, each shared route's), so that no one key fills the whole
   * through the partitions it reaches. `max_partition_bytes` unless set.
   */
  maxWriterBytes: number;
  /**
   * The entries one team's keys wrote together (a key without a team is a
   * team of its own: the tenant), so that no one tenant fills the whole
   * through the keys it can mint. Half of `max_bytes` unless set; no bound
   * beyond the level's when not given here (a tier built without the config).
   */
  maxTeamBytes?: number;
}

/** The part of each level one team (tenant) may hold unless set: whatever its number of keys, the others keep the rest. */
const DEFAULT_TEAM_SHARE = 0.5;

export const DEFAULT_CACHE: CacheConfig = {
  enabled: true,
  defaults: { mode: "deterministic", ttlMs: 3_600_000, share: "key", toolCalls: false, truncated: false },
  // A partition's share of memory as of Redis (64 of 256 MiB).
  memory: { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, maxPartitionShare: 0.25, maxWriterShare: 0.25, maxTeamShare: DEFAULT_TEAM_SHARE },
  redis: {
    enabled: true,
    maxEntryBytes: 1024 * 1024,
    maxBytes: 256 * 1024 * 1024,
    maxPartitionBytes: 64 * 1024 * 1024,
    maxWriterBytes: 64 * 1024 * 1024,
    maxTeamBytes: 256 * 1024 * 1024 * DEFAULT_TEAM_SHARE,
  },
  coalesce: { enabled: true, waitMs: 30_000, remoteWaitMs: 5_000, stallMs: 5_000 },
};

const policyFields = {
  mode: z.enum(["off", "deterministic", "always"]).optional(),
  ttl_ms: z.number().int().positive().max(30 * 86_400_000).optional(),
  share: z.enum(["key", "team", "route"]).optional(),
  tool_calls: z.boolean().optional(),
  truncated: z.boolean().optional(),
};

/** `routes[].cache`. */
export const routeCacheSchema = z.strictObject(policyFields);

/** `cache:`. */
export const cacheSchema = z.strictObject({
  enabled: z.boolean().optional(),
  ...policyFields,
  memory: z
    .strictObject({
      max_entries: z.number().int().min(0).optional(),
      max_bytes: z.number().int().min(0).optional(),
      max_partition_share: z.number().gt(0).max(1).optional(),
      max_writer_share: z.number().gt(0).max(1).optional(),
      max_team_share: z.number().gt(0).max(1).optional(),
    })
    .optional(),
  redis: z
    .strictObject({
      enabled: z.boolean().optional(),
      max_entry_bytes: z.number().int().positive().max(64 * 1024 * 1024).optional(),
      max_bytes: z.number().int().positive().optional(),
      max_partition_bytes: z.number().int().positive().optional(),
      max_writer_bytes: z.number().int().positive().optional(),
      max_team_bytes: z.number().int().positive().optional(),
    })
    .optional(),
  coalesce: z
    .strictObject({
      enabled: z.boolean().optional(),
      // Each is a wait a call may spend before its vendor call: bounded like a TTL is.
      wait_ms: z.number().int().min(0).max(120_000).optional(),
      remote_wait_ms: z.number().int().min(0).max(30_000).optional(),
      stall_ms: z.number().int().positive().max(120_000).optional(),
    })
    .optional(),
});

export function buildCache(file: z.infer<typeof cacheSchema> | undefined): CacheConfig {
  const d = DEFAULT_CACHE;
  return {
    enabled: file?.enabled ?? d.enabled,
    defaults: buildRouteCache(file, d.defaults),
    memory: buildCacheMemory(file?.memory),
    redis: buildCacheRedis(file?.redis),
    coalesce: {
      enabled: file?.coalesce?.enabled ?? d.coalesce.enabled,
      waitMs: file?.coalesce?.wait_ms ?? d.coalesce.waitMs,
      remoteWaitMs: file?.coalesce?.remote_wait_ms ?? d.coalesce.remoteWaitMs,
      stallMs: file?.coalesce?.stall_ms ?? d.coalesce.stallMs,
    },
  };
}

/** `cache.memory`: a writer's share follows the partition's unless set, as in Redis. */
function buildCacheMemory(file: z.infer<typeof cacheSchema>["memory"]): CacheConfig["memory"] {
  const d = DEFAULT_CACHE.memory;
  const maxPartitionShare = file?.max_partition_share ?? d.maxPartitionShare;
  return {
    maxEntries: file?.max_entries ?? d.maxEntries,
    maxBytes: file?.max_bytes ?? d.maxBytes,
    maxPartitionShare,
    maxWriterShare: file?.max_writer_share ?? maxPartitionShare,
    maxTeamShare: file?.max_team_share ?? d.maxTeamShare,
  };
}

/** `cache.redis`: a writer's bound follows the partition's unless set, and a team's is half the level's, so a gateway that scales its bounds down keeps their ratios. */
function buildCacheRedis(file: z.infer<typeof cacheSchema>["redis"]): CacheConfig["redis"] {
  const d = DEFAULT_CACHE.redis;
  const maxPartitionBytes = file?.max_partition_bytes ?? d.maxPartitionBytes;
  const maxBytes = file?.max_bytes ?? d.maxBytes;
  return {
    enabled: file?.enabled ?? d.enabled,
    maxEntryBytes: file?.max_entry_bytes ?? d.maxEntryBytes,
    maxBytes,
    maxPartitionBytes,
    maxWriterBytes: file?.max_writer_bytes ?? maxPartitionBytes,
    maxTeamBytes: file?.max_team_bytes ?? Math.floor(maxBytes * DEFAULT_TEAM_SHARE),
  };
}

/** A route's policy: what it sets, the gateway-wide defaults for the rest. */
export function buildRouteCache(file: z.infer<typeof routeCacheSchema> | undefined, defaults: RouteCachePolicy): RouteCachePolicy {
  return {
    mode: file?.mode ?? defaults.mode,
    ttlMs: file?.ttl_ms ?? defaults.ttlMs,
    share: file?.share ?? defaults.share,
    toolCalls: file?.tool_calls ?? defaults.toolCalls,
    truncated: file?.truncated ?? defaults.truncated,
  };
}
