import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { RedisErrors } from "../redis/redis-errors.js";
import type { RedisLink } from "../redis/redis-link.js";
import type { CacheKey } from "./cache-key.js";
import type { CacheSecret } from "./cache-secret.js";

// Each script's keys are one entry's and its lock's, which share a hash tag (`{id}`): one cluster slot.

// KEYS: entry, lock. ARGV: value, ttl ms, the lock's token ("" for none).
// Writes the entry and, when this call held the lock, frees it in the same step: a waiter never sees the lock gone before the answer is there.
const PUT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
`;

// KEYS: lock. ARGV: token. Frees the lock only if it is still this call's.
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: entry, lock. Returns {entry or nil, 1 while the lock is held}.
const POLL = `return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2])}`;

type ScriptClient = {
  sbCachePut(entry: string, lock: string, value: Buffer, ttlMs: number, token: string): Promise<number>;
  sbCacheUnlock(lock: string, token: string): Promise<number>;
  sbCachePollBuffer(entry: string, lock: string): Promise<[Buffer | null, number]>;
};

/** What a waiter sees of an identical call in flight on some instance. */
export interface FlightState {
  entry?: Buffer;
  locked: boolean;
}

/** Which entries a purge removes: the fields set must all match. */
export interface PurgeFilter {
  partition?: string;
  provider?: string;
  model?: string;
}

/** Keys SCAN returns per step, and UNLINKs sent at once. */
const SCAN_COUNT = 500;

/**
 * L2: sealed entries in Redis, shared by every instance, with a TTL (PX) and
 * a size cap; and the short lock that lets one instance of several make the
 * vendor call for identical requests. Key names carry keyed tags of the
 * partition, provider and model (never the names themselves), so a purge
 * finds a key's, a team's or a model's entries with SCAN.
 *
 * While Redis is unreachable every operation is skipped at once (counted and
 * logged): the calls go on with this instance's memory only.
 */
export class RedisTier {
  private readonly scripts: ScriptClient;

  constructor(
    private readonly link: RedisLink,
    private readonly secret: CacheSecret,
    private readonly errors: RedisErrors,
    readonly maxEntryBytes: number,
  ) {
    link.client.defineCommand("sbCachePut", { numberOfKeys: 2, lua: PUT });
    link.client.defineCommand("sbCacheUnlock", { numberOfKeys: 1, lua: UNLOCK });
    link.client.defineCommand("sbCachePoll", { numberOfKeys: 2, lua: POLL });
    this.scripts = link.client as unknown as ScriptClient;
  }

  get isUp(): boolean {
    return this.link.isUp;
  }

  async get(key: CacheKey): Promise<Buffer | undefined> {
    return this.run("cache_read", async () => (await this.link.client.getBuffer(this.entryKey(key))) ?? undefined);
  }

  /** Writes a sealed entry and frees the lock `token` held; an entry over the size cap is not written (the lock is freed all the same). */
  async put(key: CacheKey, sealed: Buffer, ttlMs: number, token = ""): Promise<"written" | "too_large" | "failed"> {
    if (sealed.length > this.maxEntryBytes) {
      if (token) await this.unlock(key, token);
      return "too_large";
    }
    const written = await this.run("cache_write", () => this.scripts.sbCachePut(this.entryKey(key), this.lockKey(key), sealed, Math.max(1, Math.round(ttlMs)), token));
    return written === undefined ? "failed" : "written";
  }

  /** Takes the lock for an identical call in flight; its token, or undefined when another instance holds it (or Redis is away). */
  async lock(key: CacheKey, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID();
    const taken = await this.run("cache_lock", () => this.link.client.set(this.lockKey(key), token, "PX", Math.max(1, Math.round(ttlMs)), "NX"));
    return taken === "OK" ? token : undefined;
  }

  async unlock(key: CacheKey, token: string): Promise<void> {
    await this.run("cache_unlock", () => this.scripts.sbCacheUnlock(this.lockKey(key), token));
  }

  /** The entry, if the call in flight stored it, and whether its lock is still held; undefined when Redis cannot tell. */
  async poll(key: CacheKey): Promise<FlightState | undefined> {
    const state = await this.run("cache_poll", () => this.scripts.sbCachePollBuffer(this.entryKey(key), this.lockKey(key)));
    return state && { entry: state[0] ?? undefined, locked: Number(state[1]) === 1 };
  }

  /** Removes the matching entries on every master; returns how many. */
  async purge(filter: PurgeFilter): Promise<number> {
    if (!this.link.isUp) throw new Error(`Redis is unreachable (${this.link.reason})`);
    const tag = (kind: "partition" | "provider" | "model", value: string | undefined) => (value === undefined ? "*" : this.secret.tag(kind, value));
    const pattern = `${globEscape(this.link.prefix)}cache:e:${tag("partition", filter.partition)}:${tag("provider", filter.provider)}:${tag("model", filter.model)}:*`;
    const nodes: Redis[] = this.link.kind === "cluster" ? (this.link.client as Cluster).nodes("master") : [this.link.client as Redis];
    let purged = 0;
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
        cursor = next;
        // One UNLINK per key: in a cluster, the keys of one step may sit in different slots.
        if (keys.length > 0) purged += (await Promise.all(keys.map((key) => node.unlink(key)))).reduce((sum, n) => sum + n, 0);
      } while (cursor !== "0");
    }
    return purged;
  }

  /** `{prefix}cache:e:{partition tag}:{provider tag}:{model tag}:{{id}}` */
  private entryKey(key: CacheKey): string {
    return this.link.key("cache", "e", this.secret.tag("partition", key.partition), this.secret.tag("provider", key.provider), this.secret.tag("model", key.model), `{${key.id}}`);
  }

  private lockKey(key: CacheKey): string {
    return this.link.key("cache", "lock", `{${key.id}}`);
  }

  /** Runs a command while Redis is up; a failure, or Redis being away, is counted, logged (throttled) and answered with undefined. */
  private async run<T>(operation: string, command: () => Promise<T>): Promise<T | undefined> {
    if (!this.link.isUp) {
      this.errors.report(operation, new Error(`Redis is unreachable (${this.link.reason})`), "the response cache is served from this instance's memory only");
      return undefined;
    }
    try {
      return await command();
    } catch (err) {
      this.errors.report(operation, err, "the response cache is served from this instance's memory only");
      return undefined;
    }
  }
}

/** A literal for SCAN's MATCH: the prefix may hold glob characters. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
