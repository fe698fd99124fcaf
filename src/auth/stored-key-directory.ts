import { Code } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import type { Logger } from "../observability/logger.js";
import type { KeyDirectory, KeyRefusal } from "./key-directory.js";
import { KeyPolicy, type KeyRecord } from "./key-policy.js";
import type { KeyStore } from "./key-store.js";
import type { Principal } from "./principal.js";

export interface StoredKeyDirectoryOptions {
  logger: Logger;
  /** How long a found key is trusted without asking the store (changes evict it sooner). */
  positiveTtlMs?: number;
  /** How long an unknown digest is remembered (so floods of wrong keys do not reach the store). */
  negativeTtlMs?: number;
  /** How often the store's change counter is read; a change evicts the keys it names. */
  pollMs?: number;
  maxEntries?: number;
}

/** While the store is unreachable, how long a known key is served before the store is tried again. */
const STORE_RETRY_MS = 5_000;

interface Entry {
  principal: Principal | undefined;
  keyId: string | undefined;
  /** Set when the digest is a revoked key's. */
  revokedMs?: number;
  at: number;
  /** Any key may have changed since this was read: read it again before serving it, unless the store is unreachable. */
  stale?: boolean;
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
 * the store is unreachable.
 */
export class StoredKeyDirectory implements KeyDirectory {
  private readonly cache = new Map<string, Entry>();
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
  private readonly maxEntries: number;

  constructor(
    private readonly store: KeyStore,
    private readonly options: StoredKeyDirectoryOptions,
  ) {
    this.positiveTtlMs = options.positiveTtlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 1_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  async start(): Promise<void> {
    this.generation = await this.store.generation();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 500);
    this.timer.unref();
  }

  lookup(digest: Buffer): Promise<Principal | undefined> | Principal | undefined {
    const hex = digest.toString("hex");
    const entry = this.cache.get(hex);
    const now = Date.now();
    if (entry && !entry.stale && now - entry.at < (entry.principal ? this.positiveTtlMs : this.negativeTtlMs)) return usable(entry.principal, now);
    const pending = this.refresh(hex, entry);
    // A known key past its TTL is served while it is re-read in the background (changes evict it anyway);
    // a stale one only once the store has failed to answer for it (load).
    if (entry?.principal && !entry.stale) {
      pending.catch(() => {});
      return usable(entry.principal, now);
    }
    return pending.then((principal) => usable(principal, Date.now()));
  }

  private refresh(hex: string, entry: Entry | undefined): Promise<Principal | undefined> {
    let pending = this.loading.get(hex);
    if (!pending) {
      const loading = this.load(hex, entry).finally(() => {
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
    for (const [hex, entry] of this.cache) if (entry.keyId === keyId) this.cache.delete(hex);
    for (const listener of this.forgetListeners) listener(keyId);
  }

  /** Reads the store's changes now, rather than at the next poll: news may have been missed (a Redis reconnection). */
  catchUp(): Promise<void> {
    return this.poll();
  }

  private markAllStale(): void {
    this.epoch++;
    this.loading.clear();
    for (const entry of this.cache.values()) entry.stale = true;
    for (const listener of this.forgetListeners) listener(undefined);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async load(hex: string, stale: Entry | undefined): Promise<Principal | undefined> {
    const epoch = this.epoch;
    let record: KeyRecord | undefined;
    try {
      record = await this.store.findByDigest(hex);
    } catch (err) {
      this.options.logger.error({ error: (err as Error).message }, "could not read gateway keys from the store");
      // A key seen recently still works while the store is unreachable (tried again in a few seconds, in the
      // background); a revocation made meanwhile waits for the store. An evicted key is not among them.
      if (stale?.principal) {
        if (epoch === this.epoch) this.cache.set(hex, { ...stale, stale: false, at: Date.now() - this.positiveTtlMs + STORE_RETRY_MS });
        return stale.principal;
      }
      throw gatewayError(Code.Unavailable, "gateway keys cannot be checked right now; retry shortly", "GATEWAY_KEYS_UNAVAILABLE", {}, 1_000);
    }
    const principal = record && record.revokeMs === undefined ? toPrincipal(record) : undefined;
    if (epoch !== this.epoch) return principal;
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hex, { principal, keyId: record?.id, revokedMs: record?.revokeMs, at: Date.now() });
    return principal;
  }

  private async poll(): Promise<void> {
    // A slow store must not pile polls up.
    if (this.polling) return;
    this.polling = true;
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
    } catch (err) {
      if (!this.pollFailing) this.options.logger.warn({ error: (err as Error).message }, "could not poll gateway-key changes");
      this.pollFailing = true;
    } finally {
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
