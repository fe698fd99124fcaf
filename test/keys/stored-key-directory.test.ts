import { describe, expect, it, vi } from "vitest";
import type { KeyRecord } from "../../src/auth/key-policy.js";
import type { KeyStore } from "../../src/auth/key-store.js";
import { StoredKeyDirectory } from "../../src/auth/stored-key-directory.js";
import { createLogger } from "../../src/observability/logger.js";
import { keyDigest, storedKey } from "../support/key-records.js";

/** A key store in memory that counts lookups. */
class CountingStore {
  readonly records = new Map<string, KeyRecord>();
  lookups = 0;
  generationValue = 0;
  failing = false;
  async findByDigest(digest: string): Promise<KeyRecord | undefined> {
    this.lookups++;
    if (this.failing) throw new Error("store unreachable");
    return this.records.get(digest);
  }
  async generation(): Promise<number> {
    return this.generationValue;
  }
  /** Keeps no log of which keys changed: every change may be any key's. */
  async changedKeys(): Promise<string[] | undefined> {
    return undefined;
  }
}

async function directory(store: CountingStore, pollMs = 20): Promise<StoredKeyDirectory> {
  const dir = new StoredKeyDirectory(store as unknown as KeyStore, { logger: createLogger("silent"), pollMs, negativeTtlMs: 100 });
  await dir.start();
  return dir;
}

describe("stored gateway keys behind the in-process cache", () => {
  it("asks the store once per key, then answers from memory", async () => {
    const store = new CountingStore();
    store.records.set(storedKey("alpha").digest, storedKey("alpha", { team: "payments" }));
    const dir = await directory(store);
    const results = await Promise.all(Array.from({ length: 50 }, () => dir.lookup(keyDigest("alpha"))));
    expect(results.every((p) => p?.keyId === "alpha" && p.team === "payments")).toBe(true);
    expect(store.lookups).toBe(1);
    for (let i = 0; i < 100; i++) await dir.lookup(keyDigest("alpha"));
    expect(store.lookups).toBe(1);
    dir.close();
  });

  it("remembers unknown keys briefly, so a flood of wrong keys does not reach the store", async () => {
    const store = new CountingStore();
    const dir = await directory(store);
    vi.useFakeTimers({ toFake: ["Date"] }); // the clock moves only when the test says
    try {
      for (let i = 0; i < 20; i++) expect(await dir.lookup(keyDigest("wrong"))).toBeUndefined();
      expect(store.lookups).toBe(1);
      vi.setSystemTime(Date.now() + 120);
      await dir.lookup(keyDigest("wrong"));
      expect(store.lookups).toBe(2);
    } finally {
      vi.useRealTimers();
      dir.close();
    }
  });

  it("drops a key on eviction, and everything when the store's change counter moves", async () => {
    const store = new CountingStore();
    store.records.set(storedKey("alpha").digest, storedKey("alpha"));
    const dir = await directory(store);
    await dir.lookup(keyDigest("alpha"));
    store.records.set(storedKey("alpha").digest, storedKey("alpha", { revokeMs: 1 }));
    expect(await dir.lookup(keyDigest("alpha"))).toBeDefined(); // still cached
    dir.evict("alpha");
    expect(await dir.lookup(keyDigest("alpha"))).toBeUndefined();

    store.records.set(storedKey("beta").digest, storedKey("beta"));
    await dir.lookup(keyDigest("beta"));
    store.records.delete(storedKey("beta").digest);
    store.generationValue++;
    await expect.poll(async () => await dir.lookup(keyDigest("beta"))).toBeUndefined();
    dir.close();
  });

  it("refuses an expired key even from the cache", async () => {
    const store = new CountingStore();
    const dir = await directory(store);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      store.records.set(storedKey("soon").digest, storedKey("soon", { expireMs: Date.now() + 80 }));
      expect(await dir.lookup(keyDigest("soon"))).toBeDefined();
      vi.setSystemTime(Date.now() + 100);
      expect(await dir.lookup(keyDigest("soon"))).toBeUndefined();
      expect(store.lookups).toBe(1);
    } finally {
      vi.useRealTimers();
      dir.close();
    }
  });

  it("keeps serving a recently seen key while the store is unreachable, and says Unavailable for unknown ones", async () => {
    const store = new CountingStore();
    store.records.set(storedKey("alpha").digest, storedKey("alpha"));
    const dir = new StoredKeyDirectory(store as unknown as KeyStore, { logger: createLogger("silent"), positiveTtlMs: 10 });
    await dir.start();
    await dir.lookup(keyDigest("alpha"));
    store.failing = true;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await dir.lookup(keyDigest("alpha")))?.keyId).toBe("alpha");
    await expect(Promise.resolve(dir.lookup(keyDigest("other")))).rejects.toThrow(/cannot be checked right now/);
    dir.close();
  });
});
