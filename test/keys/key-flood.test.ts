// Anyone without a key could get real keyed callers refused 503 GATEWAY_KEYS_UNAVAILABLE while the store was healthy:
// random `sk-sb-` keys filled the one 10,000-entry cache (pushing out the keys in use) and the 64 waiting key lookups
// that every digest shared, so a real key not in the cache was refused at once, and one in use was pushed out and
// then refused, or refused through the next store hiccup. Now keys found good and refused digests are cached apart,
// and part of the lookup room is kept for keys this instance has known good; a revoked key is still refused.
// Keys this instance has not seen yet (a fresh deploy, a new key) still shared the rest with the flood: now one
// client may hold only 8 of those lookups, so another client's new key is looked up and served.
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KeyRecord } from "../../src/auth/key-policy.js";
import type { KeyStore } from "../../src/auth/key-store.js";
import { StoredKeyDirectory } from "../../src/auth/stored-key-directory.js";
import { reasonOf } from "../../src/common/gateway-error.js";
import { createLogger } from "../../src/observability/logger.js";
import { failure } from "../support/failure.js";
import { keyDigest, storedKey } from "../support/key-records.js";

/** Far more random keys than the cache holds. */
const CACHE_ENTRIES = 100;
const POSITIVE_TTL_MS = 60_000;

/** A key store in memory that answers real keys at once; lookups of digests it does not hold wait while `holdUnknown`, until `release`. */
class FloodedStore {
  readonly records = new Map<string, KeyRecord>();
  readonly asked = new Map<string, number>();
  generationValue = 0;
  holdUnknown = false;
  failing = false;
  private readonly held: (() => void)[] = [];
  async findByDigest(digest: string): Promise<KeyRecord | undefined> {
    this.asked.set(digest, (this.asked.get(digest) ?? 0) + 1);
    if (this.failing) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
    const record = this.records.get(digest);
    if (!record && this.holdUnknown) await new Promise<void>((resolve) => this.held.push(resolve));
    return record;
  }
  async generation(): Promise<number> {
    return this.generationValue;
  }
  /** Keeps no log of which keys changed: every change may be any key's. */
  async changedKeys(): Promise<string[] | undefined> {
    return undefined;
  }
  get waiting(): number {
    return this.held.length;
  }
  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
  add(id: string, overrides: Partial<KeyRecord> = {}): void {
    this.records.set(storedKey(id).digest, storedKey(id, overrides));
  }
  timesAsked(id: string): number {
    return this.asked.get(storedKey(id).digest) ?? 0;
  }
}

async function directory(store: FloodedStore): Promise<StoredKeyDirectory> {
  // The default room for waiting lookups (64); no poll of its own: the test says when changes are read.
  const dir = new StoredKeyDirectory(store as unknown as KeyStore, {
    logger: createLogger("silent"),
    pollMs: 3_600_000,
    positiveTtlMs: POSITIVE_TTL_MS,
    maxEntries: CACHE_ENTRIES,
    readTimeoutMs: 600_000,
  });
  await dir.start();
  return dir;
}

const randomKeys = (count: number) => Array.from({ length: count }, () => randomBytes(32));

