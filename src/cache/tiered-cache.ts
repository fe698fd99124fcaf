import { Code } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import type { CallContext } from "../gateway/call-context.js";
import { CACHE_MISS, type CacheableAnswer, type CacheLookup, type CacheStatus, type ResponseCache } from "../gateway/response-cache.js";
import type { Candidate } from "../gateway/router.js";
import type { Logger } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { ChatParams } from "../providers/provider.js";
import { decodeAnswer, encodeAnswer } from "./answer-codec.js";
import { cacheKey, type CacheKey } from "./cache-key.js";
import type { CachePolicy, CallCachePolicy } from "./cache-policy.js";
import type { CacheSecret } from "./cache-secret.js";
import type { Coalescer, Lead } from "./coalescer.js";
import { openEntry, sealEntry } from "./entry-seal.js";
import type { EntryLabels, MemoryCache } from "./memory-cache.js";
import type { PurgeBus } from "./purge-bus.js";
import type { PurgeFilter, PutOptions, PutResult, RedisTier } from "./redis-tier.js";

export interface TieredCacheDeps {
  policy: CachePolicy;
  secret: CacheSecret;
  /** L1. */
  memory: MemoryCache;
  /** L2, when Redis is configured. */
  redis?: RedisTier;
  /** Request coalescing, unless switched off. */
  coalescer?: Coalescer;
  /** Purges reach every instance's memory through it, with Redis. */
  bus?: PurgeBus;
  metrics: GatewayMetrics;
  logger: Logger;
  now?: () => number;
  /** Closes what the cache holds of its own (a Redis link of its own). */
  close?: () => Promise<void>;
}

/**
 * The response cache behind the pipeline's seam: L1 in this process's
 * memory, then L2 in Redis (a hit there fills L1), then identical calls in
 * flight (coalescing); on a miss, the vendor's answer is kept in both
 * levels when the policy allows. Redis away, or too slow to answer, costs
 * L2 and fleet-wide coalescing, never a call.
 */
export class TieredCache implements ResponseCache {
  private readonly now: () => number;
  /** Answers being kept: a purge waits for them, so an answer kept before it cannot land after it and outlive it. */
  private readonly keeping = new Set<Promise<unknown>>();

  constructor(private readonly deps: TieredCacheDeps) {
    this.now = deps.now ?? Date.now;
  }

  async lookup(params: ChatParams, candidates: readonly Candidate[], ctx: CallContext, routed?: Candidate): Promise<CacheLookup> {
    const primary = candidates[0];
    if (!primary) return CACHE_MISS;
    const call = this.deps.policy.forCall(params, primary, ctx.principal, routed);
    if (typeof call === "string") {
      this.deps.metrics.cacheBypassed.inc({ reason: call });
      return CACHE_MISS;
    }
    let key: CacheKey;
    try {
      key = cacheKey(this.deps.secret, params, primary, call);
    } catch (err) {
      // A request the JSON form cannot hold (a NaN in a Struct sent over gRPC): served, never cached.
      this.deps.logger.debug({ requestId: ctx.requestId, error: (err as Error).message }, "request has no cache key; not cached");
      return CACHE_MISS;
    }
    // Looked up before any vendor answers: a name no vendor served yet counts as "other" (metrics.ts servedModelLabel).
    const labels = { provider: key.provider, model: this.deps.metrics.servedModelLabel(key.model) };
    if (!call.read) return this.pending(key, call, undefined);
    const inMemory = this.deps.memory.get(key.id);
    if (inMemory) {
      this.deps.metrics.cacheHits.inc({ level: "l1", ...labels });
      return answered(inMemory.bytes, "hit");
    }
    const coalescer = this.deps.coalescer;
    // A fleet-wide coalescer reads L2 itself, in the same script as its lock (Coalescer.join): one Redis round trip before the vendor call, not three.
    if (!coalescer?.readsRemote) {
      const sealed = await this.deps.redis?.get(key);
      const inRedis = sealed && this.open(key, sealed, call);
      if (inRedis) {
        this.deps.metrics.cacheHits.inc({ level: "l2", ...labels });
        return answered(inRedis, "hit");
      }
    }
    const joined = coalescer ? await coalescer.join(key, ctx, (entry) => this.open(key, entry, call)) : { kind: "alone" as const };
    if (joined.kind === "stored") {
      this.deps.metrics.cacheHits.inc({ level: "l2", ...labels });
      return answered(joined.plain, "hit");
    }
    if (joined.kind === "answer") {
      this.deps.metrics.cacheCoalesced.inc(labels);
      return answered(joined.plain, "coalesced");
    }
    this.deps.metrics.cacheMisses.inc(labels);
    return this.pending(key, call, joined.kind === "lead" ? joined.lead : undefined);
  }

