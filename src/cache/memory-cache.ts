import { LruList, type LruNode } from "./lru-list.js";

/** Who an entry belongs to and what it answers: what purges match on. */
export interface EntryLabels {
  partition: string;
  provider: string;
  model: string;
}

export interface MemoryEntry {
  /** The answer's bytes (answer-codec.ts). */
  bytes: Uint8Array;
  /** Epoch ms. */
  expiresAt: number;
  labels: EntryLabels;
  /**
   * The gateway key whose call put it here (its answer, or an L2 entry its
   * read filled), named as its own partition (`key:{id}`); the entry's
   * partition when not said.
   */
  writer?: string;
  /** The writer's tenant: its team (`team:{team}`), or the writer itself (the default) for a key without a team. */
  tenant?: string;
}

export interface MemoryCacheOptions {
  maxEntries: number;
  maxBytes: number;
  /** The part of both bounds one partition (a key's, a team's, a route's) may hold, in (0, 1]; 1 by default. */
  maxPartitionShare?: number;
  /** The part of both bounds the entries one writer put in may hold, across every partition, in (0, 1]; `maxPartitionShare` by default. */
  maxWriterShare?: number;
  /** The part of both bounds the entries one tenant's writers (a team's keys) put in may hold together, in (0, 1]; 1 by default. */
  maxTeamShare?: number;
  now?: () => number;
  /** Told of each entry dropped to make room ("capacity") or found expired ("expired"). */
  onEvict?: (reason: "capacity" | "expired") => void;
}

/**
 * What an entry costs beyond its bytes and its id: its objects (the entry, its
 * labels, its byte array's own object, the cache's record, its node in each
 * of four lists, its map slot), about 750 bytes of heap on Node 20 to 24
 * (test/cache/memory-cache-entry-cost.test.ts measures it), and its bytes'
 * buffer outside the heap (the allocator's share). Counted so, `max_bytes`
 * bounds what many small entries really hold.
 */
export const ENTRY_OVERHEAD_BYTES = 1024;

/** The entries of one partition, of one writer, of one tenant, or of the whole level: least recently used first, their cost, and its bounds. */
interface Group {
  name: string;
  lru: LruList<Place>;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  /** The grouping's groups by name, which it leaves with its last entry; none for the whole level. */
  listedIn?: Map<string, Group>;
}

/** Entries grouped by one name (their partition, their writer, their tenant), each group held to its share of both bounds. */
interface Grouping {
  nameOf(entry: MemoryEntry): string;
  groups: Map<string, Group>;
  maxEntries: number;
  maxBytes: number;
}

/** An entry kept: its cost, and its place in each group it counts in, in the order room is made (its partition's, its writer's, its tenant's, the whole level's). */
interface Held {
  id: string;
  entry: MemoryEntry;
  cost: number;
  places: Place[];
}

/** An entry's node in one group's list. */
interface Place extends LruNode<Place> {
  held: Held;
  group: Group;
}

/**
 * L1: answers in this process's memory, bounded by entries and by bytes,
 * least recently used out first, each with its own expiry (checked when
 * read; expired entries also go first when room is needed, being the least
 * recently used). Each entry has a place in a linked list of the whole level
 * and in one of each of its groups, moved to the end on each hit: the first
 * is the least recently used, and making room costs O(1) per entry dropped
 * (lru-list.ts says why not a Map's order).
 *
 * A partition past its share of either bound makes room from its own
 * entries, and so does a writer (the gateway key whose call put an entry
 * in) past its share of what it put in across every partition it reaches
 * (its own, its team's, each shared route's): without the writer's bound one
 * key filling four partitions' shares would push every other tenant's answers
 * out (L2 bounds writers the same way, redis-byte-charges.ts). And so does
 * a tenant (a team's keys together; a key without a team alone) past its
 * share: without it, a team minting a few keys would get a writer's share
 * for each, and push every other team's answers out.
 *
 * Why not node-cache (which the design names): it has no byte bound (only a
 * key count, and when full it refuses new keys instead of evicting old
 * ones), it deep-clones values on every get and set by default, and it
 * sweeps expiries on a timer. docs/cache.md has the measurement.
 */
export class MemoryCache {
  private readonly entries = new Map<string, Held>();
  private readonly whole: Group;
  private readonly groupings: Grouping[];
  /** The smallest share of the bytes bound: an entry costing more is kept by no group. */
  private readonly maxEntryCost: number;
  private readonly now: () => number;

