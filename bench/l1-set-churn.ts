// What a set() on a full L1 costs: the price each cacheable miss pays to keep
// its answer once memory is at its bounds and every new entry evicts an old
// one. The default bounds (10,000 entries, 64 MiB, a quarter per partition and
// per key, half per team), filled, then churned with fresh ids:
//
//   npx tsx bench/l1-set-churn.ts
import { MemoryCache, type MemoryCacheOptions, type MemoryEntry } from "../src/cache/memory-cache.js";

const MAX_ENTRIES = 10_000;
const SETS = 100_000;
const bytes = new Uint8Array(1024);
const defaults: MemoryCacheOptions = { maxEntries: MAX_ENTRIES, maxBytes: 64 * 1024 * 1024, maxPartitionShare: 0.25, maxWriterShare: 0.25, maxTeamShare: 0.5, now: () => 0 };

/** The entry the i-th set puts in, from one of `keys` gateway keys spread over `teams` teams. */
function entryOf(i: number, keys: number, teams: number): MemoryEntry {
  const key = `key:k${i % keys}`;
  return { bytes, expiresAt: 3_600_000, labels: { partition: key, provider: "openai", model: "gpt-4o-mini" }, writer: key, tenant: `team:t${i % keys % teams}` };
}

interface Scenario {
  name: string;
  options: MemoryCacheOptions;
  keys: number;
  teams: number;
  /** Reads of a recent entry before each set, as hits reorder the LRU lists between misses. */
  hitsPerSet: number;
}

const scenarios: Scenario[] = [
  { name: "one key, default shares (its partition full at 2,500)", options: defaults, keys: 1, teams: 1, hitsPerSet: 0 },
  { name: "one key, shares of 1 (the whole level, 10,000)", options: { ...defaults, maxPartitionShare: 1, maxWriterShare: 1, maxTeamShare: 1 }, keys: 1, teams: 1, hitsPerSet: 0 },
  { name: "200 keys in 20 teams (the level full at 10,000)", options: defaults, keys: 200, teams: 20, hitsPerSet: 0 },
  { name: "200 keys in 20 teams, 2 hits per set", options: defaults, keys: 200, teams: 20, hitsPerSet: 2 },
];

function run({ options, keys, teams, hitsPerSet }: Scenario): number {
  const cache = new MemoryCache(options);
  const fill = 2 * MAX_ENTRIES;
  const ids = Array.from({ length: fill + SETS }, (_, i) => `entry-${i.toString(36).padStart(8, "0")}`);
  const entries = ids.map((_, i) => entryOf(i, keys, teams));
  for (let i = 0; i < fill; i++) cache.set(ids[i]!, entries[i]!);
  let seed = 1;
  const started = process.hrtime.bigint();
  for (let i = fill; i < fill + SETS; i++) {
    for (let h = 0; h < hitsPerSet; h++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      cache.get(ids[i - 1 - (seed % 2_000)]!); // one of the last 2,000 put in: most are still held
    }
    cache.set(ids[i]!, entries[i]!);
  }
  const ns = Number(process.hrtime.bigint() - started) / SETS;
  if (cache.size > MAX_ENTRIES) throw new Error(`held ${cache.size} entries`);
  return ns / 1000;
}

console.log(`\nset() of fresh 1 KB entries into a full L1, ${SETS} times after ${2 * MAX_ENTRIES} to fill it (${process.version}):\n`);
console.log("| scenario | per set (incl. its hits) |");
console.log("|---|---|");
for (const scenario of scenarios) console.log(`| ${scenario.name} | ${run(scenario).toFixed(2)} µs |`);