describe("a flood of random keys against the key directory", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("neither pushes known keys out of the cache nor takes the lookup room they need, and a revoked key is still refused", async () => {
    const store = new FloodedStore();
    for (const id of ["expiring", "cached", "changed", "revoked", "revoked-unnamed"]) store.add(id);
    const dir = await directory(store);
    vi.useFakeTimers({ toFake: ["Date"] }); // the clock moves only when the test says
    try {
      expect((await dir.lookup(keyDigest("expiring")))?.keyId).toBe("expiring");
      vi.setSystemTime(Date.now() + POSITIVE_TTL_MS - 10_000);
      for (const id of ["cached", "changed", "revoked", "revoked-unnamed"]) expect((await dir.lookup(keyDigest(id)))?.keyId).toBe(id);

      // Three cachefuls of random keys, answered at once: each refused.
      for (const digest of randomKeys(3 * CACHE_ENTRIES)) expect(await dir.lookup(digest)).toBeUndefined();
      // Then more random keys at once than lookups may wait, on a store that is slow to answer them.
      store.holdUnknown = true;
      const flood = randomKeys(100).map((digest) => Promise.resolve(dir.lookup(digest)).catch((err: unknown) => err));
      expect(store.waiting).toBeGreaterThan(0);
      expect(store.waiting).toBeLessThan(100);
      vi.setSystemTime(Date.now() + 20_000); // "expiring" is past its time in the cache, "cached" is not

      // A key in use is served from the cache, without a store round trip.
      const asked = store.timesAsked("cached");
      expect((await dir.lookup(keyDigest("cached")))?.keyId).toBe("cached");
      expect(store.timesAsked("cached")).toBe(asked);
      // A key whose entry merely expired is served, and read again: its lookup does not queue behind the flood's.
      expect((await dir.lookup(keyDigest("expiring")))?.keyId).toBe("expiring");
      expect(store.timesAsked("expiring")).toBe(2);
      // A key a change evicted is read again at once, and served as it now is.
      store.add("changed", { displayName: "renamed" });
      dir.evict("changed");
      expect((await dir.lookup(keyDigest("changed")))?.name).toBe("renamed");

      // A key revoked is refused at once, the news told (evict) or only counted (every key read again).
      store.add("revoked", { revokeMs: Date.now() });
      dir.evict("revoked");
      expect(await dir.lookup(keyDigest("revoked"))).toBeUndefined();
      expect(dir.refusal(keyDigest("revoked"))?.why).toBe("revoked");
      store.add("revoked-unnamed", { revokeMs: Date.now() });
      store.generationValue++;
      await dir.catchUp();
      expect(await dir.lookup(keyDigest("revoked-unnamed"))).toBeUndefined();
      expect(dir.refusal(keyDigest("revoked-unnamed"))?.why).toBe("revoked");

      // Random keys are still turned away past their share of the room, and refused once the store answers.
      const turnedAway = await failure(Promise.resolve(dir.lookup(randomBytes(32))));
      expect(turnedAway.code).toBe(Code.Unavailable);
      expect(reasonOf(turnedAway)).toBe("GATEWAY_KEYS_UNAVAILABLE");
      store.release();
      for (const outcome of await Promise.all(flood)) {
        if (outcome !== undefined) expect(reasonOf(ConnectError.from(outcome))).toBe("GATEWAY_KEYS_UNAVAILABLE");
      }
    } finally {
      store.release();
      dir.close();
    }
  });

  it("leaves room for other clients' new keys when one client floods: its lookups past its share are refused busy", async () => {
    const store = new FloodedStore();
    const dir = await directory(store);
    // One client floods with random keys at once, from random addresses of its /64 (a host may pick any of them).
    const floodFrom = () => `2001:db8:0:1:${randomBytes(8).toString("hex").match(/.{4}/g)!.join(":")}`;
    const flood = (count: number) => randomKeys(count).map((digest) => Promise.resolve(dir.lookup(digest, floodFrom())).catch((err: unknown) => ConnectError.from(err)));
    try {
      store.holdUnknown = true;
      const first = flood(100);
      expect(store.waiting).toBe(8);
      const outcomes = await Promise.all(first.slice(8));
      for (const refused of outcomes) {
        expect(refused).toBeInstanceOf(ConnectError);
        expect((refused as ConnectError).code).toBe(Code.Unavailable);
        expect(reasonOf(refused as ConnectError)).toBe("GATEWAY_KEYS_UNAVAILABLE");
        expect((refused as ConnectError).message).toContain("8 key lookups from this client are already waiting on the store");
      }

      // A key created since this instance started, from another client: looked up and served.
      store.add("created-since");
      expect((await dir.lookup(keyDigest("created-since"), "203.0.113.7"))?.keyId).toBe("created-since");
      // An unknown key from a third client (an IPv4 client of a dual-stack socket) and one from an in-process caller still reach the store.
      const third = Promise.resolve(dir.lookup(randomBytes(32), "::ffff:198.51.100.9"));
      const inProcess = Promise.resolve(dir.lookup(randomBytes(32)));
      expect(store.waiting).toBe(10);

      // Once the store answers, each is refused as unknown, and the flooding client has its share again.
      store.release();
      expect(await third).toBeUndefined();
      expect(await inProcess).toBeUndefined();
      for (const outcome of await Promise.all(first.slice(0, 8))) expect(outcome).toBeUndefined();
      const again = flood(9);
      expect(store.waiting).toBe(8);
      store.release();
      expect((await Promise.all(again)).filter((outcome) => outcome !== undefined)).toHaveLength(1);
    } finally {
      store.release();
      dir.close();
    }
  });

  it("gives no share of its own to a private or loopback address, where a proxy speaks for every caller behind it", async () => {
    const store = new FloodedStore();
    const dir = await directory(store);
    try {
      store.holdUnknown = true;
      // nginx in front of the gateway: each caller's first lookup comes from its address.
      const behindProxy = ["10.0.0.5", "127.0.0.1", "::1", "fd00::5", "::ffff:192.168.1.9"].flatMap((address) => randomKeys(8).map((digest) => Promise.resolve(dir.lookup(digest, address))));
      expect(store.waiting).toBe(40);
      store.release();
      for (const outcome of await Promise.all(behindProxy)) expect(outcome).toBeUndefined();
    } finally {
      store.release();
      dir.close();
    }
  });

  it("keeps serving keys in use through a store outage that follows a flood", async () => {
    const store = new FloodedStore();
    store.add("warm");
    const dir = await directory(store);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      expect((await dir.lookup(keyDigest("warm")))?.keyId).toBe("warm");
      for (const digest of randomKeys(3 * CACHE_ENTRIES)) expect(await dir.lookup(digest)).toBeUndefined();
      store.failing = true;
      expect((await dir.lookup(keyDigest("warm")))?.keyId).toBe("warm");
      vi.setSystemTime(Date.now() + POSITIVE_TTL_MS + 1);
      expect((await dir.lookup(keyDigest("warm")))?.keyId).toBe("warm");
      expect((await failure(Promise.resolve(dir.lookup(randomBytes(32))))).code).toBe(Code.Unavailable);
    } finally {
      dir.close();
    }
  });
});
