// What the memory level counts an entry at covers what its objects take: with the count below
// the real figure, `max_bytes` would let many small answers hold several times their bound.
import { describe, expect, it } from "vitest";
import { ENTRY_OVERHEAD_BYTES, MemoryCache } from "../../src/cache/memory-cache.js";
import { settledHeap } from "../support/settled-heap.js";

describe("an L1 entry's counted cost", () => {
  it("is at least what the entry's objects take on the heap, beyond its bytes and id", async () => {
    const entries = 20_000;
    const answerBytes = 100;
    const cache = new MemoryCache({ maxEntries: entries, maxBytes: Number.MAX_SAFE_INTEGER });
    // The ids exist before the measure, as a call's cache key does before the call is kept.
    const ids = Array.from({ length: entries }, (_, i) => `chat:v1:${i.toString(16).padStart(43, "0")}`);
    const before = await settledHeap();
    for (let i = 0; i < entries; i++) {
      const key = `key:k_${i % 64}`;
      cache.set(ids[i]!, { bytes: new Uint8Array(answerBytes), expiresAt: Date.now() + 3_600_000, labels: { partition: key, provider: "openai", model: "gpt-4o-mini" }, writer: key });
    }
    const grown = (await settledHeap()) - before;
    expect(cache.size).toBe(entries);
    const heapPerEntry = grown / entries;
    // About 750 bytes on Node 20 to 24; far less would mean the measure missed the entries.
    expect(heapPerEntry).toBeGreaterThan(400);
    expect(heapPerEntry).toBeLessThan(ENTRY_OVERHEAD_BYTES);
    expect(cache.bytes).toBe(ids.reduce((sum, id) => sum + id.length + answerBytes + ENTRY_OVERHEAD_BYTES, 0));
  });
});
