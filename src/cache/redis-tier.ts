import { randomUUID } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { CacheRedisLimits } from "../config/cache-config.js";
import type { RedisErrors } from "../redis/redis-errors.js";
import type { RedisLink } from "../redis/redis-link.js";
import type { CacheKey } from "./cache-key.js";
import type { CacheSecret } from "./cache-secret.js";
import { chargedHashes, chargeText, countedUntil, parseCharge, RELEASE, RESERVE, type ByteCharge } from "./redis-byte-charges.js";
import { isCommandTimeout, RedisStall } from "./redis-stall.js";

// Each script's keys are one entry's, its lock's and its byte charge's, which share a hash tag (`{id}`): one cluster slot.

// KEYS: entry, lock, charge. ARGV: value, ttl ms, the lock's token ("" for none), "1" to write only where no entry is, the entry's charge.
// Writes the entry and its charge and, when this call held the lock, frees it in the same step: a waiter never sees the lock gone before the answer is there.
// Returns {1, the charge of the entry it replaced (nil for none)} when written, {0} when an entry was there and "only if absent" kept it
// (the look and the write are one step: no other write falls between).
const PUT = `
local written, replaced
if ARGV[4] == '1' then written = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
else
  replaced = redis.call('GET', KEYS[3])
  written = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if written then redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[2]) end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
if written then return {1, replaced} end
return {0}
`;

// KEYS: entry, charge. Removes both; returns {1 when the entry was there, its charge (nil for none)}.
const TAKE = `
local charge = redis.call('GET', KEYS[2])
local removed = redis.call('UNLINK', KEYS[1])
redis.call('DEL', KEYS[2])
return {removed, charge}
`;

// KEYS: lock. ARGV: token. Frees the lock only if it is still this call's.
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: entry, lock. ARGV: the lock's token, its life in ms.
// The L2 read and the fleet lock in one step (one round trip, and no entry can land between the look and the lock):
// returns {entry} when there is one (no lock taken); otherwise {nil, 1} when this call took the lock, {nil, 0} when another call holds it.
const CLAIM = `
local entry = redis.call('GET', KEYS[1])
if entry then return {entry} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {false, 1} end
return {false, 0}
`;

// KEYS: entry, lock. Returns {entry or nil, 1 while the lock is held}.
const POLL = `return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2])}`;