  async close(): Promise<void> {
    await this.deps.close?.();
  }

  /**
   * Removes the matching entries from Redis and from every instance's memory;
   * returns how many this instance removed. Answers this instance is still
   * writing are waited for first (each Redis command is bounded by its
   * timeout), else a call answered just before the purge would keep its
   * answer just after it. Redis is purged before this memory: a call that
   * reads an entry back from Redis while the scan goes on puts it in memory
   * again, and this instance skips its own purge message.
   */
  async purge(filter: PurgeFilter): Promise<number> {
    await Promise.allSettled(this.keeping);
    let shared = 0;
    try {
      if (this.deps.redis) shared = await this.deps.redis.purge(filter);
      await this.deps.bus?.publish(filter);
    } catch (err) {
      const purged = this.purgeMemory(filter);
      throw gatewayError(
        Code.Unavailable,
        `purged ${purged} entries from this instance's memory, but not those in Redis or on other instances: ${(err as Error).message}; retry when Redis is back`,
        "CACHE_PURGE_INCOMPLETE",
        { purged_from_memory: String(purged) },
      );
    }
    return shared + this.purgeMemory(filter);
  }

  /** Drops the matching entries from this process's memory (a purge made here or told by another instance). */
  purgeMemory(filter: PurgeFilter): number {
    const matches = (field: keyof PurgeFilter, labels: EntryLabels) => filter[field] === undefined || filter[field] === labels[field];
    return this.deps.memory.purge((labels) => matches("partition", labels) && matches("provider", labels) && matches("model", labels));
  }

  /** A miss: the vendor answers, then `store` keeps the answer if the policy allows and hands it to the calls waiting on this one. */
  private pending(key: CacheKey, call: CallCachePolicy, lead: Lead | undefined): CacheLookup {
    let done = false;
    const letGo = (): void => {
      lead?.finish(undefined);
      if (lead?.token) void this.deps.redis?.unlock(key, lead.token);
    };
    return {
      status: "miss",
      progress: () => lead?.progress(),
      store: (answer) => {
        if (done) return;
        done = true;
        const reason = this.deps.policy.notStorable(answer, { provider: key.provider, upstreamModel: key.model }, call.route);
        if (reason) {
          this.deps.metrics.cacheNotStored.inc({ reason });
          return letGo();
        }
        const plain = encodeAnswer(answer);
        // A refresh has no lead: nothing waits on it.
        if (!call.replace) this.track(this.fillEmpty(key, call, plain));
        else this.keep(key, call, plain, lead);
      },
      release: () => {
        if (done) return;
        done = true;
        letGo();
      },
    };
  }

  /** Keeps an answer in both levels and hands it to the calls waiting on this one. */
  private keep(key: CacheKey, call: CallCachePolicy, plain: Uint8Array, lead: Lead | undefined): void {
    const now = this.now();
    const { ttlMs } = call.route;
    this.toMemory(key, plain, now + ttlMs, call);
    lead?.finish(plain);
    if (this.deps.redis) this.track(this.toRedis(this.deps.redis, key, plain, now, ttlMs, { token: lead?.token, writer: call.writer, tenant: call.tenant }));
  }

