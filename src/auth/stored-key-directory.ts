import { Code } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import { DEFAULT_STORE_QUERY_TIMEOUT_MS } from "../config/usage-config.js";
import type { Logger } from "../observability/logger.js";
import { KeyCache, type KeyCacheEntry } from "./key-cache.js";
import type { KeyDirectory, KeyRefusal } from "./key-directory.js";
import { KeyPolicy, type KeyRecord } from "./key-policy.js";
import type { KeyStore } from "./key-store.js";
import type { Principal } from "./principal.js";
import { StoreLookupRoom } from "./store-lookup-room.js";

export interface StoredKeyDirectoryOptions {
  logger: Logger;
  /** How long a found key is trusted without asking the store (changes evict it sooner). */
  positiveTtlMs?: number;
  /** How long an unknown digest is remembered (so floods of wrong keys do not reach the store). */
  negativeTtlMs?: number;
  /** How often the store's change counter is read; a change evicts the keys it names. */
  pollMs?: number;
  /** Keys found good cached at most, and as many refused digests apart (so random keys never push out a good key). */
  maxEntries?: number;
  /** How long a read of the store on a call's path may take (store.query_timeout_ms): past it, the call is refused Unavailable. */
  readTimeoutMs?: number;
  /**
   * Key lookups waiting on the store at most (one per digest, however many calls ask for it); past it a lookup is
   * refused at once. Digests this instance has not known good may take only three quarters of it, and each client
   * only 8 of those (`StoreLookupRoom`).
   */
  maxPendingLookups?: number;
  /** Told whether the store answered the last read (a lookup or the change poll) in time: the store's health. */
  onStoreState?: (answering: boolean, error?: string) => void;
}

/** While the store is unreachable, how long a known key is served before the store is tried again. */
const STORE_RETRY_MS = 5_000;

/**
 * Far more digests than honest callers have unread at once (each is one
 * query, and the pool has 10 connections); a flood of random keys against a
 * store that does not answer is refused at once past it, instead of piling up.
 */
const MAX_PENDING_LOOKUPS = 64;

/** Why a read was not made or not waited for: the store itself may be fine (`busy`), or did not answer in time. */
class StoreReadAbandoned extends Error {
  constructor(readonly why: "busy" | "timeout", message: string) {
    super(message);
  }
}

/**
 * Stored gateway keys, looked up by digest through a small in-process cache,
 * so a call costs no store round trip. A change to a key reaches every
 * instance within a second: at once through `evict` (this instance, and the
 * others through Redis pub/sub when configured), and in any case through a
 * poll of the store's change counter every `pollMs`, whose log names the keys
 * that changed. Only those are evicted: the others stay cached, so that a
 * store outage just after routine key admin does not refuse every caller.
 * When the log cannot say (an instance fell far behind), every entry is
 * marked stale: read again before it is served, or served as it was while
 * the store is unreachable. Random keys cannot take what known keys need: they
 * neither push a good key out of the cache (`KeyCache`) nor hold all the room
 * for lookups waiting on the store (`StoreLookupRoom`), and one client's
 * random keys leave room for other clients' new keys.
 */
export class StoredKeyDirectory implements KeyDirectory {
  private readonly cache: KeyCache;
  private readonly loading = new Map<string, Promise<Principal | undefined>>();
  private generation: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pollFailing = false;
  private polling = false;
  /** Grows with every eviction: a lookup that began before one must not cache what it read. */
  private epoch = 0;
  private readonly forgetListeners: ((keyId: string | undefined) => void)[] = [];
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly readTimeoutMs: number;
  /** Lookups sent to the store and not yet answered (or failed), those whose callers stopped waiting included. */
  private readonly lookupRoom: StoreLookupRoom;

  constructor(
    private readonly store: KeyStore,
    private readonly options: StoredKeyDirectoryOptions,
  ) {
    this.positiveTtlMs = options.positiveTtlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 1_000;
    this.cache = new KeyCache(options.maxEntries ?? 10_000);
    this.readTimeoutMs = options.readTimeoutMs ?? DEFAULT_STORE_QUERY_TIMEOUT_MS;
    this.lookupRoom = new StoreLookupRoom(options.maxPendingLookups ?? MAX_PENDING_LOOKUPS);
  }

