import { describe, expect, it } from "vitest";
import { openEntry, sealEntry } from "../../src/cache/entry-seal.js";
import { MemoryCache, type MemoryEntry } from "../../src/cache/memory-cache.js";

const key = Buffer.alloc(32, 7);
const labels = { partition: "key:k1", provider: "openai", model: "gpt-4o-mini" };
const entry = (bytes: Uint8Array): MemoryEntry => ({ bytes, expiresAt: 1_000, labels });

/** An answer as an L2 hit opens it: a small slice of a larger buffer (Node's pool, or zlib's output chunk). */
function openedFromRedis(plain: Buffer): Uint8Array {
  const opened = openEntry(sealEntry(plain, key, "id", 1_000), key, "id").plain;
  expect(opened.byteLength).toBeLessThan(opened.buffer.byteLength);
  return opened;
}

describe("L1 holds no more memory than it counts", () => {
  it("keeps an answer opened from Redis in memory of its own size, not the buffer it was sliced from", () => {
    const cache = new MemoryCache({ maxEntries: 10, maxBytes: 1_000_000, now: () => 0 });
    for (const [id, plain] of [["compressed", Buffer.from("a cached answer ".repeat(40))], ["small", Buffer.from("a short answer")]] as const) {
      const opened = openedFromRedis(plain);
      cache.set(id, entry(opened));
      const kept = cache.get(id)!.bytes;
      expect(kept.buffer.byteLength).toBe(plain.length);
      expect(Buffer.from(kept).equals(plain)).toBe(true);
    }
  });

  it("keeps bytes that already own their memory as they are (no copy on the miss path)", () => {
    const cache = new MemoryCache({ maxEntries: 10, maxBytes: 1_000_000, now: () => 0 });
    const bytes = new Uint8Array([1, 2, 3]);
    cache.set("id", entry(bytes));
    expect(cache.get("id")!.bytes).toBe(bytes);
  });
});
