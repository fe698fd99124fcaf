// L1's evictions, against a model written plainly (arrays scanned in full)
// from what memory-cache.ts promises: the least recently used out first, one
// partition, one writer, one tenant, then the whole level held to its bounds
// in that order, a hit making an entry the most recent everywhere. Seeded
// random runs (replacing entries, expiries, purges, groups emptied and made
// anew) must agree with it op by op: the cache's own lists are there to make
// each step O(1), not to decide otherwise.
import { describe, expect, it } from "vitest";
import { ENTRY_OVERHEAD_BYTES, type EntryLabels, MemoryCache, type MemoryCacheOptions, type MemoryEntry } from "../../src/cache/memory-cache.js";

interface ModelEntry {
  id: string;
  entry: MemoryEntry;
  cost: number;
  names: string[];
}

/** The promise, plainly: one array, least recently used first. */
class ModelL1 {
  private held: ModelEntry[] = [];
  readonly evictions: string[] = [];

  constructor(
    private readonly options: Required<Pick<MemoryCacheOptions, "maxEntries" | "maxBytes" | "maxPartitionShare" | "maxWriterShare" | "maxTeamShare">>,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.held.length;
  }

  get bytes(): number {
    return this.held.reduce((sum, each) => sum + each.cost, 0);
  }

  get(id: string): MemoryEntry | undefined {
    const found = this.held.find((each) => each.id === id);
    if (!found) return undefined;
    this.held = this.held.filter((each) => each !== found);
    if (found.entry.expiresAt <= this.now()) {
      this.evictions.push("expired");
      return undefined;
    }
    this.held.push(found);
    return found.entry;
  }

  set(id: string, entry: MemoryEntry): boolean {
    const cost = entry.bytes.length + id.length + ENTRY_OVERHEAD_BYTES;
    const { maxEntries, maxBytes } = this.options;
    const shares = [this.options.maxPartitionShare, this.options.maxWriterShare, this.options.maxTeamShare];
    const bounds = shares.map((share) => ({ entries: Math.max(1, Math.floor(maxEntries * share)), bytes: Math.floor(maxBytes * share) }));
    if (bounds.some((bound) => cost > bound.bytes) || entry.expiresAt <= this.now()) return false;
    const writer = entry.writer ?? entry.labels.partition;
    const names = [entry.labels.partition, writer, entry.tenant ?? writer];
    this.held = this.held.filter((each) => each.id !== id);
    this.held.push({ id, entry, cost, names });
    bounds.forEach((bound, index) => this.evictWhileOver((each) => each.names[index] === names[index], bound));
    this.evictWhileOver(() => true, { entries: maxEntries, bytes: maxBytes });
    return true;
  }

  purge(matches: (labels: EntryLabels) => boolean): number {
    const before = this.held.length;
    this.held = this.held.filter((each) => !matches(each.entry.labels));
    return before - this.held.length;
  }

  private evictWhileOver(inGroup: (each: ModelEntry) => boolean, bound: { entries: number; bytes: number }): void {
    for (;;) {
      const group = this.held.filter(inGroup);
      if (group.length <= bound.entries && group.reduce((sum, each) => sum + each.cost, 0) <= bound.bytes) return;
      const victim = group[0]!;
      this.held = this.held.filter((each) => each !== victim);
      this.evictions.push(victim.entry.expiresAt <= this.now() ? "expired" : "capacity");
    }
  }
}

/** A small seeded generator, so a failing run can be replayed. */
function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return Math.floor((state / 2_147_483_648) * below);
  };
}

const SHARES = [0.25, 0.5, 1];

describe("L1 against its model", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`keeps and drops the same entries, step by step (seed ${seed})`, () => {
      const pick = random(seed);
      let now = 1_000;
      const options = { maxEntries: 6 + pick(10), maxBytes: 1_500 + pick(3_000), maxPartitionShare: SHARES[pick(3)]!, maxWriterShare: SHARES[pick(3)]!, maxTeamShare: SHARES[pick(3)]! };
      const evictions: string[] = [];
      const cache = new MemoryCache({ ...options, now: () => now, onEvict: (reason) => evictions.push(reason) });
      const model = new ModelL1(options, () => now);
      const partition = () => ["key:a", "key:b", "key:c", "team:red", "route:openai:bot"][pick(5)]!;

      for (let step = 0; step < 3_000; step++) {
        const op = pick(100);
        const id = `e${pick(40)}`;
        if (op < 55) {
          const entry: MemoryEntry = {
            bytes: new Uint8Array(pick(400)),
            expiresAt: now + pick(60),
            labels: { partition: partition(), provider: "openai", model: "gpt-4o-mini" },
            ...(pick(4) > 0 && { writer: ["key:a", "key:b", "key:c", "key:d"][pick(4)] }),
            ...(pick(3) > 0 && { tenant: ["team:red", "team:blue"][pick(2)] }),
          };
          expect(cache.set(id, entry), `set at step ${step}`).toBe(model.set(id, entry));
        } else if (op < 90) {
          expect(cache.get(id)?.expiresAt, `get at step ${step}`).toBe(model.get(id)?.expiresAt);
        } else if (op < 92) {
          const purged = partition();
          expect(cache.purge((labels) => labels.partition === purged)).toBe(model.purge((labels) => labels.partition === purged));
        } else {
          now += pick(5);
        }
        expect([cache.size, cache.bytes, evictions.length], `after step ${step}`).toEqual([model.size, model.bytes, model.evictions.length]);
      }
      expect(evictions).toEqual(model.evictions);
      now = 0; // nothing expires: which ids each holds
      for (let i = 0; i < 40; i++) expect(cache.get(`e${i}`)?.expiresAt, `e${i} at the end`).toBe(model.get(`e${i}`)?.expiresAt);
    });
  }
});