type ScriptClient = {
  sbCachePut(entry: string, lock: string, charge: string, value: Buffer, ttlMs: number, token: string, onlyIfAbsent: "1" | "0", chargeText: string): Promise<[number, string | null]>;
  sbCacheTake(entry: string, charge: string): Promise<[number, string | null]>;
  sbCacheUnlock(lock: string, token: string): Promise<number>;
  sbCachePollBuffer(entry: string, lock: string): Promise<[Buffer | null, number]>;
  sbCacheClaimBuffer(entry: string, lock: string, token: string, ttlMs: number): Promise<[Buffer | null, number?]>;
  /** The hashes (level, partition, writer, tenant), then bytes, field, now, then each hash's bound. */
  sbCacheReserve(...keysThenArgs: (string | number)[]): Promise<number>;
  /** How many hashes, the hashes, then field and bytes. */
  sbCacheRelease(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number>;
};

/**
 * What taking the fleet lock came to: this call holds it (its token); another
 * call does; or Redis did not say (an error, a timeout): the SET may still be
 * applied later, so the token is kept for a compare-and-delete.
 */
export type LockAttempt = { kind: "taken"; token: string } | { kind: "busy" } | { kind: "unknown"; token: string };

/**
 * What a claim (the L2 read and the fleet lock in one step) came to: the
 * entry kept (no lock taken), or, where there is none, what taking the lock
 * came to; "skipped" when nothing was sent (Redis away, or left alone after a
 * timeout): no lock can have been taken.
 */
export type Claim = { kind: "stored"; entry: Buffer } | LockAttempt | { kind: "skipped" };

/** How an entry is written: who writes it, the lock `token` it frees ("" for none), and whether it may replace an entry already there. */
export interface PutOptions {
  /**
   * The writer its bytes are counted against as well, named as its own
   * partition (`key:{id}`, the gateway key whose call it is); the entry's
   * partition when not said.
   */
  writer?: string;
  /** The writer's tenant (its team's partition, `team:{team}`), whose bound the bytes count against too; the writer when not said. */
  tenant?: string;
  token?: string;
  /** Written only where no entry is (a shared partition's refresh): an entry already there, however recent, is kept. */
  onlyIfAbsent?: boolean;
}

/** What came of a write: "kept" when onlyIfAbsent found an entry there. */
export type PutResult = "written" | "kept" | "too_large" | "full" | "failed";

/** How long an entry lives: from `now` (the cache's clock), for `ttlMs`. */
export interface EntryLife {
  now: number;
  ttlMs: number;
}

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

/** How long the cache leaves Redis alone after a command timed out: a stall costs the calls during it one timeout, not one each. */
const STALL_BACKOFF_MS = 1_000;

/** What a call does without Redis's answer. */
const CONSEQUENCE = "the response cache is served from this instance's memory only";

/** Keys SCAN returns per step, and entries removed at once. */
const SCAN_COUNT = 500;

/**
 * L2: sealed entries in Redis, shared by every instance, with a TTL (PX), a
 * size cap, and bounds on the bytes of all entries, of each partition's, of
 * each writer's and of each tenant's (counted until the entries expire, or until a purge or a
 * replacement removes them: redis-byte-charges.ts; past a bound an answer is
 * not written);
 * and the short lock that lets one instance of several make the vendor call
 * for identical requests. Key names carry keyed tags of the partition,
 * provider and model (never the names themselves), so a purge finds a key's,
 * a team's or a model's entries with SCAN.
 *
 * While Redis is unreachable every operation is skipped at once (counted and
 * logged): the calls go on with this instance's memory only. A command that
 * fails or times out is counted and logged too, and taken as no answer; after
 * a timeout, Redis is left alone for a short back-off (RedisStall), and the
 * tier says it is not up meanwhile, so no call waits on the fleet lock.
 */
export class RedisTier {
  private readonly scripts: ScriptClient;
  private readonly stall: RedisStall;

  constructor(
    private readonly link: RedisLink,
    private readonly secret: CacheSecret,
    private readonly errors: RedisErrors,
    private readonly limits: CacheRedisLimits,
    now: () => number = Date.now,
  ) {
    this.stall = new RedisStall(STALL_BACKOFF_MS, now);
    link.client.defineCommand("sbCachePut", { numberOfKeys: 3, lua: PUT });
    link.client.defineCommand("sbCacheTake", { numberOfKeys: 2, lua: TAKE });
    link.client.defineCommand("sbCacheUnlock", { numberOfKeys: 1, lua: UNLOCK });
    link.client.defineCommand("sbCachePoll", { numberOfKeys: 2, lua: POLL });
    link.client.defineCommand("sbCacheClaim", { numberOfKeys: 2, lua: CLAIM });
    link.client.defineCommand("sbCacheReserve", { numberOfKeys: 4, lua: RESERVE });
    // Its number of keys comes first in each call: a charge kept before tenants were counted has three hashes, not four.
    link.client.defineCommand("sbCacheRelease", { lua: RELEASE });
    this.scripts = link.client as unknown as ScriptClient;
  }

  /** Reachable, and not left alone after a timeout. */
  get isUp(): boolean {
    return this.link.isUp && !this.stall.holding;
  }

  async get(key: CacheKey): Promise<Buffer | undefined> {
    return this.run("cache_read", async () => (await this.link.client.getBuffer(this.entryKey(key))) ?? undefined);
  }

  /**
   * Writes a sealed entry and frees the lock `token` held. An entry over the
   * size cap, or past the level's, its partition's, its writer's or its tenant's bound, is
   * not written (the lock is freed all the same); nor, `onlyIfAbsent`, is one
   * where an entry is already kept ("kept").
   */
  async put(key: CacheKey, sealed: Buffer, life: EntryLife, { writer = key.partition, tenant = writer, token = "", onlyIfAbsent = false }: PutOptions = {}): Promise<PutResult> {
    const ttlMs = Math.max(1, Math.round(life.ttlMs));
    const entryKey = this.entryKey(key);
    const charge: ByteCharge = {
      field: countedUntil(life.now, ttlMs),
      bytes: entryKey.length + sealed.length,
      partitionTag: this.secret.tag("partition", key.partition),
      writerTag: this.secret.tag("partition", writer),
      tenantTag: this.secret.tag("partition", tenant),
    };
    const refused = sealed.length > this.limits.maxEntryBytes ? "too_large" : await this.reserve(charge, life.now);
    const written = refused
      ? undefined
      : await this.run("cache_write", () => this.scripts.sbCachePut(entryKey, this.lockKey(key), this.chargeKey(key), sealed, ttlMs, token, onlyIfAbsent ? "1" : "0", chargeText(charge)));
    if (written !== undefined) {
      // Nothing written: its bytes are given back. Written over an entry: that entry's are.
      // (A write Redis did not answer keeps its bytes counted until they expire: it may have been applied.)
      await this.release(written[0] === 1 ? parseCharge(written[1]) : charge);
      return written[0] === 1 ? "written" : "kept";
    }
    // Not written: free the lock now rather than let other instances' waiters wait out its life.
    if (token) await this.unlock(key, token);
    return refused ?? "failed";
  }

  /**
   * Reads the entry and, where there is none, takes the lock for an identical
   * call in flight (for `ttlMs` at most), in one script: a cacheable miss
   * waits one round trip on Redis before its vendor call, not one per step.
   */
  async claim(key: CacheKey, ttlMs: number): Promise<Claim> {
    const token = randomUUID();
    // Not up: run() sends nothing (it counts and logs the skip), so no lock can have been taken.
    const sent = this.isUp;
    const reply = await this.run("cache_claim", () => this.scripts.sbCacheClaimBuffer(this.entryKey(key), this.lockKey(key), token, Math.max(1, Math.round(ttlMs))));
    if (reply === undefined) return sent ? { kind: "unknown", token } : { kind: "skipped" };
    if (reply[0]) return { kind: "stored", entry: reply[0] };
    return Number(reply[1]) === 1 ? { kind: "taken", token } : { kind: "busy" };
  }

  /** Takes the lock for an identical call in flight, for `ttlMs` at most. */
  async lock(key: CacheKey, ttlMs: number): Promise<LockAttempt> {
    const token = randomUUID();
    const taken = await this.run("cache_lock", () => this.link.client.set(this.lockKey(key), token, "PX", Math.max(1, Math.round(ttlMs)), "NX"));
    if (taken === "OK") return { kind: "taken", token };
    // null: NX refused, another call holds it. undefined: no answer, which says nothing of whether the SET was applied.
    return taken === null ? { kind: "busy" } : { kind: "unknown", token };
  }

  async unlock(key: CacheKey, token: string): Promise<void> {
    // Sent during a back-off too: it follows a lock SET a stalled Redis may yet apply, and frees it once Redis wakes, where the lock would otherwise hold other instances' identical calls for its life.
    await this.run("cache_unlock", () => this.scripts.sbCacheUnlock(this.lockKey(key), token), "send");
  }

  /** The entry, if the call in flight stored it, and whether its lock is still held; undefined when Redis cannot tell. */
  async poll(key: CacheKey): Promise<FlightState | undefined> {
    const state = await this.run("cache_poll", () => this.scripts.sbCachePollBuffer(this.entryKey(key), this.lockKey(key)));
    return state && { entry: state[0] ?? undefined, locked: Number(state[1]) === 1 };
  }

  /** Removes the matching entries on every master, giving their bytes back to the bounds; returns how many. */
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
        // One script per entry (with its charge, in its slot): in a cluster, the keys of one step may sit in different slots.
        if (keys.length > 0) purged += (await Promise.all(keys.map((entryKey) => this.take(entryKey)))).reduce((sum, n) => sum + n, 0);
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

  /** `{prefix}cache:m:{{id}}`: what the entry's bytes were counted as. */
  private chargeKey(key: Pick<CacheKey, "id">): string {
    return this.link.key("cache", "m", `{${key.id}}`);
  }

  /** Removes one entry found by a purge and its charge, and gives its bytes back; 1 when it was there. */
  private async take(entryKey: string): Promise<number> {
    const id = /\{([^{}]+)\}$/.exec(entryKey)?.[1];
    if (id === undefined) return this.link.client.unlink(entryKey);
    const [removed, charge] = await this.scripts.sbCacheTake(entryKey, this.chargeKey({ id }));
    await this.release(parseCharge(charge));
    return Number(removed);
  }

  /** Counts an entry's bytes against the bounds until it expires; why it cannot be written, or undefined when it can. */
  private async reserve(charge: ByteCharge, now: number): Promise<"full" | "failed" | undefined> {
    const { maxBytes, maxPartitionBytes, maxWriterBytes, maxTeamBytes = maxBytes } = this.limits;
    const fits = await this.run("cache_reserve", () =>
      this.scripts.sbCacheReserve(...chargedHashes(this.link, charge), charge.bytes, charge.field, now, maxBytes, maxPartitionBytes, maxWriterBytes, maxTeamBytes),
    );
    if (fits === undefined) return "failed";
    return fits === 1 ? undefined : "full";
  }

  /** Gives an entry's counted bytes back (purged, replaced, or not written after all). A release that fails leaves them counted until they expire. */
  private async release(charge: ByteCharge | undefined): Promise<void> {
    if (!charge) return;
    const hashes = chargedHashes(this.link, charge);
    await this.run("cache_release", () => this.scripts.sbCacheRelease(hashes.length, ...hashes, charge.field, charge.bytes));
  }

  /**
   * Runs a command while Redis is up and not left alone after a timeout
   * (unless `whileStalled` says to send it all the same); a failure, a timeout,
   * or the command skipped is counted, logged (throttled) and answered with
   * undefined. A timeout that starts a back-off is counted and logged as
   * `cache_backoff` as well.
   */
  private async run<T>(operation: string, command: () => Promise<T>, whileStalled: "skip" | "send" = "skip"): Promise<T | undefined> {
    if (!this.link.isUp) {
      this.errors.report(operation, new Error(`Redis is unreachable (${this.link.reason})`), CONSEQUENCE);
      return undefined;
    }
    const admission = whileStalled === "send" ? "send" : this.stall.admit();
    if (admission === "skip") {
      this.errors.report(operation, new Error(`not sent: Redis is left alone after a command timed out (${this.stall.backoffMs} ms, then one command tries it)`), CONSEQUENCE);
      return undefined;
    }
    try {
      const answer = await command();
      this.stall.answered(admission);
      return answer;
    } catch (err) {
      this.errors.report(operation, err, CONSEQUENCE);
      if (!isCommandTimeout(err)) this.stall.answered(admission);
      else if (this.stall.timedOut(admission)) {
        this.errors.report("cache_backoff", err, `the response cache leaves Redis alone for ${this.stall.backoffMs} ms after a ${operation} timed out, then one command tries it again`);
      }
      return undefined;
    }
  }
}

/** A literal for SCAN's MATCH: the prefix may hold glob characters. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