  async start(): Promise<void> {
    this.generation = await this.store.generation();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 500);
    this.timer.unref();
  }

  lookup(digest: Buffer, remoteAddress?: string): Promise<Principal | undefined> | Principal | undefined {
    const hex = digest.toString("hex");
    const entry = this.cache.get(hex);
    const now = Date.now();
    if (entry && !entry.stale && now - entry.at < (entry.principal ? this.positiveTtlMs : this.negativeTtlMs)) return usable(entry.principal, now);
    const pending = this.refresh(hex, entry, remoteAddress);
    // A known key past its TTL is served while it is re-read in the background (changes evict it anyway);
    // a stale one only once the store has failed to answer for it (load).
    if (entry?.principal && !entry.stale) {
      pending.catch(() => {});
      return usable(entry.principal, now);
    }
    return pending.then((principal) => usable(principal, Date.now()));
  }

  /** The digest's lookup, begun now or joined (the store is asked once, on the room of the client that asked first). */
  private refresh(hex: string, entry: KeyCacheEntry | undefined, remoteAddress: string | undefined): Promise<Principal | undefined> {
    let pending = this.loading.get(hex);
    if (!pending) {
      const loading = this.load(hex, entry, remoteAddress).finally(() => {
        if (this.loading.get(hex) === loading) this.loading.delete(hex);
      });
      this.loading.set(hex, loading);
      pending = loading;
    }
    return pending;
  }

  /** Whether a digest `lookup` refused is a revoked or expired key's, as far as the cache knows (no store round trip). */
  refusal(digest: Buffer): KeyRefusal | undefined {
    const entry = this.cache.get(digest.toString("hex"));
    if (!entry?.keyId) return undefined;
    if (entry.revokedMs !== undefined) return { keyId: entry.keyId, why: "revoked", atMs: entry.revokedMs };
    const expireMs = entry.principal?.policy?.record.expireMs;
    return expireMs !== undefined && expireMs <= Date.now() ? { keyId: entry.keyId, why: "expired", atMs: expireMs } : undefined;
  }

  /**
   * Calls `listener` whenever a key may have changed: with its id, or with
   * undefined when any key may have (a change counted in the store, or a
   * reconnection that may have missed news). For what holds a key's rights
   * beyond one call, such as a watch.
   */
  onForget(listener: (keyId: string | undefined) => void): void {
    this.forgetListeners.push(listener);
  }

  /** Forgets one key (after it changed here, or news of a change elsewhere). */
  evict(keyId: string): void {
    this.epoch++;
    this.loading.clear();
    this.cache.dropKey(keyId);
    for (const listener of this.forgetListeners) listener(keyId);
  }

  /** Reads the store's changes now, rather than at the next poll: news may have been missed (a Redis reconnection). */
  catchUp(): Promise<void> {
    return this.poll();
  }

  private markAllStale(): void {
    this.epoch++;
    this.loading.clear();
    this.cache.markAllStale();
    for (const listener of this.forgetListeners) listener(undefined);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async load(hex: string, stale: KeyCacheEntry | undefined, remoteAddress: string | undefined): Promise<Principal | undefined> {
    const epoch = this.epoch;
    let record: KeyRecord | undefined;
    try {
      record = await this.lookupInStore(hex, this.cache.knownGood(hex), remoteAddress);
    } catch (err) {
      // Refused for want of room: the store's state is told by the lookups that hold the room, and a flood logs nothing per key.
      if (!(err instanceof StoreReadAbandoned && err.why === "busy")) {
        this.options.onStoreState?.(false, (err as Error).message);
        this.options.logger.error({ error: (err as Error).message }, "could not read gateway keys from the store");
      }
      // A key seen recently still works while the store is unreachable (tried again in a few seconds, in the
      // background); a revocation made meanwhile waits for the store. An evicted key is not among them.
      if (stale?.principal) {
        if (epoch === this.epoch) this.cache.set(hex, { ...stale, stale: false, at: Date.now() - this.positiveTtlMs + STORE_RETRY_MS });
        return stale.principal;
      }
      const why = err instanceof StoreReadAbandoned ? ` (${err.message})` : "";
      throw gatewayError(Code.Unavailable, `gateway keys cannot be checked right now${why}; retry shortly`, "GATEWAY_KEYS_UNAVAILABLE", {}, 1_000);
    }
    this.options.onStoreState?.(true);
    const principal = record && record.revokeMs === undefined ? toPrincipal(record) : undefined;
    if (epoch !== this.epoch) return principal;
    this.cache.set(hex, { principal, keyId: record?.id, revokedMs: record?.revokeMs, at: Date.now() });
    return principal;
  }

  /**
   * The store's record for a digest, bounded in time and in how many such reads wait at once (fewer for a digest
   * not `knownGood`, and fewer still from one client).
   */
  private lookupInStore(hex: string, knownGood: boolean, remoteAddress: string | undefined): Promise<KeyRecord | undefined> {
    const place = this.lookupRoom.take(knownGood, remoteAddress);
    if (typeof place === "string") return Promise.reject(new StoreReadAbandoned("busy", place));
    // Counted until the store answers, not until its caller stops waiting: the driver's own timeout ends the query.
    const lookup = this.store.findByDigest(hex).finally(place.release);
    lookup.catch(() => {}); // once abandoned, its failure is no one's to handle
    // A store that hangs must not hold the call.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreReadAbandoned("timeout", `the key store timed out: no answer within ${this.readTimeoutMs} ms`)), this.readTimeoutMs);
    });
    return Promise.race([lookup, late]).finally(() => clearTimeout(timer));
  }

  private async poll(): Promise<void> {
    // A slow store must not pile polls up: one at a time, however long it takes (the driver's timeout ends it);
    // past readTimeoutMs health says the store does not answer.
    if (this.polling) return;
    this.polling = true;
    const late = setTimeout(() => this.options.onStoreState?.(false, `the key store timed out: no answer within ${this.readTimeoutMs} ms`), this.readTimeoutMs);
    late.unref();
    try {
      const generation = await this.store.generation();
      if (generation !== this.generation) {
        // A counter that went back (a restored database) names nothing: every key is re-read.
        const changed = this.generation !== undefined && generation > this.generation ? await this.store.changedKeys(this.generation, generation) : undefined;
        this.generation = generation;
        if (changed) for (const keyId of changed) this.evict(keyId);
        else this.markAllStale();
      }
      this.pollFailing = false;
      this.options.onStoreState?.(true);
    } catch (err) {
      this.options.onStoreState?.(false, (err as Error).message);
      if (!this.pollFailing) this.options.logger.warn({ error: (err as Error).message }, "could not poll gateway-key changes");
      this.pollFailing = true;
    } finally {
      clearTimeout(late);
      this.polling = false;
    }
  }
}

function toPrincipal(record: KeyRecord): Principal {
  return { keyId: record.id, name: record.displayName, admin: record.admin, team: record.team, policy: new KeyPolicy(record) };
}

/** An expired key stops working at its expiry time, cached or not. */
function usable(principal: Principal | undefined, now: number): Principal | undefined {
  return principal?.policy?.expired(now) ? undefined : principal;
}