  constructor(private readonly options: MemoryCacheOptions) {
    this.now = options.now ?? Date.now;
    this.whole = { name: "", lru: new LruList(), bytes: 0, maxEntries: options.maxEntries, maxBytes: options.maxBytes };
    const partitionShare = options.maxPartitionShare ?? 1;
    this.groupings = [
      this.grouping((entry) => entry.labels.partition, partitionShare),
      this.grouping(writerOf, options.maxWriterShare ?? partitionShare),
      this.grouping(tenantOf, options.maxTeamShare ?? 1),
    ];
    this.maxEntryCost = Math.min(...this.groupings.map(({ maxBytes }) => maxBytes));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes held, overheads included. */
  get bytes(): number {
    return this.whole.bytes;
  }

  get(id: string): MemoryEntry | undefined {
    const held = this.entries.get(id);
    if (held === undefined) return undefined;
    if (held.entry.expiresAt <= this.now()) {
      this.remove(held);
      this.options.onEvict?.("expired");
      return undefined;
    }
    for (const place of held.places) place.group.lru.touch(place);
    return held.entry;
  }

  /**
   * Keeps an entry, dropping the least recently used ones for room (its
   * partition's own, its writer's or its tenant's, when one is past its
   * share); an entry larger than any of those shares is not kept. Returns
   * whether it was.
   */
  set(id: string, given: MemoryEntry): boolean {
    const cost = costOf(id, given);
    if (this.options.maxEntries <= 0 || cost > this.maxEntryCost || given.expiresAt <= this.now()) return false;
    const entry = ownBytes(given);
    const previous = this.entries.get(id);
    if (previous) this.remove(previous);
    const held: Held = { id, entry, cost, places: [] };
    const groups = this.groupings.map((grouping) => groupOf(grouping, entry));
    groups.push(this.whole);
    held.places = groups.map((group) => join(held, group));
    this.entries.set(id, held);
    // The entry is the most recent in each group, and fits in each alone: what goes is older.
    for (const group of groups) this.evictWhileOver(group);
    return true;
  }

  /** Drops the entries the filter matches; returns how many. */
  purge(matches: (labels: EntryLabels) => boolean): number {
    let purged = 0;
    for (const { held } of this.whole.lru) {
      if (!matches(held.entry.labels)) continue;
      this.remove(held);
      purged++;
    }
    return purged;
  }

  private grouping(nameOf: (entry: MemoryEntry) => string, share: number): Grouping {
    return {
      nameOf,
      groups: new Map(),
      maxEntries: Math.max(1, Math.floor(this.options.maxEntries * share)),
      maxBytes: Math.floor(this.options.maxBytes * share),
    };
  }

  /** Drops the group's least recently used entries while it is past either bound. */
  private evictWhileOver(group: Group): void {
    for (let oldest = group.lru.oldest; oldest && (group.lru.size > group.maxEntries || group.bytes > group.maxBytes); oldest = group.lru.oldest) {
      const victim = oldest.held;
      this.remove(victim);
      this.options.onEvict?.(victim.entry.expiresAt <= this.now() ? "expired" : "capacity");
    }
  }

  private remove(held: Held): void {
    this.entries.delete(held.id);
    for (const place of held.places) {
      const { group } = place;
      group.lru.remove(place);
      group.bytes -= held.cost;
      if (group.lru.size === 0) group.listedIn?.delete(group.name);
    }
  }
}

/** Counts the entry in the group, as its most recently used. */
function join(held: Held, group: Group): Place {
  const place: Place = { held, group, prev: undefined, next: undefined };
  group.lru.push(place);
  group.bytes += held.cost;
  return place;
}

function groupOf(grouping: Grouping, entry: MemoryEntry): Group {
  const name = grouping.nameOf(entry);
  let group = grouping.groups.get(name);
  if (!group) {
    const { maxEntries, maxBytes, groups } = grouping;
    groups.set(name, (group = { name, lru: new LruList(), bytes: 0, maxEntries, maxBytes, listedIn: groups }));
  }
  return group;
}

function writerOf(entry: MemoryEntry): string {
  return entry.writer ?? entry.labels.partition;
}

function tenantOf(entry: MemoryEntry): string {
  return entry.tenant ?? writerOf(entry);
}

/**
 * The entry with bytes that own their memory. Bytes that are a view into a
 * larger buffer would keep all of it alive for the entry's life while counted
 * at their own length: an answer opened from Redis is a slice of Node's 8 KB
 * buffer pool or of zlib's 16 KB output chunk (1 KB answers held about ten
 * times what was counted).
 */
function ownBytes(entry: MemoryEntry): MemoryEntry {
  const { bytes } = entry;
  return bytes.byteLength === bytes.buffer.byteLength ? entry : { ...entry, bytes: new Uint8Array(bytes) };
}

function costOf(id: string, entry: MemoryEntry): number {
  return entry.bytes.length + id.length + ENTRY_OVERHEAD_BYTES;
}