  private track(keeping: Promise<unknown>): void {
    this.keeping.add(keeping);
    void keeping.finally(() => this.keeping.delete(keeping));
  }

  /**
   * Keeps a shared partition's refreshed answer only where no entry is kept.
   * In Redis the write itself is conditional (SET NX, one step), so an entry
   * another instance writes between the look and the write is kept too.
   */
  private async fillEmpty(key: CacheKey, call: CallCachePolicy, plain: Uint8Array): Promise<void> {
    if (await this.holds(key, call)) return this.sharedEntryKept();
    const now = this.now();
    const { ttlMs } = call.route;
    // The entry kept in Redis fills this memory when next read, as a hit would.
    const options: PutOptions = { onlyIfAbsent: true, writer: call.writer, tenant: call.tenant };
    if (this.deps.redis && (await this.toRedis(this.deps.redis, key, plain, now, ttlMs, options)) === "kept") return this.sharedEntryKept();
    // Looked at again after the waits: an answer a call in this process kept meanwhile stays.
    if (!this.deps.memory.get(key.id)) this.toMemory(key, plain, now + ttlMs, call);
  }

  private sharedEntryKept(): void {
    this.deps.metrics.cacheNotStored.inc({ reason: "shared_entry_kept" });
  }

  /** Whether an entry is kept for the key, in this memory or in Redis (which then fills this memory, as a hit would). */
  private async holds(key: CacheKey, who: Holder): Promise<boolean> {
    if (this.deps.memory.get(key.id)) return true;
    const sealed = await this.deps.redis?.get(key);
    return sealed !== undefined && this.open(key, sealed, who) !== undefined;
  }

  /** Keeps answer bytes in this memory, counted against the share of the key whose call put them there, and of its tenant. */
  private toMemory(key: CacheKey, plain: Uint8Array, expiresAt: number, { writer, tenant }: Holder): void {
    if (this.deps.memory.set(key.id, { bytes: plain, expiresAt, labels: key, writer, tenant })) this.deps.metrics.cacheStoredBytes.inc({ level: "l1" }, plain.length);
  }

  private async toRedis(redis: RedisTier, key: CacheKey, plain: Uint8Array, now: number, ttlMs: number, options: PutOptions): Promise<PutResult> {
    const sealed = sealEntry(plain, this.deps.secret.partitionKey(key.partition), key.id, now + ttlMs);
    const result = await redis.put(key, sealed, { now, ttlMs }, options);
    if (result === "written") this.deps.metrics.cacheStoredBytes.inc({ level: "l2" }, sealed.length);
    else if (result === "too_large") this.deps.metrics.cacheNotStored.inc({ reason: "too_large" });
    else if (result === "full") this.deps.metrics.cacheNotStored.inc({ reason: "l2_full" });
    return result;
  }

  /**
   * An entry from Redis as answer bytes, kept in memory too for the time it
   * has left (counted against the reader's share of memory, and its
   * tenant's: its read put it there); undefined if it does not open.
   */
  private open(key: CacheKey, sealed: Buffer, reader: Holder): Uint8Array | undefined {
    let opened;
    try {
      opened = openEntry(sealed, this.deps.secret.partitionKey(key.partition), key.id);
    } catch (err) {
      this.deps.metrics.cacheUnreadable.inc();
      this.deps.logger.debug({ error: (err as Error).message }, "a Redis cache entry did not open; treated as a miss");
      return undefined;
    }
    if (opened.expiresAt <= this.now()) return undefined;
    this.deps.memory.set(key.id, { bytes: opened.plain, expiresAt: opened.expiresAt, labels: key, writer: reader.writer, tenant: reader.tenant });
    return opened.plain;
  }
}

/** Whose share of each level an entry counts against: the key whose call put it there, and that key's tenant. */
type Holder = Pick<CallCachePolicy, "writer" | "tenant">;

function answered(plain: Uint8Array, status: CacheStatus): CacheLookup {
  const answer: CacheableAnswer = decodeAnswer(plain);
  return { ...CACHE_MISS, status, answer };
}
